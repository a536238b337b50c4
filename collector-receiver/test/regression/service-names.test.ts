/**
 * Regression: upsertServices matched ids to names by the name PGlite returned, and PGlite drops a
 * leading U+FEFF from returned text, so a service named "\ufeff…" got no id and its whole flush
 * (every client's batch in it) failed with 503. Found by the hostile-input corpus.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { upsertServices } from '../../src/store/queries/services.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';

describe.each(testBackends())('upsertServices on %s', (backend) => {
  let t: TestDb;
  beforeEach(async () => { t = await createTestDb(backend); });
  afterEach(async () => { await t.drop(); });

  it('returns an id for every name, including one that starts with U+FEFF, new or existing', async () => {
    const names = ['\ufeffbom', 'plain', 'zero\u200bwidth'];
    const first = await t.db.transaction((tx) => upsertServices(tx, names));
    expect([...first.keys()].sort()).toEqual([...names].sort());
    const again = await t.db.transaction((tx) => upsertServices(tx, [...names, 'another']));
    for (const name of names) expect(again.get(name)).toBe(first.get(name));
    expect(again.get('another')).toMatch(/^\d+$/);
    const count = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM services');
    expect(count.rows[0]!.n).toBe(4);
  });
});
