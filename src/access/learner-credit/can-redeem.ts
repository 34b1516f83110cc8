/**
 * can_redeem as a pure function over facts gathered beforehand (spec learner-credit §4): the
 * checks and their order are upstream's, first failure wins. Amounts are integer cents; spent
 * amounts are sums of ledger quantities, so ≤ 0.
 */
import { REASON, type ReasonCode } from './reasons';

export type PolicyType =
  | 'PerLearnerEnrollmentCreditAccessPolicy'
  | 'PerLearnerSpendCreditAccessPolicy'
  | 'AssignedLearnerCreditAccessPolicy';

export interface PolicyFacts {
  type: PolicyType;
  active: boolean;
  retired: boolean;
  spendLimit: number | null;
  perLearnerSpendLimit: number | null;
  perLearnerEnrollmentLimit: number | null;
  groupUuids: readonly string[];
  lateRedemptionAllowedUntil: Date | null;
}

export interface RedeemFacts {
  now: Date;
  policy: PolicyFacts;
  /** Null when the membership check is skipped. */
  learner: { inEnterprise: boolean; groupUuids: readonly string[] } | null;
  catalogContainsContent: boolean;
  /** Null: the content has no metadata (treated as not in the catalog). */
  content: { priceCents: number; enrollBy: Date | null } | null;
  skipEnrollmentDeadlineCheck?: boolean;
  subsidy: { active: boolean; canRedeem: boolean };
  /** Σ quantity of the policy's non-failed redemptions incl. reversals and reservations (≤ 0). */
  policySpent: number;
  /** Σ quantity / count of this learner's non-failed redemptions in this policy (≤ 0 / ≥ 0). */
  learnerSpent: number;
  learnerRedemptions: number;
}

export type CanRedeem = { canRedeem: true; reason: null } | { canRedeem: false; reason: ReasonCode };

/** `(-spent + price) > limit`; exactly reaching the limit is allowed (upstream fix b2ed69b2). */
export function contentWouldExceedLimit(spent: number, limit: number, price: number): boolean {
  if (spent > 0) throw new Error(`spent must be ≤ 0 (a sum of debits), got ${spent}`);
  if (price < 0) throw new Error(`price must be ≥ 0, got ${price}`);
  return -spent + price > limit;
}

export const isLateRedemptionAllowed = (p: PolicyFacts, now: Date) =>
  p.lateRedemptionAllowedUntil !== null && now < p.lateRedemptionAllowedUntil;

const no = (reason: ReasonCode): CanRedeem => ({ canRedeem: false, reason });

export function evaluateCanRedeem(f: RedeemFacts): CanRedeem {
  const { policy } = f;
  if (!policy.active || policy.retired) return no(REASON.POLICY_EXPIRED);
  if (f.learner) {
    if (!f.learner.inEnterprise) return no(REASON.LEARNER_NOT_IN_ENTERPRISE);
    if (policy.groupUuids.length > 0 && !policy.groupUuids.some((g) => f.learner?.groupUuids.includes(g))) {
      return no(REASON.LEARNER_NOT_IN_ENTERPRISE_GROUP);
    }
  }
  if (!f.catalogContainsContent || !f.content) return no(REASON.CONTENT_NOT_IN_CATALOG);
  const deadlineApplies = !f.skipEnrollmentDeadlineCheck && !isLateRedemptionAllowed(policy, f.now);
  if (deadlineApplies && f.content.enrollBy && f.now > f.content.enrollBy) return no(REASON.BEYOND_ENROLLMENT_DEADLINE);
  if (!f.subsidy.active) return no(REASON.SUBSIDY_EXPIRED);
  if (!f.subsidy.canRedeem) return no(REASON.NOT_ENOUGH_VALUE_IN_SUBSIDY);
  const price = f.content.priceCents;
  // spend_limit 0 means nothing is spendable, not "unlimited" (upstream fix ENT-7693).
  if (policy.spendLimit !== null && contentWouldExceedLimit(f.policySpent, policy.spendLimit, price)) {
    return no(REASON.POLICY_SPEND_LIMIT_REACHED);
  }
  if (
    policy.type === 'PerLearnerEnrollmentCreditAccessPolicy' &&
    policy.perLearnerEnrollmentLimit !== null &&
    f.learnerRedemptions >= policy.perLearnerEnrollmentLimit
  ) {
    return no(REASON.LEARNER_MAX_ENROLLMENTS_REACHED);
  }
  if (
    policy.type === 'PerLearnerSpendCreditAccessPolicy' &&
    policy.perLearnerSpendLimit !== null &&
    contentWouldExceedLimit(f.learnerSpent, policy.perLearnerSpendLimit, price)
  ) {
    return no(REASON.LEARNER_MAX_SPEND_REACHED);
  }
  return { canRedeem: true, reason: null };
}

