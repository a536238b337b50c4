/**
 * A throwaway PostgreSQL server per test file, for fault tests that stop and restart the database:
 * initdb into a temp dir, a free port, `pg_ctl -w start/stop -m fast|immediate`, deleted afterwards.
 * As root, initdb/postgres run as the `postgres` OS user (they refuse root).
 *
 *   import { ownPostgresSkipReason, startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';
 *   describe.skipIf(ownPostgresSkipReason !== undefined)('…', () => {
 *     let pg: OwnPostgres;
 *     beforeAll(async () => { pg = await startOwnPostgres(); });
 *     afterAll(() => pg?.destroy());
 *     it('…', async () => { await pg.stop('fast'); …; await pg.start(); });
 *   });
 *   if (ownPostgresSkipReason) describe.skip(ownPostgresSkipReason, () => { it('skipped', () => {}); });
 *
 * The implementation is plain JavaScript in bench/faults/own-postgres.mjs, shared with
 * `npm run bench:faults` (the bench runs without a TypeScript loader); this file gives it types.
 */
// @ts-expect-error -- a .mjs without declarations; typed below
import * as impl from '../../../bench/faults/own-postgres.mjs';

export interface OwnPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust auth) */
  readonly url: string;
  readonly port: number;
  /** the temp dir: data/, server.log, the unix socket */
  readonly dir: string;
  readonly running: boolean;
  /** Starts the server on the same data dir and port (pg_ctl -w start). */
  start(): Promise<void>;
  /** 'fast': clients are disconnected, clean shutdown; 'immediate': like a crash. */
  stop(mode?: 'fast' | 'immediate' | 'smart'): Promise<void>;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** The server log so far. */
  log(): string;
  /** Stops (immediate) and deletes the directory. Safe to call twice; also runs at process exit. */
  destroy(): Promise<void>;
}

/** Why a PostgreSQL of our own cannot be started here (no binaries, root without a postgres user), or undefined. */
export const ownPostgresSkipReason: string | undefined = impl.ownPostgresSkipReason;

/** initdb + start a fresh server; `settings` are extra `-c name=value` pairs. */
export const startOwnPostgres: (options?: { settings?: Record<string, string> }) => Promise<OwnPostgres> = impl.startOwnPostgres;
