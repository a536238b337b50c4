/**
 * GET /live — Server-Sent Events for the dashboard (docs/api.md "Live").
 *
 *   retry: 2000                      sent first: how long EventSource waits before reconnecting
 *   event: update                    at most once a second, after commits
 *   data: {"at":"…","services":["orders",…]}
 *   : ping                           a comment every heartbeatMs keeps proxies from closing the stream
 *
 * Written by hand (about forty lines) rather than with @fastify/sse 0.x: one event type, no replay
 * (clients refetch on reconnect), and we need the streams ended in preClose so app.close() does not
 * wait for open EventSource connections.
 */
import type { FastifyInstance } from 'fastify';
import type { IngestWriter } from '../pipeline/ingest-writer.js';
import { createLiveHub, type LiveHub } from './live-hub.js';
import { requestContext } from '../tenancy/with-project.js';
import { DEFAULT_PROJECT_ID, namesInProject } from '../tenancy/service-key.js';

export interface LiveRoutesOptions {
  writer: IngestWriter;
  /** Reconnect delay announced to EventSource; default 2000 ms. */
  retryMs?: number;
  /** Comment line interval; default 15 000 ms. */
  heartbeatMs?: number;
  /** Smallest gap between two updates; default 1000 ms. */
  minIntervalMs?: number;
}

export function registerLiveRoutes(app: FastifyInstance, options: LiveRoutesOptions): LiveHub {
  const retryMs = options.retryMs ?? 2000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const hub = createLiveHub(options.minIntervalMs === undefined ? {} : { minIntervalMs: options.minIntervalMs });
  const unsubscribeWriter = options.writer.onCommit?.((services) => hub.notify(services));
  const streams = new Set<NodeJS.WritableStream & { end(): void }>();

  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': ping\n\n');
  }, heartbeatMs);
  heartbeat.unref();

  app.get('/live', (_request, reply) => {
    // The project of the read token (auth.ts); a stream only names that project's services.
    const projectId = requestContext.getStore()?.projectId ?? DEFAULT_PROJECT_ID;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${retryMs}\n: connected\n\n`);
    streams.add(res);
    const unsubscribe = hub.subscribe((update) => {
      const services = namesInProject(update.services, projectId);
      if (services.length > 0) res.write(`event: update\ndata: ${JSON.stringify({ ...update, services })}\n\n`);
    });
    // The client went away, or preClose ended the stream.
    res.once('close', () => {
      unsubscribe();
      streams.delete(res);
    });
  });

  // End the streams before the server stops listening: open EventSource connections are not idle,
  // so server.close() would otherwise wait for them.
  app.addHook('preClose', (done) => {
    clearInterval(heartbeat);
    unsubscribeWriter?.();
    hub.close();
    for (const stream of streams) stream.end();
    streams.clear();
    done();
  });
  return hub;
}
