import { context, propagation, ROOT_CONTEXT, SpanKind, trace, TraceFlags, defaultTextMapGetter, defaultTextMapSetter } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { CALLER_BAGGAGE_KEY, callerOf, CallerSpanProcessor, createCallerPropagator } from '../src/caller';

function inject(ctx = ROOT_CONTEXT, name = 'svc-a'): Record<string, string> {
  const carrier: Record<string, string> = {};
  createCallerPropagator(name).inject(ctx, carrier, defaultTextMapSetter);
  return carrier;
}

describe('caller propagator', () => {
  it('stamps the service name into baggage even without any inherited baggage', () => {
    expect(inject()).toEqual({ baggage: 'lattice.caller.service.name=svc-a' });
  });

  it('overrides the inherited caller and keeps other entries', () => {
    const inherited = propagation.createBaggage({
      [CALLER_BAGGAGE_KEY]: { value: 'upstream' },
      tenant: { value: 't1' },
    });
    const carrier = inject(propagation.setBaggage(ROOT_CONTEXT, inherited), 'svc-b');
    expect(carrier.baggage?.split(',').sort()).toEqual(['lattice.caller.service.name=svc-b', 'tenant=t1']);
  });

  it('still propagates trace context', () => {
    const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };
    const carrier = inject(trace.setSpanContext(ROOT_CONTEXT, spanContext));
    expect(carrier.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  it('extracts the caller on the callee side; no header means no caller', () => {
    const propagator = createCallerPropagator('callee');
    const ctx = propagator.extract(ROOT_CONTEXT, { baggage: 'lattice.caller.service.name=svc%20a;p=1' }, defaultTextMapGetter);
    expect(callerOf(ctx)).toBe('svc a');
    expect(callerOf(propagator.extract(ROOT_CONTEXT, {}, defaultTextMapGetter))).toBeUndefined();
  });
});

describe('CallerSpanProcessor', () => {
  it('sets the caller attribute on SERVER spans only', () => {
    const parent = propagation.setBaggage(context.active(), propagation.createBaggage({ [CALLER_BAGGAGE_KEY]: { value: 'svc-a' } }));
    const processor = new CallerSpanProcessor();
    for (const kind of [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL]) {
      const attrs: Record<string, unknown> = {};
      const span = { kind, setAttribute: (k: string, v: unknown) => (attrs[k] = v) };
      processor.onStart(span as never, parent);
      expect(attrs).toEqual(kind === SpanKind.SERVER ? { 'lattice.caller.service.name': 'svc-a' } : {});
    }
  });
});
