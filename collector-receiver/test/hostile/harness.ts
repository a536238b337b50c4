/**
 * A listening receiver for the hostile-input corpus: Fastify on port 0 with registerOtlpRoutes,
 * writing through the real group-commit writer into a migrated in-memory PGlite, so hostile
 * strings go all the way through SQL. Requests go over real fetch.
 *
 * `expectSurvived(response)` is the contract every case must meet: no 5xx; a 4xx carries a
 * google.rpc.Status (in the request's encoding) whose message starts with a code; a 200 carries an
 * Export*ServiceResponse (partial success with a rejected count and a message, or empty).
 * `expectHealthy()` proves the receiver still works: a fresh valid export is answered 200 and its
 * row is committed; process memory stays within MAX_RSS_BYTES.
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { ReceiverConfig } from '../../src/config.js';
import {
  decodeMetricsResponse, decodeStatus, decodeTraceResponse,
} from '../../src/otlp/decode.js';
import { registerOtlpRoutes } from '../../src/otlp/routes.js';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import type { IngestWriter } from '../../src/pipeline/ingest-writer.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { openDb } from '../../src/store/open-db.js';
import { jsonServerSpan, jsonTraceRequest } from '../fixtures/otlp.js';

/** The receiver's settings with their defaults (loadConfig): in-memory PGlite, quiet. */
export const config: ReceiverConfig = loadConfig({ LATTICE_DATA_DIR: ':memory:', LATTICE_LOG_LEVEL: 'silent' });

/** The caps a production receiver runs with (config.ts defaults). */
export const MAX_BODY_BYTES = config.maxBodyBytes;
export const MAX_DECOMPRESSED_BYTES = config.maxDecompressedBytes;
/** PGlite's WASM heap plus the 10^5-row cases; a leak of hostile bodies would show far above. */
export const MAX_RSS_BYTES = 2 * 1024 * 1024 * 1024;

export type Signal = 'traces' | 'metrics';

export interface HostileRequest {
  signal: Signal;
  body: Uint8Array | string;
  /** default: application/x-protobuf for bytes, application/json for strings */
  contentType?: string;
  contentEncoding?: string;
  method?: string;
  headers?: Record<string, string>;
}

export interface HostileResponse {
  status: number;
  contentType: string;
  body: Buffer;
  /** decoded 4xx Status */
  rpcStatus?: { code: number; message: string };
  /** decoded 200 partial success (null = full success) */
  partial?: { rejected: number; errorMessage: string } | null;
}

export interface Receiver {
  app: FastifyInstance;
  db: Db;
  writer: IngestWriter;
  baseUrl: string;
  post(request: HostileRequest): Promise<HostileResponse>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const db = await openDb({ dataDir: ':memory:' });
  await migrate(db);
  const writer = createBatchingWriter(db, { batchRows: config.writeBatchRows, maxQueuedRows: config.maxQueuedRows });
  const app = Fastify({ logger: false });
  registerOtlpRoutes(app, { writer, config });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  async function post(request: HostileRequest): Promise<HostileResponse> {
    const contentType = request.contentType ?? (typeof request.body === 'string' ? 'application/json' : 'application/x-protobuf');
    const headers: Record<string, string> = { 'content-type': contentType, ...request.headers };
    if (request.contentEncoding !== undefined) headers['content-encoding'] = request.contentEncoding;
    const response = await fetch(`${baseUrl}/v1/${request.signal}`, {
      method: request.method ?? 'POST',
      headers,
      body: request.method === undefined || request.method === 'POST' ? request.body as string | Buffer as BodyInit : null,
    });
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', body };
  }

  return {
    app, db, writer, baseUrl, post,
    async close() {
      await app.close();
      await writer.close();
      await db.close();
    },
  };
}

const CODED_MESSAGE = /^(LAT_ERR|FST_ERR)_[A-Z0-9_]+: \S/;

