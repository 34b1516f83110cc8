/**
 * `GET .../can-redeem/` (spec learner-credit §13): for each content key, the learner's existing
 * redemptions, and either the policy that would pay for it or the reasons none would. The facts
 * come from the facts module (cached where upstream caches them too) and the local aggregates,
 * and are judged by the same rules the redemption's check-and-reserve step uses. Writes nothing.
 */
import type { Kysely } from 'kysely';
import {
  type CanRedeem,
  evaluateCanRedeem,
  isLateRedemptionAllowed,
  redeemFactsOf,
  resolutionOrder,
} from '../../access/learner-credit/can-redeem';
import { externalFacts, isSuccessfulRedemption, type LearnerCreditFacts } from '../../access/learner-credit/facts';
import { learnerRedemptionState, type PolicyWithSpend } from '../../access/learner-credit/learner-state';
import { type Policy, policyFacts } from '../../access/learner-credit/policy-store';
import { type ReasonCode, type ReasonObject, reasonObjects } from '../../access/learner-credit/reasons';
import type { AccessDB } from '../../access/schema';
import type { LedgerTransaction, SubsidyRecord } from '../../clients/subsidy';
import { NotFound, Refused } from '../../lib/http-errors';

export interface Redemption extends LedgerTransaction {
  policy_redemption_status_url: string;
  courseware_url: string;
}

export interface CanRedeemItem {
  content_key: string;
  list_price: { usd: number; usd_cents: number } | null;
  redemptions: Redemption[];
  has_successful_redemption: boolean;
  redeemable_subsidy_access_policy: RedeemablePolicy | null;
  can_redeem: boolean;
  reasons: ReasonObject[];
  display_reason: ReasonObject | null;
}

/** The policy as can-redeem shows it (upstream's redeemable-policy serializer: no aggregates). */
export function redeemablePolicyView(p: Policy, subsidy: SubsidyRecord | null, now: Date) {
  const facts = policyFacts(p);
  return {
    uuid: p.uuid,
    policy_type: p.policy_type,
    display_name: p.display_name,
    description: p.description,
    active: p.active,
    retired: p.retired,
    enterprise_customer_uuid: p.enterprise_customer_uuid,
    catalog_uuid: p.catalog_uuid,
    subsidy_uuid: p.subsidy_uuid,
    access_method: p.access_method,
    spend_limit: facts.spendLimit,
    per_learner_spend_limit: facts.perLearnerSpendLimit,
    per_learner_enrollment_limit: facts.perLearnerEnrollmentLimit,
    subsidy_active_datetime: subsidy?.active_datetime ?? null,
    subsidy_expiration_datetime: subsidy?.expiration_datetime ?? null,
    is_subsidy_active: subsidy?.is_active ?? null,
    late_redemption_allowed_until: p.late_redemption_allowed_until?.toISOString() ?? null,
    is_late_redemption_allowed: isLateRedemptionAllowed(facts, now),
    group_associations: p.group_uuids,
    created: p.created.toISOString(),
    policy_redemption_url: `/api/v1/policy-redemption/${p.uuid}/redeem/`,
  };
}

export type RedeemablePolicy = ReturnType<typeof redeemablePolicyView>;

const listPrice = (cents: number | null) => (cents === null ? null : { usd: cents / 100, usd_cents: cents });

