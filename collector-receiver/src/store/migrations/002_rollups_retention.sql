-- 002: coarser rollups (5 minutes, 1 hour), the watermarks that say how far they are built,
-- lattice_rollups() — the one window reader that stitches 1h + 5m + 1m — and the route
-- cardinality guard (service_routes, services.route_overflow_at).
--
-- service_metrics_5m / service_metrics_1h have the columns and key of service_metrics_1m; their
-- `minute` column is the period start (5-minute / hour aligned, UTC). A coarse row is the exact
-- merge of the finer rows of its period with the same key: counts/sums added, min/max by
-- LEAST/GREATEST, sum NULL when any part lacked one, bucket counts added per bucket index (the
-- layout — exponential scale or explicit bounds — is part of the key, so rows of one group always
-- share a bucket layout; exponential offsets are aligned, explicit offsets are 0).

CREATE TABLE service_metrics_5m (
  service_id bigint NOT NULL REFERENCES services (id),
  minute timestamptz NOT NULL,
  method text NOT NULL,
  route text NOT NULL,
  status_code int NOT NULL,
  caller text NOT NULL DEFAULT '',
  unit_to_ms double precision NOT NULL,
  layout text NOT NULL,
  count bigint NOT NULL,
  sum double precision,
  min double precision,
  max double precision,
  zero_count bigint NOT NULL DEFAULT 0,
  bucket_offset int NOT NULL DEFAULT 0,
  counts bigint[] NOT NULL,
  PRIMARY KEY (service_id, minute, method, route, status_code, caller, unit_to_ms, layout)
);
CREATE INDEX service_metrics_5m_minute_idx ON service_metrics_5m (minute);

CREATE TABLE service_metrics_1h (
  service_id bigint NOT NULL REFERENCES services (id),
  minute timestamptz NOT NULL,
  method text NOT NULL,
  route text NOT NULL,
  status_code int NOT NULL,
  caller text NOT NULL DEFAULT '',
  unit_to_ms double precision NOT NULL,
  layout text NOT NULL,
  count bigint NOT NULL,
  sum double precision,
  min double precision,
  max double precision,
  zero_count bigint NOT NULL DEFAULT 0,
  bucket_offset int NOT NULL DEFAULT 0,
  counts bigint[] NOT NULL,
  PRIMARY KEY (service_id, minute, method, route, status_code, caller, unit_to_ms, layout)
);
CREATE INDEX service_metrics_1h_minute_idx ON service_metrics_1h (minute);

-- The rollup job and retention read/delete 1m rows by time across services.
CREATE INDEX service_metrics_1m_minute_idx ON service_metrics_1m (minute);

-- How far each coarse table is built: every period that ends at or before rolled_to is in it
-- (a period with no finer rows has no row). lattice_rollups() reads a coarse table only below its
-- watermark, so a period not yet rolled up is read from the finer rows: never missing, never twice.
CREATE TABLE lattice_rollup_watermarks (
  grain text PRIMARY KEY CHECK (grain IN ('5m', '1h')),
  rolled_to timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO lattice_rollup_watermarks (grain, rolled_to) VALUES ('5m', '-infinity'), ('1h', '-infinity');

-- Route cardinality guard (src/pipeline/route-guard.ts): the distinct routes admitted per service,
-- at most LATTICE_MAX_ROUTES_PER_SERVICE; later routes are stored as '(overflow)' (never listed
-- here). route_overflow_at is set by the first flush that sent a route past the limit.
CREATE TABLE service_routes (
  service_id bigint NOT NULL REFERENCES services (id),
  route text NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service_id, route)
);
ALTER TABLE services ADD COLUMN route_overflow_at timestamptz;

