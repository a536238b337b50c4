/**
 * OTLP/HTTP receiver routes, reading top to bottom like the Collector's otlpreceiver:
 * method (405) → content type and encoding (415) → body with a size cap as sent (413, Fastify's
 * bodyLimit) and after decompression (413) → decode (400) → translate (partial success) →
 * write (429/503 + Retry-After) → answer in the request's own encoding. Errors are a
 * google.rpc.Status. The routes do no SQL and no math.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ReceiverConfig } from '../config.js';
import { errors, LatticeError } from '../errors.js';
import type { IngestWriter } from '../pipeline/ingest-writer.js';
import type { IngestBatch, Rejection } from '../translate/rows.js';
import { toDurationPoints } from '../translate/points.js';
import { toTraceRows } from '../translate/spans.js';
import { decompressBody, JSON_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE, toContentEncoding, toEncoding } from './body.js';
import { createOtlpCounters } from './counters.js';
import type { OtlpCounters } from './counters.js';
import {
  decodeMetricsRequest, decodeTraceRequest, encodeMetricsResponse, encodeStatus, encodeTraceResponse,
} from './decode.js';
import type { OtlpEncoding } from './decode.js';
import { toRpcCode } from './status.js';
import { OPEN_TENANT, type IngestAuth, type Tenant } from '../tenancy/auth.js';
import { assignProject } from '../tenancy/service-key.js';

export interface OtlpRoutesOptions {
  writer: IngestWriter;
  config: ReceiverConfig;
  /** Clock for the accepted time window (tests); defaults to Date.now. */
  now?: () => number;
  /** Ingest keys and per-key rate limits (tenancy/auth.ts); absent = open, project 'default'. */
  auth?: IngestAuth;
}

/** What differs between /v1/traces and /v1/metrics. */
interface Signal {
  url: string;
  /** decode + translate: the batch to write, items kept, and what was rejected */
  translate(body: Buffer, encoding: OtlpEncoding, nowMs: number): { batch: IngestBatch; kept: number; rejection: Rejection };
  encodeResponse(rejection: Rejection, encoding: OtlpEncoding): Buffer | string;
  count(counters: OtlpCounters, outcome: 'accepted' | 'rejected' | 'refused', items: number): void;
}

const TRACES: Signal = {
  url: '/v1/traces',
  translate(body, encoding, nowMs) {
    // Every span (all kinds) for GET /traces/:traceId; counted items stay the SERVER spans.
    const { requests, spans, rejection } = toTraceRows(decodeTraceRequest(body, encoding), nowMs);
    return { batch: { requests, durationPoints: [], spans }, kept: requests.length, rejection };
  },
  encodeResponse: encodeTraceResponse,
  count(counters, outcome, items) {
    if (outcome === 'accepted') counters.acceptedSpans += items;
    else if (outcome === 'rejected') counters.rejectedSpans += items;
    else counters.refusedSpans += items;
  },
};

const METRICS: Signal = {
  url: '/v1/metrics',
  translate(body, encoding, nowMs) {
    const { points, rejection } = toDurationPoints(decodeMetricsRequest(body, encoding), nowMs);
    return { batch: { requests: [], durationPoints: points, spans: [] }, kept: points.length, rejection };
  },
  encodeResponse: encodeMetricsResponse,
  count(counters, outcome, items) {
    if (outcome === 'accepted') counters.acceptedPoints += items;
    else if (outcome === 'rejected') counters.rejectedPoints += items;
    else counters.refusedPoints += items;
  },
};

const OTHER_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

const countersByApp = new WeakMap<FastifyInstance, OtlpCounters>();

/** A snapshot of the receiver's counts for an app registerOtlpRoutes was called on (zeros otherwise). */
export function getOtlpCounters(app: FastifyInstance): Readonly<OtlpCounters> {
  return { ...(countersByApp.get(app) ?? createOtlpCounters()) };
}

function contentTypeFor(encoding: OtlpEncoding): string {
  return encoding === 'protobuf' ? PROTOBUF_CONTENT_TYPE : JSON_CONTENT_TYPE;
}

/** A writer failure as the client should see it: 429/503 with Retry-After, never "do not retry". */
function toRetryableError(error: unknown): LatticeError {
  if (error instanceof LatticeError && (error.statusCode === 429 || error.statusCode === 503)
    && error.retryAfterSeconds !== undefined) {
    return error;
  }
  return errors.LAT_ERR_OTLP_EXPORT_FAILED(error instanceof Error ? error.message : String(error));
}

/** Fastify's own errors while reading the body, as coded Lattice errors. */
function toLatticeError(error: FastifyError | LatticeError, maxBodyBytes: number, request: FastifyRequest): LatticeError | FastifyError {
  if (error instanceof LatticeError) return error;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return errors.LAT_ERR_OTLP_BODY_TOO_LARGE(maxBodyBytes, request.headers['content-length'] ?? 'more');
  }
  return error;
}

/**
 * Registers POST /v1/traces and POST /v1/metrics (and 405 for other methods) in an encapsulated
 * plugin, so its raw-body content-type parsers and error handler do not leak to other routes.
 * Fastify loads the plugin on ready/listen.
 */
