/**
 * What the fault tests send and what they check afterwards: every export has its own identity in
 * the database, so "acknowledged but not present" (lost) and "present more than once"
 * (duplicated) are counted per export, not estimated.
 * - Trace exports: `spansPerExport` SERVER spans whose trace ids start with the export's number
 *   (12 hex digits): the export is present when all its spans are in `spans` and `service_metrics`.
 * - Metric exports: one delta histogram point of VALUES_PER_POINT values from a service of its
 *   own (`<service>-m-<n>`): present when that service's minute rollups count VALUES_PER_POINT,
 *   duplicated when they count more.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Queryable } from '../../src/store/db.js';

export const VALUES_PER_POINT = 2;

export type Kind = 'traces' | 'metrics';

export interface Tally {
  sent: number;
  acknowledged: number;
  present: number;
  lost: number;
  duplicated: number;
}

/** One run's exports and answers. */
export class Ledger {
  readonly service: string;
  readonly spansPerExport: number;
  /** base of the metric points' times (ns); each export adds its number in µs */
  private readonly baseNs: bigint;
  private next = 0;
  readonly sent = new Map<number, Kind>();
  readonly acked = new Set<number>();
  readonly statuses = new Map<number, number>();
  /** 429/503 answers, and how many of them carried Retry-After */
  refused = 0;
  refusedWithRetryAfter = 0;
  /** answers by code of the google.rpc.Status message (LAT_ERR_…) */
  readonly refusalCodes = new Map<string, number>();
  networkErrors = 0;

  constructor(service: string, spansPerExport = 20) {
    this.service = service;
    this.spansPerExport = spansPerExport;
    this.baseNs = BigInt(Date.now() - 2000) * 1_000_000n;
  }

  /** The next export of `kind`: its number and JSON body. */
  make(kind: Kind): { n: number; body: string } {
    const n = this.next++;
    this.sent.set(n, kind);
    return { n, body: kind === 'traces' ? this.traceBody(n) : this.metricBody(n) };
  }

