/**
 * Query routes. They parse and validate, call one function of store/queries, and answer:
 * no SQL and no math here.
 *
 *   GET /metrics/stats?service=NAME&from=&to=
 *     → { service, from, to, requestCount, errorRate, avgMs, p50Ms, p95Ms, p99Ms }
 *     window [from, to), default the last hour; from/to accept ISO 8601 or epoch ms and are
 *     echoed as ISO strings. errorRate is the fraction (0–1) of requests with status ≥ 500.
 *     An empty window answers requestCount 0 and null rates/latencies (no data is not zero).
 *   GET /metrics/recent/:serviceName?limit=   newest requests first; limit default 50, max 1000
 *   /metrics/services, /routes, /timeseries, /connections   see metrics-routes.ts
 * Unknown service → 404 LAT_ERR_API_UNKNOWN_SERVICE; bad parameter → 400 LAT_ERR_API_INVALID_PARAM.
 */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db.js';
import { errors } from '../errors.js';
import { findServiceId } from '../store/queries/services.js';
import { selectServiceStats } from '../store/queries/stats.js';
import { selectRecentRequests } from '../store/queries/requests.js';
import { parseLimit, parseWindow } from './params.js';
import { errorBody, nullableNumber } from './schemas.js';
import { sendError } from './send-error.js';
import { DEFAULT_HEALTH_SETTINGS, type HealthSettings } from './health.js';
import { registerMetricsRoutes } from './metrics-routes.js';

export const RECENT_DEFAULT_LIMIT = 50;
export const RECENT_MAX_LIMIT = 1000;

export interface ApiRoutesOptions {
  db: Db;
  /** Clock for the default window (tests). */
  now?: () => number;
  /** Apdex T, staleness and health thresholds (ReceiverConfig has them); missing ones take the defaults. */
  config?: Partial<HealthSettings>;
}

const statsSchema = {
  querystring: {
    type: 'object',
    required: ['service'],
    properties: {
      service: { type: 'string', minLength: 1, maxLength: 256 },
      from: { type: 'string' },
      to: { type: 'string' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        service: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' },
        requestCount: { type: 'number' },
        errorRate: nullableNumber, avgMs: nullableNumber, p50Ms: nullableNumber, p95Ms: nullableNumber, p99Ms: nullableNumber,
      },
    },
    '4xx': errorBody,
  },
} as const;

const recentSchema = {
  params: { type: 'object', required: ['serviceName'], properties: { serviceName: { type: 'string', minLength: 1 } } },
  querystring: { type: 'object', properties: { limit: { type: 'string' } } },
  response: {
    200: {
      type: 'object',
      properties: {
        service: { type: 'string' },
        requests: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              method: { type: 'string' }, path: { type: 'string' }, statusCode: { type: 'integer' },
              responseTimeMs: { type: 'number' }, callerServiceName: { type: ['string', 'null'] },
              timestamp: { type: 'string' }, traceId: { type: 'string' }, spanId: { type: 'string' },
            },
          },
        },
      },
    },
    '4xx': errorBody,
  },
} as const;

export function registerApiRoutes(app: FastifyInstance, options: ApiRoutesOptions): void {
  const { db } = options;
  const now = options.now ?? Date.now;
  const health: HealthSettings = { ...DEFAULT_HEALTH_SETTINGS };
  for (const key of Object.keys(health) as Array<keyof HealthSettings>) {
    const value = options.config?.[key];
    if (typeof value === 'number') health[key] = value;
  }

  app.get<{ Querystring: { service: string; from?: string; to?: string } }>('/metrics/stats', {
    schema: statsSchema,
    // Schema failures (missing service, …) become the coded 400 naming the parameter.
    schemaErrorFormatter: (errs) => {
      const first = errs[0];
      const missing = first?.params?.missingProperty;
      if (missing !== undefined) return errors.LAT_ERR_API_INVALID_PARAM(String(missing), 'present (a service name)', '');
      const name = first?.instancePath.replace(/^\//, '') || 'query';
      return errors.LAT_ERR_API_INVALID_PARAM(name, `a string of 1 to 256 characters (${first?.message ?? 'invalid'})`, '…');
    },
  }, async (request, reply) => {
    try {
      const { service } = request.query;
      const { fromMs, toMs } = parseWindow(request.query.from, request.query.to, now());
      const serviceId = await findServiceId(db, service);
      if (serviceId === null) throw errors.LAT_ERR_API_UNKNOWN_SERVICE(service);
      const stats = await selectServiceStats(db, serviceId, fromMs, toMs);
      return { service, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), ...stats };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.get<{ Params: { serviceName: string }; Querystring: { limit?: string } }>('/metrics/recent/:serviceName', {
    schema: recentSchema,
  }, async (request, reply) => {
    try {
      const { serviceName } = request.params;
      const limit = parseLimit(request.query.limit, RECENT_DEFAULT_LIMIT, RECENT_MAX_LIMIT);
      const serviceId = await findServiceId(db, serviceName);
      if (serviceId === null) throw errors.LAT_ERR_API_UNKNOWN_SERVICE(serviceName);
      return { service: serviceName, requests: await selectRecentRequests(db, serviceId, limit) };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  registerMetricsRoutes(app, { db, now, health });
}
