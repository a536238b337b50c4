import { isIP } from 'node:net';

/**
 * True for a host only this machine can reach: 127.0.0.0/8, ::1 (and IPv4-mapped 127.x), localhost.
 * The receiver may run open (no keys) only there; any other address needs an ingest key.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}
