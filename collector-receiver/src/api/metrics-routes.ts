/**
 * The dashboard's query routes (docs/api.md): they parse and validate, call one function of
 * store/queries, apply the health rule, and answer — no SQL and no math here.
 *
 *   GET /metrics/services?from=&to=                  every service: stats, Apdex, health, sparkline
 *   GET /metrics/routes?service=&from=&to=           per route: stats, last request, callers
 *   GET /metrics/timeseries?service=&route=&method=&from=&to=&step=
 *   GET /metrics/connections?from=&to=&service=      caller → callee edges (+ per-route callers)
 * Unknown service → 404 LAT_ERR_API_UNKNOWN_SERVICE; bad parameter → 400 LAT_ERR_API_INVALID_PARAM.
 */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../store/db.js';
import { errors } from '../errors.js';
import { findService } from '../store/queries/services.js';
import { selectServiceOverview } from '../store/queries/service-overview.js';
import { selectRouteCallers, selectRouteStats } from '../store/queries/routes.js';
import { selectTimeseries } from '../store/queries/timeseries.js';
import { selectConnectionEdges } from '../store/queries/connections.js';
import { healthOf, type HealthSettings } from './health.js';
import { parseMethod, parseStep, parseWindow } from './params.js';
import {
  callersSchema, errorBody, fromParam, isoTime, nullableNumber, nullableString, paramErrorFormatter, serviceParam,
  statsProperties, toParam,
} from './schemas.js';
import { sendError } from './send-error.js';

export interface MetricsRoutesOptions {
  db: Db;
  now: () => number;
  health: HealthSettings;
}

const windowExpected = {
  service: 'a service name of 1 to 256 characters',
  from: 'an ISO 8601 time or epoch milliseconds',
  to: 'an ISO 8601 time or epoch milliseconds',
  route: 'a route template of 1 to 1024 characters',
  method: 'an HTTP method',
  step: 'seconds, a multiple of 60',
};
const formatErrors = paramErrorFormatter(windowExpected);

const servicesSchema = {
  summary: 'Every service: last seen, ingestion lag, rate, errors, latency, Apdex, health, sparkline',
  querystring: { type: 'object', properties: { from: fromParam, to: toParam } },
  response: {
    200: {
      type: 'object',
      properties: {
        from: isoTime, to: isoTime,
        services: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' }, lastSeen: isoTime, ingestionLagMs: nullableNumber,
              ...statsProperties, rpm: nullableNumber, apdex: nullableNumber,
              health: { type: 'string', enum: ['green', 'yellow', 'red', 'grey'] }, healthReason: { type: 'string' },
              routeOverflow: { type: 'boolean' },
              sparkline: {
                type: 'array',
                items: { type: 'object', properties: { t: isoTime, requests: nullableNumber } },
              },
            },
          },
        },
      },
    },
    '4xx': errorBody,
  },
} as const;

const routesSchema = {
  summary: 'Per route of one service: rate, errors, latency, last request and who calls it',
  querystring: { type: 'object', required: ['service'], properties: { service: serviceParam, from: fromParam, to: toParam } },
  response: {
    200: {
      type: 'object',
      properties: {
        service: { type: 'string' }, from: isoTime, to: isoTime, overflowed: { type: 'boolean' },
        routes: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              method: { type: 'string' }, route: { type: 'string' }, ...statsProperties, rpm: nullableNumber,
              lastRequest: { type: ['string', 'null'] }, callers: callersSchema,
            },
          },
        },
      },
    },
    '4xx': errorBody,
  },
} as const;

const timeseriesSchema = {
  summary: 'Requests, errors and p50/p95/p99 per time step for a service (optionally one route/method)',
  querystring: {
    type: 'object',
    required: ['service'],
    properties: {
      service: serviceParam, from: fromParam, to: toParam,
      route: { type: 'string', minLength: 1, maxLength: 1024, description: 'a route template, e.g. /orders/:id' },
      method: { type: 'string', description: 'an HTTP method, e.g. GET' },
      step: { type: 'string', description: 'seconds, a multiple of 60 (default: the smallest of 60, 300, 3600, 21600, 86400 giving ≤ 500 points)' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        service: { type: 'string' }, route: nullableString, method: nullableString, from: isoTime, to: isoTime,
        stepSeconds: { type: 'number' },
        points: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              t: isoTime, requests: { type: 'number' }, errors: { type: 'number' }, errorRate: nullableNumber,
              p50Ms: nullableNumber, p95Ms: nullableNumber, p99Ms: nullableNumber,
            },
          },
        },
      },
    },
    '4xx': errorBody,
  },
} as const;

const connectionsSchema = {
  summary: 'Caller → callee edges; with service, which callers send what share of each of its routes',
  querystring: {
    type: 'object',
    properties: { from: fromParam, to: toParam, service: { ...serviceParam, description: 'also list this service\'s routes and their callers' } },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        from: isoTime, to: isoTime,
        edges: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              caller: nullableString, callee: { type: 'string' }, requestCount: { type: 'number' }, rpm: nullableNumber,
              errorRate: nullableNumber, p95Ms: nullableNumber,
            },
          },
        },
        routes: {
          type: 'array',
          items: {
            type: 'object',
            properties: { service: { type: 'string' }, method: { type: 'string' }, route: { type: 'string' }, callers: callersSchema },
          },
        },
      },
    },
    '4xx': errorBody,
  },
} as const;

