import { describe, expect, it } from 'vitest';
import { createPgDb, withServerOptions } from '../../src/store/pg-db.js';
import { TEST_DATABASE_URL } from '../helpers/test-db.js';

describe('withServerOptions', () => {
  it('keeps the URL\'s own options and the caller\'s, then turns JIT off', () => {
    const { connectionString, options } = withServerOptions(
      'postgres://u@h:5432/db?options=-c%20search_path%3Da&sslmode=disable', '-c statement_timeout=5s');
    expect(options).toBeUndefined();
    const url = new URL(connectionString);
    expect(url.searchParams.get('options')).toBe('-c search_path=a -c statement_timeout=5s -c jit=off');
    expect(url.searchParams.get('sslmode')).toBe('disable');
  });

  it('passes options next to a key=value connection string', () => {
    expect(withServerOptions('host=/tmp dbname=x', undefined)).toEqual({ connectionString: 'host=/tmp dbname=x', options: '-c jit=off' });
  });
});

describe.skipIf(!TEST_DATABASE_URL)('pg connections (needs LATTICE_TEST_DATABASE_URL)', () => {
  it('run with JIT off and the URL\'s search_path', async () => {
    const url = new URL(TEST_DATABASE_URL!);
    url.searchParams.set('options', '-c search_path=lattice_no_such_schema');
    const db = createPgDb({ connectionString: url.toString() });
    try {
      const { rows } = await db.query<{ jit: string; path: string }>("SELECT current_setting('jit') AS jit, current_setting('search_path') AS path");
      expect(rows[0]).toEqual({ jit: 'off', path: 'lattice_no_such_schema' });
    } finally {
      await db.close();
    }
  });
});
