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
import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Hook } from 'import-in-the-middle';
import type { Namespace } from 'import-in-the-middle';

/** The `type` field of the nearest package.json at or above `dir` ('commonjs' when none says). */
function packageTypeAbove(dir: string): string {
  for (;;) {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      try {
        const type: unknown = (JSON.parse(text) as { type?: unknown }).type;
        return type === 'module' ? 'module' : 'commonjs';
      } catch {
        return 'commonjs';
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return 'commonjs';
    dir = parent;
  }
}

const ESM_LOADER_FLAGS = ['--import', '--loader', '--experimental-loader'];

/**
 * Whether the app can load ESM from the start, so that the loader hook is worth its cost: the
 * hook runs in its own thread (~13 MB RSS measured on Node 20.20, 39 → 53 MB for an empty
 * process) and slows every module load. A CommonJS entry (`.cjs`, or `.js` without
 * `"type": "module"` above it) with no ESM loader flags does without it: Express's files and
 * node:http arrive through `require`, and `syncBuiltinHttpExports` keeps named ESM imports of
 * node:http/https (from a later `import()`) pointing at the patched functions.
 */
export function wantsEsmHook(entryScript: string | undefined, execArgv: readonly string[], nodeOptions: string | undefined, cwd: string): boolean {
  const flags = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (flags.some((f) => ESM_LOADER_FLAGS.some((l) => f === l || f.startsWith(`${l}=`)))) return true;
  if (entryScript === undefined || entryScript === '') return true;
  const file = resolve(cwd, entryScript);
  const ext = extname(file);
  if (ext === '.cjs') return false;
  if (ext === '.mjs') return true;
  if (ext !== '.js') return true;
  return packageTypeAbove(dirname(file)) === 'module';
}

/**
 * Without the loader hook: load node:http/https through `require` now (require-in-the-middle
 * patches them), so an ESM module imported later builds its node:http namespace from the patched
 * exports (the CommonJS-entry case in test/preload/esm.test.ts), and copy them onto any namespace
 * created before (`syncBuiltinESMExports`).
 */
export function syncBuiltinHttpExports(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('node:http');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('node:https');
  nodeModule.syncBuiltinESMExports();
}

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
