import type { Client } from '@temporalio/client';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { LearnerCreditFacts } from '../access/learner-credit/facts';
import type { AccessDB } from '../access/schema';
import type { ServiceClients } from '../clients';
import type { FeatureSettings } from '../lib/defaults';
import { type App, createHttpApp } from '../lib/fastify/app';
import type { TokenVerifier } from '../lib/jwt';
import { bulkEnrollmentRoutes } from './bulk-enrollment/routes';
import { createBulkEnrollmentService } from './bulk-enrollment/service';
import { meRoutes } from './me/routes';
import { openapiPlugin } from './plugins/openapi';
import { policyRoutes } from './policies/routes';
import { createPolicyService } from './policies/service';
import { provisioningRoutes } from './provisioning/routes';
import { createProvisioningService } from './provisioning/service';
import { redemptionAttemptRoutes } from './redemption/attempts-routes';
import { redemptionRoutes } from './redemption/routes';
import { createRedemptionService } from './redemption/service';
import { WorkflowRuns } from './workflow-runs';

export interface ApiDeps {
  logger: Logger;
  verify: TokenVerifier;
  /** The orchestrator's own records (the worker's activities write the same ones). */
  db: Kysely<AccessDB>;
  temporal: Client;
  taskQueue: string;
  /** The client shares a NativeConnection with a worker in this process: start workflows eagerly. */
  eagerStart?: boolean;
  /** Typed service clients, with the orchestrator's service token. */
  clients: ServiceClients;
  settings: FeatureSettings;
  faultInjection?: boolean;
  version?: string;
}

/**
 * The orchestrator's HTTP edge: one service per feature over the shared dependencies, and each
 * feature's thin routes over its service. Builds the app; does not listen (tests use `app.inject`).
 */
export async function buildApi(deps: ApiDeps): Promise<App> {
  const runs = new WorkflowRuns(deps.temporal, deps.taskQueue, deps.eagerStart);
  const { db, clients, settings, logger } = deps;
  const app = createHttpApp({
    name: 'api',
    logger,
    verify: deps.verify,
    faultInjection: deps.faultInjection ?? false,
    ready: async () => {
      await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
    },
  });
  // Stopping: requests still waiting on a workflow are answered at once with their 202.
  app.addHook('preClose', async () => runs.releaseWaits());
  await app.register(openapiPlugin, { version: deps.version ?? '0.0.0' });

  const facts = new LearnerCreditFacts(clients, settings.redemption.cacheSeconds);
  const redemption = createRedemptionService({
    db,
    subsidyApi: clients.subsidyApi,
    runs,
    facts,
    settings: settings.redemption,
    lmsBaseUrl: clients.lms.baseUrl,
  });
  await app.register(async (scope) => {
    const api = scope.withTypeProvider<ZodTypeProvider>();
    meRoutes(api);
    provisioningRoutes(api, createProvisioningService({ runs, settings: settings.provisioning }));
    policyRoutes(api, createPolicyService({ db, clients, logger }));
    redemptionRoutes(api, redemption);
    redemptionAttemptRoutes(api, redemption);
    bulkEnrollmentRoutes(
      api,
      createBulkEnrollmentService({
        db,
        runs,
        licenseManager: clients.licenseManagerApi,
        settings: settings.bulkEnrollment,
      }),
    );
  });
  return app;
}
