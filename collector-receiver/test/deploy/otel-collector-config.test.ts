/**
 * otel-collector.yaml sends the ingest key from LATTICE_INGEST_KEY. There is no Collector binary
 * here, so this test expands the header the way the Collector's env provider does
 * (confmap/provider/envprovider: `${env:NAME:-default}` is the variable when it exists, else the
 * default) and trims it as Go's HTTP client does when writing headers, then sends an export with
 * that header to a listening receiver: open mode with the variable unset, keys mode with it set.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyFor, hex, startTenancyReceiver, type TenancyReceiver } from '../tenancy/harness.js';
import { jsonServerSpan, jsonTraceRequest } from '../fixtures/otlp.js';
import { testBackends } from '../helpers/test-db.js';

const CONFIG = readFileSync(fileURLToPath(new URL('../../../otel-collector.yaml', import.meta.url)), 'utf8');
const COMPOSE = readFileSync(fileURLToPath(new URL('../../../deploy/docker-compose.yml', import.meta.url)), 'utf8');

/** The authorization header template of the otlphttp/lattice exporter, as written in the file. */
function headerTemplate(): string {
  const match = /^ {4}headers:\n {6}authorization: "([^"]*)"$/m.exec(CONFIG);
  if (match === null) throw new Error('otel-collector.yaml has no headers.authorization on the exporter');
  return match[1]!;
}

/** `${env:NAME:-default}` / `${env:NAME}` as the Collector's env provider expands them, then Go's trim. */
function expandAsCollector(template: string, env: Record<string, string | undefined>): string {
  return template.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback: string | undefined) =>
    env[name] ?? fallback ?? '').trim();
}

async function exportWith(url: string, authorization: string): Promise<number> {
  const span = jsonServerSpan({ traceId: hex(16), spanId: hex(8), name: 'GET /health' });
  const res = await fetch(`${url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify(jsonTraceRequest([span], 'relayed')),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('otel-collector.yaml and the compose file', () => {
  it('send LATTICE_INGEST_KEY as a bearer token, defaulting to empty, and compose passes it to the Collector', () => {
    expect(headerTemplate()).toBe('Bearer ${env:LATTICE_INGEST_KEY:-}');
    expect(expandAsCollector(headerTemplate(), {})).toBe('Bearer');
    expect(expandAsCollector(headerTemplate(), { LATTICE_INGEST_KEY: 'lat_ingest_x' })).toBe('Bearer lat_ingest_x');
    const collector = COMPOSE.slice(COMPOSE.indexOf('\n  otel-collector:'));
    expect(collector).toMatch(/\n {6}LATTICE_INGEST_KEY: \$\{LATTICE_INGEST_KEY:-\}\n/);
  });
});

describe.each(testBackends())('the Collector header against a receiver on %s', (backend) => {
  let r: TenancyReceiver;
  beforeAll(async () => { r = await startTenancyReceiver(backend); }, 180_000);
  afterAll(async () => { await r?.close(); });

  it('is ignored in open mode with LATTICE_INGEST_KEY unset, and carries the key once keys exist', async () => {
    const unset = expandAsCollector(headerTemplate(), {});
    expect(await exportWith(r.url, unset)).toBe(200);

    const key = await createKeyFor(r.t.db, 'relay', 'ingest');
    expect(await exportWith(r.url, expandAsCollector(headerTemplate(), { LATTICE_INGEST_KEY: key }))).toBe(200);
    // With keys, the unset variable is refused (the Collector logs the 401), not silently accepted.
    expect(await exportWith(r.url, unset)).toBe(401);
  });
});
