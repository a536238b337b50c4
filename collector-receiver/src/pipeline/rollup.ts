/**
 * Delta duration points → per-minute rollup rows, aggregated in memory first: every point of a
 * flush that shares a row key is merged, so the flush sends one upsert row per key.
 *
 * Row key: (service, minute of timeUnixNano, method, route, status, caller ('' = none), unit,
 * layout). Exponential points are stored at min(point scale, STORAGE_SCALE = 6): finer points are
 * downscaled (≤ 0.55 % quantile error), coarser ones keep their scale; the scale is part of the
 * layout, so rows at different scales can coexist in a minute and the query side merges them at
 * the smaller scale. Explicit points are keyed by their bounds.
 */
import type { DurationPoint } from '../translate/rows.js';
import { STORAGE_SCALE, downscaleExponential, mergeExponential, trimExponential } from './histogram/exponential.js';

export interface RollupRow {
  serviceId: string;
  /** minute start, epoch ms */
  minuteMs: number;
  method: string;
  route: string;
  statusCode: number;
  /** '' when the requests had no known caller */
  caller: string;
  unitToMs: number;
  /** 'exponential:<scale>' or 'explicit:<b0,b1,…>' */
  layout: string;
  count: number;
  /** null when any merged point lacked a sum */
  sum: number | null;
  min: number | null;
  max: number | null;
  zeroCount: number;
  offset: number;
  counts: number[];
}

const NANOS_PER_MINUTE = 60_000_000_000n;

export function minuteOfNanos(timeUnixNano: string): number {
  return Number(BigInt(timeUnixNano) / NANOS_PER_MINUTE) * 60_000;
}

export function toRollupRows(deltas: readonly DurationPoint[], serviceIds: ReadonlyMap<string, string>): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  for (const p of deltas) {
    const serviceId = serviceIds.get(p.serviceName);
    if (serviceId === undefined || p.count === 0) continue;
    const minuteMs = minuteOfNanos(p.timeUnixNano);
    const caller = p.callerServiceName ?? '';
    const sum = Number.isNaN(p.sum) ? null : p.sum;
    let row: RollupRow;
    if (p.buckets.kind === 'exponential') {
      const b = trimExponential(downscaleExponential(p.buckets, Math.min(p.buckets.scale, STORAGE_SCALE)));
      row = { serviceId, minuteMs, method: p.method, route: p.route, statusCode: p.statusCode, caller, unitToMs: p.unitToMs,
        layout: `exponential:${b.scale}`, count: p.count, sum, min: p.min, max: p.max, zeroCount: b.zeroCount, offset: b.offset, counts: b.counts.slice() };
    } else {
      row = { serviceId, minuteMs, method: p.method, route: p.route, statusCode: p.statusCode, caller, unitToMs: p.unitToMs,
        layout: `explicit:${p.buckets.bounds.join(',')}`, count: p.count, sum, min: p.min, max: p.max, zeroCount: 0, offset: 0, counts: p.buckets.counts.slice() };
    }
    const key = rollupKey(row);
    const existing = rows.get(key);
    rows.set(key, existing === undefined ? row : mergeRows(existing, row));
  }
  // Sorted by key: concurrent flushes lock rollup rows in one order (no deadlocks).
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

function rollupKey(r: RollupRow): string {
  return JSON.stringify([r.serviceId, r.minuteMs, r.method, r.route, r.statusCode, r.caller, r.unitToMs, r.layout]);
}

function mergeRows(a: RollupRow, b: RollupRow): RollupRow {
  let offset = a.offset;
  let counts: number[];
  if (a.layout.startsWith('exponential:')) {
    const scale = Number(a.layout.slice('exponential:'.length));
    const merged = mergeExponential(
      { kind: 'exponential', scale, zeroCount: 0, offset: a.offset, counts: a.counts },
      { kind: 'exponential', scale, zeroCount: 0, offset: b.offset, counts: b.counts });
    offset = merged.offset;
    counts = merged.counts;
  } else {
    counts = a.counts.map((c, i) => c + (b.counts[i] ?? 0));
  }
  return {
    ...a,
    count: a.count + b.count,
    sum: a.sum === null || b.sum === null ? null : a.sum + b.sum,
    min: minOf(a.min, b.min, Math.min),
    max: minOf(a.max, b.max, Math.max),
    zeroCount: a.zeroCount + b.zeroCount,
    offset,
    counts,
  };
}

/** Like SQL LEAST/GREATEST: nulls are ignored. */
function minOf(a: number | null, b: number | null, pick: (x: number, y: number) => number): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return pick(a, b);
}
