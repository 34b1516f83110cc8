import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ServiceError } from '../http-client';
import { HttpError } from '../http-errors';
import { sqlState } from '../pg-errors';
import { issuesToFieldErrors } from '../validation';

/**
 * The one error mapper of every app: bodies keep the upstream DRF shapes so existing clients
 * keep working. Validation → 400 field map; HttpError → its own body; Fastify's own client
 * errors (bad JSON, wrong content type, body too large) → their 4xx with a `detail`; a downstream
 * service that cannot be reached → 503 naming it (with `Retry-After`), one that refused what it
 * was sent → 422 with its words; anything else → 500 `{"detail": "A server error occurred."}`,
 * logged with the stack.
 */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setNotFoundHandler((_req, reply) => {
      reply.code(404).send({ detail: 'Not found.' });
    });

    app.setErrorHandler((err: FastifyError, req, reply) => {
      if (err instanceof HttpError) {
        return reply.code(err.statusCode).headers(err.headers).send(err.body);
      }
      if (err instanceof ServiceError) {
        if (err.retryable) {
          req.log.warn({ err: err.message }, 'downstream unavailable');
          return reply
            .code(503)
            .header('retry-after', '5')
            .send({ detail: `The ${err.service} service could not be reached: ${err.message}` });
        }
        req.log.warn({ err: err.message, status: err.status }, 'downstream refused');
        return reply.code(422).send({ detail: err.message });
      }
      if (hasZodFastifySchemaValidationErrors(err)) {
        const issues = err.validation.map((v) => ({
          path: v.instancePath.split('/').filter(Boolean),
          message: v.message ?? 'Invalid value.',
        }));
        return reply.code(400).send(issuesToFieldErrors(issues));
      }
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return reply
          .code(415)
          .send({ detail: `Unsupported media type "${req.headers['content-type'] ?? ''}" in request.` });
      }
      if (err.code?.startsWith('FST_ERR_CTP_') && err.statusCode === 400) {
        return reply.code(400).send({ detail: `JSON parse error - ${err.message}` });
      }
      // Postgres refuses NUL characters in text (SQLSTATE 22021 / 22P05): the client's input, not our fault.
      const state = sqlState(err);
      if (state === '22021' || state === '22P05') {
        return reply.code(400).send({ detail: 'Text fields may not contain NUL (\\u0000) characters.' });
      }
      const status = err.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        return reply.code(status).send({ detail: err.message });
      }
      req.log.error({ err }, 'unhandled error');
      return reply.code(500).send({ detail: 'A server error occurred.' });
    });
  },
  { name: 'errors' },
);

/**
 * The router's own refusals (a path parameter that is not valid %-encoding, or longer than the
 * router takes), which Fastify answers before any route or error handler: the same `{"detail"}`
 * shape as every other error. Passed to Fastify as `frameworkErrors`.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  reply.code(status).send({ detail: err.code === 'FST_ERR_BAD_URL' ? 'Malformed URL.' : err.message });
}
