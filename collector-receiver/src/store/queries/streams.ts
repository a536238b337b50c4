import { hash } from 'node:crypto';
import type { Queryable } from '../db.js';
import { toBareArrayLiteral } from './array-literal.js';
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
 * First 8 bytes of md5(text) as 16 hex digits: the big-endian two's complement of the signed
 * bigint ids and hashes of migration 011 (SQL: ('x' || substr(md5(text), 1, 16))::bit(64)::bigint).
 * One-shot crypto.hash to hex and no BigInt on the write path: 0.43 us per call against 1.8-2.4 us
 * for createHash().digest().readBigInt64BE().toString() (20,000 keys x 10, Node 20, two orders).
 */
function md5Hex64(text: string): string {
  return hash('md5', text).slice(0, 16);
}

/** The signed 64-bit decimal of 16 hex digits (two's complement), as SQL's ::bit(64)::bigint reads it. */
function hex64ToDecimal(hex: string): string {
  return BigInt.asIntN(64, BigInt(`0x${hex}`)).toString();
}

/**
 * Sorts 16-hex-digit ids as the signed bigints they encode: flipping the sign bit (the first hex
 * digit xor 8) turns signed order into the plain string order of equal-length hex.
 */
const SIGN_FLIPPED = new Map([...'0123456789abcdef'].map((d, i) => [d, '0123456789abcdef'[i ^ 8]!]));
function signedOrderKey(hex: string): string {
  return SIGN_FLIPPED.get(hex[0]!)! + hex.slice(1);
}

/** delta_streams.stream_id of a stream key (migration 011), as a decimal. */
export function deltaStreamId(streamKey: string): string {
  return hex64ToDecimal(md5Hex64(streamKey));
}

/** The hash of a delta point's "start:time" kept in delta_streams.recent (migration 011), as hex. */
function deltaPointHex(key: DeltaKey): string {
  return md5Hex64(`${key.startTimeUnixNano}:${key.timeUnixNano}`);
}

/** deltaPointHex as a decimal, as delta_streams.recent holds it. */
export function deltaPointHash(key: DeltaKey): string {
  return hex64ToDecimal(deltaPointHex(key));
}

/**
 * Retry dedupe of delta points in one statement: each key whose hash is not among its stream's
 * last RECENT_DELTA_KEYS applied hashes is appended to them (the stream row is created when new)
 * and reported as applied; a key already there changes nothing. Keys must name distinct streams
 * (one point per stream per call). The upsert locks every
 * row it meets, applied or not, until commit, so two flushes or replicas holding one point
 * serialize and only the first applies it. Returns the stream keys whose key was applied.
 * Ids and hashes travel as hex and become bigints in SQL (see md5Hex64).
 */
export async function applyDeltaKeys(tx: Queryable, keys: readonly DeltaKey[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  // Rows are locked in stream_id order (deadlock-free between flushes); two stream keys whose ids
  // collide cannot share a statement (ON CONFLICT may not touch a row twice): the later waits.
  const rows: { order: string; id: string; key: DeltaKey }[] = [];
  const later: DeltaKey[] = [];
  const byId = new Map<string, string>();
  for (const key of keys) {
    const id = md5Hex64(key.streamKey);
    if (byId.has(id)) { later.push(key); continue; }
    byId.set(id, key.streamKey);
    rows.push({ order: signedOrderKey(id), id, key });
  }
  rows.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  const result = await tx.query<{ stream_id: string }>(
    `INSERT INTO delta_streams AS m (stream_id, last_time, recent)
     SELECT ('x' || k)::bit(64)::bigint, t, ARRAY[('x' || h)::bit(64)::bigint]
     FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(k, t, h)
     ON CONFLICT (stream_id) DO UPDATE SET
       last_time = greatest(m.last_time, EXCLUDED.last_time),
       recent = (m.recent || EXCLUDED.recent)[greatest(1, cardinality(m.recent) + 2 - $4::int):]
     WHERE NOT (EXCLUDED.recent[1] = ANY (m.recent))
     RETURNING lpad(to_hex(m.stream_id), 16, '0') AS stream_id`,
    [toBareArrayLiteral(rows, (r) => r.id), toBareArrayLiteral(rows, (r) => r.key.timeUnixNano),
      toBareArrayLiteral(rows, (r) => deltaPointHex(r.key)), RECENT_DELTA_KEYS]);
  const applied = new Set<string>();
  for (const row of result.rows) applied.add(byId.get(row.stream_id)!);
  for (const key of await applyDeltaKeys(tx, later)) applied.add(key);
  return applied;
}
