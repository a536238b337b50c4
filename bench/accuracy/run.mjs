#!/usr/bin/env node
// bench/accuracy — how close are Lattice's percentiles to the truth, next to what Prometheus users
// get; what resolution the SDK's histogram keeps over real latency ranges; what a record costs.
//
// Run:   npm run bench:accuracy           (from the repo root; builds first)
//        BENCH_RECORDS=300000 BENCH_ROUNDS=7 npm run bench:accuracy
//
// 1. Accuracy, per distribution (fixed seeds, so every run prints the same table):
//    exact       nearest rank over the generated durations: the value of rank ⌈q·n⌉
//    lattice     the real OpenTelemetry SDK (sdk-metrics MeterProvider with the Lattice SDK's View:
//                exponential histogram, maxSize 2048) on 3 instances, a delta point collected
//                every minute for 60 minutes, serialized as OTLP/JSON, translated, rolled up and
//                merged by the receiver's own code (collector-receiver/dist) — the API's number
//    prometheus  prom-client's default buckets [0.005 … 10] s (a real prom-client Histogram),
//                read with PromQL histogram_quantile's linear interpolation (a port of
//                promql/quantile.go bucketQuantile). Summing the 3 × 60 counters is what
//                sum by (le) (increase(…[1h])) does, so one histogram over all samples is exact.
//    err         (estimate − exact) / exact
// 2. SDK resolution: log-uniform durations over a range, one delta point, at maxSize 2048 (the
//    Lattice View) and 160 (the SDK default): the scale the SDK settles on, the buckets it uses,
//    and the quantile bound at that scale ((γ−1)/(γ+1), γ = 2^(2^−scale); the receiver stores
//    min(scale, 6)).
// 3. Per-record cost of histogram.record() (same attributes as the SDK's hook, values log-uniform
//    1 ms … 2 s): exponential maxSize 2048 vs 160 vs explicit buckets vs prom-client observe(),
//    with an empty loop as the baseline, rounds alternating between variants; median of rounds,
//    in CPU time of this process (wall time printed too; it also counts waiting for a core).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { AggregationTemporality, AggregationType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import promClient from 'prom-client';
import { toDurationPoints } from '../../collector-receiver/dist/translate/points.js';
import { toRollupRows } from '../../collector-receiver/dist/pipeline/rollup.js';
import { exponentialBase } from '../../collector-receiver/dist/pipeline/histogram/exponential.js';
import { quantileOfRollups } from '../../collector-receiver/dist/pipeline/histogram/window-summary.js';

const require = createRequire(import.meta.url);
const { SERVER_DURATION_VIEW, SERVER_DURATION_METRIC, METER_NAME } = require('../../sdk/dist/metrics.js');

const PROM_DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QS = [0.5, 0.95, 0.99];
const ATTRIBUTES = { 'http.request.method': 'GET', 'http.route': '/orders/:id', 'http.response.status_code': 200 };
const T0 = Date.parse('2026-11-27T10:00:00Z');

class ManualReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

// ---------- samples ----------
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const normal = (rand) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const lognormal = (seed, n, median, sigma) => { const r = prng(seed); return Array.from({ length: n }, () => median * Math.exp(sigma * normal(r))); };

const DISTRIBUTIONS = [
  ['lognormal  median 50 ms, σ 0.8', () => lognormal(1, 20000, 0.05, 0.8)],
  ['bimodal    80 % ~4 ms, 20 % ~400 ms', () => { const r = prng(2); return Array.from({ length: 20000 }, () => (r() < 0.8 ? 0.004 : 0.4) * (0.75 + 0.5 * r())); }],
  ['constant   42 ms × 1000', () => new Array(1000).fill(0.042)],
  ['pareto     x_m 5 ms, α 1.5 (cap 600 s)', () => { const r = prng(4); return Array.from({ length: 20000 }, () => Math.min(600, 0.005 / (1 - r()) ** (1 / 1.5))); }],
  ['tiny       3 samples: 0.08 ms, 12 ms, 1.3 s', () => [0.00008, 0.012, 1.3]],
  ['wide       lognormal median 2 ms, σ 2 (µs … s)', () => lognormal(6, 20000, 0.002, 2)],
];

