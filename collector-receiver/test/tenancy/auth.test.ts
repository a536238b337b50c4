/**
 * Keys on a listening receiver: open mode without keys; 401 without a key or with an unknown or
 * revoked one (revocation within the cache TTL); 403 for the wrong kind; answers as
 * google.rpc.Status in the request's encoding on /v1/*, JSON on the API; the session cookie;
 * the per-key rate limit (429 + Retry-After, nothing queued).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeStatus } from '../../src/otlp/decode.js';
import { revokeKeys } from '../../src/tenancy/key-queries.js';
import { toKeyPrefix } from '../../src/tenancy/keys.js';
import { testBackends } from '../helpers/test-db.js';
import { jsonServerSpan, jsonTraceRequest } from '../fixtures/otlp.js';
import { createKeyFor, hex, read, sendRequest, startTenancyReceiver, type TenancyReceiver } from './harness.js';

const tracesBody = (spans = 1) => JSON.stringify(jsonTraceRequest(
  Array.from({ length: spans }, () => jsonServerSpan({ traceId: hex(16), spanId: hex(8) })), 'web'));

async function postTraces(url: string, headers: Record<string, string>, spans = 1) {
  const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: tracesBody(spans) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

const spansStored = async (r: TenancyReceiver) =>
  Number((await r.t.db.query<{ n: string }>('SELECT count(*)::text AS n FROM spans')).rows[0]!.n);

describe.each(testBackends())('keys on a listening receiver (%s)', (backend) => {
  let r: TenancyReceiver | undefined;
  afterEach(async () => { await r?.close(); r = undefined; });

  it('runs open without keys: exports and reads need nothing and land in project default', async () => {
    r = await startTenancyReceiver(backend);
    await sendRequest(r.url, undefined, { traceId: hex(16), service: 'web', route: '/x', caller: 'c' });
    expect((await read(r.url, '/metrics/recent/web', undefined)).status).toBe(200);
    const rows = await r.t.db.query<{ project_id: string }>("SELECT project_id::text AS project_id FROM services WHERE name = 'web'");
    expect(rows.rows).toEqual([{ project_id: '1' }]);
  });

  it('once a key exists: 401 without one, 401 with an unknown one, 403 for the wrong kind — Status in the request\'s encoding', async () => {
    r = await startTenancyReceiver(backend);
    const ingest = await createKeyFor(r.t.db, 'web', 'ingest');
    const readToken = await createKeyFor(r.t.db, 'web', 'read');

    const none = await postTraces(r.url, {});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toEqual({ code: 16, message: expect.stringMatching(/^LAT_ERR_AUTH_MISSING_INGEST_KEY: .*OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20/) });

    const unknown = await postTraces(r.url, { authorization: 'Bearer lat_ingest_nosuchkeynosuchkeynosuchkeynosuchkey1234' });
    expect(unknown.status).toBe(401);
    expect(JSON.parse(unknown.body).message).toMatch(/^LAT_ERR_AUTH_UNKNOWN_KEY: .*'lat_ingest_nosuc…'/);
    expect(unknown.body).not.toContain('nosuchkeynosuchkey');

    const wrongKind = await postTraces(r.url, { authorization: `Bearer ${readToken}` });
    expect(wrongKind.status).toBe(403);
    expect(JSON.parse(wrongKind.body)).toEqual({ code: 7, message: expect.stringMatching(/^LAT_ERR_AUTH_WRONG_KIND: POST \/v1\/traces should be sent with a key of kind ingest, instead got a key of kind read/) });

    // protobuf request → protobuf Status
    const proto = await fetch(`${r.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(0) });
    expect(proto.status).toBe(401);
    expect(proto.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeStatus(new Uint8Array(await proto.arrayBuffer()))).toEqual({ code: 16, message: expect.stringMatching(/^LAT_ERR_AUTH_MISSING_INGEST_KEY/) });

    expect(await spansStored(r)).toBe(0);
    // The right key, by either header
    expect((await postTraces(r.url, { authorization: `Bearer ${ingest}` })).status).toBe(200);
    expect((await postTraces(r.url, { 'x-lattice-key': ingest })).status).toBe(200);
    expect(await spansStored(r)).toBe(2);

    // Reads: no token 401, ingest key 403, read token 200 — JSON { code, message }
    const noToken = await read(r.url, '/metrics/recent/web', undefined);
    expect(noToken.status).toBe(401);
    expect(JSON.parse(noToken.text)).toEqual({ code: 'LAT_ERR_AUTH_MISSING_READ_TOKEN', message: expect.stringContaining('keys create') });
    const ingestOnRead = await read(r.url, '/metrics/recent/web', ingest);
    expect(ingestOnRead.status).toBe(403);
    expect(JSON.parse(ingestOnRead.text).code).toBe('LAT_ERR_AUTH_WRONG_KIND');
    expect((await read(r.url, '/metrics/recent/web', readToken)).status).toBe(200);
    expect((await read(r.url, `/traces/${hex(16)}`, undefined)).status).toBe(401);
    expect((await fetch(`${r.url}/live`)).status).toBe(401);
    // Health stays global and open
    expect((await fetch(`${r.url}/healthz`)).status).toBe(200);
  });

  it('refuses a revoked key once the cache TTL has passed', async () => {
    r = await startTenancyReceiver(backend, { keyCacheTtlMs: 300 });
    const ingest = await createKeyFor(r.t.db, 'web', 'ingest');
    await new Promise((resolve) => setTimeout(resolve, 350)); // the open-mode answer expires
    expect((await postTraces(r.url, { authorization: `Bearer ${ingest}` })).status).toBe(200);
    expect((await revokeKeys(r.t.db, toKeyPrefix(ingest))).revoked).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 350));
    const after = await postTraces(r.url, { authorization: `Bearer ${ingest}` });
    expect(after.status).toBe(401);
    expect(JSON.parse(after.body).message).toMatch(/^LAT_ERR_AUTH_UNKNOWN_KEY/);
  });

  it('signs the dashboard in with a cookie: POST /auth/session sets it, reads and /live accept it, DELETE clears it', async () => {
    r = await startTenancyReceiver(backend);
    const ingest = await createKeyFor(r.t.db, 'web', 'ingest');
    const readToken = await createKeyFor(r.t.db, 'web', 'read');
    const post = (token: string) => fetch(`${r!.url}/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    expect((await post(ingest)).status).toBe(403);
    expect((await post('lat_read_wrong')).status).toBe(401);
    const ok = await post(readToken);
    expect(ok.status).toBe(204);
    const setCookie = ok.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^lattice_session=lat_read_[\w-]+; HttpOnly; SameSite=Strict; Path=\/$/);
    const cookie = setCookie.split(';')[0]!;
    expect((await fetch(`${r.url}/metrics/services`, { headers: { cookie } })).status).toBe(200);
    const live = await fetch(`${r.url}/live`, { headers: { cookie } });
    expect(live.status).toBe(200);
    await live.body?.cancel();
    const out = await fetch(`${r.url}/auth/session`, { method: 'DELETE' });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^lattice_session=; Max-Age=0; HttpOnly; SameSite=Strict; Path=\/$/);
    // The cookie never works for ingest
    expect((await postTraces(r.url, { cookie: `lattice_session=${ingest}` })).status).toBe(401);
  });

  it('limits a key to its rows per second: 429 + Retry-After from the bucket, nothing queued, other keys unaffected', async () => {
    // 10 rows/s, bucket 20
    r = await startTenancyReceiver(backend, { keyRateLimitRowsPerS: 10 });
    const ingest = await createKeyFor(r.t.db, 'web', 'ingest');
    const other = await createKeyFor(r.t.db, 'other', 'ingest');
    expect((await postTraces(r.url, { authorization: `Bearer ${ingest}` }, 15)).status).toBe(200);
    const limited = await postTraces(r.url, { authorization: `Bearer ${ingest}` }, 15);
    expect(limited.status).toBe(429);
    // 5 tokens left (plus what refilled meanwhile), 15 needed at 10/s: 1 s
    expect(limited.retryAfter).toBe('1');
    expect(JSON.parse(limited.body)).toEqual({ code: 8, message: expect.stringMatching(/^LAT_ERR_AUTH_RATE_LIMITED: .*10 rows a second.*15 rows/) });
    expect(await spansStored(r)).toBe(15);
    expect((await postTraces(r.url, { authorization: `Bearer ${other}` }, 15)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await postTraces(r.url, { authorization: `Bearer ${ingest}` }, 15)).status).toBe(200);
    expect(await spansStored(r)).toBe(45);
  });
});
