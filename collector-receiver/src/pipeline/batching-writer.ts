/**
 * Group commit. `write()` queues a batch and resolves once its rows are committed; whatever
 * queued up while a flush was running goes into the next flush — one transaction per flush,
 * up to `batchRows` rows, one statement per table (unnest), never one per row.
 * - Light load: a write starts a flush at once (after the current microtask, so writes made in
 *   the same tick share it): no artificial delay.
 * - Heavy load: batches grow by themselves while the previous flush commits.
 * - Memory is bounded twice: rows (maxQueuedRows) and estimated bytes (maxQueuedBytes:
 *   ROW_HEAP_BYTES per row; request bodies are bounded by LATTICE_MAX_INFLIGHT_BYTES) of everything
 *   queued or being flushed. Past either: reject at once with LAT_ERR_PIPELINE_SATURATED (429, retry 1 s);
 *   a batch bigger than the limit on its own is accepted when the queue is empty.
 * - Database unreachable (LAT_ERR_STORE_UNAVAILABLE from a flush): the outage buffer. The flush
 *   rolled back, so its writes go back into the queue, in their original order, and wait; no flush
 *   starts except one retry after 250 ms, doubling to 2 s (retryMinMs/retryMaxMs), with the oldest
 *   batches. The first flush that commits ends the outage and the queue drains at full speed; its
 *   writes resolve then (a 2xx still means committed). While the database is down and the buffer
 *   is full, new writes get LAT_ERR_PIPELINE_OUTAGE_BUFFER_FULL (503, retry 2 s), not 429.
 * - Hold limit (holdMs, LATTICE_OUTAGE_HOLD_MS, default 8 s: below the OTel exporters' 10 s export
 *   timeout): a write that has waited that long and is not inside a running flush is taken out of
 *   the queue and rejected with LAT_ERR_PIPELINE_HOLD_EXPIRED (503, retry 5 s). Once out of the
 *   queue nothing of it can be written, so the sender's retry is its only copy. A write inside a
 *   running flush is never answered before that flush ends: its outcome decides.
 * - Nothing twice: a flush whose COMMIT was sent but whose answer was lost (connection dropped) is
 *   retried like any unavailable flush; spans and request rows are then skipped by their unique
 *   (trace_id, span_id, time) and delta points by their "start:time" in delta_streams
 *   (cumulative-to-delta.ts), cumulative points as not newer than the stream's state.
 * - Other database errors: the flush's writes reject with LAT_ERR_STORE_WRITE_FAILED.
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
import { applyDeltaKeys, lockStreams, saveStreams } from '../store/queries/streams.js';
import { upsertRollups } from '../store/queries/rollups.js';
import type { RouteAdmission } from '../store/queries/service-routes.js';
import { toDeltaRounds, toDeltas } from './cumulative-to-delta.js';
import { toRollupRows } from './rollup.js';
import { createRouteGuard, type RouteGuard } from './route-guard.js';

export interface BatchingWriterOptions {
  /** Request and span rows per flush; a single larger write is still flushed whole. */
  batchRows: number;
  /**
   * Metric data points per flush (default 20,000). Points are counted apart from rows: a flush's
   * point cost is one stream-state row per point plus one rollup row per key, and the keys repeat
   * from export to export, so a larger flush merges more points into each rollup row. In-process
   * closed loop (32 writers, 320-point delta exports, PostgreSQL, load ~3): 14.1k points/s when
   * points shared the 5,000-row cap, 23.8k at 20,000; traces at 20,000 rows were ~8 % slower, so
   * rows keep 5,000.
   */
  batchPoints?: number;
  /** Rows waiting (queued or being flushed) before writes are refused with 429. */
  maxQueuedRows: number;
  /** Estimated bytes waiting (queued or being flushed) before writes are refused; default 16 MiB. */
  maxQueuedBytes?: number;
  /** How long a write may wait outside a flush before it is answered 503 (ms); default 8000. */
  holdMs?: number;
  /** First retry of a flush after the database was unreachable (ms), doubling up to retryMaxMs; 250 / 2000. */
  retryMinMs?: number;
  retryMaxMs?: number;
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
  /** Flushes that found the database unreachable (each put its writes back into the queue). */
  unavailableFlushes: number;
  /** Writes answered 503 after waiting holdMs outside a flush. */
  expiredWrites: number;
}

