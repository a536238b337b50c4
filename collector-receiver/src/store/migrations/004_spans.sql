-- 004: every span of a trace, of every kind, for the request's journey (GET /traces/:traceId).
-- service_metrics keeps one row per SERVER span for request metrics; spans keeps the whole trace:
-- server, client, internal, producer and consumer spans, each with its parent.
-- Partitioned by UTC day like service_metrics (spans_pYYYYMMDD, created on demand by the writer
-- with the service_metrics partitions of the same days, see store/queries/partitions.ts); retention
-- drops them the same way.
CREATE TABLE spans (
  trace_id text NOT NULL,
  span_id text NOT NULL,
  parent_span_id text,
  service_id bigint NOT NULL REFERENCES services (id),
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('unspecified', 'internal', 'server', 'client', 'producer', 'consumer')),
  start_time timestamptz NOT NULL,
  duration_ms double precision NOT NULL,
  -- OTLP Status.code: 0 unset, 1 ok, 2 error.
  status_code smallint NOT NULL DEFAULT 0,
  -- Status ERROR or an HTTP status >= 500.
  error boolean NOT NULL DEFAULT false,
  -- Present when the span carried them (HTTP server and client spans).
  http_method text,
  http_route text,
  http_status_code int,
  -- The same export delivered twice inserts nothing the 2nd time; it is also the index by trace_id
  -- that GET /traces/:traceId reads (one index probe per partition).
  CONSTRAINT spans_unique UNIQUE (trace_id, span_id, start_time)
) PARTITION BY RANGE (start_time);
