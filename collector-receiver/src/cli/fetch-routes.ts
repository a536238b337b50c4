/**
 * Reads GET /metrics/routes of a running receiver. Failures become coded errors the command
 * prints: LAT_ERR_CLI_UNREACHABLE (nothing answers), LAT_ERR_CLI_BAD_RESPONSE (something that is
 * not a Lattice JSON answer), LAT_ERR_CLI_UNAUTHORIZED (401/403: no read token, or one the receiver
 * refused), or the receiver's own coded error (LAT_ERR_API_UNKNOWN_SERVICE …).
 */
import { errors, LatticeError } from '../errors.js';
import { describeKey } from '../tenancy/keys.js';
import type { RoutesAnswer } from './routes-table.js';

/** How long one request may take before the receiver counts as unreachable. */
export const REQUEST_TIMEOUT_MS = 5000;

export interface FetchRoutesOptions {
  /** Ctrl-C during --watch: cancels the request early. */
  signal?: AbortSignal;
  /** A read token, sent as `Authorization: Bearer …`. */
  token?: string;
  /** Where the token came from ('--token', 'LATTICE_TOKEN'), named when it is refused. */
  tokenSource?: string;
}

export async function fetchRoutes(baseUrl: string, service: string, fromMs: number, toMs: number, options: FetchRoutesOptions = {}): Promise<RoutesAnswer> {
  const { signal, token } = options;
  const query = new URLSearchParams({ service, from: String(Math.floor(fromMs)), to: String(Math.ceil(toMs)) });
  const url = `${baseUrl}/metrics/routes?${query.toString()}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    response = await fetch(url, { signal: signal ? AbortSignal.any([timeout, signal]) : timeout, headers });
  } catch (err) {
    throw errors.LAT_ERR_CLI_UNREACHABLE(baseUrl, describeFetchError(err));
  }
  const text = await response.text().catch(() => '');
  let body: unknown;
  try { body = JSON.parse(text); } catch { body = undefined; }
  if (response.ok && isRoutesAnswer(body)) return body;
  if ((response.status === 401 || response.status === 403) && isCodedError(body)) {
    const sent = token === undefined
      ? 'no token was sent'
      : `the token ${describeKey(token)} (from ${options.tokenSource ?? '--token'}) was refused`;
    throw errors.LAT_ERR_CLI_UNAUTHORIZED(baseUrl, sent, response.status, body.code);
  }
  if (isCodedError(body)) throw new LatticeError(body.code, response.status, body.message);
  throw errors.LAT_ERR_CLI_BAD_RESPONSE(`${baseUrl}/metrics/routes`, `${response.status} ${text.slice(0, 80).replace(/\s+/g, ' ')}`.trim());
}

function describeFetchError(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function isCodedError(body: unknown): body is { code: string; message: string } {
  return typeof body === 'object' && body !== null
    && typeof (body as { code?: unknown }).code === 'string' && (body as { code: string }).code.startsWith('LAT_ERR_')
    && typeof (body as { message?: unknown }).message === 'string';
}

function isRoutesAnswer(body: unknown): body is RoutesAnswer {
  return typeof body === 'object' && body !== null && Array.isArray((body as { routes?: unknown }).routes)
    && typeof (body as { service?: unknown }).service === 'string';
}
