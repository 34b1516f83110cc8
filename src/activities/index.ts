import type { ServiceClients } from '../clients';
import { createBulkEnrollmentActivities } from './bulk-enrollment';
import { createProvisioningActivities } from './provisioning';
import { createRedemptionActivities } from './redemption';
import { createStackActivities } from './stack';

export interface ActivityDeps {
  clients: ServiceClients;
  /** `site.domain` of customers created by provisioning. */
  siteDomain: string;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createStackActivities(deps),
    ...createProvisioningActivities(deps),
    ...createRedemptionActivities(deps),
    ...createBulkEnrollmentActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
