-- 012: room on service_metrics_1m's pages for its updates. Every flush with metric points merges
-- into the current minute's rows (INSERT … ON CONFLICT DO UPDATE), so each row is rewritten many
-- times while its minute is open. With free space on the page the new version stays on it as a
-- HOT update: no new entry in the unique key index or the two other indexes (none of their
-- columns change). Applies to pages written from now on.
ALTER TABLE service_metrics_1m SET (fillfactor = 50);
