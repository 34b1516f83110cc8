import { describe, expect, it } from 'vitest';
import {
  type CanRedeem,
  contentWouldExceedLimit,
  evaluateCanRedeem,
  type RedeemFacts,
  resolutionOrder,
} from '../../src/access/learner-credit/can-redeem';
import {
  type CreditFacts,
  creditAvailable,
  remainingBalancePerUser,
} from '../../src/access/learner-credit/credits-available';
import {
  historicalRedemptionUuids,
  pyStr,
  redemptionIdempotencyKey,
} from '../../src/access/learner-credit/idempotency';
import {
  nonUpdatableFields,
  type PolicyLimits,
  policyTypeErrors,
  spendLimitMessage,
  spendLimitsExceedDeposits,
} from '../../src/access/learner-credit/policy-rules';
import { REASON, userMessage } from '../../src/access/learner-credit/reasons';

const now = new Date('2026-11-22T12:00:00Z');
type Over = Partial<Omit<RedeemFacts, 'policy'>> & { policy?: Partial<RedeemFacts['policy']> };

const facts = (over: Over = {}): RedeemFacts => ({
  now,
  learner: { inEnterprise: true, groupUuids: [] },
  catalogContainsContent: true,
  content: { priceCents: 10_000, enrollBy: new Date('2026-12-01T00:00:00Z') },
  subsidy: { active: true, canRedeem: true },
  policySpent: 0,
  learnerSpent: 0,
  learnerRedemptions: 0,
  ...over,
  policy: {
    type: 'PerLearnerSpendCreditAccessPolicy',
    active: true,
    retired: false,
    spendLimit: 100_000,
    perLearnerSpendLimit: null,
    perLearnerEnrollmentLimit: null,
    groupUuids: [],
    lateRedemptionAllowedUntil: null,
    ...over.policy,
  },
});

const reason = (r: CanRedeem) => r.reason;

