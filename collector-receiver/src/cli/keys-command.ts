/**
 * `lattice-receiver keys create|list|revoke`: projects and keys in the receiver's own database
 * (the same DATABASE_URL / LATTICE_DATA_DIR the receiver reads), migrated first.
 *
 * Exit codes: 0 done, 1 failed (database, unknown key), 2 bad arguments.
 * The embedded database (PGlite) is one process's at a time, and PGlite does not stop a second one
 * from opening it: `keys` refuses (LAT_ERR_CLI_DATABASE_IN_USE) while the directory's
 * postmaster.pid exists, which PGlite writes on open and removes on close.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ReceiverConfig } from '../config.js';
import { errors, LatticeError } from '../errors.js';
import { migrate } from '../store/migrate.js';
import { openDb } from '../store/open-db.js';
import type { Db } from '../store/db.js';
import { ensureProject, insertKey, listKeys, revokeKeys, type KeyListing } from '../tenancy/key-queries.js';
import { createKey } from '../tenancy/keys.js';
import { KEYS_USAGE, parseKeysArgs, type KeysCommand } from './keys-args.js';

export interface KeysIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: KeysIo = {
  out: (text) => { process.stdout.write(text); },
  err: (text) => { process.stderr.write(text); },
};

function describeError(err: unknown): string {
  return err instanceof LatticeError ? `${err.code}: ${err.message}` : `unexpected failure: ${err instanceof Error ? err.message : String(err)}`;
}

/** Runs the command against `db` (already migrated); returns what to print. */
export async function runKeysCommand(db: Db, command: Exclude<KeysCommand, { command: 'help' }>): Promise<string> {
  if (command.command === 'create') {
    const key = createKey(command.kind);
    const { project, id } = await db.transaction(async (tx) => {
      const project = await ensureProject(tx, command.project);
      const id = await insertKey(tx, { projectId: project.id, kind: key.kind, label: command.label, prefix: key.prefix, hash: key.hash });
      return { project, id };
    });
    const lines = [
      `Created ${key.kind} key #${id} for project '${command.project}'${project.created ? ' (new project)' : ''}:`,
      '',
      `  ${key.key}`,
      '',
      'It is shown only now: the database keeps its SHA-256 hash and its prefix.',
    ];
    if (key.kind === 'ingest') {
      lines.push('On each service that sends to this project:', '',
        `  OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20${key.key}`, '');
    } else {
      lines.push('For the query API, or paste it into the dashboard\'s sign-in form:', '',
        `  curl -H 'Authorization: Bearer ${key.key}' http://127.0.0.1:4318/metrics/services`, '');
    }
    lines.push('Running receivers require keys on every request within LATTICE_KEY_CACHE_TTL_MS (5 s).');
    return `${lines.join('\n')}\n`;
  }
  if (command.command === 'list') {
    return toKeysTable(await listKeys(db, command.project ?? undefined));
  }
  const { revoked, matches } = await revokeKeys(db, command.idOrPrefix);
  if (revoked.length !== 1) throw errors.LAT_ERR_CLI_KEY_NOT_FOUND(command.idOrPrefix, matches);
  return `Revoked key #${revoked[0]}; running receivers refuse it within LATTICE_KEY_CACHE_TTL_MS (5 s).\n`;
}

function toKeysTable(keys: readonly KeyListing[]): string {
  if (keys.length === 0) return 'No keys: the receiver runs open (loopback only). Create one with: lattice-receiver keys create --project NAME --kind ingest\n';
  const day = (d: Date | null) => (d === null ? '—' : d.toISOString().replace('T', ' ').slice(0, 19));
  const rows = keys.map((k) => [k.id, k.project, k.kind, `${k.prefix}…`, k.label ?? '', day(k.createdAt), day(k.lastUsedAt),
    k.revokedAt === null ? 'active' : `revoked ${day(k.revokedAt)}`]);
  const header = ['id', 'project', 'kind', 'prefix', 'label', 'created (UTC)', 'last used (UTC)', 'status'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** main.ts entry: parse, open the receiver's database, migrate, run, close. Resolves with the exit code. */
export async function runKeysCli(argv: readonly string[], config: Pick<ReceiverConfig, 'databaseUrl' | 'dataDir'>, io: KeysIo = defaultIo): Promise<number> {
  let command: KeysCommand;
  try {
    command = parseKeysArgs(argv);
  } catch (err) {
    io.err(`lattice: ${describeError(err)}\n`);
    return 2;
  }
  if (command.command === 'help') {
    io.out(KEYS_USAGE);
    return 0;
  }
  let db: Db | undefined;
  try {
    if (config.databaseUrl === undefined && config.dataDir !== ':memory:') {
      const pidFile = join(config.dataDir, 'postmaster.pid');
      if (existsSync(pidFile)) throw errors.LAT_ERR_CLI_DATABASE_IN_USE(config.dataDir, pidFile);
    }
    db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, onError: () => {} });
    await migrate(db);
    io.out(await runKeysCommand(db, command));
    return 0;
  } catch (err) {
    io.err(`lattice: ${describeError(err)}\n`);
    return 1;
  } finally {
    await db?.close();
  }
}
