/**
 * Subsidy access policy field rules (spec learner-credit §2.1, §13): per-type constraints, which
 * fields an update may touch, and the ADR 0023 spend-limit check. Pure.
 */
import type { PolicyType } from './can-redeem';

export const POLICY_TYPES: readonly PolicyType[] = [
  'PerLearnerEnrollmentCreditAccessPolicy',
  'PerLearnerSpendCreditAccessPolicy',
  'AssignedLearnerCreditAccessPolicy',
];

export const ACCESS_METHODS = ['direct', 'request', 'assigned'] as const;
export type AccessMethod = (typeof ACCESS_METHODS)[number];

export interface PolicyLimits {
  policy_type: PolicyType;
  spend_limit: number | null;
  per_learner_enrollment_limit: number | null;
  per_learner_spend_limit: number | null;
}

/** Field errors (DRF shape) for limits the policy type forbids or requires. */
export function policyTypeErrors(p: PolicyLimits): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  const mustBeNull = (field: keyof PolicyLimits) => {
    if (p[field] !== null) errors[field] = [`must be null for ${p.policy_type}`];
  };
  switch (p.policy_type) {
    case 'PerLearnerEnrollmentCreditAccessPolicy':
      mustBeNull('per_learner_spend_limit');
      break;
    case 'PerLearnerSpendCreditAccessPolicy':
      mustBeNull('per_learner_enrollment_limit');
      break;
    case 'AssignedLearnerCreditAccessPolicy':
      if (p.spend_limit === null) errors.spend_limit = [`must not be null for ${p.policy_type}`];
      mustBeNull('per_learner_enrollment_limit');
      mustBeNull('per_learner_spend_limit');
      break;
  }
  return errors;
}

/** The fields PUT/PATCH may change; anything else is a 400 "Field(s) are not updatable: …". */
const UPDATABLE_FIELDS = [
  'display_name',
  'description',
  'active',
  'retired',
  'retired_at',
  'catalog_uuid',
  'subsidy_uuid',
  'access_method',
  'spend_limit',
  'per_learner_spend_limit',
  'per_learner_enrollment_limit',
  'late_redemption_allowed_until',
] as const;

/** Read-only fields a client may echo back unchanged (upstream ignores them). */
const ECHOED_READ_ONLY = new Set([
  'uuid',
  'policy_type',
  'enterprise_customer_uuid',
  'subsidy_active_datetime',
  'subsidy_expiration_datetime',
  'is_subsidy_active',
  'aggregates',
  'created',
]);

export function nonUpdatableFields(body: Record<string, unknown>): string[] {
  return Object.keys(body)
    .filter((k) => !(UPDATABLE_FIELDS as readonly string[]).includes(k) && !ECHOED_READ_ONLY.has(k))
    .sort();
}

/**
 * ADR 0023: the spend limits of a customer's active policies on one subsidy may not add up to
 * more than the subsidy's deposits. Null limits count as 0 (unlimited policies escape it, as
 * upstream); inactive policies do not count.
 */
export function spendLimitsExceedDeposits(
  policies: ReadonlyArray<{ active: boolean; spend_limit: number | null }>,
  totalDeposits: number,
): { exceeds: boolean; total: number } {
  const total = policies.filter((p) => p.active).reduce((sum, p) => sum + (p.spend_limit ?? 0), 0);
  return { exceeds: total > totalDeposits, total };
}

const dollars = (cents: number) =>
  `$${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

export const spendLimitMessage = (total: number, deposits: number) =>
  `The sum of the spend limits of this customer's active policies on this subsidy may not exceed the subsidy's ` +
  `deposits. Error: ${dollars(total)} is greater than ${dollars(deposits)}`;
