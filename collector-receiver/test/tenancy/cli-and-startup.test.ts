/**
 * `lattice-receiver keys create|list|revoke` against the embedded database directory and against
 * the server (a schema of its own), and the startup rule: a receiver bound to a non-loopback
 * address refuses to start without an active ingest key, and starts once `keys create` made one.
 * The startup checks run the built receiver (dist/main.js) as users do.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKeysCli } from '../../src/cli/keys-command.js';
import { parseKeysArgs } from '../../src/cli/keys-args.js';
import { openDb } from '../../src/store/open-db.js';
import { hashKey } from '../../src/tenancy/keys.js';
import { createStorage, e2eBackends, receiverMain, repoRoot, spawnReceiver, type Storage } from '../e2e/harness.js';

async function cli(storage: Storage, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runKeysCli(argv, storage.config, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { code, out, err };
}

describe('keys arguments', () => {
  it.each([
    [['create', '--kind', 'ingest'], /^--project should be given/],
    [['create', '--project', 'web'], /--kind should be ingest .* or read/],
    [['create', '--project', 'web', '--kind', 'admin'], /instead got 'admin'/],
    [['create', '--project', 'no spaces', '--kind', 'read'], /--project should be a name/],
    [['revoke', 'lat_'], /keys revoke should be given one key id/],
    [['rotate'], /the subcommand should be create, list or revoke, instead got 'rotate'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseKeysArgs(argv)).toThrow(message);
  });

  it('accepts an id, a prefix, or a whole key (cut to its prefix) for revoke', () => {
    expect(parseKeysArgs(['revoke', '12'])).toEqual({ command: 'revoke', idOrPrefix: '12' });
    expect(parseKeysArgs(['revoke', 'lat_ingest_AbCdEfGhIjK'])).toEqual({ command: 'revoke', idOrPrefix: 'lat_ingest_AbCdE' });
  });
});

describe.each(e2eBackends())('lattice-receiver keys and startup (%s)', (backend) => {
  let storage: Storage;
  beforeAll(async () => { storage = await createStorage(backend); });
  afterAll(async () => { await storage?.drop(); });

  it('a receiver on HOST=0.0.0.0 without keys refuses to start and names the command that makes one', async () => {
    const child = spawn(process.execPath, [receiverMain], {
      cwd: repoRoot,
      env: { ...process.env, ...storage.env, HOST: '0.0.0.0', PORT: '0', LATTICE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('LAT_ERR_AUTH_KEYS_REQUIRED');
    expect(output).toContain('lattice-receiver keys create --project web --kind ingest');
    expect(output).not.toContain('Lattice receiver on');
  });

  it('creates, lists and revokes keys; the key is shown once and only its hash is stored', async () => {
    const created = await cli(storage, 'create', '--project', 'web', '--kind', 'ingest', '--label', 'checkout pods');
    expect(created).toMatchObject({ code: 0, err: '' });
    const key = /^ {2}(lat_ingest_[\w-]{43})$/m.exec(created.out)?.[1];
    expect(key).toBeDefined();
    expect(created.out).toContain(`OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20${key}`);
    expect(created.out).toContain("for project 'web' (new project)");
    const readKey = await cli(storage, 'create', '--project', 'web', '--kind', 'read');
    expect(readKey.out).not.toContain('(new project)');

    const db = await openDb({ ...storage.config, onError: () => {} });
    try {
      const stored = await db.query<{ key_hash: Buffer; key_prefix: string }>("SELECT key_hash, key_prefix FROM api_keys WHERE kind = 'ingest'");
      expect(stored.rows).toHaveLength(1);
      expect(Buffer.from(stored.rows[0]!.key_hash).equals(hashKey(key!))).toBe(true);
      expect(stored.rows[0]!.key_prefix).toBe(key!.slice(0, 16));
      const anywhere = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM api_keys WHERE position($1 IN coalesce(label, \'\') || key_prefix) > 0', [key!.slice(16)]);
      expect(anywhere.rows[0]!.n).toBe('0');
    } finally {
      await db.close();
    }

    const list = await cli(storage, 'list', '--project', 'web');
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^id +project +kind +prefix +label/);
    expect(list.out).toContain(`${key!.slice(0, 16)}…`);
    expect(list.out).toContain('checkout pods');
    expect(list.out).not.toContain(key!.slice(16));
    expect(list.out.match(/ active/g)).toHaveLength(2);

    const ambiguous = await cli(storage, 'revoke', 'lat_nosuch_prefix');
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.err).toContain('LAT_ERR_CLI_KEY_NOT_FOUND');
    const revoked = await cli(storage, 'revoke', key!);
    expect(revoked).toMatchObject({ code: 0, err: '' });
    expect(revoked.out).toMatch(/^Revoked key #\d+/);
    expect((await cli(storage, 'list')).out).toMatch(/ingest .* revoked \d{4}-/);
    expect((await cli(storage, 'revoke', key!)).code).toBe(1);
  });

  it.skipIf(backend !== 'pglite')('refuses to open an embedded database a receiver has open (postmaster.pid), which would corrupt it', async () => {
    const pidFile = join(storage.config.dataDir, 'postmaster.pid');
    writeFileSync(pidFile, '-42\n');
    try {
      const refused = await cli(storage, 'list');
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('LAT_ERR_CLI_DATABASE_IN_USE');
      expect(refused.err).toContain(pidFile);
    } finally {
      rmSync(pidFile, { force: true });
    }
    expect((await cli(storage, 'list')).code).toBe(0);
  });

  it('a receiver on HOST=0.0.0.0 starts once an active ingest key exists', async () => {
    expect((await cli(storage, 'create', '--project', 'web', '--kind', 'ingest')).code).toBe(0);
    const receiver = await spawnReceiver(storage, { HOST: '0.0.0.0' });
    try {
      expect(receiver.output()).toContain('Lattice receiver on http://0.0.0.0:');
      expect(receiver.output()).toMatch(/keys required \(1 ingest, 1 read active\)/);
      // The address it printed is not loopback, but the test reaches it on 127.0.0.1: no key → 401.
      const port = new URL(receiver.url).port;
      const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(401);
    } finally {
      await receiver.stop();
    }
  });
});
