import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PolicySnapshot } from '../access/learner-credit/redemption-contract';
import type { Activities } from '../activities';
import type { CheckAndReserveResult } from '../activities/redemption';
import type { LedgerTransaction } from '../clients/subsidy';
import { DEFAULTS } from '../lib/defaults';
import { searchAttributes, statusQuery } from './definitions';
import { FAILURE, localStepOptions, RETRY, stepOptions } from './retry-policies';
import { describeFailure, StepLog } from './step-log';

export interface RedeemInput {
  policy_uuid: string;
  lms_user_id: number;
  /** A course run key. */
  content_key: string;
  metadata?: Record<string, unknown> | null;
  assignment_uuid?: string | null;
  request_uuid?: string | null;
  /** Who asked (the token's username or user id), for the attempt row. */
  requested_by?: string | null;
  /** How long transient faults of one step are retried (REDEMPTION_RETRY_WINDOW_SECONDS). */
  retry_window_seconds?: number;
  /** How long one attempt of a step may run before it counts as lost, e.g. to a crashed worker. */
  attempt_timeout_seconds?: number;
}

/** Failure types the api maps to HTTP answers (see the redeem route). */
export const REDEEM_FAILURES = {
  policyNotFound: 'PolicyNotFound',
  cannotRedeem: 'CannotRedeem',
  ledgerRefused: 'LedgerRefused',
  enrollmentFailed: 'EnrollmentFailed',
  stepFailed: 'RedemptionStepFailed',
} as const;

/** Changes of this workflow's commands, by `patched()` id (runs started before keep their history). */
const PATCHES = {
  namedBookkeeping: 'redeem-named-bookkeeping-activities',
  localSteps: 'redeem-steps-as-local-activities',
} as const;

export const REDEEM_STEPS = [
  'start_attempt',
  'check_and_reserve',
  'create_transaction',
  'enroll',
  'commit_transaction',
  'finish_attempt',
] as const;

/** Which step each activity belongs to (the steps run as local activities, which history records by type). */
export const REDEEM_STEP_OF_ACTIVITY: Readonly<
  Record<string, (typeof REDEEM_STEPS)[number] | ReadonlyArray<(typeof REDEEM_STEPS)[number]>>
> = {
  beginRedemption: ['start_attempt', 'check_and_reserve'],
  completeRedemption: ['commit_transaction', 'finish_attempt'],
  startRedemptionAttempt: 'start_attempt',
  checkAndReserveRedemption: 'check_and_reserve',
  createLedgerTransaction: 'create_transaction',
  enrollLearner: 'enroll',
  failLedgerTransaction: 'enroll',
  commitLedgerTransaction: 'commit_transaction',
  finishRedemptionAttempt: 'finish_attempt',
};

/** The downstream's status and body, when a step failed on a service's answer. */
function downstream(err: unknown): { status: number | null; body: unknown } {
  // An activity's failure arrives wrapped in an ActivityFailure; a local activity's, as it was thrown.
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type === FAILURE.serviceRejected) {
    const d = cause.details?.[0] as { status?: number; body?: unknown } | undefined;
    return { status: d?.status ?? null, body: d?.body ?? null };
  }
  return { status: null, body: null };
}

const errorCode = (body: unknown, fallback: string) =>
  typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'string'
    ? (body as { code: string }).code
    : fallback;

/**
 * One learner-credit redemption (spec learner-credit §7, reshaped for durability):
 * record the attempt → check and reserve against the policy's local aggregates (the only
 * serialized step) → ledger transaction (pending, idempotency key) → lms enrollment → commit →
 * finish the attempt. If enrollment fails for good, the transaction is failed and the
 * reservation released (compensation). Every step is idempotent, so a crash anywhere resumes
 * without a second charge; the workflow's history is the attempt's story, step by step.
 */
