import { Context } from '@temporalio/activity';
import type { ServiceClients } from '../clients';
import type { ServiceName } from '../lib/config';
import { callService } from './failures';

export interface ServiceHealth {
  service: ServiceName;
  status: string;
  /** Which attempt succeeded: > 1 means transient faults were retried. */
  attempt: number;
}

/** Activities of the `checkStack` workflow: can this worker reach every service? */
export function createStackActivities(deps: { clients: ServiceClients }) {
  return {
    async checkServiceHealth(service: ServiceName): Promise<ServiceHealth> {
      const { body } = await callService(() =>
        deps.clients[service].call<{ status: string }>({ operation: 'health check', method: 'GET', path: '/healthz' }),
      );
      return { service, status: body.status, attempt: Context.current().info.attempt };
    },
  };
}
