/**
 * GET /traces/:traceId — the request's journey: every stored span of the trace across services
 * (server, client, internal, producer, consumer), parents first, with depth and offset from the
 * trace's start (docs/api.md). Parse → one store/queries call → answer: no SQL and no math here.
 * Malformed id → 400 LAT_ERR_API_INVALID_TRACE_ID; no stored span → 404 LAT_ERR_API_UNKNOWN_TRACE.
 */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db.js';
import { errors, LatticeError } from '../errors.js';
import { MAX_TRACE_SPANS, selectTrace } from '../store/queries/traces.js';

export interface TraceRoutesOptions {
  db: Db;
}

const TRACE_ID = /^[0-9a-fA-F]{32}$/;

/** A trace id as stored (lower-case hex); throws the coded 400 otherwise. Pure. */
export function parseTraceId(raw: string): string {
  if (!TRACE_ID.test(raw) || /^0+$/.test(raw)) throw errors.LAT_ERR_API_INVALID_TRACE_ID(raw.length > 64 ? `${raw.slice(0, 61)}...` : raw);
  return raw.toLowerCase();
}

const errorBody = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

const nullableString = { type: ['string', 'null'] } as const;

export const traceSchema = {
  summary: 'The journey of one request: every stored span of a trace, parents first',
  description: `Spans of every kind and service, depth-first from the roots (a span whose parent is not stored is a root), siblings by start time. At most ${MAX_TRACE_SPANS} spans, the earliest; \`truncated\` says when more are stored.`,
  tags: ['traces'],
  params: {
    type: 'object',
    required: ['traceId'],
    properties: { traceId: { type: 'string', description: '32 hex characters' } },
  },
  response: {
    200: {
      type: 'object',
      required: ['traceId', 'startTime', 'durationMs', 'truncated', 'spans'],
      properties: {
        traceId: { type: 'string' },
        startTime: { type: 'string', format: 'date-time' },
        durationMs: { type: 'number', description: 'latest span end − earliest span start' },
        truncated: { type: 'boolean' },
        spans: {
          type: 'array',
          items: {
            type: 'object',
            required: ['spanId', 'parentSpanId', 'service', 'name', 'kind', 'startTime', 'offsetMs', 'durationMs', 'depth', 'error'],
            properties: {
              spanId: { type: 'string' },
              parentSpanId: nullableString,
              service: { type: 'string' },
              name: { type: 'string' },
              kind: { type: 'string', enum: ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] },
              method: nullableString,
              route: nullableString,
              statusCode: { type: ['integer', 'null'], description: 'HTTP status, when the span carried one' },
              startTime: { type: 'string', format: 'date-time' },
              offsetMs: { type: 'number', description: 'start − the trace start' },
              durationMs: { type: 'number' },
              depth: { type: 'integer', description: '0 for a root' },
              error: { type: 'boolean', description: 'span status ERROR or HTTP status ≥ 500' },
            },
          },
        },
      },
    },
    '4xx': errorBody,
  },
} as const;

export function registerTraceRoutes(app: FastifyInstance, options: TraceRoutesOptions): void {
  const { db } = options;
  app.get<{ Params: { traceId: string } }>('/traces/:traceId', { schema: traceSchema }, async (request, reply) => {
    try {
      const traceId = parseTraceId(request.params.traceId);
      const journey = await selectTrace(db, traceId);
      if (journey === null) throw errors.LAT_ERR_API_UNKNOWN_TRACE(traceId);
      return journey;
    } catch (err) {
      if (!(err instanceof LatticeError)) throw err;
      return reply.code(err.statusCode).send({ code: err.code, message: err.message });
    }
  });
}
