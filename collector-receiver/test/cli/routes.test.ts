import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config.js';
import { createBatchingWriter } from '../../src/pipeline/batching-writer.js';
import { buildServer } from '../../src/server.js';
import { parseRoutesArgs, parseWindowOption } from '../../src/cli/args.js';
import { formatMs, formatRate, toRoutesTable } from '../../src/cli/routes-table.js';
import { createTestDb, testBackends, type TestDb } from '../helpers/test-db.js';
import { jsonServerSpan, jsonTraceRequest, nanosAgo } from '../fixtures/otlp.js';
import { createKeyFor, hex, sendRequest, startTenancyReceiver, type TenancyReceiver } from '../tenancy/harness.js';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

interface Run { code: number | null; stdout: string; stderr: string }

/**
 * Runs the built CLI; `untilStdout` sends SIGINT once stdout matches it (for --watch). LATTICE_TOKEN
 * is the given one only (never one from the environment the tests run in).
 */
function runCli(args: string[], untilStdout?: (stdout: string) => boolean, latticeToken?: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.LATTICE_TOKEN;
  if (latticeToken !== undefined) env.LATTICE_TOKEN = latticeToken;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (untilStdout && !signalled && untilStdout(stdout)) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function span(route: string, status: number, durationMs: number, i: number): Record<string, unknown> {
  const end = 60_000 - i * 10;
  return jsonServerSpan({
    traceId: (i + 1).toString(16).padStart(32, 'a'),
    spanId: (i + 1).toString(16).padStart(16, 'b'),
    name: `GET ${route}`,
    startTimeUnixNano: nanosAgo(end + durationMs),
    endTimeUnixNano: nanosAgo(end),
    attributes: [
      { key: 'http.request.method', value: { stringValue: route === '/orders' ? 'POST' : 'GET' } },
      { key: 'http.route', value: { stringValue: route } },
      { key: 'http.response.status_code', value: { intValue: status } },
    ],
  });
}

describe.each(testBackends())('lattice-receiver routes against a receiver on %s', (backend) => {
  let t: TestDb;
  let app: FastifyInstance;
  let base: string;
  let closeWriter: () => Promise<void>;

  beforeAll(async () => {
    t = await createTestDb(backend);
    const writer = createBatchingWriter(t.db, { batchRows: 1000, maxQueuedRows: 10_000 });
    closeWriter = () => writer.close();
    app = await buildServer({ ...loadConfig({}), logLevel: 'silent' }, { db: t.db, writer });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    // 3 × GET /orders/:id (10, 20, 30 ms), 1 × POST /orders (500, 100 ms): through OTLP and the writer.
    const spans = [span('/orders/:id', 200, 10, 0), span('/orders/:id', 200, 20, 1), span('/orders/:id', 200, 30, 2), span('/orders', 500, 100, 3)];
    const res = await fetch(`${base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(jsonTraceRequest(spans, 'orders')) });
    expect(res.status).toBe(200);
  }, 180_000);
  afterAll(async () => {
    await app?.close();
    await closeWriter?.();
    await t?.drop();
  });

  it('prints the routes table, busiest first, and exits 0', async () => {
    const run = await runCli(['routes', '--service', 'orders', '--url', base]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^orders · last 1h \(.+ → .+\) · 2 routes, 4 requests$/);
    expect(lines[2]!.split(/\s+/)).toEqual(['METHOD', 'ROUTE', 'REQUESTS', 'AVG', 'P95', 'P99', 'ERRORS']);
    const [first, second] = [lines[3]!.split(/\s{2,}/), lines[4]!.split(/\s{2,}/)];
    expect(first.slice(0, 4)).toEqual(['GET', '/orders/:id', '3', '20.0 ms']);
    expect(first[6]).toBe('0.0%');
    expect(second).toEqual(['POST', '/orders', '1', '100 ms', '100 ms', '100 ms', '100.0%']);
    // p95/p99 of 10, 20, 30 ms: between the 2nd and the largest value.
    for (const cell of [first[4]!, first[5]!]) {
      const ms = Number.parseFloat(cell);
      expect(ms).toBeGreaterThan(20);
      expect(ms).toBeLessThanOrEqual(30);
    }
    expect(lines).toHaveLength(5);
  });

  it('says the window is empty rather than printing zeros', async () => {
    const run = await runCli(['routes', '--service=orders', '--window=1s', `--url=${base}`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/· 0 routes, 0 requests\n\nNo requests in this window\.\n$/);
  });

  it('exits 1 naming the unknown service', async () => {
    const run = await runCli(['routes', '--service', 'nope', '--url', base]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe("lattice: LAT_ERR_API_UNKNOWN_SERVICE: service should be one that has sent data, instead got 'nope'; check the service.name resource attribute of the sender\n");
  });

  it('--watch redraws the table in place until Ctrl-C, then exits 0', async () => {
    const clear = '\x1b[H\x1b[2J';
    const run = await runCli(['routes', '--service', 'orders', '--watch', '--url', base],
      (stdout) => stdout.split(clear).length >= 3); // two screens drawn
    expect(run.code).toBe(0);
    const screens = run.stdout.split(clear).slice(1);
    expect(screens.length).toBeGreaterThanOrEqual(2);
    for (const screen of screens.slice(0, 2)) {
      expect(screen).toContain('GET     /orders/:id');
      expect(screen).toContain('Refreshing every 2 s · Ctrl-C to exit');
    }
  });
});

describe.each(testBackends())('lattice-receiver routes against a receiver with keys on %s', (backend) => {
  let r: TenancyReceiver;
  let readToken = '';
  let ingestKey = '';
  let otherReadToken = '';
  const unauthorized = (sent: string, answer: string) => `lattice: LAT_ERR_CLI_UNAUTHORIZED: the receiver at ${r.url} should be read with an active `
    + `read token of the service's project, instead ${sent} (it answered ${answer}); pass --token TOKEN or set LATTICE_TOKEN to a read token `
    + 'created with: lattice-receiver keys create --project NAME --kind read\n';

  beforeAll(async () => {
    r = await startTenancyReceiver(backend);
    ingestKey = await createKeyFor(r.t.db, 'shop', 'ingest');
    readToken = await createKeyFor(r.t.db, 'shop', 'read');
    otherReadToken = await createKeyFor(r.t.db, 'elsewhere', 'read');
    await sendRequest(r.url, ingestKey, { traceId: hex(16), service: 'checkout', route: '/pay', caller: 'web' });
  }, 180_000);
  afterAll(async () => {
    await r?.close();
  });

  it('without a token exits 1 saying to pass a read token and how to create one', async () => {
    const run = await runCli(['routes', '--service', 'checkout', '--url', r.url]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(unauthorized('no token was sent', '401 LAT_ERR_AUTH_MISSING_READ_TOKEN'));
  });

  it('sends --token as a bearer token and prints the table', async () => {
    const run = await runCli(['routes', '--service', 'checkout', '--url', r.url, '--token', readToken]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^checkout · last 1h \(.+\) · 1 routes?, \d+ requests?\n/);
    expect(run.stdout).toMatch(/\nGET\s+\/pay\s+\d/);
  });

  it('reads LATTICE_TOKEN when --token is not given', async () => {
    const run = await runCli(['routes', '--service', 'checkout', `--url=${r.url}`], undefined, readToken);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\nGET\s+\/pay\s+\d/);
  });

  it('lets --token win over LATTICE_TOKEN, both ways', async () => {
    const flagRead = await runCli(['routes', '--service', 'checkout', '--url', r.url, `--token=${readToken}`], undefined, ingestKey);
    expect(flagRead.code).toBe(0);
    const flagIngest = await runCli(['routes', '--service', 'checkout', '--url', r.url, '--token', ingestKey], undefined, readToken);
    expect(flagIngest.code).toBe(1);
    expect(flagIngest.stderr).toBe(unauthorized(`the token ${ingestKey.slice(0, 16)}… (from --token) was refused`, '403 LAT_ERR_AUTH_WRONG_KIND'));
    expect(flagIngest.stderr).not.toContain(ingestKey);
  });

  it('names LATTICE_TOKEN when the token from it is unknown', async () => {
    const run = await runCli(['routes', '--service', 'checkout', '--url', r.url], undefined, 'lat_read_notakeyatall');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(unauthorized('the token lat_read_notakey… (from LATTICE_TOKEN) was refused', '401 LAT_ERR_AUTH_UNKNOWN_KEY'));
  });

  it("with another project's read token the service is unknown (its project's data only)", async () => {
    const run = await runCli(['routes', '--service', 'checkout', '--url', r.url, '--token', otherReadToken]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('LAT_ERR_API_UNKNOWN_SERVICE');
  });
});

describe('lattice-receiver routes without a receiver', () => {
  it('exits 1 saying how to start one or where to point --url', async () => {
    // A port that was just free: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const run = await runCli(['routes', '--service', 'orders', '--url', `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`lattice: LAT_ERR_CLI_UNREACHABLE: a receiver should answer at http://127.0.0.1:${port}, instead the request failed (ECONNREFUSED); `
      + 'start one (npx lattice-receiver) or pass --url with the address of the running one\n');
  });

  it.each([
    [['routes'], '--service should be given'],
    [['routes', '--service', 'a', '--window', '5x'], "--window should be a duration from 1s to 90d like 30s, 15m, 1h or 2d, instead got '5x'"],
    [['routes', '--service', 'a', '--url', 'ftp://x'], "--url should be an http(s) URL"],
    [['routes', '--service', 'a', '--colour'], "an option should be one of --service, --window, --watch, --url, --token, --help, instead got '--colour'"],
    [['routes', '--service', 'a', '--token'], "--token should be followed by a value, instead got ''"],
  ])('exits 2 naming the bad option for %j', async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`LAT_ERR_CLI_INVALID_ARG: ${message}`);
    expect(run.stderr).toContain('usage: lattice-receiver routes --service NAME');
  });
});

describe('routes command parts', () => {
  it('parses options in both spellings with defaults', () => {
    expect(parseRoutesArgs(['--service', 'a'])).toEqual({ service: 'a', window: '1h', windowMs: 3_600_000, watch: false, url: 'http://127.0.0.1:4318' });
    expect(parseRoutesArgs(['--service=a b', '--window=15m', '--watch', '--url', 'http://h:1/'])).toEqual({
      service: 'a b', window: '15m', windowMs: 900_000, watch: true, url: 'http://h:1',
    });
    expect(parseRoutesArgs(['--help'])).toBe('help');
    expect(parseRoutesArgs(['--service', 'a'], { LATTICE_TOKEN: ' lat_read_env ' })).toMatchObject({ token: 'lat_read_env', tokenSource: 'LATTICE_TOKEN' });
    expect(parseRoutesArgs(['--service', 'a', '--token', 'lat_read_flag'], { LATTICE_TOKEN: 'lat_read_env' })).toMatchObject({ token: 'lat_read_flag', tokenSource: '--token' });
    expect(parseRoutesArgs(['--service', 'a'], { LATTICE_TOKEN: '' })).not.toHaveProperty('token');
    expect(parseWindowOption('2d')).toBe(172_800_000);
    expect(() => parseWindowOption('0s')).toThrow(/--window should be/);
    expect(() => parseWindowOption('91d')).toThrow(/--window should be/);
  });

  it('formats no data as — and never as zero', () => {
    expect([formatMs(null), formatRate(null), formatMs(0.42), formatMs(152.3), formatMs(12_345), formatRate(0.0004), formatRate(0.031)])
      .toEqual(['—', '—', '0.4 ms', '152 ms', '12.3 s', '<0.1%', '3.1%']);
    const table = toRoutesTable({ service: 's', from: 'a', to: 'b', overflowed: true, routes: [
      { method: 'GET', route: '/x', requestCount: 0, avgMs: null, p95Ms: null, p99Ms: null, errorRate: null },
    ] }, 'last 1h');
    expect(table.split('\n')[3]).toBe('GET     /x            0    —    —    —       —');
    expect(table).toContain('(overflow)');
  });
});
