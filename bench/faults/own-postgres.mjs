// A throwaway PostgreSQL server of our own: initdb into a temp dir, a free port, pg_ctl start/stop,
// so fault tests and bench/faults can stop and restart "the database" without touching anything
// else. Used by collector-receiver/test/helpers/own-postgres.ts (tests) and bench/faults/run.mjs.
//
//   const pg = await startOwnPostgres();   // initdb + start; pg.url is postgres://postgres@127.0.0.1:PORT/postgres
//   await pg.stop('fast');                 // or 'immediate' (a crash: recovery on the next start)
//   await pg.start();                      // same data dir, same port
//   await pg.destroy();                    // stop and delete the directory (also done at process exit)
//
// Binaries: LATTICE_PG_BIN, else the newest /usr/lib/postgresql/<n>/bin, else initdb on PATH.
// initdb and postgres refuse to run as root: as root they run as the `postgres` OS user
// (runuser -u postgres), with the temp dir chowned to it. Where that is impossible,
// `ownPostgresSkipReason` says why (tests skip with it; the bench exits with it).
// Durability settings are relaxed (fsync=off): the server process may crash or be stopped with
// -m immediate, the machine is not; this is a test server.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

function findBinDir() {
  const candidates = [];
  if (process.env.LATTICE_PG_BIN) candidates.push(process.env.LATTICE_PG_BIN);
  try {
    const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch { /* not a Debian layout */ }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  return candidates.find((dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl')));
}

/** uid/gid of the postgres OS user from /etc/passwd, or undefined. */
function postgresUser() {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
    if (!line) return undefined;
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  } catch { return undefined; }
}

const binDir = findBinDir();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const pgUser = isRoot ? postgresUser() : undefined;
const runuser = isRoot ? ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => existsSync(p)) : undefined;

function skipReason() {
  if (binDir === undefined) {
    return 'no initdb/pg_ctl found (LATTICE_PG_BIN, /usr/lib/postgresql/<n>/bin, PATH): fault tests that stop their own PostgreSQL are skipped; install the PostgreSQL server package';
  }
  if (isRoot && pgUser === undefined) return 'running as root and there is no `postgres` OS user to run initdb/postgres as (they refuse root): fault tests are skipped';
  if (isRoot && runuser === undefined) return 'running as root and runuser is missing, so initdb/postgres cannot run as the `postgres` user: fault tests are skipped';
  return undefined;
}

/** Why a PostgreSQL of our own cannot be started here, or undefined when it can. */
export const ownPostgresSkipReason = skipReason();

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
function pgCommand(binary, args, options = {}) {
  const exe = path.join(binDir, binary);
  return isRoot ? run(runuser, ['-u', 'postgres', '--', exe, ...args], options) : run(exe, args, options);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const live = new Set();
process.once('exit', () => {
  // Last resort when a test or the bench dies: no server or directory is left behind.
  for (const server of live) server.destroySync();
});

/**
 * Starts a fresh server. Options: `settings` (extra `-c name=value` pairs).
 * Returns { url, port, dir, running, start(), stop(mode), restart(), destroy(), log() }.
 */
export async function startOwnPostgres(options = {}) {
  if (ownPostgresSkipReason !== undefined) throw new Error(ownPostgresSkipReason);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lattice-own-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  if (isRoot) chownSync(dir, pgUser.uid, pgUser.gid);
  await pgCommand('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { cwd: dir });
  const port = await freePort();
  const settings = {
    listen_addresses: '127.0.0.1', unix_socket_directories: dir, fsync: 'off', full_page_writes: 'off',
    synchronous_commit: 'on', shared_buffers: '64MB', max_connections: '100', ...options.settings,
  };
  const serverOptions = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  let running = false;
  let destroyed = false;
  const server = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    get running() { return running; },
    async start() {
      await pgCommand('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start'], { cwd: dir });
      running = true;
    },
    /** 'fast' (clients are disconnected, clean shutdown) or 'immediate' (like a crash). */
    async stop(mode = 'fast') {
      await pgCommand('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', mode, 'stop'], { cwd: dir });
      running = false;
    },
    async restart(mode = 'fast') {
      await server.stop(mode);
      await server.start();
    },
    log() {
      try { return readFileSync(logFile, 'utf8'); } catch { return ''; }
    },
    async destroy() {
      if (destroyed) return;
      if (running) await server.stop('immediate').catch(() => {});
      destroyed = true;
      live.delete(server);
      rmSync(dir, { recursive: true, force: true });
    },
    destroySync() {
      if (destroyed) return;
      destroyed = true;
      const exe = path.join(binDir, 'pg_ctl');
      const args = ['-D', data, '-w', '-m', 'immediate', 'stop'];
      if (running) spawnSync(isRoot ? runuser : exe, isRoot ? ['-u', 'postgres', '--', exe, ...args] : args, { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(server);
  try {
    await server.start();
  } catch (err) {
    const log = server.log();
    await server.destroy();
    throw new Error(`own PostgreSQL did not start: ${err.message}\n${log}`);
  }
  return server;
}
