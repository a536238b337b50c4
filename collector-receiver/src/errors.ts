/**
 * Every error a user can meet, in one place (house rule 1). Each has a stable code
 * LAT_ERR_<AREA>_<WHAT>, the HTTP status it maps to, and a message that says what was expected,
 * what arrived, and what to do next. docs/errors.md lists them; a test keeps the two in step.
 */
export class LatticeError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** Seconds a client should wait before retrying (429/503 only). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, statusCode: number, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LatticeError';
    this.code = code;
    this.statusCode = statusCode;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

interface ErrorSpec {
  statusCode: number;
  /** printf-like: each %s is replaced by the next argument. */
  message: string;
  retryAfterSeconds?: number;
}

function defineError(code: string, spec: ErrorSpec) {
  const create = (...args: Array<string | number>) => {
    let i = 0;
    const message = spec.message.replace(/%s/g, () => String(args[i++]));
    return new LatticeError(code, spec.statusCode, message,
      spec.retryAfterSeconds === undefined ? undefined : { retryAfterSeconds: spec.retryAfterSeconds });
  };
  return Object.assign(create, { code, spec });
}

/** Errors keyed by code. Helpers add their area's errors here; docs/errors.md mirrors this table. */
export const errors = {
  // CONFIG: receiver settings
  LAT_ERR_CONFIG_INVALID: defineError('LAT_ERR_CONFIG_INVALID', {
    statusCode: 500,
    message: 'setting %s should be %s, instead got \'%s\'',
  }),
  // OTLP: content type, body, decoding (otlp/)
  // -- end OTLP
  // TRANSLATE: field validation (translate/)
  // -- end TRANSLATE
  // PIPELINE: backpressure, writer (pipeline/)
  // -- end PIPELINE
  // STORE: database, migrations (store/)
  // -- end STORE
  // API: query parameters (api/)
  // -- end API
} as const;

export type ErrorCode = keyof typeof errors;
