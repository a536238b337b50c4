import type { Queryable } from '../db.js';
import type { StreamState } from '../../pipeline/cumulative-to-delta.js';

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
