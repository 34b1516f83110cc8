/**
 * `credits_available` (spec learner-credit §5, §13): which of a customer's policies a learner
 * could still spend from. Pure; amounts are cents, spent amounts sums of debits (≤ 0).
 */
import type { PolicyFacts } from './can-redeem';

export interface CreditFacts {
  policy: PolicyFacts;
  learner: { inEnterprise: boolean; groupUuids: readonly string[] };
  /** Null when the subsidy could not be read (upstream: not available). */
  subsidy: { active: boolean; balance: number } | null;
  policySpent: number;
  learnerSpent: number;
  learnerRedemptions: number;
}

/**
 * What the learner has left under the per-learner limit: cents for PerLearnerSpend, a count of
 * enrollments for PerLearnerEnrollment (upstream labels both "per user"), null without a limit,
 * never below 0.
 */
export function remainingBalancePerUser(f: Pick<CreditFacts, 'policy' | 'learnerSpent' | 'learnerRedemptions'>) {
  const { policy } = f;
  if (policy.type === 'PerLearnerSpendCreditAccessPolicy' && policy.perLearnerSpendLimit !== null) {
    return Math.max(0, policy.perLearnerSpendLimit + f.learnerSpent);
  }
  if (policy.type === 'PerLearnerEnrollmentCreditAccessPolicy' && policy.perLearnerEnrollmentLimit !== null) {
    return Math.max(0, policy.perLearnerEnrollmentLimit - f.learnerRedemptions);
  }
  return null;
}

export function creditAvailable(f: CreditFacts): boolean {
  const { policy } = f;
  if (!policy.active || policy.retired) return false;
  if (!f.learner.inEnterprise) return false;
  if (policy.groupUuids.length > 0 && !policy.groupUuids.some((g) => f.learner.groupUuids.includes(g))) return false;
  // Assigned budgets are spent through assignments, which this system does not make yet.
  if (policy.type === 'AssignedLearnerCreditAccessPolicy') return false;
  if (!f.subsidy?.active || f.subsidy.balance <= 0) return false;
  if (policy.spendLimit !== null && -f.policySpent >= policy.spendLimit) return false;
  const remaining = remainingBalancePerUser(f);
  return remaining === null || remaining > 0;
}
