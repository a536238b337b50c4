/**
 * Records durations the way a Lattice-instrumented service does: the real OpenTelemetry SDK
 * (sdk-metrics MeterProvider, the View the Lattice SDK registers — exponential histogram,
 * maxSize 2048 — delta temporality, one manual collect per minute), serialized by the official
 * OTLP/JSON serializer and translated by the receiver's own `toDurationPoints`.
 *
 * Also: seeded sample generators for the accuracy properties, the exact nearest-rank quantile,
 * and rollup rows → the RollupGroups `selectServiceStats` builds (for engine-only checks).
 */
import { createRequire } from 'node:module';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { ViewOptions } from '@opentelemetry/sdk-metrics';
import { toDurationPoints } from '../../../src/translate/points.js';
import type { DurationPoint } from '../../../src/translate/rows.js';
import type { RollupRow } from '../../../src/pipeline/rollup.js';
import type { RollupGroup } from '../../../src/pipeline/histogram/window-summary.js';
import { nanos } from '../../helpers/fixtures.js';
import { prng } from '../../helpers/prng.js';

const require = createRequire(import.meta.url);
/** The SDK's own View and names, from its build (sdk/src/metrics.ts; `npx tsc -b` builds it). */
const sdkMetrics = require('../../../../sdk/dist/metrics.js') as {
  SERVER_DURATION_VIEW: ViewOptions; SERVER_DURATION_METRIC: string; METER_NAME: string;
};
export const { SERVER_DURATION_VIEW, SERVER_DURATION_METRIC, METER_NAME } = sdkMetrics;

class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface RecordingPlan {
  serviceName?: string;
  instances: number;
  minutes: number;
  /** epoch ms of minute 0 */
  startMs: number;
  /** durations in seconds, with the (instance, minute) each was recorded in */
  samples: ReadonlyArray<{ seconds: number; instance: number; minute: number; route?: string }>;
  /** aggregation options (default: the SDK's View) */
  view?: ViewOptions;
}

/**
 * Delta duration points, one per (instance, minute, route) that recorded something, stamped
 * start = minute start, time = minute start + 59 s. Each instance is its own MeterProvider with
 * its own service.instance.id (its own stream).
 */
export async function recordWithSdk(plan: RecordingPlan): Promise<DurationPoint[]> {
  const points: DurationPoint[] = [];
  for (let instance = 0; instance < plan.instances; instance++) {
    const reader = new ManualReader({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': plan.serviceName ?? 'checkout', 'service.instance.id': `i-${instance}` }),
      views: [plan.view ?? SERVER_DURATION_VIEW],
      readers: [reader],
    });
    const histogram = provider.getMeter(METER_NAME).createHistogram(SERVER_DURATION_METRIC, { unit: 's' });
    const byMinute = new Map<number, Array<{ seconds: number; route?: string }>>();
    for (const s of plan.samples) {
      if (s.instance !== instance) continue;
      let list = byMinute.get(s.minute);
      if (!list) byMinute.set(s.minute, list = []);
      list.push(s);
    }
    for (let minute = 0; minute < plan.minutes; minute++) {
      for (const s of byMinute.get(minute) ?? []) {
        histogram.record(s.seconds, { 'http.request.method': 'GET', 'http.route': s.route ?? '/orders/:id', 'http.response.status_code': 200 });
      }
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      const request = JSON.parse(Buffer.from(JsonMetricsSerializer.serializeRequest(resourceMetrics)!).toString('utf8'));
      const { points: translated, rejection } = toDurationPoints(request, Date.now());
      if (rejection.rejected > 0) throw new Error(`translate rejected points: ${rejection.message}`);
      const minuteStart = plan.startMs + minute * 60_000;
      for (const p of translated) {
        if (p.count === 0) continue;
        points.push({ ...p, startTimeUnixNano: nanos(minuteStart), timeUnixNano: nanos(minuteStart + 59_000) });
      }
    }
    await provider.shutdown();
  }
  return points;
}

