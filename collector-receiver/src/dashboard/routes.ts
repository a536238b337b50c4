/**
 * The dashboard: static files from collector-receiver/web at `/` and uPlot's dist files from
 * node_modules at `/vendor/uplot/` (no CDN). Every answer in this scope carries a strict
 * Content-Security-Policy: scripts and styles only from this origin, no inline script, no inline
 * event handlers, no inline style attributes (the page sets positions through CSSOM, which CSP
 * allows), fetch/EventSource only to this origin.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** collector-receiver/web, from src/dashboard (tests) and dist/dashboard (built) alike. */
export const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The uPlot files the page loads; nothing else from node_modules is reachable. */
const UPLOT_FILES = new Set(['uPlot.esm.js', 'uPlot.min.css']);

export async function registerDashboard(app: FastifyInstance): Promise<void> {
  const uplotDist = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply, payload) => {
      void reply.header('content-security-policy', DASHBOARD_CSP);
      void reply.header('x-content-type-options', 'nosniff');
      void reply.header('referrer-policy', 'no-referrer');
      return payload;
    });
    // wildcard: false registers one route per file found at startup, so unknown paths keep the
    // receiver's ordinary 404 and the API routes are never shadowed.
    await scope.register(fastifyStatic, {
      root: WEB_ROOT, prefix: '/', wildcard: false, index: ['index.html'], cacheControl: false,
      setHeaders: (reply) => { void reply.header('cache-control', 'no-cache'); },
    });
    await scope.register(fastifyStatic, {
      root: uplotDist, prefix: '/vendor/uplot/', wildcard: false, decorateReply: false,
      allowedPath: (pathName) => UPLOT_FILES.has(pathName.replace(/^\//, '')),
    });
  });
}
