/**
 * A small in-test OTLP/HTTP collector: records every POST, answers 200 `{}`, and flattens
 * OTLP/JSON bodies into spans and metric points for assertions.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  body: Buffer;
}

export type AttributeMap = Record<string, string | number | boolean | undefined>;

export interface FlatSpan {
  service: string;
  name: string;
  kind: number;
  traceId: string;
  attributes: AttributeMap;
}

export interface FlatPoint {
  service: string;
  name: string;
  unit: string;
  type: string;
  temporality: number | undefined;
  attributes: AttributeMap;
  count: number;
  scale: number | undefined;
}

export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
export const TEMPORALITY_DELTA = 1;

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}

export function toAttributeMap(list: OtlpKeyValue[] | undefined): AttributeMap {
  const out: AttributeMap = {};
  for (const { key, value } of list ?? []) {
    out[key] =
      value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
      value.doubleValue ??
      value.boolValue;
  }
  return out;
}

export class TestCollector {
  readonly requests: ReceivedRequest[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({
          path: req.url ?? '',
          headers: req.headers,
          contentType: String(req.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks),
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private jsonBodies(path: string): unknown[] {
    return this.requests
      .filter((r) => r.path === path && r.contentType.includes('json'))
      .map((r) => JSON.parse(r.body.toString('utf8')) as unknown);
  }

  /** Resource attributes of every exported resource (spans and metrics). */
  resources(): AttributeMap[] {
    const out: AttributeMap[] = [];
    for (const body of this.jsonBodies('/v1/traces') as { resourceSpans?: any[] }[]) {
      for (const rs of body.resourceSpans ?? []) out.push(toAttributeMap(rs.resource?.attributes));
    }
    for (const body of this.jsonBodies('/v1/metrics') as { resourceMetrics?: any[] }[]) {
      for (const rm of body.resourceMetrics ?? []) out.push(toAttributeMap(rm.resource?.attributes));
    }
    return out;
  }

  spans(): FlatSpan[] {
    const out: FlatSpan[] = [];
    for (const body of this.jsonBodies('/v1/traces') as { resourceSpans?: any[] }[]) {
      for (const rs of body.resourceSpans ?? []) {
        const service = String(toAttributeMap(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            out.push({ service, name: s.name, kind: s.kind, traceId: s.traceId, attributes: toAttributeMap(s.attributes) });
          }
        }
      }
    }
    return out;
  }

  serverSpans(service?: string): FlatSpan[] {
    return this.spans().filter((s) => s.kind === SPAN_KIND_SERVER && (service === undefined || s.service === service));
  }

  points(metricName: string): FlatPoint[] {
    const out: FlatPoint[] = [];
    for (const body of this.jsonBodies('/v1/metrics') as { resourceMetrics?: any[] }[]) {
      for (const rm of body.resourceMetrics ?? []) {
        const service = String(toAttributeMap(rm.resource?.attributes)['service.name']);
        for (const sm of rm.scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            if (m.name !== metricName) continue;
            for (const type of ['exponentialHistogram', 'histogram', 'sum', 'gauge']) {
              const data = m[type];
              if (!data) continue;
              for (const p of data.dataPoints ?? []) {
                out.push({
                  service,
                  name: m.name,
                  unit: m.unit,
                  type,
                  temporality: data.aggregationTemporality,
                  attributes: toAttributeMap(p.attributes),
                  count: Number(p.count ?? 0),
                  scale: p.scale,
                });
              }
            }
          }
        }
      }
    }
    return out;
  }

  /** Total request count per `http.route` across all exported points of the duration metric. */
  countsByRoute(service?: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.points('http.server.request.duration')) {
      if (service !== undefined && p.service !== service) continue;
      const route = String(p.attributes['http.route']);
      out[route] = (out[route] ?? 0) + p.count;
    }
    return out;
  }
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then returns the last value). */
export async function waitFor<T>(check: () => T, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = check();
  while (!value && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
    value = check();
  }
  return value;
}
