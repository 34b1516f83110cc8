import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ServiceHealth } from '../activities/stack';

const { checkServiceHealth } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '200 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '5 seconds',
    maximumAttempts: 10,
  },
});

const SERVICES = ['lms', 'license-manager', 'catalog', 'subsidy'] as const;

/**
 * Diagnostic: can the worker reach every service? Operators run it from the CLI
 * (`temporal workflow execute --type checkStack --task-queue enterprise-access`).
 */
export async function checkStack(): Promise<ServiceHealth[]> {
  return Promise.all(SERVICES.map((s) => checkServiceHealth(s)));
}
