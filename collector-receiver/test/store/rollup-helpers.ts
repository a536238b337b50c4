/** Builders and readers shared by the rollup, window and retention tests. */
import type { Db, Queryable } from '../../src/store/db.js';
import type { RollupRow } from '../../src/pipeline/rollup.js';
import { upsertRollups } from '../../src/store/queries/rollups.js';
import { upsertServices } from '../../src/store/queries/services.js';
import { prng } from '../helpers/prng.js';

/** A merged histogram row, comparable across tables: bucket index → count, zeros dropped. */
export interface MergedRow {
  count: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  zeroCount: number;
  buckets: Record<number, number>;
}

export async function createServices(db: Db, names: string[]): Promise<string[]> {
  const ids = await db.transaction((tx) => upsertServices(tx, names));
  return names.map((n) => ids.get(n)!);
}

const EXPLICIT = 'explicit:5,10,25,50,100';

/**
 * 1-minute rows for `minutes` minutes from `fromMs` (minute aligned): per service and minute a few
 * keys (routes, statuses, a caller), exponential layouts at two scales with offsets that differ
 * from minute to minute, an explicit layout, some rows without a sum, empty minutes.
 */
export function randomMinuteRows(serviceIds: string[], fromMs: number, minutes: number, seed = 1): RollupRow[] {
  const rnd = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const rows: RollupRow[] = [];
  for (let m = 0; m < minutes; m++) {
    if (rnd() < 0.05) continue; // a quiet minute
    for (const serviceId of serviceIds) {
      const seen = new Set<string>();
      for (let k = 0; k < 4; k++) {
        const route = ['/a', '/b/:id', '/c'][int(0, 2)]!;
        const statusCode = rnd() < 0.2 ? 503 : 200;
        const caller = rnd() < 0.3 ? 'web' : '';
        const layout = rnd() < 0.2 ? EXPLICIT : rnd() < 0.2 ? 'exponential:3' : 'exponential:6';
        const key = [route, statusCode, caller, layout].join('|');
        if (seen.has(key)) continue;
        seen.add(key);
        const explicit = layout === EXPLICIT;
        const counts = explicit ? Array.from({ length: 6 }, () => int(0, 5)) : Array.from({ length: int(1, 8) }, () => int(0, 9));
        counts[0] = counts[0]! + 1; // never all zero
        const zeroCount = explicit ? 0 : int(0, 2);
        const count = counts.reduce((a, b) => a + b, 0) + zeroCount;
        const min = rnd() * 10;
        rows.push({
          serviceId, minuteMs: fromMs + m * 60_000, method: 'GET', route, statusCode, caller, unitToMs: 1, layout,
          count, sum: rnd() < 0.1 ? null : count * (5 + rnd() * 50), min, max: min + rnd() * 500, zeroCount,
          offset: explicit ? 0 : int(-4, 60), counts,
        });
      }
    }
  }
  return rows;
}

/** Writes 1m rows through the store function the writer uses, in batches of one statement each. */
export async function insertMinuteRows(db: Db, rows: readonly RollupRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 5000) {
    await db.transaction((tx) => upsertRollups(tx, rows.slice(i, i + 5000)));
  }
}

export function rowKey(serviceId: string, periodMs: number, r: { method: string; route: string; statusCode: number; caller: string; unitToMs: number; layout: string }): string {
  return [serviceId, new Date(periodMs).toISOString(), r.method, r.route, r.statusCode, r.caller, r.unitToMs, r.layout].join('|');
}

/** The TS reference merge: rows grouped by key with the period start floored to `periodMs`. */
export function mergeMinuteRows(rows: readonly RollupRow[], periodMs: number, keyOf = rowKey): Map<string, MergedRow> {
  const out = new Map<string, MergedRow>();
  for (const r of rows) {
    const key = keyOf(r.serviceId, Math.floor(r.minuteMs / periodMs) * periodMs, r);
    const m = out.get(key) ?? { count: 0, sum: 0, min: null, max: null, zeroCount: 0, buckets: {} };
    addInto(m, { count: r.count, sum: r.sum, min: r.min, max: r.max, zeroCount: r.zeroCount, offset: r.offset, counts: r.counts });
    out.set(key, m);
  }
  return out;
}

function addInto(m: MergedRow, r: { count: number; sum: number | null; min: number | null; max: number | null; zeroCount: number; offset: number; counts: readonly number[] }): void {
  m.count += r.count;
  m.sum = m.sum === null || r.sum === null ? null : m.sum + r.sum;
  m.min = r.min === null ? m.min : m.min === null ? r.min : Math.min(m.min, r.min);
  m.max = r.max === null ? m.max : m.max === null ? r.max : Math.max(m.max, r.max);
  m.zeroCount += r.zeroCount;
  r.counts.forEach((c, i) => {
    if (c > 0) m.buckets[r.offset + i] = (m.buckets[r.offset + i] ?? 0) + c;
  });
}

interface DbRow {
  service_id: string; minute: Date; method: string; route: string; status_code: number; caller: string;
  unit_to_ms: number; layout: string; count: string; sum: number | null; min: number | null; max: number | null;
  zero_count: string; bucket_offset: number; counts: (string | number)[];
}

/** Rows of a table or of lattice_rollups(), merged by key with periods floored to `periodMs`. */
export async function readMerged(db: Queryable, from: string, periodMs: number, values: unknown[] = [], keyOf = rowKey): Promise<Map<string, MergedRow>> {
  const result = await db.query<DbRow>(
    `SELECT service_id::text AS service_id, minute, method, route, status_code, caller, unit_to_ms, layout, count, sum, min, max,
            zero_count, bucket_offset, counts FROM ${from}`, values);
  const out = new Map<string, MergedRow>();
  for (const r of result.rows) {
    const t = new Date(r.minute).getTime();
    const key = keyOf(r.service_id, Math.floor(t / periodMs) * periodMs,
      { method: r.method, route: r.route, statusCode: Number(r.status_code), caller: r.caller, unitToMs: Number(r.unit_to_ms), layout: r.layout });
    const m = out.get(key) ?? { count: 0, sum: 0, min: null, max: null, zeroCount: 0, buckets: {} };
    addInto(m, {
      count: Number(r.count), sum: r.sum === null ? null : Number(r.sum), min: r.min === null ? null : Number(r.min),
      max: r.max === null ? null : Number(r.max), zeroCount: Number(r.zero_count), offset: Number(r.bucket_offset),
      counts: r.counts.map(Number),
    });
    out.set(key, m);
  }
  return out;
}

/** Sorted entries with sums rounded (float addition order differs between SQL and JS). */
export function comparable(m: Map<string, MergedRow>): [string, MergedRow][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, { ...v, sum: v.sum === null ? null : Math.round(v.sum * 1e6) / 1e6 }]);
}