/**
 * The contract of every hostile case. Returns the response with the Status or partial success
 * decoded, for cases that assert more.
 */
export function expectSurvived(response: HostileResponse, signal: Signal, label: string): HostileResponse {
  const where = `${label}: ${response.status} ${response.body.subarray(0, 300).toString('utf8')}`;
  expect(response.status, where).toBeLessThan(500);
  const json = response.contentType.startsWith('application/json');
  expect(json || response.contentType.startsWith('application/x-protobuf'), where).toBe(true);
  if (response.status === 200) {
    if (json) {
      const parsed = JSON.parse(response.body.toString('utf8')) as { partialSuccess?: Record<string, string> };
      const partial = parsed.partialSuccess;
      response.partial = partial === undefined ? null : {
        rejected: Number(partial.rejectedSpans ?? partial.rejectedDataPoints ?? 0),
        errorMessage: String(partial.errorMessage ?? ''),
      };
    } else {
      const decoded = signal === 'traces' ? decodeTraceResponse(response.body) : decodeMetricsResponse(response.body);
      response.partial = decoded === null ? null : {
        rejected: 'rejectedSpans' in decoded ? decoded.rejectedSpans : decoded.rejectedDataPoints,
        errorMessage: decoded.errorMessage,
      };
    }
    if (response.partial !== null) {
      expect(response.partial.rejected, where).toBeGreaterThan(0);
      expect(response.partial.errorMessage, where).toMatch(/should/);
    }
    return response;
  }
  expect(response.status, where).toBeGreaterThanOrEqual(400);
  const status = json
    ? JSON.parse(response.body.toString('utf8')) as { code: number; message: string }
    : decodeStatus(response.body);
  expect(status.code, where).toBeGreaterThan(0);
  expect(status.message, where).toMatch(CODED_MESSAGE);
  response.rpcStatus = status;
  return response;
}

/**
 * Counts the cases a suite sends, by category, and prints the tally (the corpus size shows in
 * the test output).
 */
export class CaseTally {
  readonly counts = new Map<string, number>();
  private readonly startedAt = Date.now();

  add(category: string): void {
    this.counts.set(category, (this.counts.get(category) ?? 0) + 1);
  }

  get total(): number {
    let total = 0;
    for (const n of this.counts.values()) total += n;
    return total;
  }

  /** Sends one case, checks the contract (expectSurvived), counts it under its category. */
  async send(receiver: Receiver, category: string, label: string, request: HostileRequest): Promise<HostileResponse> {
    const response = expectSurvived(await receiver.post(request), request.signal, `${category} / ${label}`);
    this.add(category);
    return response;
  }

  report(title: string): string {
    const width = Math.max(0, ...[...this.counts.keys()].map((k) => k.length));
    const lines = [...this.counts].map(([category, n]) => `  ${category.padEnd(width)}  ${String(n).padStart(5)}`);
    return `${title}: ${this.total} cases in ${((Date.now() - this.startedAt) / 1000).toFixed(1)} s `
      + `(rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB)\n${lines.join('\n')}`;
  }
}

/** A unique, valid SERVER span export must be answered 200 and committed; memory stays sane. */
export async function expectHealthy(receiver: Receiver): Promise<void> {
  const spanId = randomBytes(8).toString('hex');
  const traceId = randomBytes(16).toString('hex');
  const response = await receiver.post({
    signal: 'traces',
    body: JSON.stringify(jsonTraceRequest([jsonServerSpan({ spanId, traceId })], 'health-probe')),
  });
  expect(response.status, `health probe: ${response.body.toString('utf8')}`).toBe(200);
  expect(response.body.toString('utf8')).toBe('{}');
  const stored = await receiver.db.query<{ n: number }>('SELECT count(*)::int AS n FROM service_metrics WHERE span_id = $1', [spanId]);
  expect(stored.rows[0]!.n).toBe(1);
  expect(process.memoryUsage().rss).toBeLessThan(MAX_RSS_BYTES);
}
