/**
 * Options of `lattice-receiver keys …`. Pure; every failure is LAT_ERR_CLI_KEYS_INVALID_ARG naming
 * the option, what it should be and what arrived.
 */
import { errors } from '../errors.js';
import { readOptionAt } from './option-value.js';
import { KEY_KINDS, KEY_PREFIX_CHARS, type KeyKind } from '../tenancy/keys.js';

export type KeysCommand =
  | { command: 'create'; project: string; kind: KeyKind; label: string | null }
  | { command: 'list'; project: string | null }
  | { command: 'revoke'; idOrPrefix: string }
  | { command: 'help' };

export const KEYS_USAGE = `Usage:
  lattice-receiver keys create --project NAME --kind ingest|read [--label TEXT]
  lattice-receiver keys list [--project NAME]
  lattice-receiver keys revoke <id|prefix>

Projects and their keys, in the database the receiver uses (DATABASE_URL, or the embedded one in
LATTICE_DATA_DIR, default ./.lattice); migrations are applied first. \`create\` makes the project
when it is new and prints the key once: only its SHA-256 is stored. Ingest keys go on senders
(OTEL_EXPORTER_OTLP_HEADERS), read tokens on the query API and the dashboard. A revoked key
stops working within LATTICE_KEY_CACHE_TTL_MS (5 s). Once any key exists, every request needs one.
`;

/** Project names: 1–64 characters, letters, digits, '.', '_', '-', starting with a letter or digit. */
const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function projectName(raw: string): string {
  if (!PROJECT_NAME.test(raw)) {
    throw errors.LAT_ERR_CLI_KEYS_INVALID_ARG('--project', "a name of 1 to 64 letters, digits, '.', '_' or '-' (like web or shop-prod)", raw);
  }
  return raw;
}

/** `--opt value` and `--opt=value` options; positional arguments in order. */
function split(argv: readonly string[], allowed: readonly string[]): { options: Map<string, string>; positional: string[] } {
  const options = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const { name, value, last } = readOptionAt(argv, i);
    if (!allowed.includes(name)) throw errors.LAT_ERR_CLI_KEYS_INVALID_ARG('an option', `one of ${allowed.join(', ') || '(none)'}`, arg);
    i = last;
    if (value === undefined || value === '') throw errors.LAT_ERR_CLI_KEYS_INVALID_ARG(name, 'followed by a value', '');
    options.set(name, value);
  }
  return { options, positional };
}

/** Parses argv after `keys`. */
export function parseKeysArgs(argv: readonly string[]): KeysCommand {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help' || rest.includes('--help') || rest.includes('-h')) {
    return { command: 'help' };
  }
  if (command === 'create') {
    const { options, positional } = split(rest, ['--project', '--kind', '--label']);
    if (positional.length > 0) throw errors.LAT_ERR_CLI_KEYS_INVALID_ARG('keys create', 'given options only', positional.join(' '));
    const project = options.get('--project');
    if (project === undefined) throw errors.LAT_ERR_CLI_KEYS_INVALID_ARG('--project', 'given (the project the key writes to or reads from)', '');
    const kind = options.get('--kind');
    if (kind === undefined || !(KEY_KINDS as readonly string[]).includes(kind)) {
      throw errors.LAT_ERR_CLI_KEYS_INVALID_ARG('--kind', 'ingest (for senders) or read (for the query API and dashboard)', kind ?? '');
    }
    return { command: 'create', project: projectName(project), kind: kind as KeyKind, label: options.get('--label') ?? null };
  }
  if (command === 'list') {
    const { options, positional } = split(rest, ['--project']);
    if (positional.length > 0) throw errors.LAT_ERR_CLI_KEYS_INVALID_ARG('keys list', 'given --project only', positional.join(' '));
    const project = options.get('--project');
    return { command: 'list', project: project === undefined ? null : projectName(project) };
  }
  if (command === 'revoke') {
    const { positional } = split(rest, []);
    const target = positional[0];
    const ok = target !== undefined && positional.length === 1
      && (/^\d{1,18}$/.test(target) || (target.startsWith('lat_') && target.length >= 12));
    if (!ok) {
      throw errors.LAT_ERR_CLI_KEYS_INVALID_ARG('keys revoke', 'given one key id (a number) or a key prefix of at least 12 characters, as keys list shows them', positional.join(' '));
    }
    // A whole key is accepted too: only its display prefix is stored.
    return { command: 'revoke', idOrPrefix: target.slice(0, KEY_PREFIX_CHARS) };
  }
  throw errors.LAT_ERR_CLI_KEYS_INVALID_ARG('the subcommand', 'create, list or revoke', command);
}
