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
  LAT_ERR_CONFIG_PORT_IN_USE: defineError('LAT_ERR_CONFIG_PORT_IN_USE', {
    statusCode: 500,
    message: 'port %s on %s is already in use; stop the other process or set PORT to a free port (PORT=4319 npm start)',
  }),
  // OTLP: content type, body, decoding (otlp/)
  LAT_ERR_OTLP_METHOD_NOT_ALLOWED: defineError('LAT_ERR_OTLP_METHOD_NOT_ALLOWED', {
    statusCode: 405,
    message: 'method should be POST, instead got \'%s\'; OTLP/HTTP exports are POSTed to /v1/traces and /v1/metrics',
  }),
  LAT_ERR_OTLP_UNSUPPORTED_MEDIA_TYPE: defineError('LAT_ERR_OTLP_UNSUPPORTED_MEDIA_TYPE', {
    statusCode: 415,
    message: 'Content-Type should be application/x-protobuf or application/json, instead got \'%s\'; set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf or http/json',
  }),
  LAT_ERR_OTLP_UNSUPPORTED_ENCODING: defineError('LAT_ERR_OTLP_UNSUPPORTED_ENCODING', {
    statusCode: 415,
    message: 'Content-Encoding should be gzip or identity, instead got \'%s\'; set OTEL_EXPORTER_OTLP_COMPRESSION to gzip or none',
  }),
  LAT_ERR_OTLP_BODY_TOO_LARGE: defineError('LAT_ERR_OTLP_BODY_TOO_LARGE', {
    statusCode: 413,
    message: 'request body should be at most %s bytes as sent, instead got %s; export smaller batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) or raise LATTICE_MAX_BODY_BYTES',
  }),
  LAT_ERR_OTLP_DECOMPRESSED_TOO_LARGE: defineError('LAT_ERR_OTLP_DECOMPRESSED_TOO_LARGE', {
    statusCode: 413,
    message: 'request body should be at most %s bytes after decompression, instead got more; export smaller batches or raise LATTICE_MAX_DECOMPRESSED_BYTES',
  }),
  LAT_ERR_OTLP_BAD_GZIP: defineError('LAT_ERR_OTLP_BAD_GZIP', {
    statusCode: 400,
    message: 'body should be gzip data as Content-Encoding: gzip says, instead decompressing failed with \'%s\'',
  }),
  LAT_ERR_OTLP_BAD_PROTOBUF: defineError('LAT_ERR_OTLP_BAD_PROTOBUF', {
    statusCode: 400,
    message: 'body should be a protobuf-encoded %s, instead decoding failed with \'%s\'',
  }),
  LAT_ERR_OTLP_BAD_JSON: defineError('LAT_ERR_OTLP_BAD_JSON', {
    statusCode: 400,
    message: 'body should be an OTLP/JSON %s object, instead got \'%s\'',
  }),
  LAT_ERR_OTLP_EXPORT_FAILED: defineError('LAT_ERR_OTLP_EXPORT_FAILED', {
    statusCode: 503,
    message: 'the export should have been committed, instead writing it failed with \'%s\'; nothing was stored, retry later',
    retryAfterSeconds: 5,
  }),
  LAT_ERR_OTLP_OVERLOADED: defineError('LAT_ERR_OTLP_OVERLOADED', {
    statusCode: 429,
    message: 'request bodies being read and decoded should stay within %s bytes (LATTICE_MAX_INFLIGHT_BYTES), instead %s bytes are in flight and this request declares %s; retry after the Retry-After delay, or raise LATTICE_MAX_INFLIGHT_BYTES (uses more memory)',
    retryAfterSeconds: 1,
  }),
  LAT_ERR_OTLP_INTERNAL: defineError('LAT_ERR_OTLP_INTERNAL', {
    statusCode: 500,
    message: 'the export should have been handled, instead the receiver failed (%s); this is a bug: report it with the receiver log',
  }),
  // -- end OTLP
  // TRANSLATE: field validation (translate/)
  LAT_ERR_TRANSLATE_MALFORMED: defineError('LAT_ERR_TRANSLATE_MALFORMED', {
    statusCode: 400,
    message: '%s should be %s, instead got \'%s\'',
  }),
  // -- end TRANSLATE
  // PIPELINE: backpressure, writer (pipeline/)
  LAT_ERR_PIPELINE_SATURATED: defineError('LAT_ERR_PIPELINE_SATURATED', {
    statusCode: 429,
    message: 'the write queue should have room for %s, instead %s are already waiting (limit %s); retry after the Retry-After delay or raise %s',
    retryAfterSeconds: 1,
  }),
  LAT_ERR_PIPELINE_OUTAGE_BUFFER_FULL: defineError('LAT_ERR_PIPELINE_OUTAGE_BUFFER_FULL', {
    statusCode: 503,
    message: 'the database should be reachable, instead it has been unreachable for %s ms (\'%s\') and the outage buffer is full (%s rows, %s bytes; limits %s rows, %s bytes); nothing of this export was stored, retry after the Retry-After delay and check DATABASE_URL / the database server',
    retryAfterSeconds: 2,
  }),
  LAT_ERR_PIPELINE_HOLD_EXPIRED: defineError('LAT_ERR_PIPELINE_HOLD_EXPIRED', {
    statusCode: 503,
    message: 'the export should have been committed within %s ms (LATTICE_OUTAGE_HOLD_MS), instead it waited that long because %s; nothing of it was stored, retry after the Retry-After delay',
    retryAfterSeconds: 5,
  }),
  LAT_ERR_PIPELINE_CLOSED: defineError('LAT_ERR_PIPELINE_CLOSED', {
    statusCode: 503,
    message: 'the writer should be accepting writes, instead it is %s; retry against another replica or after restart',
    retryAfterSeconds: 5,
  }),
  // -- end PIPELINE
  // STORE: database, migrations (store/)
  LAT_ERR_STORE_UNAVAILABLE: defineError('LAT_ERR_STORE_UNAVAILABLE', {
    statusCode: 503,
    message: 'the database should be reachable, instead %s failed with \'%s\'; nothing of this batch was written, retry after the Retry-After delay and check DATABASE_URL / the database server',
    retryAfterSeconds: 5,
  }),
  LAT_ERR_STORE_WRITE_FAILED: defineError('LAT_ERR_STORE_WRITE_FAILED', {
    statusCode: 500,
    message: 'the batch should commit, instead the database rejected it with \'%s\'; nothing of this batch was written, report this with the receiver log',
  }),
  LAT_ERR_STORE_MIGRATION_FAILED: defineError('LAT_ERR_STORE_MIGRATION_FAILED', {
    statusCode: 500,
    message: 'migration %s should apply, instead it failed with \'%s\'; fix the database state (or restore a backup) and restart',
  }),
  // -- end STORE
  // API: query parameters (api/)
  LAT_ERR_API_INVALID_PARAM: defineError('LAT_ERR_API_INVALID_PARAM', {
    statusCode: 400,
    message: 'query parameter %s should be %s, instead got \'%s\'',
  }),
  LAT_ERR_API_UNKNOWN_SERVICE: defineError('LAT_ERR_API_UNKNOWN_SERVICE', {
    statusCode: 404,
    message: 'service should be one that has sent data, instead got \'%s\'; check the service.name resource attribute of the sender',
  }),
  LAT_ERR_API_INVALID_TRACE_ID: defineError('LAT_ERR_API_INVALID_TRACE_ID', {
    statusCode: 400,
    message: 'path parameter traceId should be 32 hex characters (a W3C trace id, as /metrics/recent answers it), instead got \'%s\'',
  }),
  LAT_ERR_API_UNKNOWN_TRACE: defineError('LAT_ERR_API_UNKNOWN_TRACE', {
    statusCode: 404,
    message: 'traceId should name a trace with stored spans, instead none of trace \'%s\' is stored; spans are kept for the retention period, and only when the sender exports traces (check OTEL_TRACES_SAMPLER)',
  }),
  // -- end API
  // CLI: the lattice-receiver command line (cli/)
  LAT_ERR_CLI_INVALID_ARG: defineError('LAT_ERR_CLI_INVALID_ARG', {
    statusCode: 400,
    message: '%s should be %s, instead got \'%s\'; usage: lattice-receiver routes --service NAME [--window 1h] [--watch] [--url http://127.0.0.1:4318] [--token TOKEN]',
  }),
  LAT_ERR_CLI_UNREACHABLE: defineError('LAT_ERR_CLI_UNREACHABLE', {
    statusCode: 503,
    message: 'a receiver should answer at %s, instead the request failed (%s); start one (npx lattice-receiver) or pass --url with the address of the running one',
  }),
  LAT_ERR_CLI_UNAUTHORIZED: defineError('LAT_ERR_CLI_UNAUTHORIZED', {
    statusCode: 401,
    message: 'the receiver at %s should be read with an active read token of the service\'s project, instead %s (it answered %s %s); pass --token TOKEN or set LATTICE_TOKEN to a read token created with: lattice-receiver keys create --project NAME --kind read',
  }),
  LAT_ERR_CLI_BAD_RESPONSE: defineError('LAT_ERR_CLI_BAD_RESPONSE', {
    statusCode: 502,
    message: '%s should answer 200 with JSON, instead it answered %s; check that --url points at a lattice-receiver of this version',
  }),
  LAT_ERR_CLI_KEYS_INVALID_ARG: defineError('LAT_ERR_CLI_KEYS_INVALID_ARG', {
    statusCode: 400,
    message: '%s should be %s, instead got \'%s\'; usage: lattice-receiver keys create --project NAME --kind ingest|read [--label TEXT] | keys list [--project NAME] | keys revoke <id|prefix>',
  }),
  LAT_ERR_CLI_KEY_NOT_FOUND: defineError('LAT_ERR_CLI_KEY_NOT_FOUND', {
    statusCode: 404,
    message: 'keys revoke should name exactly one active key by its id or its prefix as keys list shows it, instead \'%s\' matched %s active keys; run lattice-receiver keys list',
  }),
  LAT_ERR_CLI_DATABASE_IN_USE: defineError('LAT_ERR_CLI_DATABASE_IN_USE', {
    statusCode: 409,
    message: 'the embedded database in %s should be closed while keys runs on it, instead it is open (%s exists): a receiver is using it; stop that receiver and run the command again, or use DATABASE_URL; if no receiver runs (it was killed), delete that file',
  }),
  // -- end CLI
  // AUTH: projects, keys, rate limits (tenancy/)
  LAT_ERR_AUTH_MISSING_INGEST_KEY: defineError('LAT_ERR_AUTH_MISSING_INGEST_KEY', {
    statusCode: 401,
    message: 'an export should carry an ingest key (Authorization: Bearer lat_ingest_…, or x-lattice-key), instead got \'%s\'; on the sender set OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20lat_ingest_…, or create a key with: lattice-receiver keys create --project NAME --kind ingest',
  }),
  LAT_ERR_AUTH_MISSING_READ_TOKEN: defineError('LAT_ERR_AUTH_MISSING_READ_TOKEN', {
    statusCode: 401,
    message: 'a read request should carry a read token (Authorization: Bearer lat_read_…, or the cookie set by POST /auth/session), instead got \'%s\'; create one with: lattice-receiver keys create --project NAME --kind read',
  }),
  LAT_ERR_AUTH_UNKNOWN_KEY: defineError('LAT_ERR_AUTH_UNKNOWN_KEY', {
    statusCode: 401,
    message: 'the key should be an active Lattice key, instead got \'%s\', which is unknown or revoked; check the key (only its start is shown here) or create a new one with: lattice-receiver keys create --project NAME --kind ingest|read',
  }),
  LAT_ERR_AUTH_WRONG_KIND: defineError('LAT_ERR_AUTH_WRONG_KIND', {
    statusCode: 403,
    message: '%s should be sent with a key of kind %s, instead got a key of kind %s \'%s\'; use a key created with --kind %s',
  }),
  LAT_ERR_AUTH_RATE_LIMITED: defineError('LAT_ERR_AUTH_RATE_LIMITED', {
    statusCode: 429,
    message: 'key \'%s\' should send at most %s rows a second (spans + data points, bursts up to %s), instead this export of %s rows is over it; retry after the Retry-After delay, or raise LATTICE_KEY_RATE_LIMIT_ROWS_PER_S',
    retryAfterSeconds: 1,
  }),
  LAT_ERR_AUTH_KEYS_REQUIRED: defineError('LAT_ERR_AUTH_KEYS_REQUIRED', {
    statusCode: 500,
    message: 'a receiver listening on HOST=%s (not loopback) should have an active ingest key, instead there is none; create one with: lattice-receiver keys create --project web --kind ingest (with the same DATABASE_URL / LATTICE_DATA_DIR), or listen on 127.0.0.1',
  }),
  LAT_ERR_AUTH_NO_PROJECT: defineError('LAT_ERR_AUTH_NO_PROJECT', {
    statusCode: 500,
    message: 'a read should run for the project of an authenticated request, instead the project was \'%s\'; this is a bug: report it with the receiver log',
  }),
  // -- end AUTH
} as const;

export type ErrorCode = keyof typeof errors;