/** Nearest rank: the value of rank ⌈q·n⌉ (1-based, at least 1) — what Lattice's percentiles estimate. */
export function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

/** Rollup rows summed per (unit, layout), exactly as selectServiceStats reads them. */
export function groupsOf(rows: readonly RollupRow[]): RollupGroup[] {
  const groups = new Map<string, RollupGroup>();
  for (const r of rows) {
    const key = `${r.unitToMs}|${r.layout}`;
    let g = groups.get(key);
    if (!g) {
      g = { unitToMs: r.unitToMs, layout: r.layout, count: 0, errors: 0, sum: 0, min: null, max: null, zeroCount: 0, buckets: new Map() };
      groups.set(key, g);
    }
    g.count += r.count;
    g.sum = g.sum === null || r.sum === null ? null : g.sum + r.sum;
    if (r.min !== null) g.min = g.min === null ? r.min : Math.min(g.min, r.min);
    if (r.max !== null) g.max = g.max === null ? r.max : Math.max(g.max, r.max);
    g.zeroCount += r.zeroCount;
    r.counts.forEach((c, k) => { if (c > 0) g!.buckets.set(r.offset + k, (g!.buckets.get(r.offset + k) ?? 0) + c); });
  }
  return [...groups.values()];
}

function normal(rand: () => number): number {
  const u1 = 1 - rand();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rand());
}

export type Distribution = 'lognormal' | 'bimodal' | 'constant' | 'pareto' | 'tiny';
export const DISTRIBUTIONS: readonly Distribution[] = ['lognormal', 'bimodal', 'constant', 'pareto', 'tiny'];

/**
 * n request durations in seconds (tiny: 1–5 whatever n says). Shapes, from a seed:
 *   lognormal  median 5 ms … 500 ms, σ 0.3 … 1.5
 *   bimodal    80 % around 2–10 ms (cache hits), 20 % around 200–800 ms (misses), ±25 %
 *   constant   one value 10 µs … 100 s, n times
 *   pareto     x_m 1–50 ms, α 1.1–3 (heavy tail), capped at a 600 s timeout
 *   tiny       1–5 values 10 µs … 10 s
 */
export function sampleDurations(distribution: Distribution, seed: number, n: number): number[] {
  const rand = prng(seed);
  const between = (lo: number, hi: number) => lo * (hi / lo) ** rand();
  const out: number[] = [];
  switch (distribution) {
    case 'lognormal': {
      const median = between(0.005, 0.5);
      const sigma = 0.3 + 1.2 * rand();
      for (let i = 0; i < n; i++) out.push(median * Math.exp(sigma * normal(rand)));
      break;
    }
    case 'bimodal': {
      const fast = between(0.002, 0.01);
      const slow = between(0.2, 0.8);
      for (let i = 0; i < n; i++) out.push((rand() < 0.8 ? fast : slow) * (0.75 + 0.5 * rand()));
      break;
    }
    case 'constant': {
      const v = between(1e-5, 100);
      for (let i = 0; i < n; i++) out.push(v);
      break;
    }
    case 'pareto': {
      const xm = between(0.001, 0.05);
      const alpha = 1.1 + 1.9 * rand();
      for (let i = 0; i < n; i++) out.push(Math.min(600, xm / (1 - rand()) ** (1 / alpha)));
      break;
    }
    case 'tiny': {
      const m = 1 + Math.floor(rand() * 5);
      for (let i = 0; i < m; i++) out.push(between(1e-5, 10));
      break;
    }
  }
  return out;
}

/** Spreads samples over instances × minutes at random (seeded). */
export function spread(seconds: readonly number[], seed: number, instances: number, minutes: number): RecordingPlan['samples'] {
  const rand = prng(seed ^ 0x9e3779b9);
  return seconds.map((s) => ({ seconds: s, instance: Math.floor(rand() * instances), minute: Math.floor(rand() * minutes) }));
}