-- Rollup rows of [p_from, p_to) for the services p_service_ids (NULL = every service), with the
-- columns of service_metrics_1m plus grain_seconds (60, 300 or 3600). A row counts when its period
-- start lies in the window; pass date_bin('1 minute', from, …) to count a partly covered minute.
-- The window is cut into five contiguous segments, each read from one table:
--   1m [p_from, f_from) · 5m [f_from, h_from) · 1h [h_from, h_to) · 5m [h_to, f_to) · 1m [f_to, p_to)
-- f_* are the whole 5-minute periods inside the window that are rolled up (below the 5m
-- watermark), h_* the whole hours inside those that are rolled up (below the 1h watermark), so each
-- minute is read exactly once and a period not yet rolled up is read from its 1m rows.
-- date_bin keeps periods UTC-aligned whatever the session TimeZone. STABLE single-SELECT SQL, so
-- PostgreSQL inlines it and the caller's filters and parameters reach the indexes.
CREATE FUNCTION lattice_rollups(p_service_ids bigint[], p_from timestamptz, p_to timestamptz)
RETURNS TABLE (
  service_id bigint, minute timestamptz, method text, route text, status_code int, caller text,
  unit_to_ms double precision, layout text, count bigint, sum double precision, min double precision,
  max double precision, zero_count bigint, bucket_offset int, counts bigint[], grain_seconds int
)
LANGUAGE sql STABLE AS $$
  WITH f AS (
    SELECT f0.f_from,
           greatest(f0.f_from, least(date_bin('5 minutes', p_to, timestamptz '2000-01-01 00:00:00+00'),
             (SELECT w.rolled_to FROM lattice_rollup_watermarks w WHERE w.grain = '5m'))) AS f_to
    FROM (SELECT CASE WHEN date_bin('5 minutes', p_from, timestamptz '2000-01-01 00:00:00+00') = p_from THEN p_from
                      ELSE date_bin('5 minutes', p_from, timestamptz '2000-01-01 00:00:00+00') + interval '5 minutes'
                 END AS f_from) AS f0
  ), h AS (
    SELECT h0.h_from, greatest(h0.h_from, least(date_bin('1 hour', p_to, timestamptz '2000-01-01 00:00:00+00'), f.f_to,
             (SELECT w.rolled_to FROM lattice_rollup_watermarks w WHERE w.grain = '1h'))) AS h_to
    FROM f, LATERAL (SELECT least(f.f_to, CASE WHEN date_bin('1 hour', p_from, timestamptz '2000-01-01 00:00:00+00') = p_from THEN p_from
                      ELSE date_bin('1 hour', p_from, timestamptz '2000-01-01 00:00:00+00') + interval '1 hour' END) AS h_from) AS h0
  ), e AS (SELECT f.f_from, f.f_to, h.h_from, h.h_to FROM f, h)
  SELECT r.service_id, r.minute, r.method, r.route, r.status_code, r.caller, r.unit_to_ms, r.layout, r.count, r.sum,
         r.min, r.max, r.zero_count, r.bucket_offset, r.counts, 60
  FROM service_metrics_1m r 
  WHERE (p_service_ids IS NULL OR r.service_id = ANY (p_service_ids))
    AND r.minute >= p_from AND r.minute < least((SELECT e.f_from FROM e), p_to)
  UNION ALL
  SELECT r.service_id, r.minute, r.method, r.route, r.status_code, r.caller, r.unit_to_ms, r.layout, r.count, r.sum,
         r.min, r.max, r.zero_count, r.bucket_offset, r.counts, 300
  FROM service_metrics_5m r 
  WHERE (p_service_ids IS NULL OR r.service_id = ANY (p_service_ids))
    AND r.minute >= (SELECT e.f_from FROM e) AND r.minute < (SELECT e.h_from FROM e)
  UNION ALL
  SELECT r.service_id, r.minute, r.method, r.route, r.status_code, r.caller, r.unit_to_ms, r.layout, r.count, r.sum,
         r.min, r.max, r.zero_count, r.bucket_offset, r.counts, 3600
  FROM service_metrics_1h r 
  WHERE (p_service_ids IS NULL OR r.service_id = ANY (p_service_ids))
    AND r.minute >= (SELECT e.h_from FROM e) AND r.minute < (SELECT e.h_to FROM e)
  UNION ALL
  SELECT r.service_id, r.minute, r.method, r.route, r.status_code, r.caller, r.unit_to_ms, r.layout, r.count, r.sum,
         r.min, r.max, r.zero_count, r.bucket_offset, r.counts, 300
  FROM service_metrics_5m r 
  WHERE (p_service_ids IS NULL OR r.service_id = ANY (p_service_ids))
    AND r.minute >= (SELECT e.h_to FROM e) AND r.minute < (SELECT e.f_to FROM e)
  UNION ALL
  SELECT r.service_id, r.minute, r.method, r.route, r.status_code, r.caller, r.unit_to_ms, r.layout, r.count, r.sum,
         r.min, r.max, r.zero_count, r.bucket_offset, r.counts, 60
  FROM service_metrics_1m r 
  WHERE (p_service_ids IS NULL OR r.service_id = ANY (p_service_ids))
    AND r.minute >= greatest((SELECT e.f_to FROM e), p_from) AND r.minute < p_to
$$;
