/**
 * Workflows that always run, one per task queue: every worker starts them when it starts and
 * joins the one already running (conflict policy USE_EXISTING), so they run once whatever the
 * number of workers, and a stack that was down resumes them.
 */
import { Client, type ConnectionLike, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { followLedgerReversals } from './workflows/follow-ledger-reversals';

export const ledgerReversalsWorkflowId = (taskQueue: string) => `follow-ledger-reversals-${taskQueue}`;

export async function startStandingWorkflows(connection: ConnectionLike, namespace: string, taskQueue: string) {
  const client = new Client({ connection, namespace });
  try {
    await client.workflow.start<typeof followLedgerReversals>('followLedgerReversals', {
      taskQueue,
      workflowId: ledgerReversalsWorkflowId(taskQueue),
      args: [{}],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: 'Follow the ledger’s reversals (refunds back to their policies)',
      staticDetails:
        'Reads the subsidy service’s reversal feed every second and gives each reversed redemption’s amount ' +
        'back to its policy’s local aggregates. Started by every worker; one per task queue.',
    });
  } catch (err) {
    // A completed run cannot exist (it continues as new forever); a terminated one is restarted.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
