/**
 * Per-key rate limit on ingest: a token bucket per key, in rows per second (spans + data points),
 * holding up to `burstSeconds` seconds of rows (default 2: a burst of 2× the rate). An export
 * that finds too few tokens takes none and is told how long until enough have refilled
 * (Retry-After, whole seconds, at least 1). An export larger than the whole bucket is let in when
 * the bucket is full and leaves it in debt, else it could never be sent.
 */
export interface RateLimiterOptions {
  /** Rows per second per key; 0 = unlimited. */
  rowsPerSecond: number;
  /** Bucket size in seconds of rows; default 2. */
  burstSeconds?: number;
  /** Clock (tests). */
  now?: () => number;
}

export interface RateLimiter {
  /** 0 when the rows may pass (tokens taken), else the seconds to wait before retrying. */
  take(keyId: string, rows: number): number;
}

/** Buckets of keys idle this long are full again anyway: dropped so the map stays small. */
const IDLE_DROP_MS = 60_000;

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const rate = options.rowsPerSecond;
  if (rate <= 0) return { take: () => 0 };
  const capacity = rate * (options.burstSeconds ?? 2);
  const now = options.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let lastSweep = now();

  return {
    take(keyId, rows) {
      const at = now();
      if (at - lastSweep > IDLE_DROP_MS) {
        for (const [id, bucket] of buckets) if (at - bucket.at > IDLE_DROP_MS) buckets.delete(id);
        lastSweep = at;
      }
      let bucket = buckets.get(keyId);
      if (bucket === undefined) {
        bucket = { tokens: capacity, at };
        buckets.set(keyId, bucket);
      } else {
        bucket.tokens = Math.min(capacity, bucket.tokens + ((at - bucket.at) / 1000) * rate);
        bucket.at = at;
      }
      const needed = Math.min(rows, capacity);
      if (bucket.tokens >= needed) {
        bucket.tokens -= rows;
        return 0;
      }
      return Math.max(1, Math.ceil((needed - bucket.tokens) / rate));
    },
  };
}
