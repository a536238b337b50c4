/**
 * Group commit. `write()` queues a batch and resolves once its rows are committed; whatever
 * queued up while a flush was running goes into the next flush — one transaction per flush,
 * up to `batchRows` rows, one statement per table (unnest), never one per row.
 * - Light load: a write starts a flush at once (after the current microtask, so writes made in
 *   the same tick share it): no artificial delay.
 * - Heavy load: batches grow by themselves while the previous flush commits.
 * - Queue beyond maxQueuedRows: reject at once with LAT_ERR_PIPELINE_SATURATED (429, retry 1 s);
 *   a batch bigger than the limit on its own is accepted when the queue is empty.
 * - Database down: the flush's transaction rolls back; its writes reject with
 *   LAT_ERR_STORE_UNAVAILABLE (503, retry 5 s). Other database errors: LAT_ERR_STORE_WRITE_FAILED.
 * Flushes in flight: 1 on PGlite (one connection), 2 on a pg pool.
 * A deadlock/serialization failure between two flushes (or replicas) retries the flush twice.
 */
import type { Db, Queryable } from '../store/db.js';
import type { CommitListener, IngestWriter, IngestWriterStats } from './ingest-writer.js';
import type { IngestBatch, RequestRow, DurationPoint, SpanRow } from '../translate/rows.js';
import { errors, LatticeError } from '../errors.js';
import { isUnavailableError, sqlState } from '../store/db-errors.js';
import { ensureDayPartitions, utcDay } from '../store/queries/partitions.js';
import { upsertServices } from '../store/queries/services.js';
import { insertRequests } from '../store/queries/requests.js';
import { insertSpans } from '../store/queries/traces.js';
import { lockStreams, saveStreams } from '../store/queries/streams.js';
import { upsertRollups } from '../store/queries/rollups.js';
import type { RouteAdmission } from '../store/queries/service-routes.js';
import { toDeltas } from './cumulative-to-delta.js';
import { toRollupRows } from './rollup.js';
import { createRouteGuard, type RouteGuard } from './route-guard.js';

export interface BatchingWriterOptions {
  /** Rows (requests + points) per flush; a single larger write is still flushed whole. */
  batchRows: number;
  /** Rows waiting (queued or being flushed) before writes are refused with 429. */
  maxQueuedRows: number;
  /** Flushes in flight; default 1 for PGlite, 2 for pg. */
  maxConcurrentFlushes?: number;
  /** Distinct routes stored per service, more go to '(overflow)' (route-guard.ts); default 1000. */
  maxRoutesPerService?: number;
  /** Called once per failed flush (logging); never throws into the writer. */
  onFlushError?: (err: LatticeError) => void;
}

/** Extra counters beyond IngestWriterStats, for tests and self-metrics. */
export interface BatchingWriterStats extends IngestWriterStats {
  flushes: number;
  duplicateRequests: number;
  skippedPoints: number;
}

