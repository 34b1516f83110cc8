import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * The OpenAPI document is generated from the same zod schemas the routes validate with, so it
 * cannot drift from the code. JSON at /openapi.json, an interactive page at /docs.
 */
export const openapiPlugin = fp(
  async (app: FastifyInstance, opts: { version: string }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Enterprise access API',
          version: opts.version,
          description:
            'Provisioning, subscription licenses, learner credit and bulk enrollment, orchestrated by Temporal. ' +
            'Authenticate with `Authorization: JWT <token>` (or `Bearer <token>`); get a local token with ' +
            '`npm run token --silent -- --roles enterprise_openedx_operator:*`.',
        },
        components: {
          securitySchemes: {
            jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          },
        },
        security: [{ jwt: [] }],
      },
      transform: jsonSchemaTransform,
    });
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'openapi' },
);
