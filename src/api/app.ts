import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AccessDB } from '../access/schema';
import { type App, createHttpApp } from '../lib/fastify/app';
import type { TokenVerifier } from '../lib/jwt';
import { openapiPlugin } from './plugins/openapi';
import { meRoutes } from './routes/me';

export interface ApiDeps {
  logger: Logger;
  verify: TokenVerifier;
  /** The orchestrator's own records. */
  db: Kysely<AccessDB>;
  temporal: Client;
  taskQueue: string;
  faultInjection?: boolean;
  version?: string;
}

/** The orchestrator's HTTP edge. Builds the app; does not listen (tests use `app.inject`). */
export async function buildApi(deps: ApiDeps): Promise<App> {
  const app = createHttpApp({
    name: 'api',
    logger: deps.logger,
    verify: deps.verify,
    faultInjection: deps.faultInjection ?? false,
    ready: async () => {
      await deps.db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
    },
  });
  await app.register(openapiPlugin, { version: deps.version ?? '0.0.0' });
  await app.register(async (scope) => {
    const api = scope.withTypeProvider<import('fastify-type-provider-zod').ZodTypeProvider>();
    meRoutes(api);
  });
  return app;
}
