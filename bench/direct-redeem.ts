/**
 * The direct baseline of `npm run bench:redeem`: one redemption as a synchronous service would
 * run it, in-process and one step after another, with no Temporal: the redeem workflow's own
 * activity functions (attempt row → check and reserve under the policy's row lock → pending
 * ledger transaction → lms enrollment → commit → attempt finished), called in its order with the
 * same inputs, on the same records and service clients.
 */
import { randomUUID } from 'node:crypto';
import type { ReasonCode } from '../src/access/learner-credit/reasons';
import { type ActivityDeps, createActivities } from '../src/activities';
import type { LedgerTransaction } from '../src/clients/subsidy';

export type DirectRedeemResult =
  | { outcome: 'redeemed'; transaction: LedgerTransaction }
  | { outcome: 'rejected'; reason: ReasonCode }
  | { outcome: 'failed'; step: string; error: string };

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function directRedeemer(deps: ActivityDeps) {
  const a = createActivities(deps);
  return async function directRedeem(input: {
    policy_uuid: string;
    lms_user_id: number;
    content_key: string;
    requested_by?: string | null;
  }): Promise<DirectRedeemResult> {
    // The attempt row is keyed by (workflow_id, run_id); a synchronous service names its own attempt.
    const ref = { workflow_id: `direct-${randomUUID()}`, run_id: randomUUID() };
    const { lms_user_id, content_key } = input;
    let idempotencyKey: string | null = null;
    let transactionUuid: string | null = null;
    const fail = async (step: string, err: unknown, code: string): Promise<DirectRedeemResult> => {
      await a.finishRedemptionAttempt({
        ...ref,
        outcome: 'failed',
        idempotency_key: idempotencyKey,
        transaction_uuid: transactionUuid,
        error_code: code,
        error_message: message(err),
      });
      return { outcome: 'failed', step, error: message(err) };
    };

    const { policy } = await a.startRedemptionAttempt({
      ...ref,
      policy_uuid: input.policy_uuid,
      lms_user_id,
      content_key,
      requested_by: input.requested_by ?? null,
    });
    if (!policy) return fail('start_attempt', new Error(`No policy ${input.policy_uuid}.`), 'policy_not_found');
    const check = await a.checkAndReserveRedemption({ ...ref, policy, lms_user_id, content_key });
    idempotencyKey = check.idempotency_key;
    if (check.result.outcome === 'rejected') {
      await a.finishRedemptionAttempt({ ...ref, outcome: 'rejected', idempotency_key: idempotencyKey });
      return { outcome: 'rejected', reason: check.result.reason };
    }
    let tx: LedgerTransaction;
    try {
      ({ transaction: tx } = await a.createLedgerTransaction({
        policy,
        lms_user_id,
        content_key,
        idempotency_key: idempotencyKey,
        metadata: null,
      }));
    } catch (err) {
      return fail('create_transaction', err, 'transaction_creation_error');
    }
    transactionUuid = tx.uuid;
    const price = -tx.quantity;
    let enrollment: { enrollment_uuid: string };
    try {
      enrollment = await a.enrollLearner({
        customer_uuid: policy.enterprise_customer_uuid,
        lms_user_id,
        course_run_key: content_key,
        transaction_uuid: tx.uuid,
      });
    } catch (err) {
      await a.failLedgerTransaction({
        subsidy_uuid: policy.subsidy_uuid,
        transaction_uuid: tx.uuid,
        reason: message(err),
      });
      return fail('enroll', err, 'enrollment_error');
    }
    tx = await a.commitLedgerTransaction({
      subsidy_uuid: policy.subsidy_uuid,
      transaction_uuid: tx.uuid,
      fulfillment_identifier: enrollment.enrollment_uuid,
    });
    await a.finishRedemptionAttempt({
      ...ref,
      outcome: 'redeemed',
      idempotency_key: idempotencyKey,
      transaction_uuid: tx.uuid,
      fulfillment_identifier: tx.fulfillment_identifier,
      price_cents: price,
    });
    return { outcome: 'redeemed', transaction: tx };
  };
}
