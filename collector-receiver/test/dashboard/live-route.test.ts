import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CommitListener, IngestWriter } from '../../src/pipeline/ingest-writer.js';
import type { IngestBatch } from '../../src/translate/rows.js';
import { registerLiveRoutes } from '../../src/live/routes.js';
import type { LiveHub } from '../../src/live/live-hub.js';

/** A writer whose commits the test triggers by hand. */
function fakeWriter(): IngestWriter & { commit(services: string[]): void; listeners: number } {
  const listeners = new Set<CommitListener>();
  return {
    async write(_batch: IngestBatch) {},
    stats: () => ({ queuedRows: 0, committedRequests: 0, committedPoints: 0, failedBatches: 0 }),
    async close() {},
    onCommit(listener) { listeners.add(listener); return () => { listeners.delete(listener); }; },
    commit(services) { for (const l of listeners) l(new Set(services)); },
    get listeners() { return listeners.size; },
  };
}

/** Reads the SSE stream until `until` matches the text received so far. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: RegExp, seen = { text: '' }): Promise<string> {
  const decoder = new TextDecoder();
  while (!until.test(seen.text)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen.text += decoder.decode(value, { stream: true });
  }
  return seen.text;
}

describe('GET /live', () => {
  let app: FastifyInstance;
  let url: string;
  let writer: ReturnType<typeof fakeWriter>;
  let hub: LiveHub;

  beforeEach(async () => {
    writer = fakeWriter();
    app = Fastify();
    hub = registerLiveRoutes(app, { writer, minIntervalMs: 1000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  afterEach(async () => { await app.close(); });

  it('answers text/event-stream, announces retry first, then an update event per commit', async () => {
    const res = await fetch(`${url}/live`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toContain('no-cache');
    const reader = res.body!.getReader();
    const seen = { text: '' };
    await readUntil(reader, /: connected\n\n/, seen);
    expect(seen.text.startsWith('retry: 2000\n')).toBe(true);
    writer.commit(['orders', '<img src=x onerror=alert(1)>']);
    await readUntil(reader, /event: update\ndata: .*\n\n/, seen);
    const data = /event: update\ndata: (.*)\n\n/.exec(seen.text)![1]!;
    const update = JSON.parse(data) as { at: string; services: string[] };
    expect(update.services).toEqual(['<img src=x onerror=alert(1)>', 'orders']);
    expect(Number.isNaN(Date.parse(update.at))).toBe(false);
    await reader.cancel();
  });

  it('stays subscribed while the client listens and unsubscribes when it goes away', async () => {
    const res = await fetch(`${url}/live`);
    const reader = res.body!.getReader();
    await readUntil(reader, /: connected\n\n/);
    await new Promise((r) => setTimeout(r, 50));
    expect(hub.subscriberCount()).toBe(1);
    await reader.cancel();
    const deadline = Date.now() + 10_000;
    while (hub.subscriberCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(hub.subscriberCount()).toBe(0);
  });

  it('ends open streams on close() instead of waiting for the clients', async () => {
    const res = await fetch(`${url}/live`);
    const reader = res.body!.getReader();
    await readUntil(reader, /: connected\n\n/);
    await app.close();
    // The stream ends: read() reports done rather than hanging.
    let done = false;
    while (!done) ({ done } = await reader.read());
    expect(done).toBe(true);
    expect(writer.listeners).toBe(0);
  });
});
