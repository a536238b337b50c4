/**
 * Which database failures mean "the database cannot be reached right now" (retry later: 503)
 * as opposed to "the database refused this statement" (a bug or bad state: 500).
 */

/** Node socket errors seen by pg when the server is down, restarting or unreachable. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * SQLSTATEs meaning the server is unavailable: class 08 (connection exception), 57P01–57P03
 * (admin/crash shutdown, cannot connect now), 53300 (too many connections).
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

export function isUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || isUnavailableSqlState(code))) return true;
  const message = err.message;
  return message.includes('Connection terminated')
    || message.includes('timeout exceeded when trying to connect')
    || message.includes('Client has encountered a connection error')
    || message.includes('PGlite is closed')
    || message.includes('Cannot use a pool after calling end');
}

/** SQLSTATE of a database error, or undefined. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
