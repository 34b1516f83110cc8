import type { Kysely } from 'kysely';
import type { LearnerCreditFacts } from '../access/learner-credit/facts';
import { REASON } from '../access/learner-credit/reasons';
import type {
  FinishInput,
  PolicySnapshot,
  ReserveResult,
  StartAttemptInput,
  StartAttemptResult,
} from '../access/learner-credit/redemption-contract';
import { finishAttempt, reconcileReversals, reserve, startAttempt } from '../access/learner-credit/redemption-store';
import type { AccessDB } from '../access/schema';
import type { ServiceClients } from '../clients';
import type { LedgerTransaction } from '../clients/subsidy';
import { callService } from './failures';

/** Reasons a reversal (a refund not yet seen here) could have caused: re-check after reconciling. */
const LIMIT_REASONS: ReadonlySet<string> = new Set([
  REASON.POLICY_SPEND_LIMIT_REACHED,
  REASON.LEARNER_MAX_SPEND_REACHED,
  REASON.LEARNER_MAX_ENROLLMENTS_REACHED,
]);

export interface RedemptionTarget {
  workflow_id: string;
  run_id: string;
  policy: PolicySnapshot;
  lms_user_id: number;
  content_key: string;
}

export interface CheckAndReserveResult {
  idempotency_key: string;
  result: ReserveResult;
}

export interface RedemptionActivityDeps {
  db: Kysely<AccessDB>;
  clients: ServiceClients;
  facts: LearnerCreditFacts;
}

/**
 * The redemption steps (spec learner-credit §7, reshaped): the attempt row, check-and-reserve
 * and the attempt's end are written straight into the orchestrator's own records; the ledger and
 * the lms are reached over HTTP. Every step is idempotent by the ledger idempotency key or the
 * workflow run, so a retried attempt or a replaced worker repeats nothing.
 */
export function createRedemptionActivities({ db, clients, facts }: RedemptionActivityDeps) {
  const subsidy = clients.subsidyApi;

  /**
   * Gathers the facts (fresh, outside any lock), then checks and reserves under the policy's
   * aggregate lock. A refusal on a limit is re-checked once after giving back the amounts of
   * the policy's reversed transactions, in case the reversal feed has not delivered them yet.
   */
  async function checkAndReserve(t: RedemptionTarget): Promise<CheckAndReserveResult> {
    const gathered = await callService(() => facts.forRedemption(t.policy, t.lms_user_id, t.content_key));
    const ask = () =>
      reserve(db, {
        workflow_id: t.workflow_id,
        run_id: t.run_id,
        policy_uuid: t.policy.uuid,
        lms_user_id: t.lms_user_id,
        content_key: t.content_key,
        idempotency_key: gathered.idempotencyKey,
        facts: gathered.external,
        reversed_transaction_uuids: gathered.reversedTransactionUuids,
      });
    let result = await ask();
    if (result.outcome === 'rejected' && LIMIT_REASONS.has(result.reason)) {
      const reversed = await callService(() =>
        subsidy.reversedPolicyTransactions(t.policy.subsidy_uuid, t.policy.uuid),
      );
      const given = await reconcileReversals(db, {
        policy_uuid: t.policy.uuid,
        reversed_transaction_uuids: reversed.map((r) => r.uuid),
      });
      if (given > 0) result = await ask();
    }
    return { idempotency_key: gathered.idempotencyKey, result };
  }

  const commit = (input: { subsidy_uuid: string; transaction_uuid: string; fulfillment_identifier: string }) =>
    callService(() => subsidy.commit(input.subsidy_uuid, input.transaction_uuid, input.fulfillment_identifier));

  return {
    /**
     * The attempt row, then check and reserve (one step of the redemption since its steps run as
     * local activities). Idempotent: the row is written once per run, the reservation once per key.
     */
    async beginRedemption(
      input: StartAttemptInput,
    ): Promise<{ policy: PolicySnapshot | null; check: CheckAndReserveResult | null }> {
      const { policy } = await startAttempt(db, input);
      if (!policy) return { policy: null, check: null };
      const check = await checkAndReserve({
        workflow_id: input.workflow_id,
        run_id: input.run_id,
        policy,
        lms_user_id: input.lms_user_id,
        content_key: input.content_key,
      });
      return { policy, check };
    },

    /** Commit, then end the attempt as redeemed (one step since the steps run as local activities). */
    async completeRedemption(input: {
      commit: { subsidy_uuid: string; transaction_uuid: string; fulfillment_identifier: string };
      finish: FinishInput;
    }): Promise<LedgerTransaction> {
      const tx = await commit(input.commit);
      await finishAttempt(db, {
        ...input.finish,
        transaction_uuid: tx.uuid,
        fulfillment_identifier: tx.fulfillment_identifier,
      });
      return tx;
    },

    startRedemptionAttempt(input: StartAttemptInput): Promise<StartAttemptResult> {
      return startAttempt(db, input);
    },

    checkAndReserveRedemption: checkAndReserve,

    createLedgerTransaction(input: {
      policy: PolicySnapshot;
      lms_user_id: number;
      content_key: string;
      idempotency_key: string;
      metadata: Record<string, unknown> | null;
    }): Promise<{ created: boolean; transaction: LedgerTransaction }> {
      const late =
        input.policy.late_redemption_allowed_until !== null &&
        new Date() < new Date(input.policy.late_redemption_allowed_until);
      return callService(() =>
        subsidy.reserve({
          subsidyUuid: input.policy.subsidy_uuid,
          lmsUserId: input.lms_user_id,
          contentKey: input.content_key,
          policyUuid: input.policy.uuid,
          idempotencyKey: input.idempotency_key,
          // Upstream adds this while the late-redemption window is open (spec §7.1 5b).
          metadata: late ? { ...(input.metadata ?? {}), allow_late_enrollment: true } : input.metadata,
        }),
      );
    },

    async enrollLearner(input: {
      customer_uuid: string;
      lms_user_id: number;
      course_run_key: string;
      transaction_uuid: string;
    }): Promise<{ enrollment_uuid: string }> {
      const enrollment = await callService(() =>
        clients.lmsApi.enroll({
          customerUuid: input.customer_uuid,
          lmsUserId: input.lms_user_id,
          courseRunKey: input.course_run_key,
          transactionUuid: input.transaction_uuid,
        }),
      );
      return { enrollment_uuid: enrollment.uuid };
    },

    commitLedgerTransaction: commit,

    async failLedgerTransaction(input: { subsidy_uuid: string; transaction_uuid: string; reason: string }) {
      const tx = await callService(() => subsidy.fail(input.subsidy_uuid, input.transaction_uuid, input.reason));
      return { state: tx.state };
    },

    finishRedemptionAttempt(input: FinishInput): Promise<void> {
      return finishAttempt(db, input);
    },
  };
}
