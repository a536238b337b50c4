import type { IngestBatch } from '../translate/rows.js';

/**
 * The write side the OTLP routes enqueue into. `write` resolves only once every row of the batch is
 * committed (a 2xx means committed); concurrent calls are group-committed together. It rejects with a
 * LatticeError: LAT_ERR_PIPELINE_SATURATED (429, queue full) or LAT_ERR_STORE_UNAVAILABLE (503, the
 * database cannot be reached), both carrying retryAfterSeconds.
 */
export interface IngestWriter {
  write(batch: IngestBatch): Promise<void>;
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
  committedRequests: number;
  committedPoints: number;
  failedBatches: number;
}