export async function canRedeem(
  deps: { db: Kysely<AccessDB>; facts: LearnerCreditFacts; lmsBaseUrl: string },
  input: { customerUuid: string; lmsUserId: number; contentKeys: string[]; now?: Date },
): Promise<CanRedeemItem[]> {
  const { db, facts } = deps;
  const now = input.now ?? new Date();
  const keys = [...new Set(input.contentKeys)];
  const state = await learnerRedemptionState(db, input.customerUuid, input.lmsUserId, keys);
  const { policies } = state;
  if (policies.length === 0) throw new NotFound('No active policies for this customer');
  const subsidyUuids = [...new Set(policies.map((p) => p.subsidy_uuid))];
  const catalogUuids = [...new Set(policies.map((p) => p.catalog_uuid))];

  const [learner, subsidyRecords, txLists, catalogs, administrators] = await Promise.all([
    facts.learner(input.customerUuid, input.lmsUserId),
    Promise.all(subsidyUuids.map((s) => facts.subsidy(s))),
    // The ledger is asked only about subsidies where the learner has redemption records for
    // these keys, and only again once those records have changed.
    Promise.all(
      subsidyUuids.map((s) => {
        const version = state.ledgerVersions.get(s);
        return version === undefined ? [] : facts.learnerTransactions(s, input.lmsUserId, version);
      }),
    ),
    Promise.all(catalogUuids.map(async (c) => [c, await facts.catalogContents(c, keys)] as const)).then(
      (entries) => new Map(entries),
    ),
    facts.admins(input.customerUuid),
  ]);
  const subsidyBy = new Map(subsidyUuids.map((s, i) => [s, subsidyRecords[i] ?? null]));
  const txBySubsidy = new Map(subsidyUuids.map((s, i) => [s, txLists[i] ?? []]));
  const ordered = resolutionOrder(
    policies.map((p) => {
      const s = subsidyBy.get(p.subsidy_uuid);
      return {
        policy: p,
        type: p.policy_type,
        subsidyExpiration: s?.expiration_datetime ?? '',
        subsidyBalance: s?.current_balance ?? 0,
      };
    }),
  );
  const contentIn = (p: Policy | undefined, key: string) => catalogs.get(p?.catalog_uuid ?? '')?.get(key) ?? null;
  const anyPrice = (key: string) => {
    for (const c of catalogs.values()) {
      const price = c.get(key)?.content_price;
      if (price !== null && price !== undefined) return price;
    }
    return null;
  };
  /** The same verdict check-and-reserve reaches, from cached facts and the local aggregates. */
  const verdictOf = (policy: PolicyWithSpend, key: string): CanRedeem => {
    const meta = contentIn(policy, key);
    if (meta && meta.content_price === null) {
      throw new Refused(`Could not determine the price of content ${key}.`);
    }
    const held = (txBySubsidy.get(policy.subsidy_uuid) ?? []).some(
      (t) => t.content_key === key && isSuccessfulRedemption(t),
    );
    const ext = externalFacts(learner, meta, subsidyBy.get(policy.subsidy_uuid) ?? null, held);
    return evaluateCanRedeem(redeemFactsOf(now, policyFacts(policy), ext, policy));
  };

  return keys.map((key) => {
    const redemptions: Redemption[] = [...txBySubsidy.values()]
      .flat()
      .filter((t) => t.content_key === key)
      .map((t) => ({
        ...t,
        policy_redemption_status_url: t.transaction_status_api_url,
        courseware_url: `${deps.lmsBaseUrl}/courses/${key}/courseware`,
      }));
    const successful = redemptions.find(isSuccessfulRedemption);
    if (successful) {
      const paidBy = policies.find((p) => p.uuid === successful.subsidy_access_policy_uuid);
      return {
        content_key: key,
        list_price: listPrice(contentIn(paidBy, key)?.content_price ?? anyPrice(key)),
        redemptions,
        has_successful_redemption: true,
        redeemable_subsidy_access_policy: null,
        can_redeem: false,
        reasons: [],
        display_reason: null,
      };
    }
    const refusals: Array<{ policyUuid: string; reason: ReasonCode }> = [];
    let resolved: PolicyWithSpend | null = null;
    for (const { policy } of ordered) {
      const verdict = verdictOf(policy, key);
      if (verdict.canRedeem) {
        resolved = policy;
        break;
      }
      refusals.push({ policyUuid: policy.uuid, reason: verdict.reason });
    }
    const reasons = resolved ? [] : reasonObjects(refusals, administrators);
    return {
      content_key: key,
      list_price: listPrice(resolved ? (contentIn(resolved, key)?.content_price ?? null) : anyPrice(key)),
      redemptions,
      has_successful_redemption: false,
      redeemable_subsidy_access_policy: resolved
        ? redeemablePolicyView(resolved, subsidyBy.get(resolved.subsidy_uuid) ?? null, now)
        : null,
      can_redeem: resolved !== null,
      reasons,
      display_reason: reasons[0] ?? null,
    };
  });
}
