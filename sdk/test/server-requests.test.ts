import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, createContextKey, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, getRPCMetadata, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { instrumentServerRequests } from '../src/server-requests';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN_ID = 'b7ad6b7169203331';
const APP_KEY = createContextKey('test: a value the app sets');

describe('instrumentServerRequests', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  let restore: () => void = () => undefined;
  /** What the request handler saw: its active context, and contexts derived from it. */
  let seen: { active: Context; derived: Context; withoutSpan: Context } | undefined;
  const server = createServer((_req, res) => {
    const active = context.active();
    seen = { active, derived: active.setValue(APP_KEY, 'app value'), withoutSpan: active.deleteValue(createContextKey('OpenTelemetry Context Key SPAN')) };
    res.end('ok');
  });
  let url = '';

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    propagation.setGlobalPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    );
    restore = instrumentServerRequests({ tracer: provider.getTracer('test'), histogram: { record: () => undefined } });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    restore();
    server.close();
    context.disable();
    propagation.disable();
    await provider.shutdown();
  });

  it("runs the handler in a context with the SERVER span, its RPC metadata and the caller's baggage; derived contexts keep them", async () => {
    const response = await fetch(url, {
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`, baggage: 'lattice.caller.service.name=app-a' },
    });
    expect(await response.text()).toBe('ok');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the span ends on the response's 'close'
    const [finished] = exporter.getFinishedSpans();
    expect(finished?.spanContext().traceId).toBe(TRACE_ID);
    expect(finished?.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);

    const { active, derived, withoutSpan } = seen!;
    for (const ctx of [active, derived]) {
      const span = trace.getSpan(ctx);
      expect(span?.spanContext().spanId).toBe(finished?.spanContext().spanId);
      expect(getRPCMetadata(ctx)?.span).toBe(span);
      expect(propagation.getBaggage(ctx)?.getEntry('lattice.caller.service.name')?.value).toBe('app-a');
    }
    expect(active.getValue(APP_KEY)).toBeUndefined();
    expect(derived.getValue(APP_KEY)).toBe('app value');
    expect(trace.getSpan(withoutSpan)).toBeUndefined();
    expect(getRPCMetadata(withoutSpan)?.span).toBe(trace.getSpan(active));
    expect(ROOT_CONTEXT.getValue(APP_KEY)).toBeUndefined();
  });
});
