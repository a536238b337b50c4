/**
 * Delta duration points → per-minute rollup rows, aggregated in memory first: every point of a
 * flush that shares a row key is merged, so the flush sends one upsert row per key.
 *
 * Row key: (service, minute of timeUnixNano, method, route, status, caller ('' = none), unit,
 * layout). Exponential points are stored at min(point scale, STORAGE_SCALE = 6): finer points are
 * downscaled (≤ 0.55 % quantile error), coarser ones keep their scale; the scale is part of the
 * layout, so rows at different scales can coexist in a minute and the query side merges them at
 * the smaller scale. Explicit points are keyed by their bounds.
 * Every exponential row holds at most MAX_EXPONENTIAL_BUCKETS buckets: a point or a merge that
 * would be wider is downscaled further and moves to the row of its new layout (merged there).
 */
import type { DurationPoint } from '../translate/rows.js';
import { MAX_EXPONENTIAL_BUCKETS, STORAGE_SCALE, boundExponential, downscaleExponential, mergeExponential, trimExponential } from './histogram/exponential.js';

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

/** The minute (epoch ms) holding a uint64 nanosecond time given as a decimal string. */
export function minuteOfNanos(timeUnixNano: string): number {
  // Whole seconds are the digits before the last nine: no BigInt for a plain decimal (every point).
  if (timeUnixNano.length > 9 && timeUnixNano.length <= 24 && /^\d+$/.test(timeUnixNano)) {
    return Math.floor(Number(timeUnixNano.slice(0, -9)) / 60) * 60_000;
  }
  return Number(BigInt(timeUnixNano) / NANOS_PER_MINUTE) * 60_000;
}

/**
 * 'explicit:<b0,b1,…>' for a point's bounds. Points of one flush nearly always share their bounds
 * (one SDK, one instrument), and number → text of 14 doubles per point was the largest self time
 * of toRollupRows under bench/ingest metrics: the last layout is reused while the bounds are equal.
 */