// ---------- exact, lattice, prometheus ----------
function exactQuantile(sorted, q) {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

async function latticeQuantiles(seconds, seed, view = SERVER_DURATION_VIEW) {
  const instances = 3;
  const minutes = 60;
  const rand = prng(seed ^ 0x9e3779b9);
  const plan = seconds.map((s) => [s, Math.floor(rand() * instances), Math.floor(rand() * minutes)]);
  const points = [];
  for (let instance = 0; instance < instances; instance++) {
    const reader = new ManualReader({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.instance.id': `i-${instance}` }),
      views: [view], readers: [reader],
    });
    const histogram = provider.getMeter(METER_NAME).createHistogram(SERVER_DURATION_METRIC, { unit: 's' });
    const byMinute = Array.from({ length: minutes }, () => []);
    for (const [s, i, m] of plan) if (i === instance) byMinute[m].push(s);
    for (let minute = 0; minute < minutes; minute++) {
      for (const s of byMinute[minute]) histogram.record(s, ATTRIBUTES);
      const { resourceMetrics } = await reader.collect();
      const request = JSON.parse(Buffer.from(JsonMetricsSerializer.serializeRequest(resourceMetrics)).toString('utf8'));
      const start = BigInt(T0 + minute * 60_000) * 1_000_000n;
      for (const p of toDurationPoints(request, Date.now()).points) {
        if (p.count > 0) points.push({ ...p, startTimeUnixNano: String(start), timeUnixNano: String(start + 59_000_000_000n) });
      }
    }
    await provider.shutdown();
  }
  const groups = new Map();
  for (const r of toRollupRows(points, new Map([['checkout', '1']]))) {
    const key = `${r.unitToMs}|${r.layout}`;
    let g = groups.get(key);
    if (!g) groups.set(key, g = { unitToMs: r.unitToMs, layout: r.layout, count: 0, errors: 0, sum: 0, min: null, max: null, zeroCount: 0, buckets: new Map() });
    g.count += r.count;
    if (r.min !== null) g.min = g.min === null ? r.min : Math.min(g.min, r.min);
    if (r.max !== null) g.max = g.max === null ? r.max : Math.max(g.max, r.max);
    g.zeroCount += r.zeroCount;
    r.counts.forEach((c, k) => { if (c > 0) g.buckets.set(r.offset + k, (g.buckets.get(r.offset + k) ?? 0) + c); });
  }
  const list = [...groups.values()];
  return { layouts: list.map((g) => g.layout), values: QS.map((q) => quantileOfRollups(list, q) / 1000) };
}

/** PromQL histogram_quantile (promql/quantile.go bucketQuantile) over cumulative [le, count] pairs, +Inf last. */
function histogramQuantile(q, buckets) {
  const observations = buckets[buckets.length - 1][1];
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = buckets.findIndex(([, count], i) => i < buckets.length - 1 && count >= rank);
  if (b === -1) b = buckets.length - 1;
  if (b === buckets.length - 1) return buckets[buckets.length - 2][0];
  if (b === 0 && buckets[0][0] <= 0) return buckets[0][0];
  let bucketStart = 0;
  const bucketEnd = buckets[b][0];
  let count = buckets[b][1];
  if (b > 0) {
    bucketStart = buckets[b - 1][0];
    count -= buckets[b - 1][1];
    rank -= buckets[b - 1][1];
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

async function prometheusQuantiles(seconds) {
  const registry = new promClient.Registry();
  const h = new promClient.Histogram({ name: 'http_request_duration_seconds', help: 'x', registers: [registry] });
  for (const s of seconds) h.observe(s);
  const [metric] = await registry.getMetricsAsJSON();
  const buckets = metric.values
    .filter((v) => v.metricName === 'http_request_duration_seconds_bucket')
    .map((v) => [v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), v.value]);
  return QS.map((q) => histogramQuantile(q, buckets));
}

// ---------- printing ----------
const ms = (s) => (s * 1000 >= 100 ? (s * 1000).toFixed(1) : (s * 1000).toPrecision(4));
const pct = (est, exact) => {
  const e = ((est - exact) / exact) * 100;
  return `${e >= 0 ? '+' : ''}${Math.abs(e) < 0.01 && e !== 0 ? e.toExponential(1) : e.toFixed(2)} %`;
};
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

async function accuracySection() {
  console.log('\n== 1. Percentile accuracy: exact vs Lattice (SDK → 3 instances × 60 min → merge) vs Prometheus default buckets ==');
  console.log('   values in ms; err = (estimate − exact) / exact; Lattice bound at scale 6: ±0.5417 %\n');
  const rows = [];
  let worstLattice = 0;
  let seed = 100;
  for (const [name, make] of DISTRIBUTIONS) {
    const seconds = make();
    const sorted = seconds.slice().sort((a, b) => a - b);
    const lattice = await latticeQuantiles(seconds, seed++);
    const prom = await prometheusQuantiles(seconds);
    QS.forEach((q, i) => {
      const exact = exactQuantile(sorted, q);
      worstLattice = Math.max(worstLattice, Math.abs(lattice.values[i] - exact) / exact);
      rows.push([i === 0 ? name : '', `p${q * 100}`, ms(exact), ms(lattice.values[i]), pct(lattice.values[i], exact), ms(prom[i]), pct(prom[i], exact)]);
    });
  }
  table(['distribution (n)', 'q', 'exact', 'lattice', 'err', 'prometheus', 'err'], rows);
  console.log(`\n   worst Lattice error over these ${rows.length} percentiles: ${(worstLattice * 100).toFixed(3)} %`);
  return rows;
}

async function issueExampleSection() {
  console.log('\n== The issue\'s example: a p95 Prometheus default buckets report as ~295 ms ==');
  // Lognormal latencies (σ 0.9): find the median at which histogram_quantile(0.95) says 295 ms.
  let lo = 0.02;
  let hi = 0.2;
  let seconds = [];
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    seconds = lognormal(7, 20000, mid, 0.9);
    const [, p95] = await prometheusQuantiles(seconds);
    if (p95 < 0.295) lo = mid; else hi = mid;
  }
  const sorted = seconds.slice().sort((a, b) => a - b);
  const exact = exactQuantile(sorted, 0.95);
  const [, promP95] = await prometheusQuantiles(seconds);
  const lattice = await latticeQuantiles(seconds, 7);
  console.log(`   lognormal σ 0.9, median ${ms((lo + hi) / 2)} ms, n 20000:`);
  console.log(`   true p95 ${ms(exact)} ms · Prometheus ${ms(promP95)} ms (${pct(promP95, exact)}) · Lattice ${ms(lattice.values[1])} ms (${pct(lattice.values[1], exact)})`);
  // A true 220 ms p95 lies in the (100, 250] ms bucket, so histogram_quantile answers 100–250 ms for it —
  // never 295 ms; the 295 ms case needs a true p95 just above 250 ms, as above. What 220 ms does get:
  lo = 0.02; hi = 0.2;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    seconds = lognormal(8, 20000, mid, 0.9);
    const e = exactQuantile(seconds.slice().sort((a, b) => a - b), 0.95);
    if (e < 0.22) lo = mid; else hi = mid;
  }
  const exact220 = exactQuantile(seconds.slice().sort((a, b) => a - b), 0.95);
  const [, prom220] = await prometheusQuantiles(seconds);
  const lattice220 = await latticeQuantiles(seconds, 8);
  console.log(`   a true p95 of ${ms(exact220)} ms (same shape): Prometheus ${ms(prom220)} ms (${pct(prom220, exact220)}) · Lattice ${ms(lattice220.values[1])} ms (${pct(lattice220.values[1], exact220)})`);
  console.log('   (with these buckets a true 220 ms p95 always reads 100–250 ms: Prometheus interpolates inside the bucket holding the rank)');
}

