/**
 * A 2xx means committed: every span acknowledged before `kill -9` of the receiver is in the database
 * after a restart, on PGlite (embedded, on disk) and on the PostgreSQL server.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/open-db.js';
import { createStorage, e2eBackends, spawnReceiver, type Storage } from './harness.js';

const SPANS_PER_EXPORT = 50;

/** An OTLP/JSON export of SERVER spans with fresh trace ids. */
function makeExport(service: string): { body: string; traceIds: string[] } {
  const now = BigInt(Date.now()) * 1_000_000n;
  const traceIds: string[] = [];
  const spans = Array.from({ length: SPANS_PER_EXPORT }, (_, i) => {
    const traceId = randomBytes(16).toString('hex');
    traceIds.push(traceId);
    return {
      traceId,
      spanId: randomBytes(8).toString('hex'),
      name: 'GET /crash/:id',
      kind: 2,
      startTimeUnixNano: String(now + BigInt(i) * 1000n),
      endTimeUnixNano: String(now + BigInt(i) * 1000n + 3_000_000n),
      attributes: [
        { key: 'http.request.method', value: { stringValue: 'GET' } },
        { key: 'http.route', value: { stringValue: '/crash/:id' } },
        { key: 'http.response.status_code', value: { intValue: '200' } },
      ],
    };
  });
  const body = JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: 'crash-test' }, spans }],
    }],
  });
  return { body, traceIds };
}

describe.each(e2eBackends())('kill -9 of the receiver under load (%s)', (backend) => {
  let storage: Storage;
  beforeAll(async () => { storage = await createStorage(backend); });
  afterAll(async () => { await storage?.drop(); });

  it('keeps every acknowledged span', async () => {
    const service = `crash-${backend}`;
    const receiver = await spawnReceiver(storage);
    const acked: string[] = [];
    let sent = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const { body, traceIds } = makeExport(service);
        sent += traceIds.length;
        try {
          const res = await fetch(`${receiver.url}/v1/traces`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body,
          });
          await res.arrayBuffer();
          if (res.status === 200) acked.push(...traceIds);
        } catch {
          // connection reset by the kill: not acknowledged, so not promised
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    // Let some exports commit, then kill mid-stream.
    while (acked.length < 10 * SPANS_PER_EXPORT) await new Promise((r) => setTimeout(r, 20));
    receiver.child.kill('SIGKILL');
    await new Promise((r) => receiver.child.once('exit', r));
    stop = true;
    await Promise.all(workers);
    expect(acked.length).toBeGreaterThan(0);

    // The receiver comes back on the same data (PGlite recovers its files) …
    const restarted = await spawnReceiver(storage);
    expect((await fetch(`${restarted.url}/healthz`)).status).toBe(200);
    expect(await restarted.stop()).toBe(0);

    // … and every acknowledged span is there.
    const db = await openDb(storage.config);
    try {
      const present = await db.query<{ trace_id: string }>(
        `SELECT m.trace_id FROM service_metrics m JOIN services s ON s.id = m.service_id WHERE s.name = $1`, [service]);
      const stored = new Set(present.rows.map((r) => r.trace_id));
      const lost = acked.filter((id) => !stored.has(id));
      console.log(`[crash ${backend}] sent ${sent}, acknowledged ${acked.length}, present ${stored.size}, lost ${lost.length}`);
      expect(lost).toEqual([]);
      expect(present.rows.length).toBe(stored.size); // no duplicates
    } finally {
      await db.close();
    }
  }, 90_000);
});
