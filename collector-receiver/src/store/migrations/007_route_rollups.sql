-- 007: per-route rollups (5 minutes, 1 hour, 6 hours) for window reads grouped by route, the
-- minutes each service has rollups in (per hour, as a bit mask), and late 1-minute rows.
--
-- service_route_metrics holds, per (service, grain, period start, method, route, unit, layout),
-- the exact merge of the rollup rows of all status codes and callers of that route: count, errors
-- (requests with status ≥ 500), sum, min/max, zero_count and bucket counts (bucket_offset +
-- counts, as in service_metrics_1m). It is filled by the rollup job (store/maintenance/rollups.ts),
-- never by the writer:
--   grain 300   from service_metrics_5m        grain 3600  from service_metrics_1h
--   grain 21600 from its own hourly rows (6-hour periods, UTC-aligned)
-- Why: a 24 h per-route read over service_metrics_1h merges ~24 hourly rows × statuses × callers
-- per route, a few hundred scale-6 buckets each; here it merges four 6-hour rows per route
-- (bench/query). Rows count merged across statuses only once, so error counts are kept.
-- Each grain has its own watermark (route_5m, route_1h, route_6h): every period that ends at or
-- before it is in the table; readers (store/queries/window.ts) take a grain's rows only below it.
CREATE TABLE service_route_metrics (
  service_id bigint NOT NULL REFERENCES services (id),
  grain_seconds int NOT NULL CHECK (grain_seconds IN (300, 3600, 21600)),
  minute timestamptz NOT NULL,
  method text NOT NULL,
  route text NOT NULL,
  unit_to_ms double precision NOT NULL,
  layout text NOT NULL,
  count bigint NOT NULL,
  errors bigint NOT NULL,
  sum double precision,
  min double precision,
  max double precision,
  zero_count bigint NOT NULL DEFAULT 0,
  bucket_offset int NOT NULL DEFAULT 0,
  counts bigint[] NOT NULL,
  PRIMARY KEY (service_id, grain_seconds, minute, method, route, unit_to_ms, layout)
);
CREATE INDEX service_route_metrics_grain_minute_idx ON service_route_metrics (grain_seconds, minute);

-- Per service and UTC hour: bit i (0 … 59) set when service_metrics_1m has a row for minute i of
-- the hour. The span/rollup source rule (store/queries/grouped-window.ts) reads these 24 rows per
-- service-day instead of every 1m row of the window. Built by the rollup job below the
-- 'minutes' watermark; minutes at or after it are read from service_metrics_1m.
CREATE TABLE service_rollup_minutes (
  service_id bigint NOT NULL REFERENCES services (id),
  hour timestamptz NOT NULL,
  minutes bigint NOT NULL,
  PRIMARY KEY (service_id, hour)
);
CREATE INDEX service_rollup_minutes_hour_idx ON service_rollup_minutes (hour);

ALTER TABLE lattice_rollup_watermarks DROP CONSTRAINT lattice_rollup_watermarks_grain_check;
ALTER TABLE lattice_rollup_watermarks ADD CONSTRAINT lattice_rollup_watermarks_grain_check
  CHECK (grain IN ('5m', '1h', 'minutes', 'route_5m', 'route_1h', 'route_6h'));
-- -infinity: the next rollup pass builds these from the first stored row on (existing data too).
INSERT INTO lattice_rollup_watermarks (grain, rolled_to)
VALUES ('minutes', '-infinity'), ('route_5m', '-infinity'), ('route_1h', '-infinity'), ('route_6h', '-infinity');

-- 5-minute periods that received 1m rows after they were rolled up (below the 5m watermark): the
-- rollup job rebuilds their 5m, 1h, route and minute rows on its next pass, however late the rows
-- came (before, rows more than its 15-minute lookback late never reached 5m/1h). One small
-- statement per writer statement, over the rows that statement wrote.
CREATE TABLE lattice_rollup_late (
  period timestamptz PRIMARY KEY,
  noted_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION lattice_note_late_rollups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO lattice_rollup_late (period)
  SELECT DISTINCT date_bin('5 minutes', n.minute, timestamptz '2000-01-01 00:00:00+00')
  FROM lattice_rollup_new n
  WHERE n.minute < (SELECT w.rolled_to FROM lattice_rollup_watermarks w WHERE w.grain = '5m')
  ON CONFLICT (period) DO NOTHING;
  RETURN NULL;
END
$$;
-- Transition tables allow one event per trigger: one for inserted rows, one for merged ones.
CREATE TRIGGER service_metrics_1m_late_insert AFTER INSERT ON service_metrics_1m
  REFERENCING NEW TABLE AS lattice_rollup_new FOR EACH STATEMENT EXECUTE FUNCTION lattice_note_late_rollups();
CREATE TRIGGER service_metrics_1m_late_update AFTER UPDATE ON service_metrics_1m
  REFERENCING NEW TABLE AS lattice_rollup_new FOR EACH STATEMENT EXECUTE FUNCTION lattice_note_late_rollups();

SELECT lattice_protect_table('service_route_metrics');
SELECT lattice_protect_table('service_rollup_minutes');
