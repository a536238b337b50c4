/**
 * The incoming-request hook: one SERVER span per sampled request and one duration point per
 * request, from a wrapper around `http.Server.prototype.emit` / `https.Server.prototype.emit`
 * (the same place instrumentation-http hooks, so ESM and CommonJS apps alike). It replaces
 * instrumentation-http's incoming side (`disableIncomingRequestInstrumentation`), which stays in
 * charge of outgoing requests.
 *
 * Per request it does only what the data needs:
 *  - extract W3C trace context + baggage from the headers; start the SERVER span (the sampler
 *    decides); run the 'request' listeners in the span's context;
 *  - keep the request's later events in that context with one `emit` wrapper on
 *    `IncomingMessage.prototype` (a handler that reads the body carries on from the request's
 *    'end', which Node emits from the connection's async context), instead of
 *    instrumentation-http's `context.bind(emitter)` on request and response, which patches six
 *    listener methods per emitter;
 *  - on the response's 'close' (also fired once for aborted requests): record the duration with a
 *    cached attribute object, and only for a recording span build the span attributes, set the
 *    route, name it `METHOD route` and end it.
 * instrumentation-http additionally parses the URL twice, parses the Host header, builds metric
 * attributes and records its own histogram for every request, sampled or not.
 *
 * Measured (bench/sdk-overhead app, alternating rounds against the previous build, 3 rounds,
 * 2026-11-27 13:41, machine at load 26 so only CPU µs/request is meaningful): defaults
 * 1845 → 1255 µs/req (plain 674: 0.37 → 0.54 × plain), traces at 10 % 1496 → 877 µs/req
 * (0.45 → 0.77 × plain).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { context, createContextKey, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { getRPCMetadata, RPCType, setRPCMetadata } from '@opentelemetry/core';
import type { RPCMetadata } from '@opentelemetry/core';
import { callerOf } from './caller';
import { DurationAttributes, normalizeMethod, routeFor } from './metrics';
import { kPrefix, kRequestSlot, kRoute } from './request-slot';
import type { RouteSlot } from './request-slot';

const kState = kRequestSlot;

/** Also the request's route slot: the Express route capture writes the route here. */
interface RequestState extends RouteSlot {
  start: number;
  ctx: Context;
  span: Span;
  rpc: RPCMetadata;
  caller: string | undefined;
}

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
type Tracked = { [kState]?: RequestState };

/**
 * `IncomingMessage.prototype.emit`: emits a server request's events in the request's context.
 * On the prototype rather than assigned to each request: two own properties per request
 * (the wrapper and the original) changed every request's hidden class and cost ~1 KB of
 * garbage per request (cpu-per-request.mjs, traces at 10 %, one round: 32.7 → 31.8 KB/req
 * allocated; with the own histogram, see duration-histogram.ts).
 * Client responses (also IncomingMessage) carry no state and pass straight through.
 * An event nobody listens to runs no code, so it needs no context: of a GET's 'readable',
 * 'resume', 'end' and 'close', only 'end' has a listener (Node's own).
 * `arguments` rather than rest/spread, so an event costs at most one closure.
 *
 * The closure lives in `emitInContext`, not here: a closure in this function that captured
 * `this` and `arguments` made V8 allocate its context and the arguments object on every call,
 * pass-through events included (a request emits several; client responses all of theirs).
 * V8's sampling heap profiler put 454 B/request in this wrapper (traces at 10 %). Measured
 * against the previous build (cpu-per-request.mjs, alternating rounds, 2026-11-27): traces at
 * 10 % 28.4 → 27.6 KB allocated/request (2 × 15,000 requests, load 0.2-0.6), 28.2 → 27.7 and
 * 28.3 → 27.8 KB (5 × 20,000, load 0.5-5.8 and 2.7-5.0); defaults 30.7 → 30.1 and 30.6 → 30.0 KB.
 * CPU per request moved within the noise of this shared machine (10 %: 171 → 167, 190 → 193,
 * 181 → 180 µs; plain 127-150 µs).
 */