/** Redemption priority: assigned policies first (spec §6). */
const policyPriority = (t: PolicyType) => (t === 'AssignedLearnerCreditAccessPolicy' ? 0 : 1);

/**
 * Order in which policies are tried for a learner: priority, then the sooner-expiring subsidy,
 * then the lower balance (spec §6).
 */
export function resolutionOrder<P extends { type: PolicyType; subsidyExpiration: string; subsidyBalance: number }>(
  policies: readonly P[],
): P[] {
  return [...policies].sort(
    (a, b) =>
      policyPriority(a.type) - policyPriority(b.type) ||
      (a.subsidyExpiration < b.subsidyExpiration ? -1 : a.subsidyExpiration > b.subsidyExpiration ? 1 : 0) ||
      a.subsidyBalance - b.subsidyBalance,
  );
}

/**
 * What the other systems say about one learner, one content key and one policy's subsidy,
 * however they were read (fresh for a redemption, cached for can-redeem): the one input both
 * paths turn into `RedeemFacts`, so they cannot disagree.
 */
export interface ExternalFacts {
  /** The learner's groups in the customer, or null when the learner is not linked to it. */
  learner: { groupUuids: readonly string[] } | null;
  /** The content in the policy's catalog, or null when the catalog does not hold it. */
  content: { priceCents: number | null; enrollBy: Date | null } | null;
  /** The subsidy, or null when it cannot be found. */
  subsidy: { active: boolean; balanceCents: number } | null;
  /** The learner already holds a committed, un-reversed redemption of it in this subsidy. */
  heldInSubsidy: boolean;
}

/** The policy's own numbers (local aggregates, ADR 0021): sums of debits (≤ 0) and a count. */
export interface SpendFacts {
  policySpent: number;
  learnerSpent: number;
  learnerRedemptions: number;
}

/**
 * `RedeemFacts` from the other systems' answers and the policy's spend. The subsidy can pay when
 * it is active, its balance covers the price and the learner does not hold the content already
 * (what the subsidy's own can_redeem answers).
 */
export function redeemFactsOf(
  now: Date,
  policy: PolicyFacts,
  ext: ExternalFacts,
  spend: SpendFacts,
  opts: { skipEnrollmentDeadlineCheck?: boolean } = {},
): RedeemFacts {
  const price = ext.content?.priceCents ?? 0;
  const active = ext.subsidy?.active ?? false;
  return {
    now,
    policy,
    learner: { inEnterprise: ext.learner !== null, groupUuids: ext.learner?.groupUuids ?? [] },
    catalogContainsContent: ext.content !== null,
    content: ext.content ? { priceCents: price, enrollBy: ext.content.enrollBy } : null,
    skipEnrollmentDeadlineCheck: opts.skipEnrollmentDeadlineCheck,
    subsidy: { active, canRedeem: active && (ext.subsidy?.balanceCents ?? 0) >= price && !ext.heldInSubsidy },
    ...spend,
  };
}
