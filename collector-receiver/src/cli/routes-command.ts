/**
 * `lattice-receiver routes --service NAME [--window 1h] [--watch] [--url …] [--token …]`: the routes
 * of one service from a running receiver's HTTP API, as a table. A receiver with keys needs a read
 * token (--token, or LATTICE_TOKEN), sent as `Authorization: Bearer …`.
 *
 * Exit codes: 0 printed (or Ctrl-C during --watch), 1 the receiver could not answer (unreachable,
 * unknown service, not a receiver, no or a refused read token), 2 bad arguments. With --watch the screen is cleared and the
 * table redrawn every 2 s; a failed refresh shows the error in place and the next one retries
 * (a receiver restarting, a service not sending yet), so only Ctrl-C ends it.
 */
import { LatticeError } from '../errors.js';
import { parseRoutesArgs, USAGE, WATCH_INTERVAL_MS, type RoutesOptions } from './args.js';
import { fetchRoutes } from './fetch-routes.js';
import { toRoutesTable } from './routes-table.js';

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
  now: () => number;
  /** Whether stdout is a terminal (watch mode hides/shows the cursor only then). */
  isTty: boolean;
  /** Where LATTICE_TOKEN is read from (process.env). */
  env: Readonly<Record<string, string | undefined>>;
}

const CLEAR_SCREEN = '\x1b[H\x1b[2J\x1b[3J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

const defaultIo: CommandIo = {
  out: (text) => { process.stdout.write(text); },
  err: (text) => { process.stderr.write(text); },
  now: Date.now,
  isTty: process.stdout.isTTY === true,
  env: process.env,
};

function describeError(err: unknown): string {
  return err instanceof LatticeError ? `${err.code}: ${err.message}` : `unexpected failure: ${err instanceof Error ? err.message : String(err)}`;
}

async function render(options: RoutesOptions, io: CommandIo, signal?: AbortSignal): Promise<string> {
  const toMs = io.now();
  const answer = await fetchRoutes(options.url, options.service, toMs - options.windowMs, toMs, {
    signal, token: options.token, tokenSource: options.tokenSource,
  });
  return toRoutesTable(answer, `last ${options.window}`);
}

/** Runs the command; resolves with the exit code. `signal` ends --watch (main wires SIGINT/SIGTERM to it). */
export async function runRoutesCommand(argv: readonly string[], io: CommandIo = defaultIo, signal?: AbortSignal): Promise<number> {
  let options: RoutesOptions | 'help';
  try {
    options = parseRoutesArgs(argv, io.env);
  } catch (err) {
    io.err(`lattice: ${describeError(err)}\n`);
    return 2;
  }
  if (options === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (!options.watch) {
    try {
      io.out(await render(options, io));
      return 0;
    } catch (err) {
      io.err(`lattice: ${describeError(err)}\n`);
      return 1;
    }
  }
  return watch(options, io, signal);
}

async function watch(options: RoutesOptions, io: CommandIo, signal: AbortSignal | undefined): Promise<number> {
  if (io.isTty) io.out(HIDE_CURSOR);
  try {
    while (!signal?.aborted) {
      let screen: string;
      try {
        screen = await render(options, io, signal);
      } catch (err) {
        screen = `lattice: ${describeError(err)}\n(retrying every ${WATCH_INTERVAL_MS / 1000} s)\n`;
      }
      if (signal?.aborted) break;
      io.out(`${CLEAR_SCREEN}${screen}\nRefreshing every ${WATCH_INTERVAL_MS / 1000} s · Ctrl-C to exit\n`);
      await sleep(WATCH_INTERVAL_MS, signal);
    }
    return 0;
  } finally {
    if (io.isTty) io.out(SHOW_CURSOR);
  }
}

/** Resolves after ms, or at once when signal aborts (the timer is cleared then). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The command as the `lattice-receiver routes` entry runs it: Ctrl-C (SIGINT) or SIGTERM end --watch cleanly. */
export async function runRoutesCli(argv: readonly string[]): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => { stop.abort(); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await runRoutesCommand(argv, defaultIo, stop.signal);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