export async function redeem(input: RedeemInput): Promise<LedgerTransaction> {
  const { workflowId: workflow_id, runId: run_id } = workflowInfo();
  const ref = { workflow_id, run_id };
  let idempotencyKey: string | null = null;
  let transactionUuid: string | null = null;
  const learner = `learner ${input.lms_user_id}`;
  const steps = new StepLog(REDEEM_STEPS, `Redeem ${input.content_key} for ${learner}`).withProgress(() => ({
    idempotency_key: idempotencyKey,
    transaction_uuid: transactionUuid,
  }));
  setHandler(statusQuery, () => steps.view());
  upsertSearchAttributes([
    { key: searchAttributes.PolicyUuid, value: input.policy_uuid },
    { key: searchAttributes.LmsUserId, value: input.lms_user_id },
  ]);

  const timeouts = {
    retryWindowSeconds: input.retry_window_seconds ?? DEFAULTS.redemption.retryWindowSeconds,
    attemptTimeoutSeconds: input.attempt_timeout_seconds ?? DEFAULTS.redemption.attemptTimeoutSeconds,
  };
  // Runs started before the bookkeeping activities were named keep Temporal's own activity ids;
  // runs started before the steps became local activities keep their activity tasks.
  const named = patched(PATCHES.namedBookkeeping);
  // Every step is short and idempotent by the ledger key or the workflow run, so every step runs
  // as a local activity: the whole redemption takes one or two workflow tasks instead of thirteen
  // tasks (measured with `npm run bench:redeem`, see docs/benchmarks.md).
  const local = patched(PATCHES.localSteps);
  const step = (name: (typeof REDEEM_STEPS)[number], summary: string) =>
    local
      ? proxyLocalActivities<Activities>(localStepOptions(summary, timeouts))
      : proxyActivities<Activities>(stepOptions(name, summary, timeouts));
  // Bookkeeping must land even when the redemption failed: retried without a window.
  const record = (activityId: string, summary: string) =>
    local
      ? proxyLocalActivities<Activities>(localStepOptions(summary, timeouts, { window: false }))
      : proxyActivities<Activities>({
          ...(named ? { activityId } : {}),
          summary,
          startToCloseTimeout: `${timeouts.attemptTimeoutSeconds} seconds`,
          retry: RETRY.transient,
        });
  const finish = async (f: Omit<Parameters<Activities['finishRedemptionAttempt']>[0], 'workflow_id' | 'run_id'>) => {
    await steps.track('finish_attempt', { outcome: f.outcome }, () =>
      record('finish_attempt', `attempt row: ${f.outcome}`).finishRedemptionAttempt({
        ...ref,
        ...f,
        idempotency_key: idempotencyKey,
      }),
    );
    steps.end(f.outcome === 'redeemed' ? 'completed' : 'failed');
  };
  const fail = async (type: string, message: string, details: unknown, code: string) => {
    await finish({ outcome: 'failed', error_code: code, error_message: message, transaction_uuid: transactionUuid });
    return ApplicationFailure.create({ type, message, details: [details], nonRetryable: true });
  };

  const attemptInput = {
    ...ref,
    policy_uuid: input.policy_uuid,
    lms_user_id: input.lms_user_id,
    content_key: input.content_key,
    assignment_uuid: input.assignment_uuid ?? null,
    request_uuid: input.request_uuid ?? null,
    requested_by: input.requested_by ?? null,
  };
  let policy: PolicySnapshot | null;
  let check: CheckAndReserveResult | null = null;
  try {
    if (local) {
      // The attempt row and the check-and-reserve in one step: one local activity, not two.
      ({ policy, check } = await steps.track('check_and_reserve', { policy_uuid: input.policy_uuid }, () =>
        step(
          'check_and_reserve',
          `attempt row, then check can_redeem and reserve in policy ${input.policy_uuid}`,
        ).beginRedemption(attemptInput),
      ));
      steps.done('start_attempt', attemptInput);
    } else {
      ({ policy } = await steps.track('start_attempt', attemptInput, () =>
        step('start_attempt', `attempt row: started (policy ${input.policy_uuid})`).startRedemptionAttempt(
          attemptInput,
        ),
      ));
    }
  } catch (err) {
    throw await fail(REDEEM_FAILURES.stepFailed, describeFailure(err), downstream(err), 'check_failed');
  }
  if (!policy) {
    throw await fail(REDEEM_FAILURES.policyNotFound, `No policy ${input.policy_uuid}.`, {}, 'policy_not_found');
  }
  // The api sets it at start; a run started from the CLI learns it here.
  const customerKnown = workflowInfo().typedSearchAttributes.get(searchAttributes.CustomerUuid) !== undefined;
  if (!(local && customerKnown)) {
    upsertSearchAttributes([{ key: searchAttributes.CustomerUuid, value: policy.enterprise_customer_uuid }]);
  }
  const target = { ...ref, policy, lms_user_id: input.lms_user_id, content_key: input.content_key };

  if (!check) {
    try {
      const found = policy;
      check = await steps.track('check_and_reserve', { policy_uuid: policy.uuid }, () =>
        step(
          'check_and_reserve',
          `check can_redeem and reserve the price in policy ${found.uuid}`,
        ).checkAndReserveRedemption(target),
      );
    } catch (err) {
      throw await fail(REDEEM_FAILURES.stepFailed, describeFailure(err), downstream(err), 'check_failed');
    }
  }
  idempotencyKey = check.idempotency_key;
  if (check.result.outcome === 'rejected') {
    await finish({ outcome: 'rejected' });
    throw ApplicationFailure.create({
      type: REDEEM_FAILURES.cannotRedeem,
      message: `Cannot redeem: ${check.result.reason}`,
      details: [{ reason: check.result.reason, policy_uuid: policy.uuid }],
      nonRetryable: true,
    });
  }

  let ledger: Awaited<ReturnType<Activities['createLedgerTransaction']>>;
  try {
    const txInput = {
      policy,
      lms_user_id: input.lms_user_id,
      content_key: input.content_key,
      idempotency_key: check.idempotency_key,
      metadata: input.metadata ?? null,
    };
    ledger = await steps.track('create_transaction', { idempotency_key: check.idempotency_key }, () =>
      step(
        'create_transaction',
        `ledger: pending transaction in subsidy ${policy.subsidy_uuid}`,
      ).createLedgerTransaction(txInput),
    );
  } catch (err) {
    const d = downstream(err);
    const type = d.status === null ? REDEEM_FAILURES.stepFailed : REDEEM_FAILURES.ledgerRefused;
    throw await fail(type, describeFailure(err), d, errorCode(d.body, 'transaction_creation_error'));
  }
  let tx = ledger.transaction;
  transactionUuid = tx.uuid;
  const price = -tx.quantity;
  if (tx.state === 'committed') {
    // The ledger already held this (the same key committed earlier, or the learner owns it).
    steps.skip('enroll', 'the ledger already held a committed transaction');
    steps.skip('commit_transaction', 'the ledger already held a committed transaction');
    await finish({
      outcome: 'redeemed',
      transaction_uuid: tx.uuid,
      fulfillment_identifier: tx.fulfillment_identifier,
      price_cents: price,
      already_redeemed: tx.idempotency_key !== check.idempotency_key,
    });
    return tx;
  }
  if (tx.state === 'failed') {
    throw await fail(REDEEM_FAILURES.ledgerRefused, `Transaction ${tx.uuid} has failed.`, {}, 'invalid_state');
  }

  let enrollment: { enrollment_uuid: string };
  try {
    const enrollInput = {
      customer_uuid: policy.enterprise_customer_uuid,
      lms_user_id: input.lms_user_id,
      course_run_key: input.content_key,
      transaction_uuid: tx.uuid,
    };
    enrollment = await steps.track('enroll', enrollInput, () =>
      step('enroll', `lms: enroll ${learner} in ${input.content_key}`).enrollLearner(enrollInput),
    );
  } catch (err) {
    // Compensation: the ledger gives the amount back, then the local reservation is released.
    const message = describeFailure(err);
    await record('enroll/compensate', `ledger: fail transaction ${tx.uuid} (compensation)`).failLedgerTransaction({
      subsidy_uuid: policy.subsidy_uuid,
      transaction_uuid: tx.uuid,
      reason: message,
    });
    const d = downstream(err);
    throw await fail(
      d.status === null ? REDEEM_FAILURES.stepFailed : REDEEM_FAILURES.enrollmentFailed,
      message,
      d,
      'enrollment_error',
    );
  }

  const committed = tx;
  const commitInput = {
    subsidy_uuid: policy.subsidy_uuid,
    transaction_uuid: committed.uuid,
    fulfillment_identifier: enrollment.enrollment_uuid,
  };
  const redeemed = { outcome: 'redeemed' as const, price_cents: price };
  if (local) {
    // The commit and the attempt's end in one step: one local activity, not two.
    tx = await steps.track('commit_transaction', { transaction_uuid: tx.uuid }, () =>
      step(
        'commit_transaction',
        `ledger: commit transaction ${committed.uuid}; attempt row: redeemed`,
      ).completeRedemption({ commit: commitInput, finish: { ...ref, ...redeemed, idempotency_key: idempotencyKey } }),
    );
    steps.done('finish_attempt', { outcome: 'redeemed' });
    steps.end('completed');
    return tx;
  }
  tx = await steps.track('commit_transaction', { transaction_uuid: tx.uuid }, () =>
    step('commit_transaction', `ledger: commit transaction ${committed.uuid}`).commitLedgerTransaction(commitInput),
  );
  await finish({
    ...redeemed,
    transaction_uuid: tx.uuid,
    fulfillment_identifier: tx.fulfillment_identifier,
  });
  return tx;
}