describe('can_redeem: the checks in upstream order, first failure wins (spec learner-credit §4)', () => {
  it.each<[string, Over, string | null]>([
    ['happy path', {}, null],
    ['inactive policy', { policy: { active: false } }, REASON.POLICY_EXPIRED],
    ['retired policy', { policy: { retired: true } }, REASON.POLICY_EXPIRED],
    [
      'retired wins over everything after it',
      { policy: { retired: true }, catalogContainsContent: false },
      REASON.POLICY_EXPIRED,
    ],
    [
      'learner not in enterprise',
      { learner: { inEnterprise: false, groupUuids: [] } },
      REASON.LEARNER_NOT_IN_ENTERPRISE,
    ],
    [
      'learner not in any policy group',
      { policy: { groupUuids: ['g1'] }, learner: { inEnterprise: true, groupUuids: ['g2'] } },
      REASON.LEARNER_NOT_IN_ENTERPRISE_GROUP,
    ],
    [
      'learner in one of the groups',
      { policy: { groupUuids: ['g1', 'g2'] }, learner: { inEnterprise: true, groupUuids: ['g2'] } },
      null,
    ],
    [
      'membership before catalog',
      { learner: { inEnterprise: false, groupUuids: [] }, catalogContainsContent: false },
      REASON.LEARNER_NOT_IN_ENTERPRISE,
    ],
    ['membership check skipped', { learner: null, catalogContainsContent: true }, null],
    ['not in catalog', { catalogContainsContent: false }, REASON.CONTENT_NOT_IN_CATALOG],
    ['no metadata', { content: null }, REASON.CONTENT_NOT_IN_CATALOG],
    [
      'past the enroll-by date',
      { content: { priceCents: 100, enrollBy: new Date('2026-11-01T00:00:00Z') } },
      REASON.BEYOND_ENROLLMENT_DEADLINE,
    ],
    [
      'past the enroll-by date, late redemption open',
      {
        content: { priceCents: 100, enrollBy: new Date('2026-11-01T00:00:00Z') },
        policy: { lateRedemptionAllowedUntil: new Date('2026-11-23T00:00:00Z') },
      },
      null,
    ],
    [
      'past the enroll-by date, late redemption closed',
      {
        content: { priceCents: 100, enrollBy: new Date('2026-11-01T00:00:00Z') },
        policy: { lateRedemptionAllowedUntil: new Date('2026-11-22T00:00:00Z') },
      },
      REASON.BEYOND_ENROLLMENT_DEADLINE,
    ],
    [
      'forced: deadline skipped',
      { content: { priceCents: 100, enrollBy: new Date('2026-11-01T00:00:00Z') }, skipEnrollmentDeadlineCheck: true },
      null,
    ],
    ['subsidy expired', { subsidy: { active: false, canRedeem: false } }, REASON.SUBSIDY_EXPIRED],
    ['subsidy cannot redeem', { subsidy: { active: true, canRedeem: false } }, REASON.NOT_ENOUGH_VALUE_IN_SUBSIDY],
    [
      'policy limit exceeded (spent 10001 of 10000)',
      { policySpent: -10_001, policy: { spendLimit: 10_000 }, content: { priceCents: 0, enrollBy: null } },
      REASON.POLICY_SPEND_LIMIT_REACHED,
    ],
    ['policy limit exactly reached is allowed', { policySpent: -90_000, policy: { spendLimit: 100_000 } }, null],
    ['spend_limit 0 means nothing spendable', { policy: { spendLimit: 0 } }, REASON.POLICY_SPEND_LIMIT_REACHED],
    ['spend_limit null means no policy cap', { policySpent: -9_999_999, policy: { spendLimit: null } }, null],
    [
      'per-learner enrollment cap reached',
      {
        learnerRedemptions: 10,
        policy: { type: 'PerLearnerEnrollmentCreditAccessPolicy', perLearnerEnrollmentLimit: 10 },
      },
      REASON.LEARNER_MAX_ENROLLMENTS_REACHED,
    ],
    [
      'per-learner enrollment under the cap',
      {
        learnerRedemptions: 9,
        policy: { type: 'PerLearnerEnrollmentCreditAccessPolicy', perLearnerEnrollmentLimit: 10 },
      },
      null,
    ],
    [
      'per-learner spend cap exceeded',
      { learnerSpent: -15_000, policy: { perLearnerSpendLimit: 20_000 } },
      REASON.LEARNER_MAX_SPEND_REACHED,
    ],
    [
      'per-learner spend cap exactly reached',
      { learnerSpent: -10_000, policy: { perLearnerSpendLimit: 20_000 } },
      null,
    ],
    [
      'policy limit before learner limit',
      { policySpent: -95_000, learnerSpent: -15_000, policy: { perLearnerSpendLimit: 20_000 } },
      REASON.POLICY_SPEND_LIMIT_REACHED,
    ],
  ])('%s', (_, over, expected) => {
    expect(reason(evaluateCanRedeem(facts(over)))).toBe(expected);
  });

  it('content_would_exceed_limit: upstream cases', () => {
    expect(contentWouldExceedLimit(-90, 100, 10)).toBe(false);
    expect(contentWouldExceedLimit(-90, 100, 5)).toBe(false);
    expect(contentWouldExceedLimit(-90, 100, 11)).toBe(true);
    expect(() => contentWouldExceedLimit(1, 100, 1)).toThrow();
  });

  it('resolves policies by priority, then sooner expiry, then lower balance', () => {
    const p = (
      name: string,
      type: 'AssignedLearnerCreditAccessPolicy' | 'PerLearnerSpendCreditAccessPolicy',
      subsidyExpiration: string,
      subsidyBalance: number,
    ) => ({
      name,
      type,
      subsidyExpiration,
      subsidyBalance,
    });
    const ordered = resolutionOrder([
      p('late-rich', 'PerLearnerSpendCreditAccessPolicy', '2027-06-01', 500),
      p('soon', 'PerLearnerSpendCreditAccessPolicy', '2027-01-01', 900),
      p('late-poor', 'PerLearnerSpendCreditAccessPolicy', '2027-06-01', 100),
      p('assigned', 'AssignedLearnerCreditAccessPolicy', '2028-01-01', 1000),
    ]);
    expect(ordered.map((x) => x.name)).toEqual(['assigned', 'soon', 'late-poor', 'late-rich']);
  });

  it('user messages, with and without administrators to contact', () => {
    expect(userMessage(REASON.POLICY_SPEND_LIMIT_REACHED, true)).toBe(
      "You can't enroll right now because your organization doesn't have enough funds.",
    );
    expect(userMessage(REASON.SUBSIDY_EXPIRED, false)).toBe(
      "You can't enroll right now because your funds expired. Contact your administrator for help.",
    );
    expect(userMessage(REASON.LEARNER_NOT_IN_ENTERPRISE_GROUP, true)).toBeNull();
  });
});

