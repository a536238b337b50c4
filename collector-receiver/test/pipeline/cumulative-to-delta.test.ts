import { describe, expect, it } from 'vitest';
import { RECENT_DELTA_KEYS, toDeltas, type StreamState } from '../../src/pipeline/cumulative-to-delta.js';
import { durationPoint, nanos } from '../helpers/fixtures.js';

const T = Date.parse('2026-11-27T10:00:00Z');
const cumulative = (values: number[], startMs: number, timeMs: number, scale = 6) =>
  durationPoint(values, { temporality: 'cumulative', startTimeUnixNano: nanos(startMs), timeUnixNano: nanos(timeMs) }, scale);

describe('toDeltas', () => {
  it('diffs successive cumulative points of a stream within one batch, in time order', () => {
    const { deltas, changed } = toDeltas([cumulative([1, 2, 3], T, T + 20), cumulative([1], T, T + 10)], new Map());
    expect(deltas.map((d) => d.count)).toEqual([1, 2]);
    expect(deltas[1]!.sum).toBe(5);
    expect(deltas[1]!.min).toBeNull();
    expect(changed.get('stream-a')!.lastTimeUnixNano).toBe(nanos(T + 20));
  });

  it('diffs across a scale change by downscaling both to the smaller scale', () => {
    const first = toDeltas([cumulative([1, 2], T, T + 10, 8)], new Map());
    const { deltas } = toDeltas([cumulative([1, 2, 300], T, T + 20, 3)], first.changed);
    expect(deltas).toHaveLength(1);
    expect(deltas[0]!.count).toBe(1);
    expect(deltas[0]!.buckets).toMatchObject({ kind: 'exponential', scale: 3 });
  });

  it('skips a delta point already applied, remembering the last RECENT_DELTA_KEYS', () => {
    const points = Array.from({ length: RECENT_DELTA_KEYS + 1 }, (_, i) =>
      durationPoint([i + 1], { startTimeUnixNano: nanos(T + i), timeUnixNano: nanos(T + i + 1) }));
    const first = toDeltas(points, new Map());
    expect(first.deltas).toHaveLength(RECENT_DELTA_KEYS + 1);
    const again = toDeltas(points.slice(1), first.changed);
    expect(again.deltas).toHaveLength(0);
    expect(again.skipped).toBe(RECENT_DELTA_KEYS);
  });

  it('treats a stream state row without state (just created for locking) as new', () => {
    const empty: StreamState = { streamKey: 'stream-a', startTimeUnixNano: null, lastTimeUnixNano: null, state: null };
    const { deltas } = toDeltas([cumulative([4, 5], T, T + 10)], new Map([['stream-a', empty]]));
    expect(deltas.map((d) => d.count)).toEqual([2]);
  });

  it('explicit bounds changing under one start time count as a reset', () => {
    const first = toDeltas([durationPoint([], { temporality: 'cumulative', startTimeUnixNano: nanos(T), timeUnixNano: nanos(T + 10), count: 2,
      buckets: { kind: 'explicit', bounds: [10], counts: [1, 1] } })], new Map());
    const { deltas } = toDeltas([durationPoint([], { temporality: 'cumulative', startTimeUnixNano: nanos(T), timeUnixNano: nanos(T + 20), count: 3,
      buckets: { kind: 'explicit', bounds: [20], counts: [2, 1] } })], first.changed);
    expect(deltas[0]!.count).toBe(3);
  });
});
