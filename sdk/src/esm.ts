/**
 * ESM support.
 *
 * `registerEsmHook` registers import-in-the-middle's loader hook so that modules imported from
 * ESM reach the instrumentations (Express's own files arrive through `require` and need no hook).
 *
 * `syncHttpNamedExports` fixes one gap we measured with an ESM app that imports Express before
 * `import { get } from 'node:http'`: Express's `require('http')` lets instrumentation-http patch
 * the CommonJS exports first, and then it skips the ESM namespace (its guard against patching
 * twice), so the named bindings `get`/`request` stay unpatched: no client span and no caller
 * baggage. We point those bindings at the patched functions on the CommonJS exports.
 */
import * as nodeModule from 'node:module';
import { pathToFileURL } from 'node:url';
import { Hook } from 'import-in-the-middle';
import type { Namespace } from 'import-in-the-middle';

/** Registers the loader hook; false on Node versions without `module.register` (< 20.6). */
export function registerEsmHook(parentFile: string): boolean {
  const register = (nodeModule as { register?: (specifier: string, parentURL: string | URL) => void }).register;
  if (typeof register !== 'function') return false;
  register('@opentelemetry/instrumentation/hook.mjs', pathToFileURL(parentFile));
  return true;
}

const OUTGOING_FUNCTIONS = ['request', 'get'] as const;

/**
 * For an ESM namespace of node:http / node:https: make each named export that differs from the
 * CommonJS export of the same name, where the latter is an instrumentation wrapper, that wrapper.
 */
export function syncPatchedNamedExports(namespace: Namespace): Namespace {
  const cjs = namespace.default as Record<string, unknown> | undefined;
  if (cjs === undefined || cjs === null) return namespace;
  for (const name of OUTGOING_FUNCTIONS) {
    const patched = cjs[name];
    if (typeof patched === 'function' && (patched as { __wrapped?: boolean }).__wrapped === true && namespace[name] !== patched) {
      namespace[name] = patched;
    }
  }
  return namespace;
}

export function syncHttpNamedExports(): void {
  new Hook(['http', 'https'], { internals: false }, (namespace) => syncPatchedNamedExports(namespace));
}
