import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AccessDB } from '../access/schema';
import type { ServiceClients } from '../clients';
import type { Env } from '../lib/config';
import { type App, createHttpApp } from '../lib/fastify/app';
import type { TokenVerifier } from '../lib/jwt';
import { createCanRedeemReader } from './learner-credit/can-redeem';
import { openapiPlugin } from './plugins/openapi';
import { bulkLicenseEnrollmentRoutes } from './routes/bulk-license-enrollment';
import { internalBulkEnrollmentRoutes } from './routes/internal-bulk-enrollment';
import { internalRedemptionRoutes } from './routes/internal-redemptions';
import { meRoutes } from './routes/me';
import { policyRedemptionRoutes } from './routes/policy-redemption';
import { provisioningRoutes } from './routes/provisioning';
import { redemptionAttemptRoutes } from './routes/redemption-attempts';
import { subsidyAccessPolicyRoutes } from './routes/subsidy-access-policies';

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
  /** Service clients (with the orchestrator's service token) for the learner-credit routes. */
  clients: ServiceClients;
  learnerCredit?: LearnerCreditSettings;
}

export interface LearnerCreditSettings {
  redemptionWaitSeconds: number;
  retryWindowSeconds: number;
  attemptTimeoutSeconds: number;
  cacheSeconds: number;
}

export const learnerCreditSettings = (env: Env): LearnerCreditSettings => ({
  redemptionWaitSeconds: env.REDEMPTION_WAIT_SECONDS,
  retryWindowSeconds: env.REDEMPTION_RETRY_WINDOW_SECONDS,
  attemptTimeoutSeconds: env.REDEMPTION_ATTEMPT_TIMEOUT_SECONDS,
  cacheSeconds: env.LEARNER_CREDIT_CACHE_SECONDS,
});

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
    subsidyAccessPolicyRoutes(api, { db: deps.db, clients: deps.clients });
    internalRedemptionRoutes(api, { db: deps.db });
    const credit = deps.learnerCredit ?? {
      redemptionWaitSeconds: 30,
      retryWindowSeconds: 300,
      attemptTimeoutSeconds: 30,
      cacheSeconds: 60,
    };
    policyRedemptionRoutes(api, {
      db: deps.db,
      clients: deps.clients,
      temporal: deps.temporal,
      taskQueue: deps.taskQueue,
      canRedeem: createCanRedeemReader({ db: deps.db, clients: deps.clients, cacheSeconds: credit.cacheSeconds }),
      waitSeconds: credit.redemptionWaitSeconds,
      retryWindowSeconds: credit.retryWindowSeconds,
      attemptTimeoutSeconds: credit.attemptTimeoutSeconds,
    });
    redemptionAttemptRoutes(api, { db: deps.db });
    bulkLicenseEnrollmentRoutes(api, deps);
    internalBulkEnrollmentRoutes(api, deps);
  });
  return app;
}
