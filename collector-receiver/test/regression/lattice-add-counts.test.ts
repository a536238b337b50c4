/**
 * Regression: lattice_add_counts (migration 001) subscripted both arrays once per bucket index of
 * a generate_series, detoasting a stored array again on every subscript (6.2 ms per call on a
 * stored 300-bucket array; bench/add-counts), and padded zeros down to an empty side's offset (a
 * zero-only row at offset 0 merged with buckets at 5000 stored 5001 buckets). Migration 005 reads
 * each array once and answers exactly what mergeExponential answers, on both backends.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { mergeExponential } from '../../src/pipeline/histogram/exponential.js';
import type { ExponentialBuckets } from '../../src/translate/rows.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { durationPoint, nanos } from '../helpers/fixtures.js';

const exp = (offset: number, counts: number[]): ExponentialBuckets => ({ kind: 'exponential', scale: 0, zeroCount: 0, offset, counts });
const literal = (counts: readonly number[]) => `{${counts.join(',')}}`;

const side = fc.record({
  offset: fc.integer({ min: -1800, max: 1800 }),
  counts: fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { maxLength: 300 }),
});
const CASES: Array<[{ offset: number; counts: number[] }, { offset: number; counts: number[] }]> = [
  [{ offset: 5, counts: [1] }, { offset: 0, counts: [] }],
  [{ offset: 0, counts: [] }, { offset: -7, counts: [2, 0, 3] }],
  [{ offset: 0, counts: [] }, { offset: 9, counts: [] }],
  [{ offset: 3, counts: [1, 2] }, { offset: 3, counts: [4, 5, 6] }],
  [{ offset: -2, counts: [1] }, { offset: 10, counts: [1] }],
  ...fc.sample(fc.tuple(side, side), { numRuns: 200, seed: 20261127 }),
];

describe.each(testBackends())('lattice_add_counts on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); }, 120_000);
  afterEach(async () => { await t.drop(); });

  it('equals mergeExponential on random pairs, empty sides and overlaps included', async () => {
    const result = await t.db.query<{ r: string }>(
      `SELECT lattice_add_counts(ao, a::bigint[], bo, b::bigint[])::text AS r
       FROM unnest($1::int[], $2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS u(ao, a, bo, b, ord) ORDER BY ord`,
      [CASES.map(([a]) => a.offset), CASES.map(([a]) => literal(a.counts)), CASES.map(([, b]) => b.offset), CASES.map(([, b]) => literal(b.counts))]);
    const expected = CASES.map(([a, b]) => literal(mergeExponential(exp(a.offset, a.counts), exp(b.offset, b.counts), Number.MAX_SAFE_INTEGER).counts));
    expect(result.rows.map((r) => r.r)).toEqual(expected);
  });

  it('reads the same from stored (TOASTed) arrays as from literals', async () => {
    const counts = Array.from({ length: 3000 }, (_, i) => (i * 7919) % 1000);
    await t.db.query(`CREATE TEMP TABLE wide AS SELECT $1::bigint[] AS a, $2::bigint[] AS b`, [counts, counts.slice().reverse()]);
    const stored = await t.db.query<{ r: string }>(`SELECT lattice_add_counts(0, a, 1000, b)::text AS r FROM wide`);
    const expected = mergeExponential(exp(0, counts), exp(1000, counts.slice().reverse()), Number.MAX_SAFE_INTEGER);
    expect(stored.rows[0]!.r).toBe(literal(expected.counts));
  });

  it('the rollup upsert keeps the offset of the non-empty side when a zero-only row meets far buckets', async () => {
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const at = (ms: number) => ({ startTimeUnixNano: nanos(minute + ms - 1000), timeUnixNano: nanos(minute + ms) });
    const zeroOnly = durationPoint([0], at(1000)); // zeroCount 1, no buckets (offset 0)
    const far: ExponentialBuckets = { kind: 'exponential', scale: 6, zeroCount: 0, offset: 3000, counts: [1] };
    for (const p of [zeroOnly, durationPoint([], { ...at(2000), count: 1, sum: 1, min: null, max: null, buckets: far })]) {
      const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
      await writer.write({ requests: [], durationPoints: [p] });
      await writer.close();
    }
    const rows = await t.db.query<{ layout: string; zero_count: string; bucket_offset: number; counts: string }>(
      `SELECT layout, zero_count::text, bucket_offset, counts::text FROM service_metrics_1m`);
    expect(rows.rows).toEqual([{ layout: 'exponential:6', zero_count: '1', bucket_offset: 3000, counts: '{1}' }]);
  }, 120_000);
});
