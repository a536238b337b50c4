#!/usr/bin/env node
// bench/span-rows — what turning a traces export into rows costs the ingest hot path: decode +
// toTraceRows (one pass: every span → a span row, SERVER spans also → a request row) against
// decode alone (the floor), in both OTLP encodings. With BENCH_BASELINE_DIST pointing at the
// collector-receiver/dist of an older build that still had translate/span-rows.js, its two passes
// (toRequestRows + toSpanRows) run in the same alternating rounds as the baseline.
//
// Run:   npm run build && node bench/span-rows/run.mjs
//        BENCH_SPANS=512 BENCH_ROUNDS=15 BENCH_MS=400 node bench/span-rows/run.mjs
//        BENCH_BASELINE_DIST=/tmp/head/collector-receiver/dist node bench/span-rows/run.mjs
//          (git archive <commit> collector-receiver tsconfig.base.json | tar -x -C /tmp/head, then tsc -p there)
//
// The export: BENCH_SPANS spans made by the real SDK (sdk-trace-base) and serialized by the official
// OTLP serializers — per request a SERVER span (8 HTTP attributes), two CLIENT spans (6) and one
// INTERNAL span (1), the mix an Express service with outgoing calls sends. Variants run in
// alternating rounds of BENCH_MS each; the table shows the median of rounds in spans per CPU-second
// of this process (wall-clock spans/s too: on a busy machine it also counts waiting for a core).
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeTraceRequest } from '../../collector-receiver/dist/otlp/decode.js';
import { toTraceRows } from '../../collector-receiver/dist/translate/spans.js';

const BASELINE_DIST = process.env.BENCH_BASELINE_DIST;
const baseline = BASELINE_DIST === undefined ? undefined : {
  toRequestRows: (await import(`${BASELINE_DIST}/translate/spans.js`)).toRequestRows,
  toSpanRows: (await import(`${BASELINE_DIST}/translate/span-rows.js`)).toSpanRows,
};

const SPANS = Number(process.env.BENCH_SPANS ?? 512);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
const ROUND_MS = Number(process.env.BENCH_MS ?? 300);

async function makeSpans(count) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '1.2.3', 'host.name': 'bench' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('bench', '0.1.0');
  const base = Date.now() - 60_000;
  for (let i = 0; exporter.getFinishedSpans().length < count; i++) {
    const t = base + i;
    const server = tracer.startSpan(`GET /orders/:id`, { kind: SpanKind.SERVER, startTime: t, attributes: {
      'http.request.method': 'GET', 'http.route': '/orders/:id', 'http.response.status_code': i % 50 === 0 ? 500 : 200,
      'url.path': `/orders/${i}`, 'url.scheme': 'http', 'server.address': 'checkout', 'user_agent.original': 'bench/1.0',
      'lattice.caller.service.name': 'gateway',
    } });
    const ctx = trace.setSpan(context.active(), server);
    for (const target of ['users', 'stock']) {
      tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: t + 1, attributes: {
        'http.request.method': 'GET', 'http.response.status_code': 200, 'server.address': target, 'server.port': 80,
        'url.full': `http://${target}/x/${i}`, 'network.protocol.version': '1.1',
      } }, ctx).end(t + 5);
    }
    tracer.startSpan('render', { kind: SpanKind.INTERNAL, startTime: t + 6, attributes: { 'code.function': 'render' } }, ctx).end(t + 7);
    server.end(t + 8);
  }
  return exporter.getFinishedSpans().slice(0, count);
}

function median(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const spans = await makeSpans(SPANS);
const bodies = {
  protobuf: Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)),
  json: Buffer.from(JsonTraceSerializer.serializeRequest(spans)),
};
const now = Date.now();
const variants = {
  'decode only (floor)': (body, enc) => decodeTraceRequest(body, enc).resourceSpans.length,
  ...(baseline && {
    'baseline: decode + toRequestRows + toSpanRows (two passes)': (body, enc) => {
      const request = decodeTraceRequest(body, enc);
      return baseline.toRequestRows(request, now).rows.length + baseline.toSpanRows(request, now).rows.length;
    },
  }),
  'decode + toTraceRows (one pass)': (body, enc) => {
    const rows = toTraceRows(decodeTraceRequest(body, enc), now);
    return rows.requests.length + rows.spans.length;
  },
};
// Sanity: a row per span, a request row per SERVER span.
const check = toTraceRows(decodeTraceRequest(bodies.protobuf, 'protobuf'), now);
if (check.spans.length !== SPANS || check.requests.length !== SPANS / 4 || check.rejection.rejected !== 0) {
  throw new Error(`expected ${SPANS} span rows and ${SPANS / 4} request rows, got ${check.spans.length} and ${check.requests.length}`);
}

const results = [];
for (const [encoding, body] of Object.entries(bodies)) {
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, { cpu: [], wall: [] }]));
  for (const fn of Object.values(variants)) for (let i = 0; i < 20; i++) fn(body, encoding); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(variants)) {
      let exports = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      while (performance.now() - t0 < ROUND_MS) { fn(body, encoding); exports++; }
      const wallS = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      samples[name].cpu.push((exports * SPANS) / cpuS);
      samples[name].wall.push((exports * SPANS) / wallS);
    }
  }
  for (const name of Object.keys(variants)) {
    results.push({ encoding, name, cpu: median(samples[name].cpu), wall: median(samples[name].wall) });
  }
}

console.log(`bench/span-rows: ${SPANS} spans per export (1 server : 2 client : 1 internal), ${ROUNDS} rounds × ${ROUND_MS} ms, median, Node ${process.version}`);
console.log('');
console.log(`| encoding | variant | spans / CPU-s | spans / s (wall) | vs ${BASELINE_DIST ? 'two passes' : 'decode only'} |`);
console.log('| --- | --- | ---: | ---: | ---: |');
for (const r of results) {
  const first = results.find((b) => b.encoding === r.encoding && b.name === Object.keys(variants)[BASELINE_DIST ? 1 : 0]).cpu;
  const delta = r.cpu === first ? '—' : `${(((r.cpu - first) / first) * 100).toFixed(1)} %`;
  console.log(`| ${r.encoding} | ${r.name} | ${Math.round(r.cpu).toLocaleString('en-US')} | ${Math.round(r.wall).toLocaleString('en-US')} | ${delta} |`);
}
console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (shared machine: compare rows of one run, not runs)`);
