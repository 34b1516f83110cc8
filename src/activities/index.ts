import type { Kysely } from 'kysely';
import { LearnerCreditFacts } from '../access/learner-credit/facts';
import type { AccessDB } from '../access/schema';
import type { ServiceClients } from '../clients';
import type { FeatureSettings } from '../lib/defaults';
import { createBulkEnrollmentActivities } from './bulk-enrollment';
import { createLedgerReversalActivities } from './ledger-reversals';
import { createProvisioningActivities } from './provisioning';
import { createRedemptionActivities } from './redemption';
import { createStackActivities } from './stack';

/** What every activity may use, injected by the worker (or a test). */
export interface ActivityDeps {
  /** The orchestrator's own records (the `access` schema), the same database the api uses. */
  db: Kysely<AccessDB>;
  /** Typed HTTP clients of the services, with the orchestrator's service token. */
  clients: ServiceClients;
  settings: FeatureSettings;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  // Redemptions read every fact fresh: the facts module's caches serve can-redeem only.
  const facts = new LearnerCreditFacts(deps.clients, 0);
  return {
    ...createStackActivities(deps),
    ...createProvisioningActivities({ clients: deps.clients, siteDomain: deps.settings.provisioning.siteDomain }),
    ...createRedemptionActivities({ db: deps.db, clients: deps.clients, facts }),
    ...createBulkEnrollmentActivities(deps),
    ...createLedgerReversalActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