function wrapIncomingEmit(original: Emit): Emit {
  return function latticeIncomingEmit(this: unknown, event: string | symbol): boolean {
    const self = this as Tracked & { listenerCount(event: string | symbol): number };
    const state = self[kState];
    // eslint-disable-next-line prefer-rest-params
    if (state === undefined || self.listenerCount(event) === 0) return original.apply(this, arguments as unknown as Parameters<Emit>);
    // eslint-disable-next-line prefer-rest-params
    return emitInContext(original, self, state.ctx, arguments as unknown as Parameters<Emit>);
  };
}

/** Emits in `ctx`: the one closure of an event that has listeners. */
function emitInContext(original: Emit, self: unknown, ctx: Context, args: Parameters<Emit>): boolean {
  return context.with(ctx, () => original.apply(self, args));
}

/** The keys `trace.setSpan` and core's `setRPCMetadata` use (`createContextKey` is `Symbol.for`). */
const SPAN_KEY = createContextKey('OpenTelemetry Context Key SPAN');
const RPC_METADATA_KEY = createContextKey('OpenTelemetry SDK Context Key RPC_METADATA');

/**
 * A request's context: the extracted parent plus the SERVER span and its RPC metadata, as one
 * object with prototype methods. `setRPCMetadata(trace.setSpan(parent, span), rpc)` builds two
 * api `BaseContext`s per request, each with a copied Map and three closures, most of them garbage
 * by the response. Deriving a context from this one (`setValue`/`deleteValue`: an outgoing call's
 * span, a layer span) builds those two once and derives from them, so derived contexts are plain
 * api contexts as before (with the defaults, the batch span processor's flush does that once per
 * 512 spans). Used only if `usesApiKeys()` confirms the api reads these keys.
 *
 * Measured against the previous build in the same alternating rounds (cpu-per-request.mjs, 5 ×
 * 20,000 requests, 2026-11-27 18:57, load average 5.9-7.9): traces at 10 % 29.6 → 28.3 KB and
 * 210 → 204 µs per request (plain 25.7 KB, 163 µs); defaults 31.2 → 30.8 KB, CPU within the
 * noise (205 → 213 µs there, 235 → 221 µs in a second 6-round run). V8's sampling heap profiler
 * (collected objects included, 20,000 requests): 10 % 29.7 → 28.1 KB, defaults 31.2 → 30.1 KB.
 */
class RequestContext implements Context {
  private full: Context | undefined = undefined;

  constructor(
    private readonly parent: Context,
    private readonly span: Span,
    private readonly rpc: RPCMetadata,
  ) {}

  getValue(key: symbol): unknown {
    if (key === SPAN_KEY) return this.span;
    if (key === RPC_METADATA_KEY) return this.rpc;
    return this.parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return this.materialize().setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return this.materialize().deleteValue(key);
  }

  private materialize(): Context {
    this.full ??= setRPCMetadata(trace.setSpan(this.parent, this.span), this.rpc);
    return this.full;
  }
}

/** Whether the api and core read a span and RPC metadata under the keys RequestContext answers. */
function usesApiKeys(): boolean {
  const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 0 });
  const rpc: RPCMetadata = { type: RPCType.HTTP, span };
  const probe = new RequestContext(ROOT_CONTEXT, span, rpc);
  const viaApi = setRPCMetadata(trace.setSpan(ROOT_CONTEXT, span), rpc);
  return (
    trace.getSpan(probe) === span &&
    getRPCMetadata(probe) === rpc &&
    viaApi.getValue(SPAN_KEY) === span &&
    viaApi.getValue(RPC_METADATA_KEY) === rpc
  );
}

/**
 * The SERVER span's attributes (stable HTTP semconv). No `url.query`: query strings carry signed
 * URLs and tokens (instrumentation-http redacts a few known keys; we send none of it).
 */
