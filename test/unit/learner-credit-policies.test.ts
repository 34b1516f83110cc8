import { describe, expect, it } from 'vitest';
import type { PolicyType } from '../../src/access/learner-credit/can-redeem';
import {
  type AggregateInputs,
  policyAggregates,
  spendAvailable,
} from '../../src/access/learner-credit/policy-aggregates';
import { needsSpendLimitCheck, type PolicyFields } from '../../src/access/learner-credit/policy-writes';

const SPEND: PolicyType = 'PerLearnerSpendCreditAccessPolicy';
const ASSIGNED: PolicyType = 'AssignedLearnerCreditAccessPolicy';

const inputs = (over: Partial<AggregateInputs> = {}): AggregateInputs => ({
  policyType: SPEND,
  spendLimit: 10_000,
  totalRedeemed: 0,
  totalAllocated: 0,
  subsidyBalance: 100_000,
  ...over,
});

describe('spend available (spec §5)', () => {
  it.each<[string, Partial<AggregateInputs>, number]>([
    ['limit untouched', {}, 10_000],
    ['limit minus what was redeemed', { totalRedeemed: -2_500 }, 7_500],
    ['never below zero', { totalRedeemed: -12_000 }, 0],
    ['capped by the subsidy balance', { subsidyBalance: 4_000 }, 4_000],
    ['no limit: the subsidy balance', { spendLimit: null, totalRedeemed: -50_000 }, 100_000],
    ['spend_limit 0 leaves nothing', { spendLimit: 0 }, 0],
    ['allocations do not count for non-assigned types', { totalAllocated: -3_000 }, 10_000],
    ['assigned: allocations are reserved', { policyType: ASSIGNED, totalAllocated: -3_000 }, 7_000],
    ['assigned: never below zero', { policyType: ASSIGNED, totalAllocated: -30_000 }, 0],
  ])('%s', (_name, over, expected) => {
    expect(spendAvailable(inputs(over))).toBe(expected);
  });
});

describe('policy aggregates', () => {
  it('positive cents and the same in dollars', () => {
    expect(policyAggregates(inputs({ totalRedeemed: -2_550, totalAllocated: -1_001, policyType: ASSIGNED }))).toEqual({
      amount_redeemed_usd_cents: 2_550,
      amount_redeemed_usd: 25.5,
      amount_allocated_usd_cents: 1_001,
      amount_allocated_usd: 10.01,
      spend_available_usd_cents: 6_449,
      spend_available_usd: 64.49,
    });
  });

  it('zero is a positive zero', () => {
    const a = policyAggregates(inputs());
    expect(Object.is(a.amount_redeemed_usd_cents, 0)).toBe(true);
    expect(Object.is(a.amount_allocated_usd, 0)).toBe(true);
  });
});

describe('when the ADR 0023 spend-limit check runs', () => {
  const base: PolicyFields = {
    display_name: '',
    description: '',
    active: true,
    retired: false,
    retired_at: null,
    catalog_uuid: 'c',
    subsidy_uuid: 's',
    access_method: 'direct',
    spend_limit: 1_000,
    per_learner_enrollment_limit: null,
    per_learner_spend_limit: null,
    late_redemption_allowed_until: null,
  };
  it.each<[string, PolicyFields | null, Partial<PolicyFields>, boolean]>([
    ['create active', null, {}, true],
    ['create inactive', null, { active: false }, false],
    ['activate', { ...base, active: false }, { active: true }, true],
    ['raise the limit of an active policy', base, { spend_limit: 2_000 }, true],
    ['move an active policy to another subsidy', base, { subsidy_uuid: 't' }, true],
    ['change the limit of an inactive policy', { ...base, active: false }, { active: false, spend_limit: 9 }, false],
    ['deactivate', base, { active: false }, false],
    ['rename an active policy', base, { display_name: 'x' }, false],
  ])('%s', (_name, current, change, expected) => {
    expect(needsSpendLimitCheck(current, { ...(current ?? base), ...change })).toBe(expected);
  });
});
