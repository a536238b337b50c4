/**
 * The OpenAPI document of the query API, built from the routes' own Fastify JSON schemas by
 * @fastify/swagger, at /docs/json (and /docs/yaml), and Swagger UI at /docs (@fastify/swagger-ui:
 * its assets ship in the npm package and are served from it, no CDN).
 *
 * Register it BEFORE any route: @fastify/swagger collects routes from an onRoute hook, so a route
 * added earlier is missing from the document. Routes without a schema (/healthz, /live, static
 * files) are left out, except POST /v1/traces and /v1/metrics: their bodies are protobuf/JSON
 * defined by OpenTelemetry, so the document gets a short description of them (OTLP_DOC_SCHEMAS)
 * that says how to authenticate.
 *
 * Authentication (docs/tenancy.md) is declared as security schemes: the read routes take a read
 * token as a bearer token or the dashboard's session cookie, the OTLP routes an ingest key as a
 * bearer token or `x-lattice-key`. A receiver with no key at all is open and ignores them.
 */
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { SESSION_COOKIE } from '../tenancy/auth.js';

export const DOCS_PREFIX = '/docs';

const OPEN_MODE = 'A receiver on which no key was ever created is open and needs none (loopback only).';

export const SECURITY_SCHEMES = {
  readToken: {
    type: 'http', scheme: 'bearer', bearerFormat: 'lat_read_…',
    description: `A read token of one project: \`Authorization: Bearer lat_read_…\`, created with \`lattice-receiver keys create --project NAME --kind read\`. ${OPEN_MODE}`,
  },
  sessionCookie: {
    type: 'apiKey', in: 'cookie', name: SESSION_COOKIE,
    description: `The HttpOnly cookie set by \`POST /auth/session\` with \`{"token":"lat_read_…"}\` (the dashboard's sign-in); \`DELETE /auth/session\` clears it. ${OPEN_MODE}`,
  },
  ingestKey: {
    type: 'http', scheme: 'bearer', bearerFormat: 'lat_ingest_…',
    description: `An ingest key of one project: \`Authorization: Bearer lat_ingest_…\` (with an OpenTelemetry SDK: \`OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20lat_ingest_…\`), created with \`lattice-receiver keys create --project NAME --kind ingest\`. ${OPEN_MODE}`,
  },
  ingestKeyHeader: {
    type: 'apiKey', in: 'header', name: 'x-lattice-key',
    description: `The same ingest key in the \`x-lattice-key\` header. ${OPEN_MODE}`,
  },
} as const;

/** Alternatives (OR): a read token as a bearer token, or the session cookie. */
export const READ_SECURITY: Array<Record<string, string[]>> = [{ readToken: [] }, { sessionCookie: [] }];
/** Alternatives (OR): an ingest key as a bearer token, or in x-lattice-key. */
export const INGEST_SECURITY: Array<Record<string, string[]>> = [{ ingestKey: [] }, { ingestKeyHeader: [] }];

function isReadUrl(url: string): boolean {
  return url.startsWith('/metrics/') || url.startsWith('/traces/');
}

/** google.rpc.Status, in the request's encoding (JSON shown). */
const STATUS_SCHEMA = {
  type: 'object',
  properties: { code: { type: 'integer' }, message: { type: 'string', description: 'LAT_ERR_… code and what to do' }, details: { type: 'array', items: {} } },
} as const;

function otlpDocSchema(signal: 'traces' | 'metrics') {
  const request = signal === 'traces' ? 'ExportTraceServiceRequest' : 'ExportMetricsServiceRequest';
  const status = (description: string) => ({ description, ...STATUS_SCHEMA });
  return {
    summary: `OTLP/HTTP ${signal} export`,
    description: `An OpenTelemetry \`${request}\` as protobuf (\`application/x-protobuf\`) or JSON (\`application/json\`), `
      + 'optionally gzip (`Content-Encoding: gzip`); answered in the same encoding. Carries an ingest key; the export goes to its project.',
    consumes: ['application/x-protobuf', 'application/json'],
    produces: ['application/x-protobuf', 'application/json'],
    body: { type: 'object', description: `${request} (OTLP ${signal === 'traces' ? 'opentelemetry.proto.collector.trace.v1' : 'opentelemetry.proto.collector.metrics.v1'})` },
    security: INGEST_SECURITY,
    response: {
      200: { description: `Export${signal === 'traces' ? 'Trace' : 'Metrics'}ServiceResponse (partialSuccess when some items were rejected)`, type: 'object' },
      400: status('Bad input (do not retry)'),
      401: status('No ingest key (LAT_ERR_AUTH_MISSING_INGEST_KEY) or an unknown or revoked one (LAT_ERR_AUTH_UNKNOWN_KEY)'),
      403: status('A read token instead of an ingest key (LAT_ERR_AUTH_WRONG_KIND)'),
      429: status('Over the key\'s rate limit or the write queue is full: retry after Retry-After'),
      503: status('The database is unreachable: retry after Retry-After'),
    },
  };
}

const OTLP_DOC_SCHEMAS: Readonly<Record<string, ReturnType<typeof otlpDocSchema>>> = {
  '/v1/traces': otlpDocSchema('traces'),
  '/v1/metrics': otlpDocSchema('metrics'),
};

export async function registerDocs(app: FastifyInstance, options: { version?: string } = {}): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Lattice query API',
        description: 'Live request metrics stored by lattice-receiver: services, routes, time series, connections, '
          + 'recent requests and traces. Errors are `{ code, message }`: 400 for a bad parameter (the message names it), '
          + '404 for an unknown service or trace. Contract: docs/api.md. '
          + 'Once the receiver has keys, reads need a read token (bearer or the session cookie) and OTLP exports an ingest key '
          + '(401 without one, 403 for the wrong kind); see docs/tenancy.md.',
        version: options.version ?? '0.1.0',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform: ({ schema, url, route }) => {
      const otlp = OTLP_DOC_SCHEMAS[url];
      if (otlp !== undefined) return { schema: route.method === 'POST' ? otlp : { hide: true }, url };
      if (schema === undefined || schema === null) return { schema: { hide: true }, url };
      return { schema: isReadUrl(url) ? { ...schema, security: READ_SECURITY } : schema, url };
    },
  });
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    staticCSP: true,
    uiConfig: { docExpansion: 'list', deepLinking: true },
  });
}
