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
