import { describe, expect, it } from 'vitest';
import {
  normalizeAssignment,
  notEnoughLicensesMessage,
  splitAlreadyAssociated,
} from '../../src/services/license-manager/assignment-rules';
import {
  type ActivationOutcome,
  activationOutcome,
  compareLearnerLicenses,
  type LicenseAction,
  transition,
} from '../../src/services/license-manager/license-transitions';
import {
  afterRevocation,
  checkRevocation,
  enoughRevocationsFor,
  pickLicenseToRevoke,
  planRevocations,
  type RevocationCap,
  revocationsRemaining,
  revocationsView,
} from '../../src/services/license-manager/revocation-rules';
import type { LicenseStatus } from '../../src/services/license-manager/schema';

/** Pure rules of the license lifecycle (spec §3, 5.7, 5.9): no I/O, tables of cases. */

describe('license state machine (spec §3)', () => {
  const cases: Array<[LicenseStatus, LicenseAction, LicenseStatus | null]> = [
    ['unassigned', 'assign', 'assigned'],
    ['assigned', 'assign', null],
    ['activated', 'assign', null],
    ['revoked', 'assign', null],
    ['assigned', 'activate', 'activated'],
    ['unassigned', 'activate', null],
    ['revoked', 'activate', null],
    ['unassigned', 'auto_apply', 'activated'],
    ['assigned', 'auto_apply', null],
    ['assigned', 'revoke', 'revoked'],
    ['activated', 'revoke', 'revoked'],
    ['unassigned', 'revoke', null],
    ['revoked', 'revoke', null],
  ];
  it.each(cases)('%s --%s--> %s', (from, action, to) => {
    const t = transition(from, action);
    if (to === null) {
      expect(t.ok).toBe(false);
      if (!t.ok) expect(t.reason).toContain(`status of ${from}`);
    } else {
      expect(t).toEqual({ ok: true, to });
    }
  });

  const outcomes: Array<[LicenseStatus, ActivationOutcome]> = [
    ['assigned', 'activate'],
    ['activated', 'already_activated'],
    ['revoked', 'refuse_revoked'],
    ['unassigned', 'refuse_revoked'],
  ];
  it.each(outcomes)('activating a %s license: %s (spec 5.11)', (status, outcome) => {
    expect(activationOutcome(status)).toBe(outcome);
  });

  it('learner order: activated, assigned, revoked; within a status the plan expiring last first (§9.28)', () => {
    const rows = [
      { id: 1, status: 'assigned' as const, expiration_date: '2030-01-01T00:00:00Z' },
      { id: 2, status: 'activated' as const, expiration_date: '2029-01-01T00:00:00Z' },
      { id: 3, status: 'revoked' as const, expiration_date: '2031-01-01T00:00:00Z' },
      { id: 4, status: 'activated' as const, expiration_date: '2032-01-01T00:00:00Z' },
    ];
    expect([...rows].sort(compareLearnerLicenses).map((r) => r.id)).toEqual([4, 2, 1, 3]);
  });
});

describe('revocation cap (spec §2.3, 5.9)', () => {
  const cap = (over: Partial<RevocationCap> = {}): RevocationCap => ({
    enabled: true,
    maxPercentage: 5,
    applied: 0,
    total: 100,
    ...over,
  });

  const remaining: Array<[string, Partial<RevocationCap>, number]> = [
    ['cap off: unlimited', { enabled: false, maxPercentage: 0 }, Number.POSITIVE_INFINITY],
    ['5% of 100', {}, 5],
    ['5% of 5 rounds up to 1', { total: 5 }, 1],
    ['5% of 0 licenses', { total: 0 }, 0],
    ['0%', { maxPercentage: 0 }, 0],
    ['100% of 7', { maxPercentage: 100, total: 7 }, 7],
    ['33% of 3 = ceil(0.99)', { maxPercentage: 33, total: 3 }, 1],
    ['10% of 70: exactly 7, no float drift', { maxPercentage: 10, total: 70 }, 7],
    ['applied subtracts', { applied: 2 }, 3],
    ['lowered percentage goes negative', { maxPercentage: 1, applied: 3 }, -2],
  ];
  it.each(remaining)('remaining: %s', (_name, over, expected) => {
    expect(revocationsRemaining(cap(over))).toBe(expected);
  });

  it('the representation: null when off, {applied, remaining} when on', () => {
    expect(revocationsView(cap({ enabled: false }))).toBeNull();
    expect(revocationsView(cap({ applied: 1 }))).toEqual({ applied: 1, remaining: 4 });
  });

  const checks: Array<[string, Partial<RevocationCap>, LicenseStatus, 'cap' | 'free' | 'limit' | 'status']> = [
    ['activated, cap on, room left: uses the cap', {}, 'activated', 'cap'],
    ['assigned, cap on: free', {}, 'assigned', 'free'],
    ['assigned, cap used up: still free', { applied: 5 }, 'assigned', 'free'],
    ['activated, cap used up: refused', { applied: 5 }, 'activated', 'limit'],
    ['activated, cap off: free', { enabled: false }, 'activated', 'free'],
    ['revoked: not revocable', {}, 'revoked', 'status'],
    ['unassigned: not revocable', {}, 'unassigned', 'status'],
  ];
  it.each(checks)('checkRevocation: %s', (_name, over, status, expected) => {
    const r = checkRevocation(cap(over), status);
    if (expected === 'cap' || expected === 'free') expect(r).toEqual({ ok: true, usesCap: expected === 'cap' });
    else if (!r.ok) {
      expect(r.reason).toBe(
        expected === 'limit'
          ? 'License revocation limit has been reached'
          : `License with status of ${status} cannot be revoked`,
      );
    } else expect.fail('expected a refusal');
  });

  it('the bulk pre-check counts every requested email, even free ones (upstream)', () => {
    expect(enoughRevocationsFor(cap({ total: 20 }), 1)).toBe(true);
    expect(enoughRevocationsFor(cap({ total: 20 }), 2)).toBe(false);
    expect(enoughRevocationsFor(cap({ maxPercentage: 0 }), 1)).toBe(false);
    expect(enoughRevocationsFor(cap({ enabled: false, maxPercentage: 0 }), 10_000)).toBe(true);
  });

  it('a revocation that uses the cap bumps `applied`; the plan size stays (a fresh license replaces it)', () => {
    expect(afterRevocation(cap(), true)).toEqual(cap({ applied: 1 }));
    expect(afterRevocation(cap(), false)).toEqual(cap());
  });

  const picks: Array<[string, Array<{ uuid: string; status: LicenseStatus }>, string | undefined]> = [
    ['none', [], undefined],
    ['only revoked', [{ uuid: 'a', status: 'revoked' }], undefined],
    [
      'assigned preferred over activated (§9.17)',
      [
        { uuid: 'a', status: 'activated' },
        { uuid: 'b', status: 'assigned' },
      ],
      'b',
    ],
    [
      'two activated: the smallest uuid (§9.18)',
      [
        { uuid: 'c', status: 'activated' },
        { uuid: 'b', status: 'activated' },
      ],
      'b',
    ],
  ];
  it.each(picks)('pickLicenseToRevoke: %s', (_name, licenses, expected) => {
    expect(pickLicenseToRevoke(licenses)?.uuid).toBe(expected);
  });
});

