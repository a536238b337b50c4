#!/usr/bin/env node
// bench/ingest/load — the load generator, run by run.mjs as its own process (so its CPU is not the
// receiver's). Argument: one JSON object
//   { url, signal: 'traces'|'metrics', encoding: 'protobuf'|'json', connections, durationMs,
//     rate: exports/s (0 = closed loop: every connection sends again as soon as it is answered),
//     tag: 0–255 (keeps trace ids of different runs apart), templates }
// Encodes the exports once (exports.mjs), prints "ready" on stderr, waits for "go" on stdin, sends
// for durationMs, then prints one JSON line on stdout: answers by status, how many 429/503 carried
// Retry-After, ack latency percentiles of the 200s, and exports the open loop could not start
// because every connection was busy.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { buildMetricTemplates, buildTraceTemplates, metricSend, traceSend } from './exports.mjs';

const args = JSON.parse(process.argv[2]);
const { signal, encoding, connections, durationMs, rate } = args;
const target = new URL(`/v1/${signal}`, args.url);
const contentType = encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json';
const templates = signal === 'traces'
  ? buildTraceTemplates(encoding, args.templates ?? 16)
  : await buildMetricTemplates(encoding, args.templates ?? 32);
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });

let sendIndex = 0;
/** Per template: sends so far (metrics: the point time step, so each stream's sends stay in order). */
const steps = new Array(templates.length).fill(0);
function nextBody() {
  const i = sendIndex++;
  const t = i % templates.length;
  if (signal === 'traces') return traceSend(templates[t], ((args.tag & 0xff) << 24) | (i & 0xffffff));
  return metricSend(templates[t], ++steps[t]);
}

const statuses = {};
let retryAfter = 0;
let errors = 0;
let skipped = 0;
let inFlight = 0;
const latencies = [];

function send() {
  const body = nextBody();
  inFlight++;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.request(target, {
      method: 'POST', agent,
      headers: { 'content-type': contentType, 'content-length': body.length },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        const ms = performance.now() - t0;
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === 200) latencies.push(ms);
        else if ((res.statusCode === 429 || res.statusCode === 503) && res.headers['retry-after'] !== undefined) retryAfter++;
        inFlight--;
        resolve();
      });
    });
    req.on('error', () => { errors++; inFlight--; resolve(); });
    req.end(body);
  });
}

await new Promise((resolve) => {
  process.stderr.write('ready\n');
  process.stdin.once('data', resolve);
});
const started = performance.now();
const deadline = started + durationMs;
if (rate > 0) {
  // Open loop: offer `rate` exports/s whatever the answers; a tick finding every connection busy
  // counts the export as skipped (the client would have had to queue or drop it).
  const perTickMs = 10;
  let due = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (now >= deadline) { clearInterval(timer); resolve(); return; }
      const shouldHaveSent = Math.floor(((now - started) / 1000) * rate);
      for (; due < shouldHaveSent; due++) {
        if (inFlight >= connections) { skipped++; continue; }
        void send();
      }
    }, perTickMs);
  });
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
} else {
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < deadline) await send();
  }));
}
const elapsedMs = performance.now() - started;
agent.destroy();
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length === 0 ? null : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]);
process.stdout.write(`${JSON.stringify({
  elapsedMs, sent: sendIndex, statuses, retryAfter, errors, skipped,
  itemsPerExport: signal === 'traces' ? 512 : templates[0].points,
  bytesPerExport: templates[0].body.length,
  p50: pct(0.5), p99: pct(0.99),
})}\n`);
process.exit(0);
