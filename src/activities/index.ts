import type { ServiceClients } from '../clients';
import { createStackActivities } from './stack';

export interface ActivityDeps {
  clients: ServiceClients;
}

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createStackActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
