/**
 * The receiver's own counts, after the Collector's receiver_accepted|refused|failed_* metrics:
 * accepted = committed; rejected = invalid items dropped by translation (partial success);
 * refused = valid items the writer did not commit (429/503, the client retries them).
 * Items are SERVER spans and duration points; other spans and metrics are not counted.
 */
export interface OtlpCounters {
  acceptedSpans: number;
  rejectedSpans: number;
  refusedSpans: number;
  acceptedPoints: number;
  rejectedPoints: number;
  refusedPoints: number;
  /** Requests answered with an error status (4xx/5xx), whatever the reason. */
  failedRequests: number;
}

export function createOtlpCounters(): OtlpCounters {
  return {
    acceptedSpans: 0,
    rejectedSpans: 0,
    refusedSpans: 0,
    acceptedPoints: 0,
    rejectedPoints: 0,
    refusedPoints: 0,
    failedRequests: 0,
  };
}