describe('bulk-revoke decisions, email by email (spec 5.9, §9.17, §9.22, §9.23)', () => {
  const cap: RevocationCap = { enabled: true, maxPercentage: 20, applied: 0, total: 5 }; // 1 revocation
  const licenses = new Map<string, Array<{ uuid: string; status: LicenseStatus }>>([
    ['a@x.com', [{ uuid: 'u-a', status: 'activated' }]],
    ['b@x.com', [{ uuid: 'u-b', status: 'activated' }]],
    ['c@x.com', [{ uuid: 'u-c', status: 'assigned' }]],
  ]);
  const cases: Array<[string, RevocationCap, string[], string[], Array<[string, number]>, number]> = [
    ['all found, cap off', { ...cap, enabled: false }, ['a@x.com', 'c@x.com'], ['u-a', 'u-c'], [], 0],
    ['one missing → a 404 entry, the other revoked', cap, ['c@x.com', 'z@x.com'], ['u-c'], [['z@x.com', 404]], 0],
    [
      'the cap runs out mid-request → a 400 entry for the activated one after it',
      cap,
      ['a@x.com', 'c@x.com', 'b@x.com'],
      ['u-a', 'u-c'],
      [['b@x.com', 400]],
      1,
    ],
  ];
  it.each(cases)('%s', (_name, start, emails, revoked, failed, used) => {
    const r = planRevocations(start, 'plan-1', emails, licenses);
    expect(r.successes.map((s) => s.license_uuid)).toEqual(revoked);
    expect(r.failures.map((f) => [f.user_email, f.error_response_status])).toEqual(failed);
    expect(r.cap.applied - start.applied).toBe(used);
  });

  it('words the failures as upstream does', () => {
    const r = planRevocations(cap, 'plan-1', ['z@x.com', 'a@x.com', 'b@x.com'], licenses);
    expect(r.failures.map((f) => f.error)).toEqual([
      "No license for email z@x.com exists in plan plan-1 with a status in ['activated', 'assigned']. user_email: z@x.com",
      'Action: license revocation failed for license: u-b because: License revocation limit has been reached. ' +
        'user_email: b@x.com',
    ]);
    expect(r.successes).toEqual([{ license_uuid: 'u-a', original_status: 'activated', user_email: 'a@x.com' }]);
  });
});

describe('assignment rules (spec 5.7)', () => {
  const normalized: Array<[string, string[], Array<string | null> | undefined, string[], Record<string, string>]> = [
    [
      'lower-cased, first position kept (§9.12)',
      ['B@x.com', 'a@x.com', 'b@X.com'],
      undefined,
      ['b@x.com', 'a@x.com'],
      {},
    ],
    ['trimmed', ['  a@x.com '], undefined, ['a@x.com'], {}],
    [
      'sfids: blank and null make no source (§9.13)',
      ['a@x.com', 'b@x.com', 'c@x.com'],
      ['00k000000000000001', ' ', null],
      ['a@x.com', 'b@x.com', 'c@x.com'],
      { 'a@x.com': '00k000000000000001' },
    ],
    [
      'sfids: a repeated email takes the last id given for it',
      ['a@x.com', 'A@x.com'],
      ['00k000000000000001', '00k000000000000002'],
      ['a@x.com'],
      { 'a@x.com': '00k000000000000002' },
    ],
  ];
  it.each(normalized)('normalizeAssignment: %s', (_name, emails, sfids, expectedEmails, expectedSfids) => {
    const r = normalizeAssignment(emails, sfids);
    expect(r.emails).toEqual(expectedEmails);
    expect(Object.fromEntries(r.sfidByEmail)).toEqual(expectedSfids);
  });

  it('splits off emails that already hold a seat (§9.11)', () => {
    expect(splitAlreadyAssociated(['a', 'b', 'c'], new Set(['b']))).toEqual({ toAssign: ['a', 'c'], already: ['b'] });
  });

  it("keeps upstream's message word for word", () => {
    expect(notEnoughLicensesMessage(3, 1)).toBe(
      'There are not enough licenses that can be assigned to complete your request.' +
        'You attempted to assign 3 licenses, but there are only 1 potentially available.',
    );
  });
});
