/**
 * The OpenAPI document of the query API, built from the routes' own Fastify JSON schemas by
 * @fastify/swagger, at /docs/json (and /docs/yaml), and Swagger UI at /docs (@fastify/swagger-ui:
 * its assets ship in the npm package and are served from it, no CDN).
 *
 * Register it BEFORE any route: @fastify/swagger collects routes from an onRoute hook, so a route
 * added earlier is missing from the document. Routes without a schema (the OTLP endpoints, whose
 * bodies are protobuf/JSON defined by OpenTelemetry, /healthz, static files) are left out.
 */
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

export const DOCS_PREFIX = '/docs';

export async function registerDocs(app: FastifyInstance, options: { version?: string } = {}): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Lattice query API',
        description: 'Live request metrics stored by lattice-receiver: services, routes, time series, connections, '
          + 'recent requests and traces. Errors are `{ code, message }`: 400 for a bad parameter (the message names it), '
          + '404 for an unknown service or trace. Contract: docs/api.md.',
        version: options.version ?? '0.1.0',
      },
    },
    transform: ({ schema, url }) => ({
      schema: schema === undefined || schema === null ? { hide: true } : schema,
      url,
    }),
  });
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    staticCSP: true,
    uiConfig: { docExpansion: 'list', deepLinking: true },
  });
}
