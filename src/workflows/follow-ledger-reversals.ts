import { continueAsNew, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { statusQuery } from './definitions';
import { RETRY } from './retry-policies';
import { StepLog } from './step-log';

/** How long one activity follows the feed, and how many of them one run holds before continuing as new. */
const FOLLOW_SECONDS = 300;
const ROUNDS_PER_RUN = 100;
/** A first run reads reversals from this far back. */
const FIRST_LOOK_BACK_MS = 7 * 86_400_000;

export interface FollowLedgerReversalsInput {
  /** Where the previous run stopped (ISO-8601). */
  since?: string;
  applied?: number;
}

/**
 * A standing workflow (one per task queue, started by every worker and joined if running): it
 * follows the ledger's reversal feed, so a refund reaches the policy's local aggregates within
 * seconds of the ledger's reversal. Each round is one long activity that heartbeats its cursor;
 * the workflow continues as new every ROUNDS_PER_RUN rounds to keep its history small.
 */
export async function followLedgerReversals(input: FollowLedgerReversalsInput = {}): Promise<void> {
  let since = input.since ?? new Date(Date.now() - FIRST_LOOK_BACK_MS).toISOString();
  let applied = input.applied ?? 0;
  const steps = new StepLog(['follow'], 'Follow the ledger’s reversals').withProgress(() => ({ since, applied }));
  setHandler(statusQuery, () => steps.view());
  const { followLedgerReversals: follow } = proxyActivities<Activities>({
    summary: 'subsidy: read the reversal feed, give refunds back to their policies',
    startToCloseTimeout: `${FOLLOW_SECONDS + 60} seconds`,
    heartbeatTimeout: '30 seconds',
    retry: RETRY.transient,
  });
  await steps.track('follow', { since }, async () => {
    for (let round = 0; round < ROUNDS_PER_RUN; round++) {
      const r = await follow({ since, seconds: FOLLOW_SECONDS });
      since = r.since;
      applied += r.applied;
    }
  });
  await continueAsNew<typeof followLedgerReversals>({ since, applied });
}
