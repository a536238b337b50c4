import type { LatticeError } from '../errors.js';
import type { IngestBatch } from '../translate/rows.js';

/**
 * The write side the OTLP routes enqueue into. `write` resolves only once every row of the batch is
 * committed (a 2xx means committed); concurrent calls are group-committed together. It rejects with a
 * LatticeError carrying retryAfterSeconds: LAT_ERR_PIPELINE_SATURATED (429, queue full),
 * LAT_ERR_PIPELINE_OUTAGE_BUFFER_FULL (503, the database is down and the outage buffer is full) or
 * LAT_ERR_PIPELINE_HOLD_EXPIRED (503, waited the hold limit without being written).
 */
export interface IngestWriter {
  /**
   * Queued bytes are estimated from the rows alone (batching-writer.ts: ROW_HEAP_BYTES each); the body is
   * already counted in LATTICE_MAX_INFLIGHT_BYTES until its answer is sent (counting it here too
   * refused a 32-connection JSON load with 429s).
   */
  write(batch: IngestBatch): Promise<void>;
  /**
   * The error any write would get right now because the queue is at its limit (429, or 503 while
   * the database is down), else undefined: lets the routes refuse before reading a body.
   */
  refusal?(): LatticeError | undefined;
  /** Counters for /healthz and the receiver's own self-metrics. */
  stats(): IngestWriterStats;
  /** Flushes what is queued, then stops accepting. */
  close(): Promise<void>;
  /**
   * Calls `listener` after each committed flush with the names of the services it wrote rows for
   * (the live dashboard's `GET /live`). A listener that throws is ignored. Returns an unsubscribe.
   */
  onCommit?(listener: CommitListener): () => void;
}

export type CommitListener = (services: ReadonlySet<string>) => void;

export interface IngestWriterStats {
  queuedRows: number;
  /** estimated bytes queued or being flushed (LATTICE_MAX_QUEUED_BYTES bounds it) */
  queuedBytes: number;
  /** false while flushes find the database unreachable and the writer holds and retries them */
  databaseReachable: boolean;
  /** ISO time the current outage began; null when reachable */
  unreachableSince: string | null;
  committedRequests: number;
  committedPoints: number;
  failedBatches: number;
}
