/**
 * JSON-schema pieces shared by the query routes (they also make the OpenAPI document), and the
 * formatter that turns a schema failure into the coded 400 naming the parameter.
 */
import type { FastifySchemaValidationError } from 'fastify';
import { errors, type LatticeError } from '../errors.js';

export const nullableNumber = { type: ['number', 'null'] } as const;
export const nullableString = { type: ['string', 'null'] } as const;
export const isoTime = { type: 'string', description: 'ISO 8601' } as const;

export const errorBody = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

export const serviceParam = { type: 'string', minLength: 1, maxLength: 256, description: 'a service name (service.name)' } as const;
export const fromParam = { type: 'string', description: 'window start: ISO 8601 or epoch ms (default: to − 1 h)' } as const;
export const toParam = { type: 'string', description: 'window end, exclusive: ISO 8601 or epoch ms (default: now)' } as const;

/** The window's request stats, as in /metrics/stats. */
export const statsProperties = {
  requestCount: { type: 'number' },
  errorRate: nullableNumber, avgMs: nullableNumber, p50Ms: nullableNumber, p95Ms: nullableNumber, p99Ms: nullableNumber,
} as const;

export const callersSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: { service: nullableString, requestCount: { type: 'number' }, share: { type: 'number' } },
  },
} as const;

/**
 * Schema failures (a missing or too long parameter) → LAT_ERR_API_INVALID_PARAM naming it.
 * `expected` describes each parameter for the message.
 */
export function paramErrorFormatter(expected: Record<string, string>) {
  return (errs: FastifySchemaValidationError[]): LatticeError => {
    const first = errs[0];
    const missing = first?.params?.missingProperty;
    if (missing !== undefined) {
      return errors.LAT_ERR_API_INVALID_PARAM(String(missing), `present (${expected[String(missing)] ?? 'required'})`, '');
    }
    const name = first?.instancePath.replace(/^\//, '') || 'query';
    return errors.LAT_ERR_API_INVALID_PARAM(name, `${expected[name] ?? 'valid'} (${first?.message ?? 'invalid'})`, '…');
  };
}
