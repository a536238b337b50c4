/**
 * `http.server.request.duration` and its attributes: the exponential-histogram view, method
 * normalisation, the route a request is reported under, and the cached attribute objects.
 *
 * instrumentation-http's own duration metric cannot carry the caller or our route template, and
 * it would count a request twice, so its meter is a no-op (see `sdk.ts`); `server-requests.ts`
 * records the one histogram (`duration-histogram.ts`) for every request, sampled or not, so
 * traces can be sampled at 10 % while every request is counted.
 */
import type { IncomingMessage } from 'node:http';
import type { Attributes } from '@opentelemetry/api';
import { RPCType } from '@opentelemetry/core';
import type { RPCMetadata } from '@opentelemetry/core';
import { AggregationType } from '@opentelemetry/sdk-metrics';
import type { ViewOptions } from '@opentelemetry/sdk-metrics';
import { CALLER_ATTRIBUTE } from './caller';
import { routeOf } from './express-route';
import { UNMATCHED_ROUTE } from './route';

export const SERVER_DURATION_METRIC = 'http.server.request.duration';
export const METER_NAME = '@lattice/otel-register';

/**
 * Base-2 exponential histogram with up to 2048 buckets. Bucket boundaries at scale s grow by
 * 2^(2^-s), so s = 6 gives a factor of 1.0109 per bucket: at most ~0.54 % relative error at the
 * bucket midpoint. 2048 buckets at scale 6 span 2^(2048/64) = 2^32 ≈ 4.3e9, i.e. 10 µs up to
 * 12 hours; a realistic spread of 20 µs … 10 min is 2^24.8 and needs ~1590 buckets, so the
 * aggregator never has to drop below scale 6 (at scale 7 the same spread would need ~3180 > 2048
 * buckets and it settles on 6). The 160-bucket default would fall to scale 2 (~8.6 % error).
 */
export const SERVER_DURATION_VIEW: ViewOptions = {
  meterName: METER_NAME,
  instrumentName: SERVER_DURATION_METRIC,
  aggregation: {
    type: AggregationType.EXPONENTIAL_HISTOGRAM,
    options: { maxSize: 2048, recordMinMax: true },
  },
};

const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY']);

/** Semconv `http.request.method`: known methods as sent, anything else `_OTHER` (bounded cardinality). */
export function normalizeMethod(method: string | undefined): string {
  if (method === undefined) return 'GET';
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/**
 * The request's `http.route`: the route our Express capture recorded. A request Express handled
 * but no route matched is `(unmatched)`, whatever the stock ExpressInstrumentation (opt-in, see
 * LATTICE_EXPRESS_LAYER_SPANS) wrote into RPCMetadata from middleware paths. A request Express
 * never saw keeps a route another instrumentation put in RPCMetadata, else `(unmatched)`.
 * Express puts `req.app` on every request it handles (4 and 5: the request's prototype).
 */
export function routeFor(req: IncomingMessage, rpc: RPCMetadata | undefined): string {
  const route = routeOf(req);
  if (route !== undefined) return route;
  if ((req as { app?: unknown }).app !== undefined) return UNMATCHED_ROUTE;
  return (rpc?.type === RPCType.HTTP ? rpc.route : undefined) ?? UNMATCHED_ROUTE;
}

/** The request is known to have been cut short: no complete response was sent. */
const ABORTED = 'aborted';

/**
 * Attribute objects for the duration histogram, one per (method, route, status[, caller]), built
 * once and reused: `DurationHistogram` finds a series by the object itself, and a hello-world
 * request would otherwise allocate one per request. Routes and statuses are bounded (templates,
 * `(unmatched)`, 100-599) and methods are normalised, so the caller-less cache is too. The caller
 * comes from the request's baggage (any value a client sends), so at most
 * `MAX_CACHED_CALLER_SERIES` caller series are cached; beyond that, and for requests cut short,
 * each request gets a fresh object (the histogram then looks it up by content).
 */
export const MAX_CACHED_CALLER_SERIES = 1000;

type SeriesCache = Map<string, Map<string, Map<number, Attributes>>>;

export class DurationAttributes {
  private readonly cache: SeriesCache = new Map();
  private readonly byCaller = new Map<string, SeriesCache>();
  private callerSeries = 0;

  get(method: string, route: string, status: number, caller: string | undefined, aborted: boolean): Attributes {
    if (aborted) return this.build(method, route, status, caller, true);
    if (caller === undefined) return this.lookup(this.cache, method, route, status, undefined);
    let cache = this.byCaller.get(caller);
    if (cache === undefined) {
      if (this.callerSeries >= MAX_CACHED_CALLER_SERIES) return this.build(method, route, status, caller, false);
      this.byCaller.set(caller, (cache = new Map()));
    }
    return this.lookup(cache, method, route, status, caller);
  }

  private lookup(cache: SeriesCache, method: string, route: string, status: number, caller: string | undefined): Attributes {
    let byRoute = cache.get(method);
    if (byRoute === undefined) cache.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
    let attributes = byStatus.get(status);
    if (attributes === undefined) {
      if (caller !== undefined) {
        if (this.callerSeries >= MAX_CACHED_CALLER_SERIES) return this.build(method, route, status, caller, false);
        this.callerSeries++;
      }
      attributes = Object.freeze(this.build(method, route, status, caller, false));
      byStatus.set(status, attributes);
    }
    return attributes;
  }

  private build(method: string, route: string, status: number, caller: string | undefined, aborted: boolean): Attributes {
    const attributes: Attributes = {
      'http.request.method': method,
      'http.route': route,
      'http.response.status_code': status,
    };
    if (caller !== undefined) attributes[CALLER_ATTRIBUTE] = caller;
    if (aborted) attributes['error.type'] = ABORTED;
    return attributes;
  }
}