interface Pending {
  batch: IngestBatch;
  rows: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 3;
/** "no partition of relation … found for row" */
const NO_PARTITION_SQLSTATE = '23514';

export function createBatchingWriter(db: Db, options: BatchingWriterOptions):
  IngestWriter & { stats(): BatchingWriterStats; onCommit(listener: CommitListener): () => void } {
  const maxConcurrent = options.maxConcurrentFlushes ?? (db.kind === 'pglite' ? 1 : 2);
  const queue: Pending[] = [];
  /** rows queued or in a running flush */
  let pendingRows = 0;
  let active = 0;
  let scheduled = false;
  let closed = false;
  let drained: (() => void) | undefined;
  const commitListeners = new Set<CommitListener>();
  /** Days whose partition is known to exist (cached after a commit). */
  const knownDays = new Set<string>();
  /** Service ids known to be committed (services are never deleted), and when each was last upserted. */
  const knownServices: ServiceCache = new Map();
  const routeGuard = createRouteGuard(options.maxRoutesPerService);
  const counters: BatchingWriterStats = {
    queuedRows: 0, committedRequests: 0, committedPoints: 0, failedBatches: 0,
    flushes: 0, duplicateRequests: 0, skippedPoints: 0,
  };

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      pump();
    });
  }

  function pump(): void {
    while (active < maxConcurrent && queue.length > 0) {
      const taken: Pending[] = [];
      let rows = 0;
      while (queue.length > 0 && (taken.length === 0 || rows + queue[0]!.rows <= options.batchRows)) {
        const next = queue.shift()!;
        taken.push(next);
        rows += next.rows;
      }
      active++;
      void flush(taken).finally(() => {
        active--;
        pendingRows -= rows;
        if (queue.length > 0) pump();
        else if (active === 0 && drained) drained();
      });
    }
  }

  async function flush(taken: Pending[]): Promise<void> {
    const requests: RequestRow[] = [];
    const spans: SpanRow[] = [];
    const points: DurationPoint[] = [];
    for (const p of taken) {
      for (const r of p.batch.requests) requests.push(r);
      if (p.batch.spans) for (const s of p.batch.spans) spans.push(s);
      for (const d of p.batch.durationPoints) points.push(d);
    }
    let days = daysOf(requests, spans).filter((d) => !knownDays.has(d));
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await db.transaction((tx) => writeRows(tx, requests, points, days, spans, routeGuard, knownServices));
        for (const d of days) knownDays.add(d);
        for (const [name, id] of result.upsertedServices) knownServices.set(name, { id, upsertedAt: result.startedAt });
        routeGuard.remember(result.learnedRoutes);
        counters.flushes++;
        counters.committedRequests += requests.length;
        counters.duplicateRequests += requests.length - result.insertedRequests;
        counters.committedPoints += points.length;
        counters.skippedPoints += result.skippedPoints;
        for (const p of taken) p.resolve();
        if (commitListeners.size > 0) notifyCommit(requests, points, spans);
        return;
      } catch (err) {
        const state = sqlState(err) ?? '';
        if (attempt < MAX_ATTEMPTS && RETRYABLE_SQLSTATES.has(state)) continue;
        if (attempt < MAX_ATTEMPTS && state === NO_PARTITION_SQLSTATE) {
          // A cached day's partition was dropped (retention): forget the cache and recreate.
          knownDays.clear();
          days = daysOf(requests, spans);
          continue;
        }
        counters.failedBatches += taken.length;
        const failure = toStoreError(err, db);
        try { options.onFlushError?.(failure); } catch { /* logging must not break the writer */ }
        for (const p of taken) p.reject(failure);
        return;
      }
    }
  }

  function notifyCommit(requests: RequestRow[], points: DurationPoint[], spans: SpanRow[]): void {
    const services = new Set<string>();
    for (const r of requests) services.add(r.serviceName);
    for (const p of points) services.add(p.serviceName);
    for (const s of spans) services.add(s.serviceName);
    for (const listener of commitListeners) {
      try { listener(services); } catch { /* a listener must not break the writer */ }
    }
  }

  return {
    write(batch: IngestBatch): Promise<void> {
      const rows = batch.requests.length + batch.durationPoints.length + (batch.spans?.length ?? 0);
      if (rows === 0) return Promise.resolve();
      if (closed) return Promise.reject(errors.LAT_ERR_PIPELINE_CLOSED('closed'));
      // A single batch larger than the whole limit is still taken when nothing else waits,
      // otherwise its sender would retry forever (the body-size limit bounds it anyway).
      if (pendingRows > 0 && pendingRows + rows > options.maxQueuedRows) {
        return Promise.reject(errors.LAT_ERR_PIPELINE_SATURATED(rows, pendingRows, options.maxQueuedRows));
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ batch, rows, resolve, reject });
        pendingRows += rows;
        schedule();
      });
    },
    stats(): BatchingWriterStats {
      return { ...counters, queuedRows: pendingRows };
    },
    onCommit(listener: CommitListener): () => void {
      commitListeners.add(listener);
      return () => { commitListeners.delete(listener); };
    },
    async close(): Promise<void> {
      closed = true;
      if (queue.length === 0 && active === 0) return;
      await new Promise<void>((resolve) => { drained = resolve; schedule(); });
    },
  };
}

