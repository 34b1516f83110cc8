import { historicalRedemptionUuids, redemptionIdempotencyKey } from '../access/learner-credit/idempotency';
import { REASON } from '../access/learner-credit/reasons';
import type {
  FinishInput,
  GatheredFacts,
  PolicySnapshot,
  ReserveResult,
  StartAttemptInput,
  StartAttemptResult,
} from '../access/learner-credit/redemption-contract';
import type { ServiceClients } from '../clients';
import type { LedgerTransaction, SubsidyCanRedeem } from '../clients/subsidy';
import { ServiceError } from '../lib/http-client';
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

/** Facts for the can_redeem rules from the lms, catalog and subsidy, fetched in parallel. */
export async function gatherRedemptionFacts(
  clients: ServiceClients,
  policy: PolicySnapshot,
  lmsUserId: number,
  contentKey: string,
): Promise<{ facts: GatheredFacts; subsidy: SubsidyCanRedeem }> {
  const [learner, content, answer] = await Promise.all([
    clients.lmsApi.findLearner(policy.enterprise_customer_uuid, lmsUserId),
    clients.catalogApi.contentInCatalog(policy.catalog_uuid, [contentKey]),
    clients.subsidyApi.canRedeem(policy.subsidy_uuid, lmsUserId, contentKey).catch((err: unknown) => err),
  ]);
  const item = content.find((c) => c.content_key === contentKey);
  let subsidy: SubsidyCanRedeem;
  if (!(answer instanceof Error)) subsidy = answer as SubsidyCanRedeem;
  else if (answer instanceof ServiceError && !answer.retryable && !item) {
    // The subsidy cannot price content the catalog does not have (422 content_not_found); the
    // catalog check comes first and refuses anyway, so only the history is needed.
    const history = await clients.subsidyApi.learnerContentTransactions(policy.subsidy_uuid, lmsUserId, contentKey);
    subsidy = { can_redeem: false, content_price: null, unit: 'usd_cents', all_transactions: history, active: false };
  } else throw answer;
  return {
    subsidy,
    facts: {
      learner_group_uuids: learner ? (learner.enterprise_group ?? []) : null,
      content_in_catalog: item !== undefined,
      content: item ? { price_cents: item.content_price, enroll_by: item.enroll_by_date } : null,
      subsidy_active: subsidy.active,
      subsidy_can_redeem: subsidy.can_redeem,
      reversed_transaction_uuids: subsidy.all_transactions
        .filter((t) => t.reversal?.state === 'committed')
        .map((t) => t.uuid),
    },
  };
}

/** The ledger key of this learner's next redemption of this content in this policy (spec §7.3). */
export function nextIdempotencyKey(
  policy: PolicySnapshot,
  lmsUserId: number,
  contentKey: string,
  history: readonly LedgerTransaction[],
): string {
  return redemptionIdempotencyKey({
    subsidyUuid: policy.subsidy_uuid,
    lmsUserId,
    contentKey,
    policyUuid: policy.uuid,
    historicalRedemptionUuids: historicalRedemptionUuids(history),
  });
}

/**
 * The redemption steps (spec learner-credit §7, reshaped): every one idempotent by the ledger
 * idempotency key or the workflow run, so a retried attempt or a replaced worker repeats
 * nothing.
 */
export function createRedemptionActivities({ clients }: { clients: ServiceClients }) {
  const access = clients.access;
  const subsidy = clients.subsidyApi;
  return {
    startRedemptionAttempt(input: StartAttemptInput): Promise<StartAttemptResult> {
      return callService(() => access.startAttempt(input));
    },

    /**
     * Gathers the facts (outside any lock), then asks the api to check and reserve under the
     * policy's aggregate lock. A refusal on a limit is re-checked once after giving back the
     * amounts of the policy's reversed transactions, which the local aggregates learn here.
     */
    async checkAndReserveRedemption(t: RedemptionTarget): Promise<CheckAndReserveResult> {
      return callService(async () => {
        const { facts, subsidy: ledger } = await gatherRedemptionFacts(clients, t.policy, t.lms_user_id, t.content_key);
        const idempotencyKey = nextIdempotencyKey(t.policy, t.lms_user_id, t.content_key, ledger.all_transactions);
        const ask = () =>
          access.reserve({
            workflow_id: t.workflow_id,
            run_id: t.run_id,
            policy_uuid: t.policy.uuid,
            lms_user_id: t.lms_user_id,
            content_key: t.content_key,
            idempotency_key: idempotencyKey,
            facts,
          });
        let result = await ask();
        if (result.outcome === 'rejected' && LIMIT_REASONS.has(result.reason)) {
          const reversed = await subsidy.reversedPolicyTransactions(t.policy.subsidy_uuid, t.policy.uuid);
          const { reversed: given } = await access.reconcileReversals({
            policy_uuid: t.policy.uuid,
            reversed_transaction_uuids: reversed.map((r) => r.uuid),
          });
          if (given > 0) result = await ask();
        }
        return { idempotency_key: idempotencyKey, result };
      });
    },

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

    commitLedgerTransaction(input: {
      subsidy_uuid: string;
      transaction_uuid: string;
      fulfillment_identifier: string;
    }): Promise<LedgerTransaction> {
      return callService(() =>
        subsidy.commit(input.subsidy_uuid, input.transaction_uuid, input.fulfillment_identifier),
      );
    },

    async failLedgerTransaction(input: { subsidy_uuid: string; transaction_uuid: string; reason: string }) {
      const tx = await callService(() => subsidy.fail(input.subsidy_uuid, input.transaction_uuid, input.reason));
      return { state: tx.state };
    },

    async finishRedemptionAttempt(input: FinishInput): Promise<void> {
      await callService(() => access.finish(input));
    },
  };
}
