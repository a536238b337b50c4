import { describe, expect, it } from 'vitest';
import { syncPatchedNamedExports } from '../src/esm';

function wrapped(): () => void {
  const fn = (): void => {};
  return Object.assign(fn, { __wrapped: true });
}

describe('syncPatchedNamedExports', () => {
  it('points named request/get at the patched CommonJS functions', () => {
    const original = (): void => {};
    const cjs = { request: wrapped(), get: wrapped() };
    const ns: Record<string, unknown> = { default: cjs, request: original, get: original };
    syncPatchedNamedExports(ns);
    expect(ns.request).toBe(cjs.request);
    expect(ns.get).toBe(cjs.get);
  });

  it('leaves bindings alone while the CommonJS exports are unpatched', () => {
    const original = (): void => {};
    const ns: Record<string, unknown> = { default: { request: original, get: original }, request: original, get: original };
    syncPatchedNamedExports(ns);
    expect(ns.request).toBe(original);
  });
});