export function registerOtlpRoutes(app: FastifyInstance, options: OtlpRoutesOptions): void {
  const { writer, config } = options;
  const now = options.now ?? Date.now;
  const counters = createOtlpCounters();
  countersByApp.set(app, counters);
  // Bytes of bodies being read, decompressed, decoded or written (as sent + decompressed), per
  // request until its answer is sent: a bound on what concurrent exports hold before the writer's
  // queue limit sees them. Content-Length is reserved before reading; a chunked body is counted
  // once read.
  const maxInflightBytes = config.maxInflightBytes ?? 16 * 1024 * 1024;
  let inflightBytes = 0;
  const reserved = new WeakMap<FastifyRequest, number>();
  const reserve = (request: FastifyRequest, bytes: number) => {
    inflightBytes += bytes;
    reserved.set(request, (reserved.get(request) ?? 0) + bytes);
  };
  const release = async (request: FastifyRequest) => {
    const bytes = reserved.get(request);
    if (bytes === undefined) return;
    reserved.delete(request);
    inflightBytes -= bytes;
  };

  const auth = options.auth;
  /** The project and key of each export, from its ingest key (onRequest, before the body is read). */
  const tenants = new WeakMap<FastifyRequest, Tenant>();

  app.register(async function otlpRoutes(instance) {
    instance.removeAllContentTypeParsers();
    instance.addContentTypeParser(
      [PROTOBUF_CONTENT_TYPE, JSON_CONTENT_TYPE],
      { parseAs: 'buffer', bodyLimit: config.maxBodyBytes },
      (_request, body, done) => done(null, body),
    );

    // Before the body is read: refuse what we cannot decode without reading a byte of it.
    instance.addHook('onRequest', async (request) => {
      if (request.method !== 'POST') return;
      // Who sends comes first (401/403), as with the Collector's auth extensions.
      if (auth !== undefined) tenants.set(request, await auth.authenticate(request));
      const contentType = request.headers['content-type'];
      if (toEncoding(contentType) === undefined) {
        throw errors.LAT_ERR_OTLP_UNSUPPORTED_MEDIA_TYPE(contentType ?? '(none)');
      }
      const contentEncoding = request.headers['content-encoding'];
      if (toContentEncoding(contentEncoding) === undefined) {
        throw errors.LAT_ERR_OTLP_UNSUPPORTED_ENCODING(contentEncoding ?? '');
      }
      // The write queue is full: refuse now instead of reading and decoding a body to refuse it then.
      const full = writer.refusal?.();
      if (full !== undefined) throw full;
      const declared = Number(request.headers['content-length'] ?? 0) || 0;
      // One request alone is always let in (the body limits bound it), else it could never be sent.
      if (inflightBytes > 0 && inflightBytes + declared > maxInflightBytes) {
        throw errors.LAT_ERR_OTLP_OVERLOADED(maxInflightBytes, inflightBytes, declared);
      }
      reserve(request, declared);
    });
    instance.addHook('onResponse', release);
    instance.addHook('onRequestAbort', release);

    instance.setErrorHandler((rawError: FastifyError | LatticeError, request, reply) => {
      const error = toLatticeError(rawError, config.maxBodyBytes, request);
      const statusCode = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
      counters.failedRequests++;
      if (!(error instanceof LatticeError) && statusCode >= 500) request.log.error({ err: rawError }, 'OTLP request failed');
      const encoding = toEncoding(request.headers['content-type']) ?? 'json';
      // Fastify's own 4xx errors (e.g. a bad Content-Length) keep their code; anything else is a bug.
      const coded = error instanceof LatticeError || statusCode < 500
        ? error
        : errors.LAT_ERR_OTLP_INTERNAL(error.code ?? error.name);
      if (error instanceof LatticeError && error.retryAfterSeconds !== undefined) {
        reply.header('retry-after', String(error.retryAfterSeconds));
      }
      if (statusCode === 405) reply.header('allow', 'POST');
      return reply
        .code(statusCode)
        .type(contentTypeFor(encoding))
        .send(encodeStatus(toRpcCode(statusCode), `${coded.code}: ${coded.message}`, encoding));
    });

    for (const signal of [TRACES, METRICS]) {
      instance.post(signal.url, async (request: FastifyRequest, reply: FastifyReply) => {
        const encoding = toEncoding(request.headers['content-type']) as OtlpEncoding; // checked onRequest
        const contentEncoding = toContentEncoding(request.headers['content-encoding']) ?? 'identity';
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (request.headers['content-length'] === undefined) reserve(request, raw.length);
        const body = await decompressBody(raw, contentEncoding, config.maxDecompressedBytes);
        if (body !== raw) reserve(request, body.length);
        const { batch, kept, rejection } = signal.translate(body, encoding, now());
        const tenant = tenants.get(request) ?? OPEN_TENANT;
        if (auth !== undefined) {
          try {
            // The key's rate limit, in rows (spans + points), before anything is queued: 429 + Retry-After.
            auth.admit(tenant, batch.durationPoints.length + batch.spans.length);
          } catch (error) {
            signal.count(counters, 'refused', kept);
            throw error;
          }
        }
        assignProject(batch, tenant.projectId);
        if (kept > 0 || batch.spans.length > 0) {
          try {
            // The body is not counted again in the queue's bytes: it stays reserved in
            // LATTICE_MAX_INFLIGHT_BYTES until the answer is sent, which covers the whole wait.
            await writer.write(batch);
          } catch (error) {
            signal.count(counters, 'refused', kept);
            const retryable = toRetryableError(error);
            // Backpressure is expected under load and already counted; anything else is a fault.
            if (retryable === error) request.log.debug({ code: retryable.code }, 'OTLP export refused');
            else request.log.error({ err: error }, 'OTLP export failed to commit; answering 503');
            throw retryable;
          }
        }
        signal.count(counters, 'accepted', kept);
        signal.count(counters, 'rejected', rejection.rejected);
        return reply.code(200).type(contentTypeFor(encoding)).send(signal.encodeResponse(rejection, encoding));
      });
      instance.route({
        method: [...OTHER_METHODS],
        url: signal.url,
        handler: async (request) => {
          throw errors.LAT_ERR_OTLP_METHOD_NOT_ALLOWED(request.method);
        },
      });
    }
  });
}