interface Pending {
  /** write() order: writes put back after a failed flush keep their place */
  seq: number;
  batch: IngestBatch;
  /** requests + spans + points, for the queue limit */
  rows: number;
  /** data points of `rows`, for the flush's point cap */
  points: number;
  bytes: number;
  /** Date.now() at write() */
  queuedAt: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The database is unreachable: flushes wait for the retry timer. */
interface Outage {
  since: number;
  /** the driver's message of the last failure */
  reason: string;
  retryMs: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Heap bytes per queued row: a translated span or request row (strings,
 * numbers, attributes) held until commit. bench/faults/row-heap.mjs: 628 B per row (a 512-span
 * protobuf export = 640 rows, 79 kB body, held translated: 402 kB of heap).
 */
export const ROW_HEAP_BYTES = 600;
/**
 * bench/faults, receiver peak RSS under 2x overload (open loop, 512 connections) at
 * LATTICE_MAX_QUEUED_BYTES / LATTICE_MAX_INFLIGHT_BYTES: 64/64 MiB 356 MB, 32/32 298 MB,
 * 24/16 259 MB, 16/16 248 MB, 16/8 238 MB; no fault, 16 connections: 187-191 MB. 16 MiB keeps it
 * under 256 MB (issue #5) and holds about 35 exports of 512 spans during an outage.
 */
export const DEFAULT_MAX_QUEUED_BYTES = 16 * 1024 * 1024;
export const DEFAULT_HOLD_MS = 8000;
export const DEFAULT_BATCH_POINTS = 20_000;

const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 3;
/** "no partition of relation … found for row" */
const NO_PARTITION_SQLSTATE = '23514';

export function createBatchingWriter(db: Db, options: BatchingWriterOptions):
  IngestWriter & { stats(): BatchingWriterStats; onCommit(listener: CommitListener): () => void } {
  const maxConcurrent = options.maxConcurrentFlushes ?? (db.kind === 'pglite' ? 1 : 2);
  const maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  const holdMs = options.holdMs ?? DEFAULT_HOLD_MS;
  const batchPoints = options.batchPoints ?? DEFAULT_BATCH_POINTS;
  const retryMinMs = options.retryMinMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 2000;
  /** writes waiting for a flush, in write() order */
  const queue: Pending[] = [];
  /** rows and estimated bytes queued or in a running flush */
  let pendingRows = 0;
  let pendingBytes = 0;
  let nextSeq = 0;
  let active = 0;
  let scheduled = false;
  let closed = false;
  let drained: (() => void) | undefined;
  let outage: Outage | undefined;
  /** fires when the oldest queued write reaches holdMs */
  let holdTimer: NodeJS.Timeout | undefined;
  const commitListeners = new Set<CommitListener>();
  /** Days whose partition is known to exist (cached after a commit). */
  const knownDays = new Set<string>();
  /** Service ids known to be committed (services are never deleted), and when each was last upserted. */
  const knownServices: ServiceCache = new Map();
  const routeGuard = createRouteGuard(options.maxRoutesPerService);
  const counters: Omit<BatchingWriterStats, 'queuedRows' | 'queuedBytes' | 'databaseReachable' | 'unreachableSince'> = {
    committedRequests: 0, committedPoints: 0, failedBatches: 0,
    flushes: 0, duplicateRequests: 0, skippedPoints: 0, unavailableFlushes: 0, expiredWrites: 0,
  };

  /** Answers a write and releases its share of the limits. */
  function settle(p: Pending, error?: unknown): void {
    pendingRows -= p.rows;
    pendingBytes -= p.bytes;
    if (error === undefined) p.resolve();
    else p.reject(error);
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      pump();
    });
  }

