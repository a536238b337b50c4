/**
 * Who is asking, before any route runs (docs/tenancy.md):
 * - `/v1/*` exports carry an ingest key: `Authorization: Bearer lat_ingest_…` or `x-lattice-key`
 *   (checked by the OTLP routes through createIngestAuth, so failures are google.rpc.Status);
 * - the query API (`/metrics/…`, `/traces/…`) and `/live` carry a read token: the same headers,
 *   or the HttpOnly cookie `POST /auth/session` sets (EventSource cannot send headers);
 * - with no active key at all the receiver is open: everything is project 'default'.
 * The project found is put in requestContext, which the API's Db reads to scope every query
 * (with-project.ts): row-level security, not WHERE clauses, keeps projects apart.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors, LatticeError } from '../errors.js';
import { sendError } from '../api/send-error.js';
import type { KeyStore } from './key-store.js';
import { describeKey, type KeyKind } from './keys.js';
import type { RateLimiter } from './rate-limiter.js';
import { DEFAULT_PROJECT_ID } from './service-key.js';
import { requestContext } from './with-project.js';

/** The project a request acts for, and the key that said so (null in open mode). */
export interface Tenant {
  projectId: string;
  keyId: string | null;
}

export const OPEN_TENANT: Tenant = { projectId: DEFAULT_PROJECT_ID, keyId: null };

export const SESSION_COOKIE = 'lattice_session';

/** The key a request carries, or why none could be read ('(none)' or the header's scheme). */
function keyOf(request: FastifyRequest, withCookie: boolean): { key: string } | { missing: string } {
  const authorization = request.headers.authorization;
  if (authorization !== undefined && authorization !== '') {
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (bearer !== null) return { key: bearer[1]! };
    return { missing: `Authorization: ${authorization.split(/[ \t]/, 1)[0]} …` };
  }
  const header = request.headers['x-lattice-key'];
  if (typeof header === 'string' && header.trim() !== '') return { key: header.trim() };
  if (withCookie) {
    const cookie = sessionCookieOf(request);
    if (cookie !== undefined) return { key: cookie };
  }
  return { missing: '(none)' };
}

function sessionCookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

/** The tenant of a request that needs a key of `kind`; throws the coded 401/403 otherwise. */
export async function authenticate(keyStore: KeyStore, request: FastifyRequest, kind: KeyKind): Promise<Tenant> {
  if (!(await keyStore.authRequired())) return OPEN_TENANT;
  const found = keyOf(request, kind === 'read');
  if ('missing' in found) {
    throw kind === 'ingest' ? errors.LAT_ERR_AUTH_MISSING_INGEST_KEY(found.missing) : errors.LAT_ERR_AUTH_MISSING_READ_TOKEN(found.missing);
  }
  return tenantOfKey(keyStore, found.key, kind, `${request.method} ${request.routeOptions.url ?? request.url}`);
}

async function tenantOfKey(keyStore: KeyStore, key: string, kind: KeyKind, what: string): Promise<Tenant> {
  const stored = await keyStore.lookup(key);
  if (stored === null) throw errors.LAT_ERR_AUTH_UNKNOWN_KEY(describeKey(key));
  if (stored.kind !== kind) throw errors.LAT_ERR_AUTH_WRONG_KIND(what, kind, stored.kind, describeKey(key), kind);
  return { projectId: stored.projectId, keyId: stored.id };
}

/** What the OTLP routes need: the tenant of an export, and admission by the key's rate limit. */
export interface IngestAuth {
  authenticate(request: FastifyRequest): Promise<Tenant>;
  /** Takes `rows` from the key's bucket; throws LAT_ERR_AUTH_RATE_LIMITED (429 + Retry-After) when over. */
  admit(tenant: Tenant, rows: number): void;
}

