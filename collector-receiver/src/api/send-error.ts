import type { FastifyReply } from 'fastify';
import { LatticeError } from '../errors.js';

/** Coded errors answer with their status and { code, message }; anything else is rethrown to Fastify. */
export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof LatticeError)) throw err;
  if (err.retryAfterSeconds !== undefined) void reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.code(err.statusCode).send({ code: err.code, message: err.message });
}
