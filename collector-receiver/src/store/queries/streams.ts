import { createHash } from 'node:crypto';
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

/** First 8 bytes of md5(text) as a signed 64-bit decimal: the ids of migration 011 (same SQL). */
function md5Int64(text: string): string {
  return createHash('md5').update(text).digest().readBigInt64BE(0).toString();
}

/** delta_streams.stream_id of a stream key (migration 011). */
export function deltaStreamId(streamKey: string): string {
  return md5Int64(streamKey);
}

/** The hash of a delta point's "start:time" kept in delta_streams.recent (migration 011). */
export function deltaPointHash(key: DeltaKey): string {
  return md5Int64(`${key.startTimeUnixNano}:${key.timeUnixNano}`);
}

/**
 * Retry dedupe of delta points in one statement: each key whose hash is not among its stream's
 * last RECENT_DELTA_KEYS applied hashes is appended to them (the stream row is created when new)
 * and reported as applied; a key already there changes nothing. Keys must name distinct streams
 * (one point per stream per call). The upsert locks every
 * row it meets, applied or not, until commit, so two flushes or replicas holding one point
 * serialize and only the first applies it. Returns the stream keys whose key was applied.
 */
export async function applyDeltaKeys(tx: Queryable, keys: readonly DeltaKey[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  // Rows are locked in stream_id order (deadlock-free between flushes); two stream keys whose ids
  // collide cannot share a statement (ON CONFLICT may not touch a row twice): the later waits.
  const rows: { id: bigint; key: DeltaKey }[] = [];
  const later: DeltaKey[] = [];
  const byId = new Map<string, string>();
  for (const key of keys) {
    const id = deltaStreamId(key.streamKey);
    if (byId.has(id)) { later.push(key); continue; }
    byId.set(id, key.streamKey);
    rows.push({ id: BigInt(id), key });
  }
  rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const result = await tx.query<{ stream_id: string }>(
    `INSERT INTO delta_streams AS m (stream_id, last_time, recent)
     SELECT k, t, ARRAY[h] FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(k, t, h)
     ON CONFLICT (stream_id) DO UPDATE SET
       last_time = greatest(m.last_time, EXCLUDED.last_time),
       recent = (m.recent || EXCLUDED.recent)[greatest(1, cardinality(m.recent) + 2 - $4::int):]
     WHERE NOT (EXCLUDED.recent[1] = ANY (m.recent))
     RETURNING m.stream_id::text AS stream_id`,
    [`{${rows.map((r) => r.id).join(',')}}`, `{${rows.map((r) => r.key.timeUnixNano).join(',')}}`,
      `{${rows.map((r) => deltaPointHash(r.key)).join(',')}}`, RECENT_DELTA_KEYS]);
  const applied = new Set<string>();
  for (const row of result.rows) applied.add(byId.get(row.stream_id)!);
  for (const key of await applyDeltaKeys(tx, later)) applied.add(key);
  return applied;
}
