import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AccessDB } from '../access/schema';
import type { Env } from '../lib/config';
import { type App, createHttpApp } from '../lib/fastify/app';
import type { TokenVerifier } from '../lib/jwt';
import { openapiPlugin } from './plugins/openapi';
import { meRoutes } from './routes/me';
import { provisioningRoutes } from './routes/provisioning';

export interface ApiDeps {
  logger: Logger;
  verify: TokenVerifier;
  /** The orchestrator's own records. */
  db: Kysely<AccessDB>;
  temporal: Client;
  taskQueue: string;
  faultInjection?: boolean;
  version?: string;
  provisioning?: ProvisioningSettings;
}

export interface ProvisioningSettings {
  waitSeconds: number;
  retryWindowSeconds: number;
  attemptTimeoutSeconds: number;
}

export const provisioningSettings = (env: Env): ProvisioningSettings => ({
  waitSeconds: env.PROVISIONING_WAIT_SECONDS,
  retryWindowSeconds: env.PROVISIONING_RETRY_WINDOW_SECONDS,
  attemptTimeoutSeconds: env.PROVISIONING_ATTEMPT_TIMEOUT_SECONDS,
});

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
    provisioningRoutes(api, {
      temporal: deps.temporal,
      taskQueue: deps.taskQueue,
      waitSeconds: deps.provisioning?.waitSeconds ?? 20,
      retryWindowSeconds: deps.provisioning?.retryWindowSeconds ?? 600,
      attemptTimeoutSeconds: deps.provisioning?.attemptTimeoutSeconds ?? 30,
    });
  });
  return app;
}
