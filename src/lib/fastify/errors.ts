import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { HttpError } from '../http-errors';
import { sqlState } from '../pg-errors';
import { issuesToFieldErrors } from '../validation';

/**
 * The one error mapper of every app: bodies keep the upstream DRF shapes so existing clients
 * keep working. Validation → 400 field map; HttpError → its own body; Fastify's own client
 * errors (bad JSON, wrong content type, body too large) → their 4xx with a `detail`; anything
 * else → 500 `{"detail": "A server error occurred."}`, logged with the stack.
 */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    app.setNotFoundHandler((_req, reply) => {
      reply.code(404).send({ detail: 'Not found.' });
    });

    app.setErrorHandler((err: FastifyError, req, reply) => {
      if (err instanceof HttpError) {
        return reply.code(err.statusCode).send(err.body);
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
