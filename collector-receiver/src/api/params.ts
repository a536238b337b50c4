/**
 * Query-parameter parsing for the API routes. Pure; every failure is
 * LAT_ERR_API_INVALID_PARAM naming the parameter, the expected shape and what arrived.
 */
import { errors } from '../errors.js';

/** Instants accepted by `from`/`to`: ISO 8601 with a date, or epoch milliseconds (digits). */
export function parseInstant(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(value) || Number.isNaN(new Date(value).getTime())) {
    throw errors.LAT_ERR_API_INVALID_PARAM(name, 'an ISO 8601 time (2026-01-31T12:00:00Z) or epoch milliseconds', raw);
  }
  return value;
}

export const DEFAULT_WINDOW_MS = 60 * 60 * 1000;

/** from/to of a stats window: default the last hour; from must be before to. */
export function parseWindow(from: string | undefined, to: string | undefined, now: number): { fromMs: number; toMs: number } {
  const toMs = parseInstant('to', to, now);
  const fromMs = parseInstant('from', from, toMs - DEFAULT_WINDOW_MS);
  if (fromMs >= toMs) {
    throw errors.LAT_ERR_API_INVALID_PARAM('from', `earlier than to (${new Date(toMs).toISOString()})`, from ?? new Date(fromMs).toISOString());
  }
  return { fromMs, toMs };
}

export function parseLimit(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > max) {
    throw errors.LAT_ERR_API_INVALID_PARAM('limit', `an integer from 1 to ${max}`, raw);
  }
  return value;
}

/** Steps offered when none is asked for: the smallest giving at most DEFAULT_MAX_POINTS points. */
export const DEFAULT_STEPS_S = [60, 300, 3600, 6 * 3600, 86400] as const;
export const DEFAULT_MAX_POINTS = 500;
/** An explicit step may give up to this many points (a day at one minute). */
export const MAX_POINTS = 1440;

/**
 * The step of a time series in seconds: a multiple of 60 (rollups are per minute), default the
 * smallest of DEFAULT_STEPS_S giving ≤ 500 points. The window is widened to whole steps
 * (from rounded down, to rounded up, on epoch multiples of the step).
 */
export function parseStep(raw: string | undefined, fromMs: number, toMs: number): { stepMs: number; fromMs: number; toMs: number } {
  let stepS: number;
  if (raw === undefined || raw === '') {
    const spanS = (toMs - fromMs) / 1000;
    stepS = DEFAULT_STEPS_S.find((s) => spanS / s <= DEFAULT_MAX_POINTS) ?? Math.ceil(spanS / DEFAULT_MAX_POINTS / 86400) * 86400;
  } else {
    stepS = Number(raw);
    if (!/^\d+$/.test(raw) || stepS < 60 || stepS % 60 !== 0 || stepS > 366 * 86400) {
      throw errors.LAT_ERR_API_INVALID_PARAM('step', 'a whole number of minutes in seconds (60, 300, 3600 …)', raw);
    }
  }
  const stepMs = stepS * 1000;
  const alignedFrom = Math.floor(fromMs / stepMs) * stepMs;
  const alignedTo = Math.ceil(toMs / stepMs) * stepMs;
  if ((alignedTo - alignedFrom) / stepMs > MAX_POINTS) {
    throw errors.LAT_ERR_API_INVALID_PARAM('step',
      `at least ${Math.ceil((alignedTo - alignedFrom) / 1000 / MAX_POINTS / 60) * 60} for this window (at most ${MAX_POINTS} points)`, raw ?? '');
  }
  return { stepMs, fromMs: alignedFrom, toMs: alignedTo };
}

/** An HTTP method filter: letters only, upper-cased; undefined/'' = any. */
export function parseMethod(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  if (!/^[A-Za-z_]{1,16}$/.test(raw)) throw errors.LAT_ERR_API_INVALID_PARAM('method', 'an HTTP method (GET, POST, _OTHER …)', raw);
  return raw.toUpperCase();
}
