-- 001: services, per-request rows (partitioned by UTC day), per-minute histogram rollups,
-- and the cumulative→delta state of metric streams.

CREATE TABLE services (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now()
);

-- One row per SERVER span. Partitions (service_metrics_pYYYYMMDD, one per UTC day) are created
-- on demand by the writer. A sequence rather than an identity column: identity columns on
-- partitioned tables need PostgreSQL 17.
CREATE SEQUENCE service_metrics_id_seq AS bigint;
CREATE TABLE service_metrics (
  id bigint NOT NULL DEFAULT nextval('service_metrics_id_seq'),
  service_id bigint NOT NULL REFERENCES services (id),
  method text NOT NULL,
  path text NOT NULL,
  status_code int NOT NULL,
  response_time_ms double precision NOT NULL,
  caller_service_name text,
  "timestamp" timestamptz NOT NULL,
  trace_id text NOT NULL,
  span_id text NOT NULL,
  parent_span_id text,
  -- The same export delivered twice (a retry after a lost response) inserts nothing the 2nd time.
  CONSTRAINT service_metrics_span_unique UNIQUE (trace_id, span_id, "timestamp")
) PARTITION BY RANGE ("timestamp");
ALTER SEQUENCE service_metrics_id_seq OWNED BY service_metrics.id;
CREATE INDEX service_metrics_service_time_idx ON service_metrics (service_id, "timestamp" DESC);
CREATE INDEX service_metrics_service_path_time_idx ON service_metrics (service_id, path, "timestamp" DESC);
CREATE INDEX service_metrics_trace_idx ON service_metrics (trace_id);

-- Per-minute rollups of request-duration histogram points (deltas), one row per
-- (service, minute, method, route, status, caller, unit, bucket layout).
--   layout 'exponential:<scale>'  → counts[k] is bucket index bucket_offset + k at that scale
--                                    (bucket i = (base^i, base^(i+1)], base = 2^(2^-scale))
--   layout 'explicit:<b0,b1,…>'   → counts has one more element than bounds (OTLP layout),
--                                    bucket_offset is 0
-- Values are in the source unit; multiply by unit_to_ms for milliseconds.
CREATE TABLE service_metrics_1m (
  service_id bigint NOT NULL REFERENCES services (id),
  minute timestamptz NOT NULL,
  method text NOT NULL,
  route text NOT NULL,
  status_code int NOT NULL,
  caller text NOT NULL DEFAULT '',
  unit_to_ms double precision NOT NULL,
  layout text NOT NULL,
  count bigint NOT NULL,
  -- NULL when any merged point came without a sum.
  sum double precision,
  min double precision,
  max double precision,
  zero_count bigint NOT NULL DEFAULT 0,
  bucket_offset int NOT NULL DEFAULT 0,
  counts bigint[] NOT NULL,
  PRIMARY KEY (service_id, minute, method, route, status_code, caller, unit_to_ms, layout)
);
CREATE INDEX service_metrics_1m_service_minute_idx ON service_metrics_1m (service_id, minute DESC);

-- Adds two bucket-count arrays whose first elements sit at bucket indexes a_offset and b_offset;
-- the result starts at least(a_offset, b_offset). Used by the rollup upsert-merge.
CREATE FUNCTION lattice_add_counts(a_offset int, a bigint[], b_offset int, b bigint[])
RETURNS bigint[] LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(array_agg(coalesce(a[i - a_offset + 1], 0) + coalesce(b[i - b_offset + 1], 0) ORDER BY i), '{}')
  FROM generate_series(
    least(a_offset, b_offset),
    greatest(a_offset + coalesce(array_length(a, 1), 0), b_offset + coalesce(array_length(b, 1), 0)) - 1
  ) AS i
$$;

-- Per metric stream: what the writer needs to turn cumulative points into deltas and to skip
-- delta points it already applied. Kept in the database so replicas and restarts agree.
--   state (cumulative) {"kind":"cumulative","count","sum","zeroCount","buckets"} of the last point
--   state (delta)      {"kind":"delta","recent":["<start>:<time>", …]} the last 32 applied points
-- start/last time are nanoseconds since epoch. A NULL state is a row created only to be locked.
CREATE TABLE metric_streams (
  stream_key text PRIMARY KEY,
  start_time_unix_nano numeric,
  last_time_unix_nano numeric,
  state jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);
