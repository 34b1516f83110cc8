/**
 * The admin dashboard's numbers for one policy (spec learner-credit §5, §13 `aggregates`). Pure:
 * the inputs come from the subsidy service (spend, balance) and the policy itself. Amounts are
 * integer cents; spent and allocated amounts are ledger sums, so ≤ 0.
 */
import type { PolicyType } from './can-redeem';

export interface AggregateInputs {
  policyType: PolicyType;
  spendLimit: number | null;
  /** Σ quantity of the policy's non-failed transactions, reversals netted (≤ 0). */
  totalRedeemed: number;
  /** Σ content_quantity of allocated assignments (≤ 0); 0 while there are no assignments. */
  totalAllocated: number;
  /** The subsidy's `current_balance`. */
  subsidyBalance: number;
}

export interface PolicyAggregates {
  amount_redeemed_usd_cents: number;
  amount_redeemed_usd: number;
  amount_allocated_usd_cents: number;
  amount_allocated_usd: number;
  spend_available_usd_cents: number;
  spend_available_usd: number;
}

const centsToUsd = (cents: number) => cents / 100;

/** Types whose spend available also reserves outstanding allocations (assigned; BnR is not implemented). */
const ALLOCATING_TYPES: ReadonlySet<PolicyType> = new Set(['AssignedLearnerCreditAccessPolicy']);

/**
 * Policy-wide spend available: with a spend limit, what the limit still allows capped by the
 * subsidy balance; without one, the balance. Assigned policies also subtract what is allocated.
 */
export function spendAvailable(i: AggregateInputs): number {
  const available =
    i.spendLimit === null ? i.subsidyBalance : Math.min(Math.max(0, i.spendLimit + i.totalRedeemed), i.subsidyBalance);
  return ALLOCATING_TYPES.has(i.policyType) ? Math.max(0, available + i.totalAllocated) : available;
}

/** The `aggregates` object of the policy response: positive cents and the same in dollars. */
export function policyAggregates(i: AggregateInputs): PolicyAggregates {
  // Negated, as upstream (`0 -` keeps a zero positive in JSON).
  const redeemed = 0 - i.totalRedeemed;
  const allocated = 0 - i.totalAllocated;
  const available = spendAvailable(i);
  return {
    amount_redeemed_usd_cents: redeemed,
    amount_redeemed_usd: centsToUsd(redeemed),
    amount_allocated_usd_cents: allocated,
    amount_allocated_usd: centsToUsd(allocated),
    spend_available_usd_cents: available,
    spend_available_usd: centsToUsd(available),
  };
}