describe('redemption idempotency key (spec learner-credit §7.3)', () => {
  const inputs = {
    subsidyUuid: 'f492b063-42bb-40dd-8464-6b5668329f1d',
    lmsUserId: 12345,
    contentKey: 'course-v1:edX+test+content',
    policyUuid: '4ca49903-b66a-4fe9-a139-79d829deb944',
    historicalRedemptionUuids: ['d459818c-458d-485b-a758-a0a060f8a7c4', '69beac67-52e2-47e0-994b-b0e1fac85845'],
  };

  it('matches upstream byte for byte (its fixed-output fixture)', () => {
    expect(redemptionIdempotencyKey(inputs)).toBe(
      'ledger-for-subsidy-f492b063-42bb-40dd-8464-6b5668329f1d-423a5bd5f0c19e7d750b03e9f21a04c7',
    );
  });

  it('changes with each input, and only failed or reversed history advances it', () => {
    const base = redemptionIdempotencyKey(inputs);
    for (const change of [
      { subsidyUuid: '00000000-0000-0000-0000-000000000000' },
      { lmsUserId: 1 },
      { contentKey: 'course-v1:edX+test+other' },
      { policyUuid: '00000000-0000-0000-0000-000000000000' },
      { historicalRedemptionUuids: [] },
    ]) {
      expect(redemptionIdempotencyKey({ ...inputs, ...change })).not.toBe(base);
    }
    expect(
      historicalRedemptionUuids([
        { uuid: 'a', state: 'committed', reversal: null },
        { uuid: 'b', state: 'failed' },
        { uuid: 'c', state: 'committed', reversal: { state: 'committed' } },
        { uuid: 'd', state: 'pending' },
      ]),
    ).toEqual(['b', 'c']);
  });

  it("renders strings as Python's repr does", () => {
    expect(pyStr('plain')).toBe("'plain'");
    expect(pyStr("it's")).toBe('"it\'s"');
    expect(pyStr('both \' and "')).toBe("'both \\' and \"'");
    expect(pyStr('back\\slash\n')).toBe("'back\\\\slash\\n'");
  });
});

describe('policy field rules', () => {
  it.each<[PolicyLimits, string[]]>([
    [
      {
        policy_type: 'PerLearnerEnrollmentCreditAccessPolicy',
        spend_limit: 1,
        per_learner_enrollment_limit: 2,
        per_learner_spend_limit: null,
      },
      [],
    ],
    [
      {
        policy_type: 'PerLearnerEnrollmentCreditAccessPolicy',
        spend_limit: 1,
        per_learner_enrollment_limit: null,
        per_learner_spend_limit: 5,
      },
      ['per_learner_spend_limit'],
    ],
    [
      {
        policy_type: 'PerLearnerSpendCreditAccessPolicy',
        spend_limit: null,
        per_learner_enrollment_limit: 3,
        per_learner_spend_limit: 5,
      },
      ['per_learner_enrollment_limit'],
    ],
    [
      {
        policy_type: 'AssignedLearnerCreditAccessPolicy',
        spend_limit: null,
        per_learner_enrollment_limit: 3,
        per_learner_spend_limit: null,
      },
      ['per_learner_enrollment_limit', 'spend_limit'],
    ],
  ])('%j → errors on %j', (limits, fields) => {
    expect(Object.keys(policyTypeErrors(limits)).sort()).toEqual(fields);
  });

  it('names non-updatable fields and ignores echoed read-only ones', () => {
    expect(nonUpdatableFields({ display_name: 'x', uuid: 'u', enterprise_customer_uuid: 'c' })).toEqual([]);
    expect(nonUpdatableFields({ display_name: 'x', bogus: 1, assignment_configuration: 2 })).toEqual([
      'assignment_configuration',
      'bogus',
    ]);
  });

  it('ADR 0023: only active policies count, null limits count as 0, equal is allowed', () => {
    const policies = [
      { active: true, spend_limit: 60_000 },
      { active: true, spend_limit: null },
      { active: false, spend_limit: 999_999 },
    ];
    expect(spendLimitsExceedDeposits(policies, 60_000)).toEqual({ exceeds: false, total: 60_000 });
    expect(spendLimitsExceedDeposits([...policies, { active: true, spend_limit: 1 }], 60_000)).toEqual({
      exceeds: true,
      total: 60_001,
    });
    expect(spendLimitMessage(60_001, 60_000)).toMatch(/Error: \$600\.01 is greater than \$600\.00$/);
  });
});

