// JSON fetches against the receiver's query API (docs/api.md).
import { showSignIn } from './auth.js';

export class ApiError extends Error {
  /** @param {number} status @param {string | undefined} code @param {string} message @param {string} path */
  constructor(status, code, message, path) {
    super(message);
    this.status = status;
    this.code = code;
    this.path = path;
  }

  /** The route does not exist on this receiver (a plain Fastify 404, not a coded LAT_ERR_ answer). */
  get notAvailable() {
    return this.status === 404 && !(this.code ?? '').startsWith('LAT_ERR_');
  }
}

/**
 * @param {string} path
 * @param {Record<string, string | number | undefined>} [params]
 * @returns {Promise<any>}
 */
export async function getJson(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  let res;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (err) {
    throw new ApiError(0, undefined, `the receiver did not answer (${err instanceof Error ? err.message : String(err)})`, path);
  }
  if (res.ok) return res.json();
  /** @type {{ code?: string, message?: string } | null} */
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  // Keys are required and this browser has no (valid) session: ask for a read token.
  if (res.status === 401) showSignIn(body?.message ?? res.statusText);
  throw new ApiError(res.status, body?.code, body?.message ?? res.statusText, path);
}

/** What to show in place of a section whose fetch failed. @param {unknown} err @param {string} what */
export function describeFailure(err, what) {
  if (err instanceof ApiError) {
    if (err.notAvailable) return `${what}: not available — this receiver does not serve ${err.path} yet.`;
    if (err.status === 0) return `${what}: ${err.message}; retrying on the next update.`;
    return `${what}: ${err.code ?? err.status} ${err.message}`;
  }
  return `${what}: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Wraps an async loader so that calls made while it runs coalesce into one more run afterwards:
 * a burst of live updates never piles up requests.
 * @param {() => Promise<void>} load
 * @returns {() => Promise<void>}
 */
export function coalesce(load) {
  /** @type {Promise<void> | null} */
  let running = null;
  let again = false;
  const run = async () => {
    if (running) { again = true; return running; }
    running = (async () => {
      do {
        again = false;
        try { await load(); } catch (err) { console.error(err); }
      } while (again);
    })();
    try { await running; } finally { running = null; }
  };
  return run;
}
