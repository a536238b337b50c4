-- 011: retry dedupe of delta points moves from metric_streams (text key, numeric times, two bigint
-- arrays) to delta_streams: a bigint stream id and one bigint array of point hashes. Every delta
-- point costs one upsert of its stream's row, so that row's size and key decide the metrics write
-- path: 10,240 stream upserts in one statement took a median 227.6 ms on the old row and 91.4 ms on
-- this one (PostgreSQL 15, load ~4, 60 alternating runs; see the commit).
--   stream_id    first 8 bytes of md5(stream_key) as a signed bigint (stream_key: the sha1 hex of
--                resource, scope, metric and point attributes, translate/points.ts)
--   recent       hashes of the last RECENT_DELTA_KEYS (32) applied points, oldest first: first
--                8 bytes of md5('<start_time_unix_nano>:<time_unix_nano>') as a signed bigint
--   last_time    latest time_unix_nano applied (uint64 ns; fits a bigint until 2262)
-- store/queries/streams.ts computes the same hashes in JS (deltaStreamId, deltaPointHash).
-- A 64-bit collision would at worst merge two streams' recent lists (one in ~10^7 at 10^6 streams),
-- and a point is skipped only if its own hash is among them too.
-- Cumulative streams keep their jsonb state in metric_streams as before.
-- fillfactor 70: each flush rewrites the rows of the streams it touches; room on the page keeps it
-- a HOT update (no primary-key index entry per update).
CREATE TABLE delta_streams (
  stream_id bigint PRIMARY KEY,
  last_time bigint NOT NULL,
  recent bigint[] NOT NULL
) WITH (fillfactor = 70);

-- Existing delta states move over, so a retry of a point applied before the upgrade is still skipped.
INSERT INTO delta_streams (stream_id, last_time, recent)
SELECT ('x' || substr(md5(m.stream_key), 1, 16))::bit(64)::bigint,
       coalesce(m.last_time_unix_nano, 0)::bigint,
       k.hashes
FROM metric_streams m
JOIN LATERAL (
  SELECT array_agg(('x' || substr(md5(r.s::text || ':' || r.t::text), 1, 16))::bit(64)::bigint ORDER BY r.n) AS hashes
  FROM unnest(m.recent_starts, m.recent_times) WITH ORDINALITY AS r(s, t, n)
) k ON true
WHERE m.recent_times IS NOT NULL AND cardinality(m.recent_times) > 0
ON CONFLICT (stream_id) DO NOTHING;

-- Rows that only held delta keys; cumulative rows (state set) stay.
DELETE FROM metric_streams WHERE state IS NULL;
ALTER TABLE metric_streams DROP COLUMN recent_starts, DROP COLUMN recent_times;
