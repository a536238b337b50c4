/**
 * Caller attribution through W3C baggage.
 *
 * Every outgoing request (node:http and fetch) carries the caller's service name under the
 * baggage key `lattice.caller.service.name`; the caller's own name overrides whatever value it
 * inherited from its own caller. The callee extracts the baggage with the standard W3C
 * propagator, so the entry is in the server request's context: `CallerSpanProcessor` copies it
 * onto SERVER spans, and the duration metric reads it from the same context (`metrics.ts`).
 * A request from an uninstrumented client has no entry, so no caller attribute.
 */
import { propagation, SpanKind } from '@opentelemetry/api';
import type { Baggage, Context, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

export const CALLER_BAGGAGE_KEY = 'lattice.caller.service.name';
export const CALLER_ATTRIBUTE = 'lattice.caller.service.name';

/** The caller named in a context's baggage, if any. */
export function callerOf(ctx: Context): string | undefined {
  return propagation.getBaggage(ctx)?.getEntry(CALLER_BAGGAGE_KEY)?.value;
}

/** W3C baggage whose inject first sets `lattice.caller.service.name` to this service. */
export class CallerBaggagePropagator implements TextMapPropagator {
  private readonly baggage = new W3CBaggagePropagator();
  /** Reused when the context has no baggage of its own: the common case, no allocation. */
  private readonly ownBaggage: Baggage;

  constructor(private readonly serviceName: string) {
    this.ownBaggage = propagation.createBaggage({ [CALLER_BAGGAGE_KEY]: { value: serviceName } });
  }

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    const inherited = propagation.getBaggage(ctx);
    let baggage = this.ownBaggage;
    if (inherited !== undefined) {
      baggage =
        inherited.getEntry(CALLER_BAGGAGE_KEY)?.value === this.serviceName
          ? inherited
          : inherited.setEntry(CALLER_BAGGAGE_KEY, { value: this.serviceName });
    }
    this.baggage.inject(propagation.setBaggage(ctx, baggage), carrier, setter);
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    return this.baggage.extract(ctx, carrier, getter);
  }

  fields(): string[] {
    return this.baggage.fields();
  }
}

/** W3C tracecontext + caller-stamping baggage: the SDK's global propagator. */
export function createCallerPropagator(serviceName: string): TextMapPropagator {
  return new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new CallerBaggagePropagator(serviceName)],
  });
}

/** Puts the caller from the extracted baggage on SERVER spans. Runs only for sampled spans. */
export class CallerSpanProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    if (span.kind !== SpanKind.SERVER) return;
    const caller = callerOf(parentContext);
    if (caller !== undefined) span.setAttribute(CALLER_ATTRIBUTE, caller);
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
