/**
 * The HTTP semantic-convention attributes Lattice keys requests by, read from a span's or a data
 * point's attributes in one pass. Both the stable names (`http.request.method`,
 * `http.response.status_code`) and the older ones (`http.method`, `http.status_code`) are read;
 * the stable name wins when both are present. Pure.
 */
import type { IAnyValue, IKeyValue } from '../otlp/internal-types.js';
import { UNMATCHED_ROUTE } from './rows.js';
import { MAX_NAME_BYTES, MAX_ROUTE_BYTES, storableTextProblem, toWellFormed } from './text.js';
import { toBigInt } from './values.js';

/** Set by the Lattice SDK on server spans and duration points: who called this service. */
export const CALLER_ATTRIBUTE = 'lattice.caller.service.name';

/** The methods semantic conventions know; anything else is `_OTHER`. */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);
export const OTHER_METHOD = '_OTHER';

export interface HttpAttributes {
  method: string;
  route: string;
  statusCode: number;
  callerServiceName: string | null;
}

/** An HTTP status code from an int, integral double or 1–3 digit string attribute; else undefined. */
export function toHttpStatus(value: IAnyValue | null | undefined): number | undefined {
  if (!value) return undefined;
  if (value.intValue !== undefined && value.intValue !== null) {
    const big = toBigInt(value.intValue);
    return big !== undefined && big >= 0n && big <= 999n ? Number(big) : undefined;
  }
  if (typeof value.stringValue === 'string' && /^\d{1,3}$/.test(value.stringValue)) return Number(value.stringValue);
  if (typeof value.doubleValue === 'number' && Number.isInteger(value.doubleValue)
    && value.doubleValue >= 0 && value.doubleValue <= 999) return value.doubleValue;
  return undefined;
}

export function normaliseMethod(raw: string | undefined): string {
  if (raw === undefined) return OTHER_METHOD;
  const upper = raw.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : OTHER_METHOD;
}

/**
 * A route template is kept as sent, except values that are plainly not templates (a full URL or
 * one carrying a query string): those become UNMATCHED_ROUTE, so raw URLs never become rows.
 */
function normaliseRoute(raw: string | undefined): string {
  if (raw === undefined || raw === '' || !isRouteTemplate(raw)) return UNMATCHED_ROUTE;
  return raw;
}

/** False for values that are plainly a URL, not a template: a scheme or a query string. */
export function isRouteTemplate(raw: string): boolean {
  return !raw.includes('://') && !raw.includes('?');
}

/**
 * What one pass over the attributes found, before normalisation; the stable semconv name already
 * preferred over the older one. Empty route and caller strings count as absent.
 */
export interface RawHttpAttributes {
  method: string | undefined;
  statusCode: number | undefined;
  route: string | undefined;
  caller: string | undefined;
}

/**
 * The one scan of span and data-point attributes for the http.* keys and the caller. Hot: every
 * span of every export passes here, so keys are rejected by their first character before any
 * string comparison (most attributes are neither http.* nor the caller).
 */
export function scanHttpAttributes(attributes: IKeyValue[] | null | undefined): RawHttpAttributes {
  let stableMethod: string | undefined;
  let oldMethod: string | undefined;
  let stableStatus: number | undefined;
  let oldStatus: number | undefined;
  let route: string | undefined;
  let caller: string | undefined;
  if (Array.isArray(attributes)) {
    for (const kv of attributes) {
      const key = kv?.key;
      if (typeof key !== 'string') continue;
      const first = key.charCodeAt(0);
      if (first === 108 /* l */) {
        if (key === CALLER_ATTRIBUTE) {
          const value = kv.value?.stringValue;
          if (typeof value === 'string' && value !== '') caller = value;
        }
        continue;
      }
      if (first !== 104 /* h */ || !key.startsWith('http.')) continue;
      const value = kv.value;
      switch (key) {
        case 'http.request.method':
          if (typeof value?.stringValue === 'string') stableMethod = value.stringValue;
          break;
        case 'http.method':
          if (typeof value?.stringValue === 'string') oldMethod = value.stringValue;
          break;
        case 'http.response.status_code':
          stableStatus = toHttpStatus(value);
          break;
        case 'http.status_code':
          oldStatus = toHttpStatus(value);
          break;
        case 'http.route':
          if (typeof value?.stringValue === 'string' && value.stringValue !== '') route = value.stringValue;
          break;
        default:
          break;
      }
    }
  }
  return { method: stableMethod ?? oldMethod, statusCode: stableStatus ?? oldStatus, route, caller };
}

/** A data point's request key: method, route template (or UNMATCHED_ROUTE), status, caller. */
export function toHttpAttributes(attributes: IKeyValue[] | null | undefined): HttpAttributes {
  const raw = scanHttpAttributes(attributes);
  return {
    method: normaliseMethod(raw.method),
    route: toWellFormed(normaliseRoute(raw.route)),
    statusCode: raw.statusCode ?? 0,
    callerServiceName: raw.caller === undefined ? null : toWellFormed(raw.caller),
  };
}

/**
 * Why the route or caller cannot be stored (NUL, too long; see text.ts), naming the attribute as
 * "attributes[<key>] should …"; undefined when both can.
 */
export function httpTextProblem(http: HttpAttributes): string | undefined {
  const route = storableTextProblem(http.route, MAX_ROUTE_BYTES);
  if (route !== undefined) return `attributes[http.route] ${route}`;
  if (http.callerServiceName === null) return undefined;
  const caller = storableTextProblem(http.callerServiceName, MAX_NAME_BYTES);
  return caller === undefined ? undefined : `attributes[${CALLER_ATTRIBUTE}] ${caller}`;
}
