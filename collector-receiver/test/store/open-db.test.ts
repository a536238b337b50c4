import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/open-db.js';
import { migrate } from '../../src/store/migrate.js';
import { createPgliteDb } from '../../src/store/pglite-db.js';
import { TEST_DATABASE_URL } from '../helpers/test-db.js';

describe('openDb', () => {
  it('opens PGlite on disk, creating the directory, and keeps data across reopen', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lattice-open-db-'));
    const dataDir = join(root, 'nested', 'data');
    try {
      const db = await openDb({ dataDir });
      expect(db.kind).toBe('pglite');
      expect(db.description).toBe(dataDir);
      await migrate(db);
      await db.query('INSERT INTO services (name) VALUES ($1)', ['kept']);
      await db.close();
      expect((await stat(dataDir)).isDirectory()).toBe(true);
      const again = await openDb({ dataDir });
      expect((await migrate(again)).applied).toEqual([]);
      expect((await again.query<{ name: string }>('SELECT name FROM services')).rows).toEqual([{ name: 'kept' }]);
      await again.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it.skipIf(!TEST_DATABASE_URL)('opens a pg pool when databaseUrl is set, without the password in the description', async () => {
    const url = new URL(TEST_DATABASE_URL!);
    url.password = 'secret';
    const db = await openDb({ databaseUrl: TEST_DATABASE_URL!, dataDir: 'unused' });
    expect(db.kind).toBe('postgres');
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await db.close();
    const described = await openDb({ databaseUrl: url.toString(), dataDir: 'unused' });
    expect(described.description).not.toContain('secret');
    await described.close();
  });
});

describe('PGlite Db', () => {
  it('never lets a concurrent query land inside another caller\'s transaction', async () => {
    const db = await createPgliteDb();
    try {
      await db.query('CREATE TABLE t (v int)');
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      const tx = db.transaction(async (q) => {
        await q.query('INSERT INTO t VALUES ($1)', [1]);
        await gate;
        throw new Error('roll me back');
      });
      // Queued behind the transaction: must not be rolled back with it.
      const outside = db.query('INSERT INTO t VALUES ($1)', [2]);
      setTimeout(release, 20);
      await expect(tx).rejects.toThrow('roll me back');
      await outside;
      expect((await db.query<{ v: number }>('SELECT v FROM t')).rows).toEqual([{ v: 2 }]);
    } finally {
      await db.close();
    }
  });
});