  traceBody(n: number): string {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const prefix = n.toString(16).padStart(12, '0');
    const spans = Array.from({ length: this.spansPerExport }, (_, i) => ({
      traceId: prefix + randomBytes(10).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      name: 'GET /faults/:id',
      kind: 2,
      startTimeUnixNano: String(nowNs - 5_000_000n + BigInt(i) * 1000n),
      endTimeUnixNano: String(nowNs - 2_000_000n + BigInt(i) * 1000n),
      attributes: [
        { key: 'http.request.method', value: { stringValue: 'GET' } },
        { key: 'http.route', value: { stringValue: '/faults/:id' } },
        { key: 'http.response.status_code', value: { intValue: '200' } },
      ],
    }));
    return JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: this.service } }] },
        scopeSpans: [{ scope: { name: 'faults' }, spans }],
      }],
    });
  }

  pointTime(n: number): string {
    return String(this.baseNs + BigInt(n) * 1000n);
  }

  metricBody(n: number): string {
    const time = this.pointTime(n);
    return JSON.stringify({
      resourceMetrics: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: `${this.service}-m-${n}` } }] },
        scopeMetrics: [{
          scope: { name: 'faults' },
          metrics: [{
            name: 'http.server.duration', unit: 'ms',
            histogram: {
              aggregationTemporality: 1,
              dataPoints: [{
                attributes: [
                  { key: 'http.method', value: { stringValue: 'GET' } },
                  { key: 'http.route', value: { stringValue: '/faults/:id' } },
                  { key: 'http.status_code', value: { intValue: 200 } },
                  { key: 'export.id', value: { stringValue: String(n) } },
                ],
                startTimeUnixNano: String(BigInt(time) - 10_000_000_000n),
                timeUnixNano: time,
                count: String(VALUES_PER_POINT), sum: 12, bucketCounts: ['1', '1', '0'], explicitBounds: [5, 10], min: 4, max: 8,
              }],
            },
          }],
        }],
      }],
    });
  }

  /** POSTs export n's body and records the answer. Never throws (a reset connection is recorded). */
  async send(url: string, kind: Kind, options: { timeoutMs?: number; alsoRecordIn?: Ledger } = {}): Promise<number | 'error'> {
    const { n, body } = this.make(kind);
    try {
      const res = await fetch(`${url}/v1/${kind}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
      const text = await res.text();
      this.record(n, res.status, res.headers.get('retry-after'), text);
      options.alsoRecordIn?.record(n, res.status, res.headers.get('retry-after'), text);
      return res.status;
    } catch {
      this.networkErrors++;
      return 'error';
    }
  }

  record(n: number, status: number, retryAfter: string | null, body = ''): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    if (status === 200) this.acked.add(n);
    if (status === 429 || status === 503) {
      this.refused++;
      if (retryAfter !== null && Number(retryAfter) > 0) this.refusedWithRetryAfter++;
      const code = /LAT_ERR_[A-Z_]+/.exec(body)?.[0] ?? '(none)';
      this.refusalCodes.set(code, (this.refusalCodes.get(code) ?? 0) + 1);
    }
  }

  /** Counts per kind, from the database. */
  async tally(db: Queryable): Promise<Record<Kind, Tally>> {
    const traces = await db.query<{ k: string; spans: string; distinct_spans: string; requests: string; distinct_requests: string }>(
      `WITH s AS (SELECT substr(trace_id, 1, 12) AS k, count(*) AS n, count(DISTINCT (trace_id, span_id, start_time)) AS d
                    FROM spans WHERE service_id = (SELECT id FROM services WHERE name = $1) GROUP BY 1),
            r AS (SELECT substr(trace_id, 1, 12) AS k, count(*) AS n, count(DISTINCT (trace_id, span_id, "timestamp")) AS d
                    FROM service_metrics WHERE service_id = (SELECT id FROM services WHERE name = $1) GROUP BY 1)
       SELECT coalesce(s.k, r.k) AS k, coalesce(s.n, 0)::text AS spans, coalesce(s.d, 0)::text AS distinct_spans,
              coalesce(r.n, 0)::text AS requests, coalesce(r.d, 0)::text AS distinct_requests
         FROM s FULL JOIN r ON r.k = s.k`, [this.service]);
    const byExport = new Map(traces.rows.map((r) => [parseInt(r.k, 16), r]));
    const points = await db.query<{ name: string; n: string }>(
      `SELECT s.name, sum(m.count)::text AS n FROM service_metrics_1m m JOIN services s ON s.id = m.service_id
        WHERE starts_with(s.name, $1) GROUP BY s.name`, [`${this.service}-m-`]);
    const valuesByExport = new Map(points.rows.map((r) => [Number(r.name.slice(this.service.length + 3)), Number(r.n)]));

    const out: Record<Kind, Tally> = {
      traces: { sent: 0, acknowledged: 0, present: 0, lost: 0, duplicated: 0 },
      metrics: { sent: 0, acknowledged: 0, present: 0, lost: 0, duplicated: 0 },
    };
    const per = this.spansPerExport;
    for (const [n, kind] of this.sent) {
      const t = out[kind];
      const items = kind === 'traces' ? per : 1;
      const acked = this.acked.has(n);
      t.sent += items;
      if (acked) t.acknowledged += items;
      if (kind === 'traces') {
        const row = byExport.get(n);
        const presentSpans = row ? Number(row.distinct_spans) : 0;
        const presentRequests = row ? Number(row.distinct_requests) : 0;
        t.present += presentSpans;
        // a span counts as lost when it or its request row is missing
        if (acked) t.lost += per - Math.min(presentSpans, presentRequests);
        if (row) t.duplicated += Number(row.spans) - presentSpans + Number(row.requests) - presentRequests;
      } else {
        const values = valuesByExport.get(n) ?? 0;
        if (values > 0) t.present += 1;
        if (acked && values === 0) t.lost += 1;
        if (values > VALUES_PER_POINT) t.duplicated += values / VALUES_PER_POINT - 1;
      }
    }
    return out;
  }

  summary(): string {
    const statuses = [...this.statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ');
    const codes = [...this.refusalCodes].map(([c, n]) => `${c}×${n}`).join(' ');
    return `answers ${statuses}${this.networkErrors ? `, ${this.networkErrors} network errors` : ''}; refusals ${codes || 'none'}`;
  }
}

/** Runs `workers` loops calling `step` until `until()` is true. */
export async function runWorkers(workers: number, until: () => boolean, step: (worker: number) => Promise<unknown>): Promise<void> {
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    while (!until()) await step(w);
  }));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The fault suites' verdict: tallies `ledger` against the database, logs it as `[label] … ; note`,
 * and expects, for traces and for metrics, something acknowledged, nothing lost, nothing duplicated.
 */
export async function expectAcknowledgedPresentOnce(db: Queryable, ledger: Ledger, label: string, note: string): Promise<void> {
  const tally = await ledger.tally(db);
  console.log(`[${label}] traces ${JSON.stringify(tally.traces)} metrics ${JSON.stringify(tally.metrics)}; ${note}`);
  for (const kind of ['traces', 'metrics'] as const) {
    expect(tally[kind].acknowledged).toBeGreaterThan(0);
    expect(tally[kind].lost).toBe(0);
    expect(tally[kind].duplicated).toBe(0);
  }
}
