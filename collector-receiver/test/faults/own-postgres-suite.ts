/**
 * The setup every fault suite shares: a throwaway PostgreSQL (own-postgres.ts) and a data dir for the
 * whole describe block, and the Storage that points a spawned receiver (e2e/harness.ts) at them.
 *
 *   describe.skipIf(ownPostgresSkipReason !== undefined)('…', () => {
 *     const own = useOwnPostgres();
 *     it('…', async () => { const receiver = await spawnReceiver(own.storage()); await own.pg.stop('fast'); … });
 *   });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Storage } from '../e2e/harness.js';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';

export interface OwnPostgresSuite {
  /** The running server; throws outside the block's tests (before beforeAll). */
  readonly pg: OwnPostgres;
  storage(): Storage;
}

export function useOwnPostgres(): OwnPostgresSuite {
  let pg: OwnPostgres | undefined;
  let dataDir = '';
  beforeAll(async () => {
    pg = await startOwnPostgres();
    dataDir = mkdtempSync(join(tmpdir(), 'lattice-faults-'));
  });
  afterAll(async () => {
    await pg?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  const started = (): OwnPostgres => {
    if (pg === undefined) throw new Error('the own PostgreSQL is started in beforeAll: use it inside a test');
    return pg;
  };
  return {
    get pg() { return started(); },
    storage: (): Storage => ({
      backend: 'postgres', env: { DATABASE_URL: started().url, LATTICE_DATA_DIR: dataDir },
      config: { databaseUrl: started().url, dataDir }, async drop() {},
    }),
  };
}
