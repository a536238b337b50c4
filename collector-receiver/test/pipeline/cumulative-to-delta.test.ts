import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RECENT_DELTA_KEYS, toDeltaRounds, toDeltas, type StreamState } from '../../src/pipeline/cumulative-to-delta.js';
import { applyDeltaKeys, deltaPointHash, deltaStreamId, type DeltaKey } from '../../src/store/queries/streams.js';
import { durationPoint, nanos } from '../helpers/fixtures.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';

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

describe('toDeltaRounds', () => {
  const delta = (stream: string, timeMs: number) =>
    durationPoint([1], { streamKey: stream, startTimeUnixNano: nanos(timeMs - 10), timeUnixNano: nanos(timeMs) });

  it('puts the k-th point in time order of every stream in round k, streams in first-seen order, cumulative points left out', () => {
    const rounds = toDeltaRounds([
      delta('s-b', T + 30), delta('s-a', T + 20), delta('s-b', T + 10), delta('s-c', T + 5), delta('s-b', T + 20),
      durationPoint([1], { streamKey: 's-0', temporality: 'cumulative' }),
    ]);
    expect(rounds.map((round) => round.map((p) => `${p.streamKey}@${Number(BigInt(p.timeUnixNano) / 1_000_000n) - T}`))).toEqual([
      ['s-b@10', 's-a@20', 's-c@5'],
      ['s-b@20'],
      ['s-b@30'],
    ]);
  });

  it('returns no rounds without delta points', () => {
    expect(toDeltaRounds([durationPoint([1], { temporality: 'cumulative' })])).toEqual([]);
  });
});

describe.each(testBackends())('applyDeltaKeys on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(() => t.drop());

  const key = (stream: string, i: number): DeltaKey => ({ streamKey: stream, startTimeUnixNano: nanos(T + i), timeUnixNano: nanos(T + i + 1) });
  const apply = (keys: DeltaKey[]) => t.db.transaction((tx) => applyDeltaKeys(tx, keys));

  it('applies a new key once: a retry of it changes nothing', async () => {
    expect([...await apply([key('s-a', 0), key('s-b', 0)])].sort()).toEqual(['s-a', 's-b']);
    expect([...await apply([key('s-a', 0), key('s-b', 1)])]).toEqual(['s-b']);
    const { rows } = await t.db.query<{ id: string; last: string; recent: string[] }>(
      `SELECT stream_id::text AS id, last_time::text AS last, recent::text[] AS recent FROM delta_streams`);
    expect(rows.sort((x, y) => x.last.localeCompare(y.last))).toEqual([
      { id: deltaStreamId('s-a'), last: nanos(T + 1), recent: [deltaPointHash(key('s-a', 0))] },
      { id: deltaStreamId('s-b'), last: nanos(T + 2), recent: [deltaPointHash(key('s-b', 0)), deltaPointHash(key('s-b', 1))] },
    ]);
  });

  it('tells keys apart by start as well as time', async () => {
    await apply([key('s-a', 0)]);
    expect([...await apply([{ ...key('s-a', 0), startTimeUnixNano: nanos(T - 5) }])]).toEqual(['s-a']);
  });

  it('remembers the last RECENT_DELTA_KEYS keys of a stream, oldest forgotten first', async () => {
    for (let i = 0; i <= RECENT_DELTA_KEYS; i++) await apply([key('s-a', i)]);
    const { rows: [row] } = await t.db.query<{ n: number }>('SELECT cardinality(recent) AS n FROM delta_streams');
    expect(Number(row!.n)).toBe(RECENT_DELTA_KEYS);
    // Keys 1..32 are remembered; key 0 was forgotten (a retry that late is applied again).
    expect([...await apply([key('s-a', RECENT_DELTA_KEYS)])]).toEqual([]);
    expect([...await apply([key('s-a', 1)])]).toEqual([]);
    expect([...await apply([key('s-a', 0)])]).toEqual(['s-a']);
  });

  it('keeps the later time as the stream\'s last time when an older point arrives late', async () => {
    await apply([key('s-a', 10)]);
    await apply([key('s-a', 3)]);
    const { rows: [row] } = await t.db.query<{ last: string }>('SELECT last_time::text AS last FROM delta_streams');
    expect(row!.last).toBe(nanos(T + 11));
  });

  it('lets exactly one of two replicas apply the same point at once', async () => {
    const other = await t.openAnother();
    const results = await Promise.all([apply([key('s-a', 0), key('s-b', 0)]), other.transaction((tx) => applyDeltaKeys(tx, [key('s-a', 0), key('s-b', 0)]))]);
    expect(results.map((r) => r.size).reduce((a, b) => a + b)).toBe(2);
    expect(results.flatMap((r) => [...r]).sort()).toEqual(['s-a', 's-b']);
  });

  it('locks in one order whatever order the keys come in: two replicas with 300 streams reversed do not deadlock', async () => {
    const other = await t.openAnother();
    const keys = Array.from({ length: 300 }, (_, i) => key(`s-${i}`, 0));
    for (let round = 0; round < 3; round++) {
      const mine = keys.map((k) => ({ ...k, timeUnixNano: nanos(T + 10 * round + 1) }));
      const results = await Promise.all([
        apply(mine),
        other.transaction((tx) => applyDeltaKeys(tx, mine.slice().reverse())),
      ]);
      // Every stream applied by exactly one of them (a deadlock would reject one transaction).
      expect(results[0]!.size + results[1]!.size).toBe(300);
    }
  });

  it('writes nothing when its transaction rolls back', async () => {
    await t.db.transaction(async (tx) => { await applyDeltaKeys(tx, [key('s-a', 0)]); throw new Error('rollback'); }).catch(() => {});
    expect([...await apply([key('s-a', 0)])]).toEqual(['s-a']);
  });
});