describe('credits_available (spec learner-credit §5)', () => {
  const base: CreditFacts = {
    policy: {
      type: 'PerLearnerSpendCreditAccessPolicy',
      active: true,
      retired: false,
      spendLimit: 10_000,
      perLearnerSpendLimit: 3_000,
      perLearnerEnrollmentLimit: null,
      groupUuids: [],
      lateRedemptionAllowedUntil: null,
    },
    learner: { inEnterprise: true, groupUuids: [] },
    subsidy: { active: true, balance: 50_000 },
    policySpent: -2_000,
    learnerSpent: -1_000,
    learnerRedemptions: 1,
  };
  const withPolicy = (p: Partial<CreditFacts['policy']>, f: Partial<CreditFacts> = {}): CreditFacts => ({
    ...base,
    ...f,
    policy: { ...base.policy, ...p },
  });
  it.each<[string, CreditFacts, boolean]>([
    ['available', base, true],
    ['inactive policy', withPolicy({ active: false }), false],
    ['retired policy', withPolicy({ retired: true }), false],
    ['not in the enterprise', { ...base, learner: { inEnterprise: false, groupUuids: [] } }, false],
    ['not in the policy group', withPolicy({ groupUuids: ['g1'] }), false],
    [
      'in the policy group',
      withPolicy({ groupUuids: ['g1'] }, { learner: { inEnterprise: true, groupUuids: ['g1'] } }),
      true,
    ],
    ['subsidy unreadable', { ...base, subsidy: null }, false],
    ['subsidy inactive', { ...base, subsidy: { active: false, balance: 50_000 } }, false],
    ['subsidy empty', { ...base, subsidy: { active: true, balance: 0 } }, false],
    ['policy spend limit used up', { ...base, policySpent: -10_000 }, false],
    ['learner spend limit used up', { ...base, learnerSpent: -3_000 }, false],
    ['assigned budgets need assignments', withPolicy({ type: 'AssignedLearnerCreditAccessPolicy' }), false],
    [
      'enrollment cap reached',
      withPolicy({
        type: 'PerLearnerEnrollmentCreditAccessPolicy',
        perLearnerSpendLimit: null,
        perLearnerEnrollmentLimit: 1,
      }),
      false,
    ],
  ])('%s', (_name, facts, expected) => {
    expect(creditAvailable(facts)).toBe(expected);
  });

  it('remaining balance per user: cents for spend caps, a count for enrollment caps, null without a cap', () => {
    expect(remainingBalancePerUser(base)).toBe(2_000);
    expect(remainingBalancePerUser({ ...base, learnerSpent: -5_000 })).toBe(0);
    expect(
      remainingBalancePerUser(
        withPolicy({
          type: 'PerLearnerEnrollmentCreditAccessPolicy',
          perLearnerSpendLimit: null,
          perLearnerEnrollmentLimit: 3,
        }),
      ),
    ).toBe(2);
    expect(remainingBalancePerUser(withPolicy({ perLearnerSpendLimit: null }))).toBeNull();
  });
});
