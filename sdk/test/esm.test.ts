import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { syncPatchedNamedExports, wantsEsmHook } from '../src/esm';

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

describe('wantsEsmHook', () => {
  const fixtures = resolve(__dirname, 'fixtures');
  it('skips the loader hook for a CommonJS entry without ESM loader flags', () => {
    expect(wantsEsmHook('express5-app/esm-via-import.cjs', [], undefined, fixtures)).toBe(false);
    expect(wantsEsmHook(resolve(fixtures, 'express5-app/app.js'), ['--require', 'x'], '--max-old-space-size=100', '/')).toBe(false);
  });

  it('keeps it for ESM entries, ESM loader flags and unknown entries', () => {
    expect(wantsEsmHook('esm-app/app.mjs', [], undefined, fixtures)).toBe(true);
    expect(wantsEsmHook('esm-app/serve.js', [], undefined, fixtures)).toBe(true); // "type": "module" above
    expect(wantsEsmHook('express5-app/app.js', ['--import', 'x'], undefined, fixtures)).toBe(true);
    expect(wantsEsmHook('express5-app/app.js', [], '--import=tsx', fixtures)).toBe(true);
    expect(wantsEsmHook('express5-app/app.js', ['--experimental-loader=./l.mjs'], undefined, fixtures)).toBe(true);
    expect(wantsEsmHook('app.ts', [], undefined, fixtures)).toBe(true);
    expect(wantsEsmHook(undefined, [], undefined, fixtures)).toBe(true);
  });
});