/** requests per minute over the window; null when there were none (no data is not zero) */
function rpmOf(requestCount: number, fromMs: number, toMs: number): number | null {
  return requestCount === 0 ? null : requestCount / ((toMs - fromMs) / 60_000);
}

const iso = (ms: number) => new Date(ms).toISOString();

async function serviceOrThrow(db: Db, name: string): Promise<{ id: string; routeOverflow: boolean }> {
  const service = await findService(db, name);
  if (service === null) throw errors.LAT_ERR_API_UNKNOWN_SERVICE(name);
  return service;
}

export function registerMetricsRoutes(app: FastifyInstance, options: MetricsRoutesOptions): void {
  const { db, now, health } = options;

  app.get<{ Querystring: { from?: string; to?: string } }>('/metrics/services', {
    schema: servicesSchema, schemaErrorFormatter: formatErrors,
  }, async (request, reply) => {
    try {
      const nowMs = now();
      const { fromMs, toMs } = parseWindow(request.query.from, request.query.to, nowMs);
      const services = await selectServiceOverview(db, { fromMs, toMs, nowMs, apdexTMs: health.apdexTMs });
      return {
        from: iso(fromMs), to: iso(toMs),
        services: services.map((s) => ({
          name: s.name, lastSeen: iso(s.lastSeenMs), ingestionLagMs: s.ingestionLagMs,
          requestCount: s.requestCount, rpm: rpmOf(s.requestCount, fromMs, toMs), errorRate: s.errorRate,
          avgMs: s.avgMs, p50Ms: s.p50Ms, p95Ms: s.p95Ms, p99Ms: s.p99Ms, apdex: s.apdex,
          ...healthOf({ nowMs, lastSeenMs: s.lastSeenMs, requestCount: s.requestCount, errorRate: s.errorRate, apdex: s.apdex }, health),
          routeOverflow: s.routeOverflow,
          sparkline: s.sparkline.map((p) => ({ t: iso(p.tMs), requests: p.requests })),
        })),
      };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.get<{ Querystring: { service: string; from?: string; to?: string } }>('/metrics/routes', {
    schema: routesSchema, schemaErrorFormatter: formatErrors,
  }, async (request, reply) => {
    try {
      const { service } = request.query;
      const { fromMs, toMs } = parseWindow(request.query.from, request.query.to, now());
      const found = await serviceOrThrow(db, service);
      const routes = await selectRouteStats(db, found.id, fromMs, toMs);
      return {
        service, from: iso(fromMs), to: iso(toMs), overflowed: found.routeOverflow,
        routes: routes.map((r) => ({
          method: r.method, route: r.route, requestCount: r.requestCount, rpm: rpmOf(r.requestCount, fromMs, toMs),
          avgMs: r.avgMs, p50Ms: r.p50Ms, p95Ms: r.p95Ms, p99Ms: r.p99Ms, errorRate: r.errorRate,
          lastRequest: r.lastRequestMs === null ? null : iso(r.lastRequestMs), callers: r.callers,
        })),
      };
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.get<{ Querystring: { service: string; route?: string; method?: string; from?: string; to?: string; step?: string } }>(
    '/metrics/timeseries', { schema: timeseriesSchema, schemaErrorFormatter: formatErrors }, async (request, reply) => {
      try {
        const { service } = request.query;
        const window = parseWindow(request.query.from, request.query.to, now());
        const { stepMs, fromMs, toMs } = parseStep(request.query.step, window.fromMs, window.toMs);
        const method = parseMethod(request.query.method);
        const route = request.query.route || null;
        const serviceId = (await serviceOrThrow(db, service)).id;
        const points = await selectTimeseries(db, serviceId, { fromMs, toMs, stepMs, method, route });
        return {
          service, route, method, from: iso(fromMs), to: iso(toMs), stepSeconds: stepMs / 1000,
          points: points.map((p) => ({ t: iso(p.tMs), requests: p.requests, errors: p.errors, errorRate: p.errorRate,
            p50Ms: p.p50Ms, p95Ms: p.p95Ms, p99Ms: p.p99Ms })),
        };
      } catch (err) {
        return sendError(reply, err);
      }
    });

  app.get<{ Querystring: { service?: string; from?: string; to?: string } }>('/metrics/connections', {
    schema: connectionsSchema, schemaErrorFormatter: formatErrors,
  }, async (request, reply) => {
    try {
      const { service } = request.query;
      const { fromMs, toMs } = parseWindow(request.query.from, request.query.to, now());
      const serviceId = service === undefined || service === '' ? null : (await serviceOrThrow(db, service)).id;
      const [edges, callers] = await Promise.all([
        selectConnectionEdges(db, fromMs, toMs),
        serviceId === null ? null : selectRouteCallers(db, [serviceId], fromMs, toMs),
      ]);
      return {
        from: iso(fromMs), to: iso(toMs),
        edges: edges.map((e) => ({ caller: e.caller, callee: e.callee, requestCount: e.requestCount,
          rpm: rpmOf(e.requestCount, fromMs, toMs), errorRate: e.errorRate, p95Ms: e.p95Ms })),
        ...(callers === null ? {} : {
          routes: [...callers.values()]
            .sort((a, b) => b.requestCount - a.requestCount || (a.route < b.route ? -1 : a.route > b.route ? 1 : 0))
            .map((r) => ({ service: service!, method: r.method, route: r.route, callers: r.callers })),
        }),
      };
    } catch (err) {
      return sendError(reply, err);
    }
  });
}

