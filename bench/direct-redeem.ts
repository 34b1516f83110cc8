/**
 * The direct baseline of `npm run bench:redeem`: one redemption as a synchronous service would
 * run it, in-process and one step after another, with no Temporal and no internal HTTP routes.
 * The steps are the redeem workflow's (attempt row → check and reserve under the policy's row
 * lock → pending ledger transaction → lms enrollment → commit → attempt finished) and call the
 * same code its activities do: the redemption store on the database handle, the facts and the
 * ledger key from src/activities/redemption.ts, and the typed service clients.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { REASON, type ReasonCode } from '../src/access/learner-credit/reasons';
import type { ReserveResult } from '../src/access/learner-credit/redemption-contract';
import {
  finishAttempt,
  reconcileReversals,
  reserve,
  startAttempt,
} from '../src/access/learner-credit/redemption-store';
import type { AccessDB } from '../src/access/schema';
import { gatherRedemptionFacts, nextIdempotencyKey } from '../src/activities/redemption';
import type { ServiceClients } from '../src/clients';
import type { LedgerTransaction } from '../src/clients/subsidy';

export interface DirectRedeemDeps {
  db: Kysely<AccessDB>;
  clients: ServiceClients;
}

export type DirectRedeemResult =
  | { outcome: 'redeemed'; transaction: LedgerTransaction }
  | { outcome: 'rejected'; reason: ReasonCode }
  | { outcome: 'failed'; step: string; error: string };

/** Refusals a reversal not yet seen here could have caused: re-checked once after reconciling (as the activity does). */
const LIMIT_REASONS: ReadonlySet<string> = new Set([
  REASON.POLICY_SPEND_LIMIT_REACHED,
  REASON.LEARNER_MAX_SPEND_REACHED,
  REASON.LEARNER_MAX_ENROLLMENTS_REACHED,
]);

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function directRedeem(
  { db, clients }: DirectRedeemDeps,
  input: { policy_uuid: string; lms_user_id: number; content_key: string; requested_by?: string | null },
): Promise<DirectRedeemResult> {
  // The attempt row is keyed by (workflow_id, run_id); a synchronous service names its own attempt.
  const ref = { workflow_id: `direct-${randomUUID()}`, run_id: randomUUID() };
  const { lms_user_id, content_key } = input;
  let idempotencyKey: string | null = null;
  let transactionUuid: string | null = null;
  const fail = async (step: string, err: unknown, code: string): Promise<DirectRedeemResult> => {
    await finishAttempt(db, {
      ...ref,
      outcome: 'failed',
      idempotency_key: idempotencyKey,
      transaction_uuid: transactionUuid,
      error_code: code,
      error_message: message(err),
    });
    return { outcome: 'failed', step, error: message(err) };
  };

  // 1. start_attempt
  const { policy } = await startAttempt(db, {
    ...ref,
    policy_uuid: input.policy_uuid,
    lms_user_id,
    content_key,
    requested_by: input.requested_by ?? null,
  });
  if (!policy) return fail('start_attempt', new Error(`No policy ${input.policy_uuid}.`), 'policy_not_found');

  // 2. check_and_reserve: facts over HTTP outside any lock, then the row-locked check and reservation.
  let result: ReserveResult;
  try {
    const { facts, subsidy: ledger } = await gatherRedemptionFacts(clients, policy, lms_user_id, content_key);
    idempotencyKey = nextIdempotencyKey(policy, lms_user_id, content_key, ledger.all_transactions);
    const ask = () =>
      reserve(db, {
        ...ref,
        policy_uuid: policy.uuid,
        lms_user_id,
        content_key,
        idempotency_key: idempotencyKey as string,
        facts,
      });
    result = await ask();
    if (result.outcome === 'rejected' && LIMIT_REASONS.has(result.reason)) {
      const reversed = await clients.subsidyApi.reversedPolicyTransactions(policy.subsidy_uuid, policy.uuid);
      const given = await reconcileReversals(db, {
        policy_uuid: policy.uuid,
        reversed_transaction_uuids: reversed.map((r) => r.uuid),
      });
      if (given > 0) result = await ask();
    }
  } catch (err) {
    return fail('check_and_reserve', err, 'check_failed');
  }
  if (result.outcome === 'rejected') {
    await finishAttempt(db, { ...ref, outcome: 'rejected', idempotency_key: idempotencyKey });
    return { outcome: 'rejected', reason: result.reason };
  }

  // 3. create_transaction (pending, under the ledger idempotency key)
  let tx: LedgerTransaction;
  try {
    const late =
      policy.late_redemption_allowed_until !== null && new Date() < new Date(policy.late_redemption_allowed_until);
    const created = await clients.subsidyApi.reserve({
      subsidyUuid: policy.subsidy_uuid,
      lmsUserId: lms_user_id,
      contentKey: content_key,
      policyUuid: policy.uuid,
      idempotencyKey,
      metadata: late ? { allow_late_enrollment: true } : null,
    });
    tx = created.transaction;
  } catch (err) {
    return fail('create_transaction', err, 'transaction_creation_error');
  }
  transactionUuid = tx.uuid;
  const price = -tx.quantity;
  if (tx.state === 'committed') {
    await finishAttempt(db, {
      ...ref,
      outcome: 'redeemed',
      idempotency_key: idempotencyKey,
      transaction_uuid: tx.uuid,
      fulfillment_identifier: tx.fulfillment_identifier,
      price_cents: price,
      already_redeemed: tx.idempotency_key !== idempotencyKey,
    });
    return { outcome: 'redeemed', transaction: tx };
  }
  if (tx.state === 'failed')
    return fail('create_transaction', new Error(`Transaction ${tx.uuid} has failed.`), 'invalid_state');

  // 4. enroll (the enrollment's uuid is the fulfilment id); on failure the ledger gives the amount back.
  let enrollmentUuid: string;
  try {
    const enrollment = await clients.lmsApi.enroll({
      customerUuid: policy.enterprise_customer_uuid,
      lmsUserId: lms_user_id,
      courseRunKey: content_key,
      transactionUuid: tx.uuid,
    });
    enrollmentUuid = enrollment.uuid;
  } catch (err) {
    await clients.subsidyApi.fail(policy.subsidy_uuid, tx.uuid, message(err));
    return fail('enroll', err, 'enrollment_error');
  }

  // 5. commit_transaction, 6. finish_attempt
  tx = await clients.subsidyApi.commit(policy.subsidy_uuid, tx.uuid, enrollmentUuid);
  await finishAttempt(db, {
    ...ref,
    outcome: 'redeemed',
    idempotency_key: idempotencyKey,
    transaction_uuid: tx.uuid,
    fulfillment_identifier: tx.fulfillment_identifier,
    price_cents: price,
  });
  return { outcome: 'redeemed', transaction: tx };
}