// ---------- SDK resolution ----------
async function sdkScale(lo, hi, maxSize) {
  const reader = new ManualReader({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
  const view = { ...SERVER_DURATION_VIEW, aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize, recordMinMax: true } } };
  const provider = new MeterProvider({ views: [view], readers: [reader] });
  const h = provider.getMeter(METER_NAME).createHistogram(SERVER_DURATION_METRIC, { unit: 's' });
  const rand = prng(9);
  h.record(lo, ATTRIBUTES);
  h.record(hi, ATTRIBUTES);
  for (let i = 0; i < 100_000; i++) h.record(lo * (hi / lo) ** rand(), ATTRIBUTES);
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  const point = resourceMetrics.scopeMetrics[0].metrics[0].dataPoints[0].value;
  return { scale: point.scale, buckets: point.positive.bucketCounts.length };
}

async function resolutionSection() {
  console.log('\n== 2. SDK resolution: the scale sdk-metrics settles on for a range (100 000 log-uniform values + both ends) ==\n');
  const bound = (scale) => { const g = exponentialBase(scale); return `±${(((g - 1) / (g + 1)) * 100).toFixed(scale >= 6 ? 3 : 2)} %`; };
  const rows = [];
  const results = [];
  for (const [label, lo, hi] of [['10 µs – 1 s', 1e-5, 1], ['10 µs – 60 s', 1e-5, 60], ['1 ms – 10 min', 1e-3, 600]]) {
    const big = await sdkScale(lo, hi, 2048);
    const small = await sdkScale(lo, hi, 160);
    const stored = Math.min(big.scale, 6);
    rows.push([label, `2^${Math.log2(hi / lo).toFixed(1)}`, big.scale, big.buckets, `${stored} (${bound(stored)})`, small.scale, small.buckets, bound(small.scale)]);
    results.push({ range: label, maxSize2048: big, maxSize160: small });
  }
  table(['range', 'ratio', 'scale@2048', 'buckets', 'stored (bound)', 'scale@160', 'buckets', 'bound@160'], rows);
  return results;
}

