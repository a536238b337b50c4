import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, createContextKey, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, getRPCMetadata, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Sampler } from '@opentelemetry/sdk-trace-base';
import { instrumentServerRequests } from '../src/server-requests';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN_ID = 'b7ad6b7169203331';
const APP_KEY = createContextKey('test: a value the app sets');

/** The active context of the last request's handler, and contexts it derived from it. */
let seen: { active: Context; derived: Context; withoutSpan: Context } | undefined;
const server = createServer((_req, res) => {
  const active = context.active();
  seen = { active, derived: active.setValue(APP_KEY, 'app value'), withoutSpan: active.deleteValue(createContextKey('OpenTelemetry Context Key SPAN')) };
  res.end('ok');
});
let url = '';

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => {
  server.close();
  context.disable();
  propagation.disable();
});

/** One request from an instrumented caller through the hook with this sampler; what it produced. */
async function request(sampler: Sampler) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const restore = instrumentServerRequests({ tracer: provider.getTracer('test'), histogram: { record: () => undefined } });
  try {
    seen = undefined;
    const response = await fetch(url, {
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`, baggage: 'lattice.caller.service.name=app-a' },
    });
    expect(await response.text()).toBe('ok');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the span ends on the response's 'close'
    return { finished: exporter.getFinishedSpans(), ...seen! };
  } finally {
    restore();
    await provider.shutdown();
  }
}

/** The handler's context and contexts derived from it carry the span, its RPC metadata and the baggage. */
function expectRequestContext({ active, derived, withoutSpan }: NonNullable<typeof seen>, spanId: string) {
  for (const ctx of [active, derived]) {
    const span = trace.getSpan(ctx);
    expect(span?.spanContext().traceId).toBe(TRACE_ID);
    expect(span?.spanContext().spanId).toBe(spanId);
    expect(getRPCMetadata(ctx)?.span).toBe(span);
    expect(propagation.getBaggage(ctx)?.getEntry('lattice.caller.service.name')?.value).toBe('app-a');
  }
  expect(active.getValue(APP_KEY)).toBeUndefined();
  expect(derived.getValue(APP_KEY)).toBe('app value');
  expect(trace.getSpan(withoutSpan)).toBeUndefined();
  expect(getRPCMetadata(withoutSpan)?.span).toBe(trace.getSpan(active));
  expect(ROOT_CONTEXT.getValue(APP_KEY)).toBeUndefined();
}

describe('instrumentServerRequests', () => {
  it("runs a sampled request's handler in a context with its SERVER span, RPC metadata and the caller's baggage", async () => {
    const result = await request(new AlwaysOnSampler());
    expect(result.finished).toHaveLength(1);
    const [span] = result.finished;
    expect(span?.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
    expectRequestContext(result, span!.spanContext().spanId);
  });

  it('gives a request the sampler dropped the same context: its own span id in the caller\'s trace, RPC metadata, baggage', async () => {
    const result = await request(new AlwaysOffSampler());
    expect(result.finished).toHaveLength(0);
    const spanId = trace.getSpan(result.active)?.spanContext().spanId;
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(spanId).not.toBe(PARENT_SPAN_ID);
    expectRequestContext(result, spanId!);
  });
});
