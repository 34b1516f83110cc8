import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { openapiPlugin as appOpenapi } from '../../lib/fastify/openapi';

/** The api's OpenAPI document (/openapi.json) and its interactive page (/docs). */
export const openapiPlugin = fp(
  async (app: FastifyInstance, opts: { version: string }) => {
    await app.register(appOpenapi, {
      title: 'Enterprise access API',
      version: opts.version,
      description: 'Provisioning, subscription licenses, learner credit and bulk enrollment, orchestrated by Temporal.',
    });
  },
  { name: 'api-openapi' },
);
