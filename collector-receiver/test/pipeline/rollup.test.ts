import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { minuteOfNanos, toRollupRows } from '../../src/pipeline/rollup.js';
import type { DurationPoint } from '../../src/translate/rows.js';
import { durationPoint, nanos } from '../helpers/fixtures.js';

const T = Date.parse('2026-11-27T10:00:30Z');
const SERVICES = new Map([['checkout', '1']]);
const explicit = (overrides: Partial<DurationPoint>, bounds = [5, 10]): DurationPoint =>
  durationPoint([], { count: 1, sum: 1, buckets: { kind: 'explicit', bounds, counts: bounds.map(() => 0).concat(1) }, ...overrides });

describe('minuteOfNanos', () => {
  it('gives the minute of any uint64 decimal time, as BigInt division would', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (ns) => {
      expect(minuteOfNanos(ns.toString())).toBe(Number(ns / 60_000_000_000n) * 60_000);
    }), { numRuns: 2000 });
    expect(minuteOfNanos(nanos(T))).toBe(Date.parse('2026-11-27T10:00:00Z'));
    expect(minuteOfNanos('59999999999')).toBe(0);
  });
});

describe('toRollupRows', () => {
  it('keeps rows apart whose route and caller would read alike when joined', () => {
    const rows = toRollupRows([
      explicit({ route: 'x|y', callerServiceName: null, timeUnixNano: nanos(T) }),
      explicit({ route: 'x', callerServiceName: 'y|', timeUnixNano: nanos(T) }),
      explicit({ route: 'x', callerServiceName: 'y|', timeUnixNano: nanos(T) }),
    ], SERVICES);
    expect(rows.map((r) => [r.route, r.caller, r.count])).toEqual(expect.arrayContaining([['x|y', '', 1], ['x', 'y|', 2]]));
    expect(rows).toHaveLength(2);
  });

  it('keys explicit rows by their bounds: equal bounds merge, other bounds get their own row', () => {
    const rows = toRollupRows([
      explicit({ timeUnixNano: nanos(T) }, [5, 10]),
      explicit({ timeUnixNano: nanos(T) }, [5, 20]),
      explicit({ timeUnixNano: nanos(T) }, [5, 10]),
    ], SERVICES);
    expect(rows.map((r) => [r.layout, r.count, r.counts]).sort()).toEqual([
      ['explicit:5,10', 2, [0, 0, 2]],
      ['explicit:5,20', 1, [0, 0, 1]],
    ]);
  });

  it('returns rows in one order whatever the order of the points (the upsert lock order)', () => {
    const points = [0, 1, 2, 3].map((i) => explicit({ route: `/r${i}`, statusCode: 200 + i, timeUnixNano: nanos(T + i * 60_000) }));
    const key = (rows: ReturnType<typeof toRollupRows>) => rows.map((r) => `${r.minuteMs} ${r.route}`);
    expect(key(toRollupRows(points, SERVICES))).toEqual(key(toRollupRows(points.slice().reverse(), SERVICES)));
  });
});
