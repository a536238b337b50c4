/**
 * `http.server.request.duration`, recorded by the SDK itself.
 *
 * instrumentation-http's own duration metric cannot carry the caller or our route template, and
 * it would count the request a second time, so its meter is a no-op (see `sdk.ts`) and this
 * module records the one histogram. The recording hangs off the server response's 'close' event
 * (which also fires for aborted requests, exactly once), registered from instrumentation-http's
 * `responseHook`. That hook runs for every request, sampled or not, so traces can be sampled at
 * 10 % while every request is counted.
 *
 * Our 'close' listener is added before instrumentation-http's own, so it also writes the route
 * into the request's RPCMetadata in time for the SERVER span to get `http.route` (and its name).
 */
import { ServerResponse } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { context } from '@opentelemetry/api';
import type { Attributes, Histogram, Meter, Span } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { RPCMetadata } from '@opentelemetry/core';
import { AggregationType } from '@opentelemetry/sdk-metrics';
import type { ViewOptions } from '@opentelemetry/sdk-metrics';
import { CALLER_ATTRIBUTE, callerOf } from './caller';
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

const kStart = Symbol('lattice.start');
const kRpc = Symbol('lattice.rpc');
const kCaller = Symbol('lattice.caller');

interface TrackedResponse extends ServerResponse {
  [kStart]?: number;
  [kRpc]?: RPCMetadata;
  [kCaller]?: string;
}

/** Returns instrumentation-http's `responseHook` that records the duration of every server request. */
export function createServerDurationHook(meter: Meter): (span: Span, response: unknown) => void {
  const histogram: Histogram = meter.createHistogram(SERVER_DURATION_METRIC, {
    description: 'Duration of HTTP server requests.',
    unit: 's',
  });

  function onServerResponseClose(this: TrackedResponse): void {
    const rpc = this[kRpc];
    const route = routeFor(this.req, rpc);
    if (rpc !== undefined && rpc.type === RPCType.HTTP) rpc.route = route;
    const attributes: Attributes = {
      'http.request.method': normalizeMethod(this.req.method),
      'http.route': route,
      'http.response.status_code': this.statusCode,
    };
    const caller = this[kCaller];
    if (caller !== undefined) attributes[CALLER_ATTRIBUTE] = caller;
    if (!this.writableFinished) attributes['error.type'] = 'aborted';
    const start = this[kStart];
    if (start !== undefined) histogram.record((performance.now() - start) / 1000, attributes);
  }

  return function latticeResponseHook(_span: Span, response: unknown): void {
    if (!(response instanceof ServerResponse)) return;
    const tracked = response as TrackedResponse;
    tracked[kStart] = performance.now();
    const active = context.active();
    tracked[kRpc] = getRPCMetadata(active);
    const caller = callerOf(active);
    if (caller !== undefined) tracked[kCaller] = caller;
    tracked.on('close', onServerResponseClose);
  };
}