function createExplicitLayouts(): (bounds: readonly number[]) => string {
  let lastBounds: readonly number[] | undefined;
  let lastLayout = '';
  return (bounds) => {
    if (lastBounds !== undefined && sameNumbers(lastBounds, bounds)) return lastLayout;
    lastBounds = bounds;
    lastLayout = `explicit:${bounds.join(',')}`;
    return lastLayout;
  };
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  // Bounds are finite (translate/points.ts rejects others), and -0 === 0 prints as '0' alike.
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toRollupRows(deltas: readonly DurationPoint[], serviceIds: ReadonlyMap<string, string>): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  const explicitLayout = createExplicitLayouts();
  for (const p of deltas) {
    const serviceId = serviceIds.get(p.serviceName);
    if (serviceId === undefined || p.count === 0) continue;
    const minuteMs = minuteOfNanos(p.timeUnixNano);
    const caller = p.callerServiceName ?? '';
    const sum = Number.isNaN(p.sum) ? null : p.sum;
    let row: RollupRow;
    if (p.buckets.kind === 'exponential') {
      const b = boundExponential(trimExponential(downscaleExponential(p.buckets, Math.min(p.buckets.scale, STORAGE_SCALE))));
      row = { serviceId, minuteMs, method: p.method, route: p.route, statusCode: p.statusCode, caller, unitToMs: p.unitToMs,
        layout: `exponential:${b.scale}`, count: p.count, sum, min: p.min, max: p.max, zeroCount: b.zeroCount, offset: b.offset, counts: b.counts.slice() };
    } else {
      row = { serviceId, minuteMs, method: p.method, route: p.route, statusCode: p.statusCode, caller, unitToMs: p.unitToMs,
        layout: explicitLayout(p.buckets.bounds), count: p.count, sum, min: p.min, max: p.max, zeroCount: 0, offset: 0, counts: p.buckets.counts.slice() };
    }
    // A bounded merge may come out at a coarser scale: the row then moves to that layout's key
    // (and merges with what is there). Ends: the scale falls on every move.
    for (;;) {
      const key = rollupKey(row);
      const existing = rows.get(key);
      if (existing === undefined) { rows.set(key, row); break; }
      // Explicit rows of one key share their bounds: add in place (rows here are this call's own).
      if (!row.layout.startsWith('exponential:')) { addExplicitInPlace(existing, row); break; }
      const merged = mergeRows(existing, row);
      if (merged.layout === row.layout) { rows.set(key, merged); break; }
      rows.delete(key);
      row = merged;
    }
  }
  // Sorted by key: concurrent flushes lock rollup rows in one order (no deadlocks).
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

/** The bucket range of one stored exponential row of service_metrics_1m (non-empty counts). */
export interface StoredBucketRange
  extends Pick<RollupRow, 'serviceId' | 'minuteMs' | 'method' | 'route' | 'statusCode' | 'caller' | 'unitToMs' | 'layout' | 'offset'> {
  /** number of stored buckets, > 0 (layout is always 'exponential:<scale>' here) */
  length: number;
}

/**
 * Keeps every stored row within MAX_EXPONENTIAL_BUCKETS after the upsert adds `rows` into it:
 * an exponential row whose buckets, together with those already stored under its key, would span
 * more is downscaled one scale at a time (moving to that layout's row, checked the same way, and
 * merged with any row of the batch already there) until it fits. `stored` holds the non-empty
 * exponential rows of the batch's keys (any layout). Returns rows unique by key, sorted by key
 * (the upsert's lock order). Rows without a stored neighbour are returned as they are.
 */
export function fitToStoredRows(rows: readonly RollupRow[], stored: readonly StoredBucketRange[],
  maxBuckets = MAX_EXPONENTIAL_BUCKETS): RollupRow[] {
  if (stored.length === 0) return rows.slice();
  const ranges = new Map<string, { lo: number; hi: number }>();
  for (const s of stored) {
    if (s.length > 0) ranges.set(rollupKey(s), { lo: s.offset, hi: s.offset + s.length - 1 });
  }
  const out = new Map<string, RollupRow>();
  for (let row of rows) {
    for (;;) {
      const key = rollupKey(row);
      const range = row.counts.length > 0 && row.layout.startsWith('exponential:') ? ranges.get(key) : undefined;
      const scale = Number(row.layout.slice('exponential:'.length));
      if (range !== undefined && scale > MIN_EXPONENTIAL_SCALE &&
          Math.max(range.hi, row.offset + row.counts.length - 1) - Math.min(range.lo, row.offset) + 1 > maxBuckets) {
        const b = downscaleExponential({ kind: 'exponential', scale, zeroCount: 0, offset: row.offset, counts: row.counts }, scale - 1);
        row = { ...row, layout: `exponential:${b.scale}`, offset: b.offset, counts: b.counts };
        continue;
      }
      const pending = out.get(key);
      if (pending === undefined) { out.set(key, row); break; }
      // Two rows of the batch met at one key: merge them and check the sum against the store again.
      out.delete(key);
      row = mergeRows(pending, row);
    }
  }
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

/** The smallest scale OTLP allows; fitToStoredRows stops downscaling there. */
const MIN_EXPONENTIAL_SCALE = -10;

/**
 * A row's key as one string (Map key and lock order). Only the route and the caller are free
 * text: the route is length-prefixed and the caller comes last, so no two keys collide whatever
 * they contain; the other fields hold no '|' (ids, numbers, normalised methods, layouts).
 * Cheaper than JSON.stringify of the fields (bench/ingest metrics profile).
 */
function rollupKey(r: Pick<RollupRow, 'serviceId' | 'minuteMs' | 'method' | 'route' | 'statusCode' | 'caller' | 'unitToMs' | 'layout'>): string {
  return `${r.serviceId}|${r.minuteMs}|${r.method}|${r.statusCode}|${r.unitToMs}|${r.layout}|${r.route.length}|${r.route}|${r.caller}`;
}

function mergeRows(a: RollupRow, b: RollupRow): RollupRow {
  let offset = a.offset;
  let layout = a.layout;
  let counts: number[];
  if (a.layout.startsWith('exponential:')) {
    const scale = Number(a.layout.slice('exponential:'.length));
    const merged = mergeExponential(
      { kind: 'exponential', scale, zeroCount: 0, offset: a.offset, counts: a.counts },
      { kind: 'exponential', scale, zeroCount: 0, offset: b.offset, counts: b.counts });
    offset = merged.offset;
    counts = merged.counts;
    layout = `exponential:${merged.scale}`;
  } else {
    counts = a.counts.map((c, i) => c + (b.counts[i] ?? 0));
  }
  const out = { ...a, layout, offset, counts };
  addTotals(out, b);
  return out;
}

/**
 * mergeRows for two explicit rows of one key, into `into` (owned by the caller): no new row and
 * counts array per merged point, which the metrics write path did for every point of a flush.
 */
function addExplicitInPlace(into: RollupRow, row: RollupRow): void {
  for (let i = 0; i < into.counts.length; i++) into.counts[i]! += row.counts[i] ?? 0;
  addTotals(into, row);
}

/** Adds `row`'s count, sum, min/max and zero count into `into` (what every merge does besides the buckets). */
function addTotals(into: RollupRow, row: RollupRow): void {
  into.count += row.count;
  into.sum = into.sum === null || row.sum === null ? null : into.sum + row.sum;
  into.min = minOf(into.min, row.min, Math.min);
  into.max = minOf(into.max, row.max, Math.max);
  into.zeroCount += row.zeroCount;
}

/** Like SQL LEAST/GREATEST: nulls are ignored. */
function minOf(a: number | null, b: number | null, pick: (x: number, y: number) => number): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return pick(a, b);
}