export function createIngestAuth(keyStore: KeyStore, limiter: RateLimiter, rowsPerSecond: number): IngestAuth {
  return {
    authenticate: (request) => authenticate(keyStore, request, 'ingest'),
    admit(tenant, rows) {
      if (tenant.keyId === null || rows === 0) return;
      const waitSeconds = limiter.take(tenant.keyId, rows);
      if (waitSeconds === 0) return;
      const coded = errors.LAT_ERR_AUTH_RATE_LIMITED(`#${tenant.keyId}`, rowsPerSecond, rowsPerSecond * 2, rows);
      throw new LatticeError(coded.code, coded.statusCode, coded.message, { retryAfterSeconds: waitSeconds });
    },
  };
}

/** Routes that read a project's data: they need a read token (or open mode). */
function isReadRoute(url: string | undefined): boolean {
  return url !== undefined && (url.startsWith('/metrics/') || url.startsWith('/traces/') || url === '/live');
}

/**
 * Registers, on the root instance and before any route: the request context for every request,
 * the read-token check of the read routes, and GET/POST/DELETE /auth/session.
 */
export function registerAuth(app: FastifyInstance, options: { keyStore: KeyStore }): void {
  const { keyStore } = options;
  app.addHook('onRequest', (_request, _reply, done) => {
    requestContext.run({ projectId: undefined }, done);
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!isReadRoute(request.routeOptions.url)) return;
    try {
      const tenant = await authenticate(keyStore, request, 'read');
      requestContext.getStore()!.projectId = tenant.projectId;
    } catch (err) {
      if (!(err instanceof LatticeError)) throw err;
      return sendError(reply, err);
    }
  });

  const cookieAttributes = (request: FastifyRequest) =>
    `HttpOnly; SameSite=Strict; Path=/${request.protocol === 'https' ? '; Secure' : ''}`;

  // The dashboard's sign-in: a read token in, an HttpOnly cookie out (EventSource sends cookies,
  // not headers). Only JSON bodies: a cross-site form cannot post one without CORS.
  app.post<{ Body: { token?: unknown } }>('/auth/session', {
    schema: { hide: true },
  }, async (request, reply) => {
    try {
      const body = request.body as { token?: unknown } | undefined;
      const fromBody = typeof body === 'object' && body !== null && typeof body.token === 'string' ? body.token.trim() : '';
      const found = fromBody !== '' ? { key: fromBody } : keyOf(request, false);
      if ('missing' in found) throw errors.LAT_ERR_AUTH_MISSING_READ_TOKEN(found.missing);
      await tenantOfKey(keyStore, found.key, 'read', 'POST /auth/session');
      void reply.header('set-cookie', `${SESSION_COOKIE}=${found.key}; ${cookieAttributes(request)}`);
      return reply.code(204).send();
    } catch (err) {
      return sendError(reply, err);
    }
  });
  // What the dashboard needs to offer "Sign out": whether keys are required at all, and whether
  // this browser's cookie holds an active read token. Never 401: it is asked before signing in.
  app.get('/auth/session', {
    schema: {
      summary: 'Whether reads need a token, and whether the session cookie holds an active read token',
      response: {
        200: {
          type: 'object',
          required: ['auth', 'signedIn'],
          properties: {
            auth: { type: 'string', enum: ['open', 'required'], description: 'open: no key exists, reads need no token' },
            signedIn: { type: 'boolean', description: 'the lattice_session cookie holds an active read token' },
          },
        },
      },
    },
  }, async (request, reply) => {
    try {
      if (!(await keyStore.authRequired())) return { auth: 'open', signedIn: false };
      const cookie = sessionCookieOf(request);
      const stored = cookie === undefined ? null : await keyStore.lookup(cookie);
      return { auth: 'required', signedIn: stored !== null && stored.kind === 'read' };
    } catch (err) {
      return sendError(reply, err);
    }
  });
  app.delete('/auth/session', { schema: { hide: true } }, async (request, reply) => {
    void reply.header('set-cookie', `${SESSION_COOKIE}=; Max-Age=0; ${cookieAttributes(request)}`);
    return reply.code(204).send();
  });
}