/**
 * Service name → id and when this writer last passed it to upsertServices (epoch ms).
 * upsertServices locks the rows it meets (INSERT … ON CONFLICT DO UPDATE locks a conflicting row
 * even when its WHERE skips the update) until commit, so two flushes of the same services ran one
 * after the other. A service upserted less than SERVICE_REFRESH_MS ago is not passed again: its
 * last_seen_at would not have been refreshed anyway (upsertServices refreshes it after 10 s).
 * bench/ingest, traces protobuf on PostgreSQL: see the commit that added this.
 */
type ServiceCache = Map<string, { id: string; upsertedAt: number }>;
const SERVICE_REFRESH_MS = 10_000;

/** Everything one flush writes, inside its transaction. Partition DDL first (see partitions.ts). */
async function writeRows(tx: Queryable, requests: RequestRow[], points: DurationPoint[], newDays: string[], spans: SpanRow[],
  routeGuard: RouteGuard, knownServices: ServiceCache): Promise<{ insertedRequests: number; skippedPoints: number;
    learnedRoutes: RouteAdmission | null; upsertedServices: Map<string, string>; startedAt: number }> {
  const startedAt = Date.now();
  await ensureDayPartitions(tx, newDays);
  const names = new Set<string>();
  for (const r of requests) names.add(r.serviceName);
  for (const p of points) names.add(p.serviceName);
  for (const s of spans) names.add(s.serviceName);
  const serviceIds = new Map<string, string>();
  const stale: string[] = [];
  for (const name of names) {
    const known = knownServices.get(name);
    if (known !== undefined && startedAt - known.upsertedAt < SERVICE_REFRESH_MS) serviceIds.set(name, known.id);
    else stale.push(name);
  }
  const upsertedServices = await upsertServices(tx, stale);
  for (const [name, id] of upsertedServices) serviceIds.set(name, id);
  // Routes past the per-service limit become '(overflow)' before anything is stored.
  const guarded = await routeGuard.apply(tx, requests, points, serviceIds);
  requests = guarded.requests;
  points = guarded.points;
  const insertedRequests = await insertRequests(tx, requests, serviceIds);
  await insertSpans(tx, spans, serviceIds);
  let skippedPoints = 0;
  if (points.length > 0) {
    const states = await lockStreams(tx, points.map((p) => p.streamKey));
    const { deltas, skipped, changed } = toDeltas(points, states);
    skippedPoints = skipped;
    await saveStreams(tx, changed.values());
    await upsertRollups(tx, toRollupRows(deltas, serviceIds));
  }
  return { insertedRequests, skippedPoints, learnedRoutes: guarded.learned, upsertedServices, startedAt };
}

/** The UTC days (YYYY-MM-DD) of the rows' start times: the daily partitions they need. */
function daysOf(requests: readonly RequestRow[], spans: readonly SpanRow[]): string[] {
  // Day numbers first: one string per distinct day, not one Date per row.
  const dayNumbers = new Set<number>();
  for (const r of requests) dayNumbers.add(Math.floor(r.startUnixMs / 86_400_000));
  for (const s of spans) dayNumbers.add(Math.floor(s.startUnixMs / 86_400_000));
  return [...dayNumbers].map((n) => utcDay(n * 86_400_000));
}

function toStoreError(err: unknown, db: Db): LatticeError {
  if (err instanceof LatticeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const failure = isUnavailableError(err)
    ? errors.LAT_ERR_STORE_UNAVAILABLE(db.description, message)
    : errors.LAT_ERR_STORE_WRITE_FAILED(message);
  (failure as { cause?: unknown }).cause = err;
  return failure;
}