  /** The error of a write the queue has no room for: 503 during an outage, else 429 naming the limit. */
  function refusal(moreRows: string, moreBytes: string, rowsLimit: boolean): LatticeError {
    if (outage !== undefined) {
      return errors.LAT_ERR_PIPELINE_OUTAGE_BUFFER_FULL(
        Date.now() - outage.since, outage.reason, pendingRows, pendingBytes, options.maxQueuedRows, maxQueuedBytes);
    }
    return rowsLimit
      ? errors.LAT_ERR_PIPELINE_SATURATED(moreRows, `${pendingRows} rows`, `${options.maxQueuedRows} rows`, 'LATTICE_MAX_QUEUED_ROWS')
      : errors.LAT_ERR_PIPELINE_SATURATED(moreBytes, `${pendingBytes} bytes`, `${maxQueuedBytes} bytes`, 'LATTICE_MAX_QUEUED_BYTES');
  }

  function pump(): void {
    // During an outage only the retry timer starts a flush.
    while (outage === undefined && active < maxConcurrent && queue.length > 0) startFlush();
    if (queue.length === 0 && active === 0) whenIdle();
  }

  function startFlush(): void {
    const taken: Pending[] = [];
    let rows = 0;
    let points = 0;
    while (queue.length > 0 && (taken.length === 0
      || (rows + queue[0]!.rows - queue[0]!.points <= options.batchRows && points + queue[0]!.points <= batchPoints))) {
      const next = queue.shift()!;
      taken.push(next);
      rows += next.rows - next.points;
      points += next.points;
    }
    active++;
    void flush(taken).finally(() => {
      active--;
      armRetry();
      pump();
    });
  }

  function whenIdle(): void {
    if (holdTimer !== undefined) { clearTimeout(holdTimer); holdTimer = undefined; }
    if (drained) {
      if (outage?.timer !== undefined) clearTimeout(outage.timer);
      drained();
    }
  }

  /** A flush found the database unreachable: its writes go back into the queue, in order. */
  function putBack(taken: Pending[], failure: LatticeError): void {
    counters.unavailableFlushes++;
    const reason = failure.cause instanceof Error ? failure.cause.message : failure.message;
    if (outage === undefined) outage = { since: Date.now(), reason, retryMs: retryMinMs, timer: undefined };
    else outage.reason = reason;
    for (const p of taken) queue.push(p);
    queue.sort((a, b) => a.seq - b.seq);
    expireHeld();
  }

  /** During an outage, once no flush runs: one retry after the current backoff. */
  function armRetry(): void {
    if (outage === undefined || outage.timer !== undefined || active > 0) return;
    const delay = outage.retryMs;
    outage.retryMs = Math.min(outage.retryMs * 2, retryMaxMs);
    outage.timer = setTimeout(retry, delay);
    outage.timer.unref();
  }

  function retry(): void {
    if (outage === undefined) return;
    outage.timer = undefined;
    if (active > 0) return;
    if (queue.length > 0) {
      startFlush();
      return;
    }
    // Nothing to write: probe, so /healthz does not report the outage for ever.
    active++;
    void db.query('SELECT 1').then(endOutage, () => {}).finally(() => {
      active--;
      armRetry();
      pump();
    });
  }

  function endOutage(): void {
    if (outage === undefined) return;
    if (outage.timer !== undefined) clearTimeout(outage.timer);
    outage = undefined;
  }

