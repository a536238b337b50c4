/**
 * Cumulative → delta, and retry dedupe for delta points. Pure: the writer loads the streams'
 * states from `metric_streams` (locked FOR UPDATE in the flush transaction), calls `toDeltas`,
 * stores the changed states and adds the deltas into the rollups — all in one transaction, so a
 * failed flush changes no state and two replicas never both apply one point.
 *
 * Cumulative point P against the stream's last state S (times are uint64 ns, compared as BigInt):
 *   no state yet                       → P is the delta (everything since P.start)
 *   P.start > S.start (restart)        → P is the delta
 *   P.start < S.start                  → stale point from before a restart: skipped
 *   same start, P.time ≤ S.time        → duplicate or out of order: skipped
 *   same start, later, count dropped   → reset: P is the delta
 *   same start, later                  → P − S per bucket (both at the smaller scale; explicit
 *                                        with changed bounds or a negative bucket → reset)
 *   then S := P (unless skipped).
 * Delta point: skipped when its "start:time" is among the stream's last RECENT_DELTA_KEYS
 * applied points (a retried export), else applied and remembered. The writer does this in the
 * database, one statement per round of `toDeltaRounds` (store/queries/streams.ts applyDeltaKeys,
 * table delta_streams, which keeps a hash of each "start:time": migration 011; no read-modify-write
 * round trip per flush); `toDeltas` applies the same rule in memory to the
 * delta points it is given, against `DeltaState`s (tests, and streams without a store).
 * A delta derived from a diff has no min/max (they are cumulative in the source): null.
 */
import type { DurationPoint, HistogramBuckets } from '../translate/rows.js';
import { diffExponential } from './histogram/exponential.js';
import { diffExplicit } from './histogram/explicit.js';

/** How many applied delta points per stream are remembered for retry dedupe. */
export const RECENT_DELTA_KEYS = 32;

export interface CumulativeState {
  kind: 'cumulative';
  count: number;
  /** null when the source sent no sum */
  sum: number | null;
  buckets: HistogramBuckets;
}

export interface DeltaState {
  kind: 'delta';
  /** "start:time" of the most recent applied points, oldest first */
  recent: string[];
}

/** One metric_streams row. state null = row exists only so it could be locked. */
export interface StreamState {
  streamKey: string;
  startTimeUnixNano: string | null;
  lastTimeUnixNano: string | null;
  state: CumulativeState | DeltaState | null;
}

export interface DeltaResult {
  deltas: DurationPoint[];
  /** points skipped as duplicates / stale */
  skipped: number;
  /** new states of the streams this batch touched */
  changed: Map<string, StreamState>;
}

export function toDeltas(points: readonly DurationPoint[], states: ReadonlyMap<string, StreamState>): DeltaResult {
  const ordered = points.slice().sort((a, b) =>
    a.streamKey < b.streamKey ? -1 : a.streamKey > b.streamKey ? 1 : compareNanos(a.timeUnixNano, b.timeUnixNano));
  const current = new Map<string, StreamState>(states);
  const changed = new Map<string, StreamState>();
  const deltas: DurationPoint[] = [];
  let skipped = 0;
  for (const point of ordered) {
    const before = current.get(point.streamKey) ?? null;
    const step = point.temporality === 'delta' ? applyDelta(point, before) : applyCumulative(point, before);
    if (step === null) { skipped++; continue; }
    if (step.delta !== null) deltas.push(step.delta); else skipped++;
    current.set(point.streamKey, step.state);
    changed.set(point.streamKey, step.state);
  }
  return { deltas, skipped, changed };
}

interface Step {
  delta: DurationPoint | null;
  state: StreamState;
}

function applyDelta(point: DurationPoint, before: StreamState | null): Step | null {
  const key = `${point.startTimeUnixNano}:${point.timeUnixNano}`;
  const recent = before?.state?.kind === 'delta' ? before.state.recent : [];
  if (recent.includes(key)) return null;
  const last = before?.lastTimeUnixNano ?? null;
  const state: StreamState = {
    streamKey: point.streamKey,
    startTimeUnixNano: point.startTimeUnixNano,
    lastTimeUnixNano: last !== null && compareNanos(last, point.timeUnixNano) > 0 ? last : point.timeUnixNano,
    state: { kind: 'delta', recent: [...recent, key].slice(-RECENT_DELTA_KEYS) },
  };
  return { delta: point, state };
}

function applyCumulative(point: DurationPoint, before: StreamState | null): Step | null {
  const prev = before?.state?.kind === 'cumulative' ? before.state : null;
  const next: StreamState = {
    streamKey: point.streamKey,
    startTimeUnixNano: point.startTimeUnixNano,
    lastTimeUnixNano: point.timeUnixNano,
    state: { kind: 'cumulative', count: point.count, sum: Number.isNaN(point.sum) ? null : point.sum, buckets: point.buckets },
  };
  if (prev === null || before === null || before.startTimeUnixNano === null || before.lastTimeUnixNano === null) {
    return { delta: asDelta(point), state: next };
  }
  const startOrder = compareNanos(point.startTimeUnixNano, before.startTimeUnixNano);
  if (startOrder < 0) return null;
  if (startOrder > 0) return { delta: asDelta(point), state: next };
  if (compareNanos(point.timeUnixNano, before.lastTimeUnixNano) <= 0) return null;
  if (point.count < prev.count) return { delta: asDelta(point), state: next };
  const buckets = diffBuckets(point.buckets, prev.buckets);
  if (buckets === null) return { delta: asDelta(point), state: next };
  const count = point.count - prev.count;
  // A cumulative point that did not move produces no delta but still advances the state.
  if (count === 0) return { delta: null, state: next };
  const sum = Number.isNaN(point.sum) || prev.sum === null ? Number.NaN : point.sum - prev.sum;
  return {
    delta: { ...point, temporality: 'delta', startTimeUnixNano: before.lastTimeUnixNano, count, sum, min: null, max: null, buckets },
    state: next,
  };
}

function asDelta(point: DurationPoint): DurationPoint {
  return { ...point, temporality: 'delta' };
}

function diffBuckets(current: HistogramBuckets, previous: HistogramBuckets): HistogramBuckets | null {
  if (current.kind === 'exponential' && previous.kind === 'exponential') return diffExponential(current, previous);
  if (current.kind === 'explicit' && previous.kind === 'explicit') return diffExplicit(current, previous);
  return null;
}

/** Orders two uint64 decimal strings. */
export function compareNanos(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A flush's delta points in rounds for the store's dedupe (applyDeltaKeys takes one point per
 * stream per statement): round k holds the k-th point, in time order, of every stream with at
 * least k points, streams in the order they first appear (applyDeltaKeys sorts a round into its
 * lock order itself). Streams of round k > 1 are a subset of those of round 1, so later rounds lock
 * no new rows. Usually one round: an instance exports once per interval. Cumulative points are left out.
 */
export function toDeltaRounds(points: readonly DurationPoint[]): DurationPoint[][] {
  const byStream = new Map<string, DurationPoint[]>();
  for (const point of points) {
    if (point.temporality !== 'delta') continue;
    const list = byStream.get(point.streamKey);
    if (list === undefined) byStream.set(point.streamKey, [point]);
    else list.push(point);
  }
  const rounds: DurationPoint[][] = [];
  for (const list of byStream.values()) {
    if (list.length > 1) list.sort((a, b) => compareNanos(a.timeUnixNano, b.timeUnixNano));
    for (let k = 0; k < list.length; k++) (rounds[k] ??= []).push(list[k]!);
  }
  return rounds;
}
