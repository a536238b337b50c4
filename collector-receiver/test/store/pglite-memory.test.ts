/**
 * The embedded database starts with small memory settings (issue #5): PGlite's WASM memory never
 * shrinks, so a 128 MB buffer pool, once filled by a growing data set, stays resident for good.
 * PostgreSQL (DATABASE_URL) keeps the server's own settings: the receiver sets none there.
 */
import { describe, expect, it } from 'vitest';
import { createPgliteDb } from '../../src/store/pglite-db.js';

describe('createPgliteDb memory settings', () => {
  it('starts PGlite with a 32 MB buffer pool and 16 MB maintenance_work_mem instead of 128 MB / 64 MB', async () => {
    const db = await createPgliteDb();
    try {
      const show = async (name: string) => (await db.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name];
      expect(await show('shared_buffers')).toBe('32MB');
      expect(await show('maintenance_work_mem')).toBe('16MB');
      expect(await show('work_mem')).toBe('4MB');
      expect(await show('temp_buffers')).toBe('8MB');
      // PGlite's own start parameters are kept (search_path=public among them).
      expect(await show('search_path')).toBe('public');
    } finally {
      await db.close();
    }
  });
});
