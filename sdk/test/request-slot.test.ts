import { describe, expect, it } from 'vitest';
import { routeOf } from '../src/express-route';
import { kRequestSlot, kRoute, slotOf } from '../src/request-slot';

describe('slotOf', () => {
  it("uses the hook's per-request state when there is one, so nothing is added to the request", () => {
    const state = { [kRoute]: '/users/:id' };
    const req = { [kRequestSlot]: state };
    expect(slotOf(req)).toBe(state);
    expect(routeOf(req)).toBe('/users/:id');
    expect(Object.getOwnPropertySymbols(req)).toEqual([kRequestSlot]);
  });

  it('falls back to the request itself for a request the hook did not see', () => {
    const req: Record<symbol, unknown> = {};
    expect(slotOf(req)).toBe(req);
    slotOf(req)[kRoute] = '/health';
    expect(routeOf(req)).toBe('/health');
  });
});
