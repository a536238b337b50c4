/**
 * Preload entry: `node --require @lattice/otel-register app.js` (CommonJS or ESM app) or
 * `node --import @lattice/otel-register app.mjs`.
 *
 * Starts the SDK once, on the main thread, and never crashes the host app: any failure here is
 * one `[lattice]` warning and the app runs untraced.
 *
 * ESM: import-in-the-middle's loader hook is registered with `module.register` so modules
 * imported from ESM (node:http, express) are patched too. Node 20 also runs `--require`
 * preloads inside the loader-hooks thread; that copy (and any worker thread) does nothing.
 */
import { isMainThread } from 'node:worker_threads';
import { readConfig } from './config';
import { registerEsmHook, syncBuiltinHttpExports, syncHttpNamedExports, wantsEsmHook } from './esm';
import { shutdownError, startError } from './errors';
import { startSdk } from './sdk';
import { createBoundedFlush, installShutdownHooks } from './shutdown';
import { warnOnce } from './warn';

const kStarted = Symbol.for('@lattice/otel-register.started');

function start(): void {
  if (!isMainThread) return;
  const g = globalThis as { [kStarted]?: boolean };
  if (g[kStarted]) return; // both --require and --import given
  g[kStarted] = true;

  const config = readConfig(process.env, { entryScript: process.argv[1], cwd: process.cwd() }, (m) => warnOnce(m));
  if (config.disabled) return;

  // Node < 20.6 has no module.register: CommonJS apps are still covered.
  const esm = wantsEsmHook(process.argv[1], process.execArgv, process.env.NODE_OPTIONS, process.cwd()) && registerEsmHook(__filename);
  const sdk = startSdk(config);
  if (esm) syncHttpNamedExports();
  else syncBuiltinHttpExports();
  const flush = createBoundedFlush(
    () => sdk.shutdown(),
    config.shutdownTimeoutMs,
    (err) => warnOnce(shutdownError(err instanceof Error ? err.message : String(err))),
  );
  installShutdownHooks(flush);
}

try {
  start();
} catch (err) {
  warnOnce(startError(err instanceof Error ? err.message : String(err)));
}
