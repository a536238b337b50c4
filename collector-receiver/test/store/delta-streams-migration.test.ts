/**
 * Migration 011 moves delta points' retry-dedupe keys from metric_streams (two bigint arrays per
 * stream) to delta_streams (a hash per point): a point applied before the upgrade and retried
 * after it is still skipped, a new one is applied, and cumulative state stays in metric_streams.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, MIGRATIONS_DIR } from '../../src/store/migrate.js';
import { applyDeltaKeys, deltaStreamId, type DeltaKey } from '../../src/store/queries/streams.js';
import { nanos } from '../helpers/fixtures.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';

const T = Date.parse('2026-11-27T10:00:00Z');
const key = (stream: string, i: number): DeltaKey => ({ streamKey: stream, startTimeUnixNano: nanos(T + i), timeUnixNano: nanos(T + i + 1) });

describe.each(testBackends())('migration 011 (delta_streams) on %s', (backend) => {
  let t: TestDb;
  let before011: string;
  beforeEach(async () => {
    t = await createTestDb(backend, { migrate: false });
    before011 = await mkdtemp(path.join(os.tmpdir(), 'lattice-before-011-'));
    for (const m of await loadMigrations()) {
      if (m.id < 11) await cp(path.join(MIGRATIONS_DIR, m.name), path.join(before011, m.name));
    }
  });
  afterEach(async () => {
    await t.drop();
    await rm(before011, { recursive: true, force: true });
  });

  it('keeps the keys applied before it: a retry is skipped, a new point applied; cumulative state stays', async () => {
    await migrate(t.db, { dir: before011 });
    // What 008's writer stored: stream s-a applied points 0 and 1, s-b point 0; s-c is cumulative.
    await t.db.query(
      `INSERT INTO metric_streams (stream_key, start_time_unix_nano, last_time_unix_nano, recent_starts, recent_times) VALUES
         ('s-a', $1::numeric, $4::numeric, ARRAY[$1::bigint, $2::bigint], ARRAY[$3::bigint, $4::bigint]),
         ('s-b', $1::numeric, $3::numeric, ARRAY[$1::bigint], ARRAY[$3::bigint])`,
      [nanos(T), nanos(T + 1), nanos(T + 1), nanos(T + 2)]);
    await t.db.query(
      `INSERT INTO metric_streams (stream_key, start_time_unix_nano, last_time_unix_nano, state)
       VALUES ('s-c', 1, 2, '{"kind":"cumulative","count":1,"sum":1,"buckets":{"kind":"explicit","bounds":[],"counts":[1]}}')`);
    await migrate(t.db);

    const moved = await t.db.query<{ id: string; last: string; n: number }>(
      'SELECT stream_id::text AS id, last_time::text AS last, cardinality(recent) AS n FROM delta_streams ORDER BY last_time');
    expect(moved.rows.map((r) => ({ ...r, n: Number(r.n) }))).toEqual([
      { id: deltaStreamId('s-b'), last: nanos(T + 1), n: 1 },
      { id: deltaStreamId('s-a'), last: nanos(T + 2), n: 2 },
    ]);
    const apply = (keys: DeltaKey[]) => t.db.transaction((tx) => applyDeltaKeys(tx, keys));
    // Retries of points applied before the upgrade: skipped (a hash mismatch between the SQL of
    // the migration and the JS of the writer would apply them again).
    expect([...await apply([key('s-a', 0), key('s-b', 0)])]).toEqual([]);
    expect([...await apply([key('s-a', 1)])]).toEqual([]);
    expect([...await apply([key('s-a', 2), key('s-b', 1)])].sort()).toEqual(['s-a', 's-b']);
    const streams = await t.db.query<{ stream_key: string }>('SELECT stream_key FROM metric_streams');
    expect(streams.rows).toEqual([{ stream_key: 's-c' }]);
  });
});
