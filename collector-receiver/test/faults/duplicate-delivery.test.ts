/**
 * A retried export writes nothing twice (issue #6 "Faults"): the same trace or metrics export
 * delivered again — after a 200, concurrently, or after its response was lost (the connection
 * dropped once the body was sent) — is stored once: spans by (trace_id, span_id, start), delta
 * points by their "start:time" per stream. A listening receiver on PGlite and on PostgreSQL.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, e2eBackends, startReceiver, type InProcessReceiver, type Storage } from '../e2e/harness.js';
import { Ledger, sleep, type Kind } from './ledger.js';

/** POSTs `body` and drops the connection as soon as it is sent: the sender never sees an answer. */
function sendAndDropConnection(url: string, kind: Kind, body: string): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(`${url}/v1/${kind}`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', () => resolve());
    req.on('response', (res) => { res.destroy(); resolve(); });
    req.end(body, () => setTimeout(() => { req.destroy(); resolve(); }, 5));
  });
}

async function post(url: string, kind: Kind, body: string): Promise<number> {
  const res = await fetch(`${url}/v1/${kind}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return res.status;
}

describe.each(e2eBackends())('duplicate deliveries (%s)', (backend) => {
  let storage: Storage;
  let receiver: InProcessReceiver;
  beforeAll(async () => {
    storage = await createStorage(backend);
    receiver = await startReceiver(storage);
  });
  afterAll(async () => {
    await receiver?.close();
    await storage?.drop();
  });

  it('stores each span and point once however often its export arrives', async () => {
    const ledger = new Ledger(`faults-dup-${backend}`, 30);
    for (const kind of ['traces', 'metrics'] as const) {
      // again after a 200
      const a = ledger.make(kind);
      for (let i = 0; i < 3; i++) ledger.record(a.n, await post(receiver.url, kind, a.body), null);
      // twice at the same time (may share one flush)
      const b = ledger.make(kind);
      for (const status of await Promise.all([1, 2, 3].map(() => post(receiver.url, kind, b.body)))) ledger.record(b.n, status, null);
      // the response is lost, then the sender retries
      const c = ledger.make(kind);
      await sendAndDropConnection(receiver.url, kind, c.body);
      await sleep(200);
      ledger.record(c.n, await post(receiver.url, kind, c.body), null);
    }
    expect(ledger.statuses).toEqual(new Map([[200, 14]]));
    const tally = await ledger.tally(receiver.db);
    console.log(`[duplicates ${backend}] traces ${JSON.stringify(tally.traces)} metrics ${JSON.stringify(tally.metrics)}`);
    expect(tally.traces).toEqual({ sent: 90, acknowledged: 90, present: 90, lost: 0, duplicated: 0 });
    expect(tally.metrics).toEqual({ sent: 3, acknowledged: 3, present: 3, lost: 0, duplicated: 0 });
  }, 120_000);
});
