/**
 * Shared checks for the containers of an export request (resource → scope → items) and the
 * accepted time window. A container of the wrong type makes the whole request unreadable, so it
 * throws LAT_ERR_TRANSLATE_MALFORMED (400); a bad item is only rejected (partial success). Pure.
 */
import { errors } from '../errors.js';
import type { IResource } from '../otlp/internal-types.js';
import { MAX_NAME_BYTES, storableTextProblem, toWellFormed } from './text.js';
import { describe, stringAttribute } from './values.js';

/** Resources without `service.name` (the OTel SDK default is `unknown_service:<process>`). */
export const UNKNOWN_SERVICE = 'unknown_service';

/** Timestamps older than this before `now` are rejected (late data the rollups already closed). */
export const MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** Timestamps further than this after `now` are rejected (clock skew). */
export const MAX_FUTURE_MS = 60 * 60 * 1000;

/** A repeated field: absent → [], array → itself, anything else → 400 naming the field. */
export function arrayField<T>(value: T[] | null | undefined, path: () => string): T[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  throw errors.LAT_ERR_TRANSLATE_MALFORMED(path(), 'an array', describe(value));
}

/** A message field: absent → undefined, object → itself, anything else → 400 naming the field. */
export function objectField<T extends object>(value: T | null | undefined, path: () => string): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object' && !Array.isArray(value)) return value;
  throw errors.LAT_ERR_TRANSLATE_MALFORMED(path(), 'an object', describe(value));
}

/** The resource's `service.name` (lone surrogates as U+FFFD), or UNKNOWN_SERVICE. */
export function serviceNameOf(resource: IResource | undefined): string {
  const name = stringAttribute(resource?.attributes, 'service.name');
  return name === undefined || name === '' ? UNKNOWN_SERVICE : toWellFormed(name);
}

/** Why a service name cannot be stored (NUL, too long; see text.ts) as "attributes[service.name] should …". */
export function serviceNameProblem(serviceName: string): string | undefined {
  const problem = storableTextProblem(serviceName, MAX_NAME_BYTES);
  return problem === undefined ? undefined : `attributes[service.name] ${problem}`;
}

/**
 * Whether epoch nanoseconds lie in [now − MAX_AGE_MS, now + MAX_FUTURE_MS]; a message fragment
 * when not.
 */
export function timeWindowProblem(unixNano: bigint, nowMs: number): string | undefined {
  const ms = Number(unixNano / 1_000_000n);
  if (ms < nowMs - MAX_AGE_MS) {
    return `should be within the last 7 days, instead got ${unixNano} (${ms > 0 ? new Date(ms).toISOString() : 'epoch'})`;
  }
  if (ms > nowMs + MAX_FUTURE_MS) {
    return `should be at most 1 hour in the future, instead got ${unixNano} (${new Date(Math.min(ms, 8.64e15)).toISOString()})`;
  }
  return undefined;
}