  /** Rejects queued writes older than holdMs (never one inside a running flush), then re-arms. */
  function expireHeld(): void {
    if (holdTimer !== undefined) { clearTimeout(holdTimer); holdTimer = undefined; }
    const now = Date.now();
    let kept = 0;
    for (const p of queue) {
      if (now - p.queuedAt < holdMs) {
        queue[kept++] = p;
        continue;
      }
      counters.expiredWrites++;
      const why = outage === undefined
        ? `${pendingRows} rows were queued ahead of it or with it (the database is slower than the exports)`
        : `the database (${db.description}) has been unreachable for ${now - outage.since} ms (${outage.reason})`;
      settle(p, errors.LAT_ERR_PIPELINE_HOLD_EXPIRED(holdMs, why));
    }
    queue.length = kept;
    armHold();
    if (queue.length === 0 && active === 0) whenIdle();
  }

  function armHold(): void {
    if (holdTimer !== undefined || queue.length === 0) return;
    holdTimer = setTimeout(expireHeld, Math.max(0, queue[0]!.queuedAt + holdMs - Date.now()));
    holdTimer.unref();
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
    const flushStartedAt = Date.now();
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
        // Only a flush begun after the outage was noticed proves the database is back (one that
        // was committing while it went down must not end the outage: bench/faults saw 429s then).
        if (outage !== undefined && flushStartedAt >= outage.since) endOutage();
        for (const p of taken) settle(p);
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
        const failure = toStoreError(err, db);
        try { options.onFlushError?.(failure); } catch { /* logging must not break the writer */ }
        if (failure.code === errors.LAT_ERR_STORE_UNAVAILABLE.code) {
          putBack(taken, failure);
          return;
        }
        counters.failedBatches += taken.length;
        for (const p of taken) settle(p, failure);
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
      const bytes = rows * ROW_HEAP_BYTES;
      // A single batch larger than the whole limit is still taken when nothing else waits,
      // otherwise its sender would retry forever (the body-size limit bounds it anyway).
      if (pendingRows > 0 && (pendingRows + rows > options.maxQueuedRows || pendingBytes + bytes > maxQueuedBytes)) {
        return Promise.reject(refusal(`${rows} more rows`, `${bytes} more bytes`, pendingRows + rows > options.maxQueuedRows));
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ seq: nextSeq++, batch, rows, points: batch.durationPoints.length, bytes, queuedAt: Date.now(), resolve, reject });
        pendingRows += rows;
        pendingBytes += bytes;
        armHold();
        schedule();
      });
    },
    refusal(): LatticeError | undefined {
      if (pendingRows === 0 || (pendingRows < options.maxQueuedRows && pendingBytes < maxQueuedBytes)) return undefined;
      return refusal('another export', 'another export', pendingRows >= options.maxQueuedRows);
    },
    stats(): BatchingWriterStats {
      return {
        ...counters, queuedRows: pendingRows, queuedBytes: pendingBytes,
        databaseReachable: outage === undefined, unreachableSince: outage === undefined ? null : new Date(outage.since).toISOString(),
      };
    },
    onCommit(listener: CommitListener): () => void {
      commitListeners.add(listener);
      return () => { commitListeners.delete(listener); };
    },
    /** Waits for what is queued: committed, or answered 503 after holdMs if the database stays down. */
    async close(): Promise<void> {
      closed = true;
      if (queue.length === 0 && active === 0) {
        whenIdle();
        if (outage?.timer !== undefined) clearTimeout(outage.timer);
        return;
      }
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
    // Delta points: retry dedupe in the store, one upsert per round (usually one); cumulative
    // points: read their streams' state under lock, diff in memory, save. bench/ingest: see the commit.
    const deltas: DurationPoint[] = [];
    for (const round of toDeltaRounds(points)) {
      const applied = await applyDeltaKeys(tx, round);
      for (const point of round) if (applied.has(point.streamKey)) deltas.push(point);
    }
    const cumulative = points.filter((p) => p.temporality === 'cumulative');
    if (cumulative.length > 0) {
      const states = await lockStreams(tx, cumulative.map((p) => p.streamKey));
      const diffed = toDeltas(cumulative, states);
      for (const d of diffed.deltas) deltas.push(d);
      await saveStreams(tx, diffed.changed.values());
    }
    skippedPoints = points.length - deltas.length;
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
