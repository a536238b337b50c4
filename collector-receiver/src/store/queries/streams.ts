import type { Queryable } from '../db.js';
import { RECENT_DELTA_KEYS, type StreamState } from '../../pipeline/cumulative-to-delta.js';

/**
 * Locks the metric_streams rows of `keys` for this transaction (creating empty rows for new
 * streams first, so a stream seen for the first time by two replicas at once is still locked by
 * exactly one of them) and returns their states. Keys are locked in sorted order.
 */
export async function lockStreams(tx: Queryable, keys: readonly string[]): Promise<Map<string, StreamState>> {
  const unique = [...new Set(keys)].sort();
  const states = new Map<string, StreamState>();
  if (unique.length === 0) return states;
  await tx.query(
    `INSERT INTO metric_streams (stream_key) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (stream_key) DO NOTHING`, [unique]);
  const result = await tx.query<{ stream_key: string; start: string | null; last: string | null; state: unknown }>(
    `SELECT stream_key, start_time_unix_nano::text AS start, last_time_unix_nano::text AS last, state
     FROM metric_streams WHERE stream_key = ANY($1::text[]) ORDER BY stream_key FOR UPDATE`, [unique]);
  for (const row of result.rows) {
    const state = typeof row.state === 'string' ? JSON.parse(row.state) : row.state;
    states.set(row.stream_key, {
      streamKey: row.stream_key,
      startTimeUnixNano: row.start,
      lastTimeUnixNano: row.last,
      state: (state ?? null) as StreamState['state'],
    });
  }
  return states;
}

/** Stores new stream states (rows exist: lockStreams created them). One statement. */
export async function saveStreams(tx: Queryable, states: Iterable<StreamState>): Promise<void> {
  const list = [...states];
  if (list.length === 0) return;
  await tx.query(
    `UPDATE metric_streams AS m SET start_time_unix_nano = u.start::numeric, last_time_unix_nano = u.last::numeric,
       state = u.state::jsonb, updated_at = now()
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(key, start, last, state)
     WHERE m.stream_key = u.key`,
    [list.map((s) => s.streamKey), list.map((s) => s.startTimeUnixNano), list.map((s) => s.lastTimeUnixNano),
      list.map((s) => JSON.stringify(s.state))]);
}

/** A delta point's identity for retry dedupe: its stream and "start:time" (uint64 ns, decimal). */
export interface DeltaKey {
  streamKey: string;
  startTimeUnixNano: string;
  timeUnixNano: string;
}

/**
 * Retry dedupe of delta points in one statement: each key not among its stream's last
 * RECENT_DELTA_KEYS applied keys is appended to them (the stream row is created when new) and
 * reported as applied; a key already there changes nothing. Keys must name distinct streams
 * (one point per stream per call) and come sorted by stream (lock order). The upsert locks every
 * row it meets, applied or not, until commit (migration 008), so two flushes or replicas holding
 * one point serialize and only the first applies it. Returns the streams whose key was applied.
 */
export async function applyDeltaKeys(tx: Queryable, keys: readonly DeltaKey[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const result = await tx.query<{ stream_key: string }>(
    `INSERT INTO metric_streams AS m (stream_key, start_time_unix_nano, last_time_unix_nano, recent_starts, recent_times)
     SELECT k, s::numeric, t::numeric, ARRAY[s::bigint], ARRAY[t::bigint]
     FROM unnest($1::text[], $2::text[], $3::text[]) AS u(k, s, t)
     ON CONFLICT (stream_key) DO UPDATE SET
       start_time_unix_nano = EXCLUDED.start_time_unix_nano,
       last_time_unix_nano = greatest(m.last_time_unix_nano, EXCLUDED.last_time_unix_nano),
       recent_starts = (m.recent_starts || EXCLUDED.recent_starts)[greatest(1, cardinality(m.recent_starts) + 2 - $4::int):],
       recent_times = (m.recent_times || EXCLUDED.recent_times)[greatest(1, cardinality(m.recent_times) + 2 - $4::int):],
       state = NULL,
       updated_at = now()
     WHERE NOT EXISTS (SELECT 1 FROM unnest(m.recent_starts, m.recent_times) AS r(s, t)
                       WHERE r.s = EXCLUDED.recent_starts[1] AND r.t = EXCLUDED.recent_times[1])
     RETURNING m.stream_key`,
    [keys.map((k) => k.streamKey), keys.map((k) => k.startTimeUnixNano), keys.map((k) => k.timeUnixNano), RECENT_DELTA_KEYS]);
  return new Set(result.rows.map((r) => r.stream_key));
}