function spanAttributes(req: IncomingMessage, res: ServerResponse, scheme: string, route: string): Attributes {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const attributes: Attributes = {
    'http.request.method': normalizeMethod(req.method),
    'url.scheme': scheme,
    'url.path': q === -1 ? url : url.slice(0, q),
    'http.route': route,
    'http.response.status_code': res.statusCode,
    'network.protocol.version': req.httpVersion,
  };
  const host = req.headers.host;
  if (host !== undefined) {
    const colon = host.lastIndexOf(':');
    const bracket = host.lastIndexOf(']');
    if (colon > bracket) {
      attributes['server.address'] = host.slice(0, colon);
      const port = Number(host.slice(colon + 1));
      if (Number.isInteger(port)) attributes['server.port'] = port;
    } else {
      attributes['server.address'] = host;
    }
  }
  const userAgent = req.headers['user-agent'];
  if (userAgent !== undefined) attributes['user_agent.original'] = userAgent;
  const peer = req.socket?.remoteAddress;
  if (peer !== undefined) attributes['client.address'] = peer;
  if (req.method !== undefined && attributes['http.request.method'] !== req.method) attributes['http.request.method_original'] = req.method;
  return attributes;
}

export interface ServerRequestHooks {
  tracer: Tracer;
  /** Where each request's duration goes: `DurationHistogram` (or anything with its `record`). */
  histogram: { record(value: number, attributes: Attributes): void };
}

/** Wraps `emit` of http.Server and https.Server; returns a function that restores them. */
export function instrumentServerRequests({ tracer, histogram }: ServerRequestHooks): () => void {
  const attributesCache = new DurationAttributes();
  const ownContext = usesApiKeys();

  function onClose(this: ServerResponse): void {
    const req = this.req as IncomingMessage & Tracked;
    const state = req[kState];
    if (state === undefined) return;
    const route = routeFor(req, state.rpc); // reads the route from `state` (request-slot.ts)
    req[kState] = undefined;
    const method = normalizeMethod(req.method);
    const aborted = !this.writableFinished;
    histogram.record(
      (performance.now() - state.start) / 1000,
      attributesCache.get(method, route, this.statusCode, state.caller, aborted),
    );
    const span = state.span;
    if (!span.isRecording()) return;
    const scheme = (req.socket as { encrypted?: boolean } | null)?.encrypted === true ? 'https' : 'http';
    span.setAttributes(spanAttributes(req, this, scheme, route));
    if (aborted) span.setAttribute('error.type', 'aborted');
    if (this.statusCode >= 500) {
      span.setAttribute('error.type', String(this.statusCode));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.updateName(`${method} ${route}`);
    span.end();
  }

  function wrapEmit(original: Emit): Emit {
    return function latticeServerEmit(this: unknown, event: string | symbol): boolean {
      // eslint-disable-next-line prefer-rest-params
      const args = arguments as unknown as Parameters<Emit>;
      if (event !== 'request') return original.apply(this, args);
      const req = args[1] as IncomingMessage & Tracked;
      const res = args[2] as ServerResponse;
      const start = performance.now();
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const span = tracer.startSpan(normalizeMethod(req.method), { kind: SpanKind.SERVER }, parent);
      const rpc: RPCMetadata = { type: RPCType.HTTP, span };
      const ctx = ownContext ? new RequestContext(parent, span, rpc) : setRPCMetadata(trace.setSpan(parent, span), rpc);
      // Route fields declared up front so every state object has one shape.
      const state: RequestState = { start, ctx, span, rpc, caller: callerOf(parent), [kRoute]: undefined, [kPrefix]: undefined };
      // Only the request's events are wrapped (wrapIncomingEmit): the response's 'finish'/'close'
      // follow res.end(), which runs in the request's context, so they inherit it.
      req[kState] = state;
      // 'close' fires once; `on` avoids `once`'s wrapper closure per request.
      res.on('close', onClose);
      return context.with(ctx, () => original.apply(this, args));
    };
  }

  const restores: (() => void)[] = [];
  for (const Server of [http.Server, https.Server] as unknown as { prototype: { emit: Emit } }[]) {
    const proto = Server.prototype;
    const original = proto.emit;
    proto.emit = wrapEmit(original);
    restores.push(() => {
      proto.emit = original;
    });
  }
  const incoming = http.IncomingMessage.prototype as unknown as { emit: Emit };
  const ownEmit = Object.prototype.hasOwnProperty.call(incoming, 'emit') ? incoming.emit : undefined;
  incoming.emit = wrapIncomingEmit(incoming.emit);
  restores.push(() => {
    if (ownEmit !== undefined) incoming.emit = ownEmit;
    else delete (incoming as { emit?: Emit }).emit;
  });
  return () => {
    for (const restore of restores) restore();
  };
}
