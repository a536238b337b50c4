/**
 * Options of `lattice-receiver routes`. Pure; every failure is LAT_ERR_CLI_INVALID_ARG naming the
 * option, what it should be and what arrived.
 */
import { errors } from '../errors.js';
import { readOptionAt } from './option-value.js';

export const DEFAULT_URL = 'http://127.0.0.1:4318';
export const DEFAULT_WINDOW = '1h';
export const WATCH_INTERVAL_MS = 2000;

export interface RoutesOptions {
  service: string;
  /** e.g. '1h', as given (shown in the header) */
  window: string;
  windowMs: number;
  watch: boolean;
  /** receiver base URL without a trailing slash */
  url: string;
  /** A read token sent as `Authorization: Bearer …`: --token, else LATTICE_TOKEN; absent for an open receiver. */
  token?: string;
  /** Where the token came from, for error messages. */
  tokenSource?: '--token' | 'LATTICE_TOKEN';
}

export const USAGE = `Usage: lattice-receiver routes --service NAME [--window 1h] [--watch] [--url ${DEFAULT_URL}] [--token TOKEN]

Prints the routes of one service from a running receiver: method, route, requests, avg, p95 and
p99 latency and error rate over the window (default ${DEFAULT_WINDOW}; 30s, 15m, 6h, 2d …).
--watch refreshes the table in place every ${WATCH_INTERVAL_MS / 1000} s until Ctrl-C.
--token (or the env LATTICE_TOKEN; the flag wins) is a read token of the service's project, needed
once the receiver has keys: lattice-receiver keys create --project NAME --kind read.
`;

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Longest window: the rollups keep more, but a longer one is almost always a typo. */
const MAX_WINDOW_MS = 90 * 86_400_000;

/** A window like `15m`, `1h`, `2d` in ms; throws the coded error otherwise. */
export function parseWindowOption(raw: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(raw);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : Number.NaN;
  if (!(ms >= 1000 && ms <= MAX_WINDOW_MS)) {
    throw errors.LAT_ERR_CLI_INVALID_ARG('--window', 'a duration from 1s to 90d like 30s, 15m, 1h or 2d', raw);
  }
  return ms;
}

function parseUrlOption(raw: string): string {
  let url: URL | undefined;
  try { url = new URL(raw); } catch { url = undefined; }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw errors.LAT_ERR_CLI_INVALID_ARG('--url', `an http(s) URL of a receiver like ${DEFAULT_URL}`, raw);
  }
  return raw.replace(/\/+$/, '');
}

/**
 * Parses argv after `routes`; `--opt value` and `--opt=value` both work. Returns 'help' for -h/--help.
 * `env` supplies LATTICE_TOKEN when --token is not given (an empty value counts as unset).
 */
export function parseRoutesArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): RoutesOptions | 'help' {
  let service: string | undefined;
  let token: string | undefined;
  let window = DEFAULT_WINDOW;
  let url = DEFAULT_URL;
  let watch = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return 'help';
    if (arg === '--watch' || arg === '-w') {
      watch = true;
      continue;
    }
    const { name, value, last } = readOptionAt(argv, i);
    if (name !== '--service' && name !== '--window' && name !== '--url' && name !== '--token') {
      throw errors.LAT_ERR_CLI_INVALID_ARG('an option', 'one of --service, --window, --watch, --url, --token, --help', arg);
    }
    i = last;
    if (value === undefined || value === '') throw errors.LAT_ERR_CLI_INVALID_ARG(name, 'followed by a value', '');
    if (name === '--service') service = value;
    else if (name === '--window') window = value;
    else if (name === '--token') token = value;
    else url = value;
  }
  if (service === undefined) throw errors.LAT_ERR_CLI_INVALID_ARG('--service', 'given (the service.name of an app sending to the receiver)', '');
  const options: RoutesOptions = { service, window, windowMs: parseWindowOption(window), watch, url: parseUrlOption(url) };
  const fromEnv = env.LATTICE_TOKEN?.trim();
  if (token !== undefined) {
    options.token = token;
    options.tokenSource = '--token';
  } else if (fromEnv !== undefined && fromEnv !== '') {
    options.token = fromEnv;
    options.tokenSource = 'LATTICE_TOKEN';
  }
  return options;
}
