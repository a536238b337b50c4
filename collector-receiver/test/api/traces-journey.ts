/**
 * A request's journey across three services, as real SDK spans (sdk-trace-base), one tracer
 * provider per service:
 *
 *   gateway  SERVER  GET /api/users/:id          t=0    200 ms
 *   gateway  CLIENT  GET                         t=5    150 ms
 *   users    SERVER  GET /users/:id              t=10   140 ms
 *   users    INTERNAL load-user                  t=12    20 ms
 *   users    CLIENT  GET                         t=40   100 ms
 *   orders   SERVER  GET /orders/:userId         t=45    90 ms   500
 *   orders   PRODUCER orders.audit publish       t=60     5 ms
 *
 * Exported per service like three real processes would (protobuf for gateway and orders, JSON for
 * users), in an order where children arrive before their parents.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface Journey {
  traceId: string;
  byService: Record<'gateway' | 'users' | 'orders', ReadableSpan[]>;
  /** spanId by a short label, for assertions */
  ids: Record<string, string>;
}

export async function createJourney(baseMs = Date.now() - 5_000): Promise<Journey> {
  const providers = new Map<string, { provider: BasicTracerProvider; exporter: InMemorySpanExporter }>();
  const tracerOf = (service: string) => {
    let entry = providers.get(service);
    if (!entry) {
      const exporter = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      });
      entry = { provider, exporter };
      providers.set(service, entry);
    }
    return entry.provider.getTracer('journey-fixture');
  };
  const start = (service: string, name: string, kind: SpanKind, offsetMs: number, parent: Span | undefined, attributes: Attributes = {}) =>
    tracerOf(service).startSpan(name, { kind, startTime: baseMs + offsetMs, attributes },
      parent ? trace.setSpan(context.active(), parent) : context.active());

  const gwServer = start('gateway', 'GET /api/users/:id', SpanKind.SERVER, 0, undefined,
    { 'http.request.method': 'GET', 'http.route': '/api/users/:id', 'http.response.status_code': 200 });
  const gwClient = start('gateway', 'GET', SpanKind.CLIENT, 5, gwServer,
    { 'http.request.method': 'GET', 'http.response.status_code': 200, 'server.address': 'users' });
  const usersServer = start('users', 'GET /users/:id', SpanKind.SERVER, 10, gwClient,
    { 'http.request.method': 'GET', 'http.route': '/users/:id', 'http.response.status_code': 200, 'lattice.caller.service.name': 'gateway' });
  const usersInternal = start('users', 'load-user', SpanKind.INTERNAL, 12, usersServer);
  const usersClient = start('users', 'GET', SpanKind.CLIENT, 40, usersServer,
    { 'http.request.method': 'GET', 'http.response.status_code': 500 });
  const ordersServer = start('orders', 'GET /orders/:userId', SpanKind.SERVER, 45, usersClient,
    { 'http.request.method': 'GET', 'http.route': '/orders/:userId', 'http.response.status_code': 500 });
  const ordersProducer = start('orders', 'orders.audit publish', SpanKind.PRODUCER, 60, ordersServer);
  ordersServer.setStatus({ code: SpanStatusCode.ERROR });

  usersInternal.end(baseMs + 32);
  ordersProducer.end(baseMs + 65);
  ordersServer.end(baseMs + 135);
  usersClient.end(baseMs + 140);
  usersServer.end(baseMs + 150);
  gwClient.end(baseMs + 155);
  gwServer.end(baseMs + 200);

  const finished = (service: string) => providers.get(service)!.exporter.getFinishedSpans();
  return {
    traceId: gwServer.spanContext().traceId,
    byService: { gateway: finished('gateway'), users: finished('users'), orders: finished('orders') },
    ids: {
      gwServer: gwServer.spanContext().spanId, gwClient: gwClient.spanContext().spanId,
      usersServer: usersServer.spanContext().spanId, usersInternal: usersInternal.spanContext().spanId,
      usersClient: usersClient.spanContext().spanId, ordersServer: ordersServer.spanContext().spanId,
      ordersProducer: ordersProducer.spanContext().spanId,
    },
  };
}