// ---------- per-record cost ----------
function costVariants() {
  const make = (aggregation) => {
    const reader = new ManualReader({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
    const provider = new MeterProvider({ views: [{ ...SERVER_DURATION_VIEW, aggregation }], readers: [reader] });
    const h = provider.getMeter(METER_NAME).createHistogram(SERVER_DURATION_METRIC, { unit: 's' });
    return { record: (v) => h.record(v, ATTRIBUTES), reset: () => reader.collect(), close: () => provider.shutdown() };
  };
  const registry = new promClient.Registry();
  const prom = new promClient.Histogram({ name: 'd', help: 'd', labelNames: ['method', 'route', 'status_code'], registers: [registry] });
  const promLabels = { method: 'GET', route: '/orders/:id', status_code: 200 };
  return [
    ['empty loop (baseline)', { record: () => {}, reset: async () => {}, close: async () => {} }],
    ['exponential maxSize 2048 (Lattice View)', make({ type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 2048, recordMinMax: true } })],
    ['exponential maxSize 160 (SDK default)', make({ type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160, recordMinMax: true } })],
    ['explicit buckets (prom defaults, s)', make({ type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: PROM_DEFAULT_BUCKETS, recordMinMax: true } })],
    ['prom-client Histogram.observe', { record: (v) => prom.observe(promLabels, v), reset: async () => prom.reset(), close: async () => {} }],
  ];
}

async function costSection() {
  const records = Number(process.env.BENCH_RECORDS ?? 100_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
  console.log(`\n== 3. Per-record cost: ${records} records × ${rounds} rounds per variant, values log-uniform 1 ms – 2 s, same attributes ==\n`);
  const rand = prng(11);
  const values = Float64Array.from({ length: 1 << 16 }, () => 0.001 * 2000 ** rand());
  const mask = values.length - 1;
  const variants = costVariants();
  // CPU time of this process (process.cpuUsage), not wall time: on a shared, loaded machine the
  // wall clock also counts time spent waiting for a core (measured here: wall 2–7 × CPU).
  const samples = variants.map(() => []);
  const wallSamples = variants.map(() => []);
  for (let round = 0; round < rounds + 1; round++) {
    for (let j = 0; j < variants.length; j++) {
      const k = (j + round) % variants.length;
      const v = variants[k][1];
      await v.reset();
      const wall = performance.now();
      const cpu = process.cpuUsage();
      for (let i = 0; i < records; i++) v.record(values[i & mask]);
      const used = process.cpuUsage(cpu);
      if (round > 0) { // round 0 warms up the JIT
        samples[k].push(((used.user + used.system) * 1e3) / records);
        wallSamples[k].push(((performance.now() - wall) * 1e6) / records);
      }
    }
  }
  for (const [, v] of variants) await v.close();
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(samples[0]);
  const rows = variants.map(([name], k) => {
    const m = median(samples[k]);
    return [name, m.toFixed(0), (m - base).toFixed(0), `${Math.min(...samples[k]).toFixed(0)}–${Math.max(...samples[k]).toFixed(0)}`, median(wallSamples[k]).toFixed(0)];
  });
  table(['variant', 'CPU ns/record', 'minus baseline', 'min–max', 'wall ns/record'], rows);
  return rows;
}

console.log(`bench/accuracy — node ${process.version}, ${new Date().toISOString()}`);
await accuracySection();
await issueExampleSection();
await resolutionSection();
await costSection();
