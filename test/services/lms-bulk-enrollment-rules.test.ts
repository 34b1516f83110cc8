import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/lib/http-errors';
import {
  BOTH_INFOS,
  BOTH_SUBSIDIES,
  type EnrollmentItem,
  itemRuleError,
  MAX_ITEMS,
  NO_IDENTIFIER,
  NO_INFO,
  NO_SUBSIDY,
  parseBulkEnrollmentRequest,
  type Subsidy,
} from '../../src/services/lms/bulk-enrollment-request';
import {
  type BulkEnrollmentResponse,
  bucketOutcomes,
  bulkEnrollmentStatus,
  decideExisting,
  type ExistingDecision,
  isValidEmail,
  newlyEnrolledByCourse,
  type Outcome,
  resolveTargets,
  settlePair,
  stateAfter,
} from '../../src/services/lms/bulk-enrollment-rules';

/** Pure rules of enroll_learners_in_courses (licenses-and-enrollment §7), without a database. */

const L1 = '11111111-1111-4111-8111-111111111111';
const L2 = '22222222-2222-4222-8222-222222222222';
const T1 = '33333333-3333-4333-8333-333333333333';
const COURSE = 'course-v1:edX+DemoX+2025';
const lic = (license_uuid: string): Subsidy => ({ license_uuid, transaction_id: null });
const txn = (transaction_id: string): Subsidy => ({ license_uuid: null, transaction_id });
const NONE: Subsidy = { license_uuid: null, transaction_id: null };

/** The 400 body `parseBulkEnrollmentRequest` throws for `body`, or 'ok'. */
function errorsOf(body: unknown): unknown {
  try {
    parseBulkEnrollmentRequest(body);
    return 'ok';
  } catch (err) {
    if (!(err instanceof HttpError) || err.statusCode !== 400) throw err;
    return err.body;
  }
}

describe('request validation matrix (§7.2, checklist 43)', () => {
  const item = { email: 'a@example.com', course_run_key: COURSE, license_uuid: L1 };
  const cases: Array<[string, unknown, unknown]> = [
    ['neither list', { notify: true }, { non_field_errors: [NO_INFO] }],
    ['both lists empty', { licenses_info: [], enrollments_info: [] }, { non_field_errors: [NO_INFO] }],
    ['both lists given', { licenses_info: [item], enrollments_info: [item] }, { non_field_errors: [BOTH_INFOS] }],
    [
      'a dict instead of a list',
      { licenses_info: item },
      { licenses_info: { non_field_errors: ['Expected a list of items but got type "dict".'] } },
    ],
    [
      'a string instead of a list',
      { enrollments_info: 'x' },
      { enrollments_info: { non_field_errors: ['Expected a list of items but got type "str".'] } },
    ],
    ['a null list', { licenses_info: null }, { licenses_info: ['This field may not be null.'] }],
    [
      'no subsidy id',
      { licenses_info: [{ email: 'a@example.com', course_run_key: COURSE }] },
      { licenses_info: [{ non_field_errors: [NO_SUBSIDY] }] },
    ],
    [
      'both subsidy ids',
      { enrollments_info: [{ ...item, transaction_id: T1 }] },
      { enrollments_info: [{ non_field_errors: [BOTH_SUBSIDIES] }] },
    ],
    [
      'no user identifier',
      { licenses_info: [{ course_run_key: COURSE, license_uuid: L1 }] },
      { licenses_info: [{ non_field_errors: [NO_IDENTIFIER] }] },
    ],
    [
      'only the bad item of several is reported, at its position',
      { licenses_info: [item, { ...item, course_run_key: undefined }, item] },
      { licenses_info: [{}, { course_run_key: ['This field is required.'] }, {}] },
    ],
    [
      'field errors come before the item rules',
      { licenses_info: [{ user_id: 'x', course_run_key: COURSE }] },
      { licenses_info: [{ user_id: ['A valid integer is required.'] }] },
    ],
    [
      'any course run key is a CharField; a subsidy id that is no uuid fails the item once its rules pass',
      { licenses_info: [{ email: 'a@example.com', course_run_key: 'DemoX', license_uuid: 'L1' }] },
      { licenses_info: [{ non_field_errors: ['license_uuid: “L1” is not a valid UUID.'] }] },
    ],
    [
      'an item that is not an object',
      { licenses_info: ['a@example.com', 7] },
      {
        licenses_info: [
          { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] },
          { non_field_errors: ['Invalid data. Expected a dictionary, but got int.'] },
        ],
      },
    ],
    [
      'blank email, non-boolean flags',
      { licenses_info: [{ ...item, email: '  ', force_enrollment: 'maybe', is_default_auto_enrollment: 3 }] },
      {
        licenses_info: [
          {
            email: ['This field may not be blank.'],
            force_enrollment: ['Must be a valid boolean.'],
            is_default_auto_enrollment: ['Must be a valid boolean.'],
          },
        ],
      },
    ],
    [
      'top-level fields',
      { licenses_info: [item], notify: 'loud', discount: '12.1234567' },
      { notify: ['Must be a valid boolean.'], discount: ['Ensure that there are no more than 5 decimal places.'] },
    ],
    [
      'discount over 100',
      { licenses_info: [item], discount: 101 },
      { discount: ['Ensure this value is less than or equal to 100.'] },
    ],
    [
      'discount not a number',
      { licenses_info: [item], discount: 'all' },
      { discount: ['A valid number is required.'] },
    ],
    [
      'too many items',
      { licenses_info: Array.from({ length: MAX_ITEMS + 1 }, () => item) },
      { licenses_info: { non_field_errors: [`Ensure this field has no more than ${MAX_ITEMS} elements.`] } },
    ],
    [
      'a body that is not an object',
      [item],
      { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] },
    ],
    ['valid licenses_info', { licenses_info: [item] }, 'ok'],
    [
      'valid enrollments_info with user_id only',
      { enrollments_info: [{ user_id: 7, course_run_key: COURSE, transaction_id: T1 }] },
      'ok',
    ],
    ['one list empty, the other not', { licenses_info: [], enrollments_info: [item] }, 'ok'],
    ['at most 1000 items', { licenses_info: Array.from({ length: MAX_ITEMS }, () => item) }, 'ok'],
  ];
  it.each(cases)('%s', (_name, body, expected) => {
    expect(errorsOf(body)).toEqual(expected);
  });

  it('keeps the fields it uses, drops unknown keys (activation_link, mode), lower-cases subsidy ids, defaults', () => {
    const req = parseBulkEnrollmentRequest({
      licenses_info: [
        {
          email: ' Ada@Example.com ',
          course_run_key: COURSE,
          license_uuid: L1.toUpperCase(),
          activation_link: 'https://x',
          mode: 'verified',
        },
        { user_id: '7', course_run_key: COURSE, transaction_id: T1, force_enrollment: 'true' },
      ],
      reason: 'r',
      salesforce_id: 's',
    });
    expect(req).toEqual({
      notify: false,
      discount: '100',
      items: [
        { index: 0, email: 'Ada@Example.com', course_run_key: COURSE, subsidy: lic(L1), force_enrollment: false },
        { index: 1, user_id: 7, course_run_key: COURSE, subsidy: txn(T1), force_enrollment: true },
      ],
    });
  });

  const rules: Array<[string, Parameters<typeof itemRuleError>[0], string | undefined]> = [
    ['email and license', { email: 'a@x.org', license_uuid: L1 }, undefined],
    ['user_id and transaction', { user_id: 3, transaction_id: T1 }, undefined],
    ['user_id 0 counts as none (upstream tests truthiness)', { user_id: 0, license_uuid: L1 }, NO_IDENTIFIER],
    ['identifier checked before subsidy', {}, NO_IDENTIFIER],
    ['no subsidy', { email: 'a@x.org' }, NO_SUBSIDY],
    ['two subsidies', { email: 'a@x.org', license_uuid: L1, transaction_id: T1 }, BOTH_SUBSIDIES],
  ];
  it.each(rules)('item rule: %s', (_name, item, expected) => {
    expect(itemRuleError(item)).toBe(expected);
  });
});

describe('resolving learners (§7.3 steps 2–4)', () => {
  const item = (index: number, fields: Partial<EnrollmentItem>): EnrollmentItem => ({
    index,
    course_run_key: COURSE,
    subsidy: lic(L1),
    force_enrollment: false,
    ...fields,
  });
  const users = new Map([
    [1, { id: 1, email: 'Ada@example.com' }],
    [2, { id: 2, email: 'bob@example.com' }],
  ]);

  it('unknown user ids and malformed emails are reported once each and their items dropped', () => {
    const r = resolveTargets(
      [
        item(0, { user_id: 9999, email: 'valid@example.com' }),
        item(1, { user_id: 9999 }),
        item(2, { user_id: 9998 }),
        item(3, { email: 'BADLYFORMATTEDEMAIL' }),
        item(4, { email: 'badlyformattedemail' }),
        item(5, { email: 'new@example.com' }),
      ],
      users,
    );
    expect(r.invalidUserIds).toEqual([9999, 9998]);
    expect(r.invalidEmails).toEqual(['BADLYFORMATTEDEMAIL']);
    expect(r.linkEmails).toEqual(['new@example.com']);
    expect(r.targets.map((t) => t.item.index)).toEqual([5]);
  });

  it("user_id items use and link the user's own email; a different email alongside is a mismatch", () => {
    const r = resolveTargets(
      [
        item(0, { user_id: 1 }),
        item(1, { user_id: 1, email: 'ADA@EXAMPLE.COM' }),
        item(2, { user_id: 2, email: 'ada@example.com' }),
        item(3, { email: 'ada@EXAMPLE.com' }),
      ],
      users,
    );
    expect(r.linkEmails).toEqual(['Ada@example.com', 'bob@example.com']);
    expect(r.targets.map((t) => [t.email, t.userId, t.mismatch])).toEqual([
      ['Ada@example.com', 1, false],
      ['Ada@example.com', 1, false],
      ['bob@example.com', 2, true],
      ['ada@EXAMPLE.com', null, false],
    ]);
  });

  const emails: Array<[string, boolean]> = [
    ['a@example.com', true],
    ['first.last+tag@sub.example.org', true],
    ['BADLYFORMATTEDEMAIL', false],
    ['a@b', false],
    ['a b@example.com', false],
    [`${'a'.repeat(250)}@x.io`, false],
  ];
  it.each(emails)('isValidEmail(%s) = %s', (email, ok) => {
    expect(isValidEmail(email)).toBe(ok);
  });
});

describe('an existing enrollment against a bulk item (§7.3, §7.5)', () => {
  const cases: Array<[string, Subsidy & { is_active: boolean }, Subsidy, ExistingDecision, Subsidy, boolean]> = [
    [
      'inactive: re-activated under the new subsidy',
      { is_active: false, ...txn(T1) },
      txn(L2),
      'reactivate',
      txn(L2),
      true,
    ],
    ['inactive licensed, new license', { is_active: false, ...lic(L1) }, lic(L2), 'reactivate', lic(L2), true],
    ['active, same license: a repeat', { is_active: true, ...lic(L1) }, lic(L1), 'unchanged', lic(L1), false],
    ['active without subsidy: attached', { is_active: true, ...NONE }, lic(L1), 'attach', lic(L1), false],
    ['active, other license: conflict', { is_active: true, ...lic(L1) }, lic(L2), 'conflict', lic(L1), false],
    [
      'active learner credit, license asked: conflict',
      { is_active: true, ...txn(T1) },
      lic(L1),
      'conflict',
      txn(T1),
      false,
    ],
  ];
  it.each(cases)('%s', (_name, row, wanted, decision, subsidy, createdHere) => {
    expect(decideExisting(row, wanted)).toBe(decision);
    expect(stateAfter(row, wanted)).toEqual({ subsidy, createdHere });
  });

  it('items of one pair: created only for the first, and only if the call made it; other subsidies fail', () => {
    const items = [{ subsidy: lic(L1) }, { subsidy: lic(L2) }, { subsidy: lic(L1) }];
    expect(settlePair(items, { subsidy: lic(L1), createdHere: true })).toEqual([
      { ok: true, created: true },
      { ok: false, created: false },
      { ok: true, created: false },
    ]);
    expect(settlePair(items, { subsidy: lic(L1), createdHere: false }).map((s) => s.created)).toEqual([
      false,
      false,
      false,
    ]);
    // The first item conflicted with what exists: every item under that same subsidy fails too.
    expect(settlePair(items, { subsidy: lic(L2), createdHere: false }).map((s) => s.ok)).toEqual([false, true, false]);
  });
});

describe('response (§7.4)', () => {
  const success = (email: string, course: string, created: boolean): Outcome => ({
    kind: 'success',
    user_id: 1,
    email,
    course_run_key: course,
    created,
    activation_link: null,
    enterprise_fulfillment_source_uuid: L1,
  });
  const pending = (email: string, course: string, created: boolean): Outcome => ({
    kind: 'pending',
    email,
    course_run_key: course,
    created,
    activation_link: null,
  });
  const failure: Outcome = { kind: 'failure', user_id: null, email: 'f@x.org', course_run_key: COURSE };

  const statuses: Array<[string, Outcome[], string[], number[], 201 | 202 | 409]> = [
    ['all enrolled', [success('a@x.org', COURSE, true)], [], [], 201],
    ['all enrolled already (a repeat)', [success('a@x.org', COURSE, false)], [], [], 201],
    ['some pending', [success('a@x.org', COURSE, true), pending('b@x.org', COURSE, true)], [], [], 202],
    ['a failure beats pending', [pending('b@x.org', COURSE, true), failure], [], [], 409],
    ['an invalid email', [success('a@x.org', COURSE, true)], ['BAD'], [], 409],
    ['an invalid user id', [], [], [9999], 409],
    ['nothing at all', [], [], [], 201],
  ];
  it.each(statuses)('status: %s', (_name, outcomes, emails, ids, status) => {
    expect(bulkEnrollmentStatus(bucketOutcomes(outcomes, emails, ids))).toBe(status);
  });

  it('buckets in request order, without `kind`; the invalid lists only when not empty', () => {
    const res = bucketOutcomes([failure, success('a@x.org', COURSE, true), pending('b@x.org', COURSE, false)], [], []);
    expect(res).toEqual({
      successes: [
        {
          user_id: 1,
          email: 'a@x.org',
          course_run_key: COURSE,
          created: true,
          activation_link: null,
          enterprise_fulfillment_source_uuid: L1,
        },
      ],
      pending: [{ email: 'b@x.org', course_run_key: COURSE, created: false, activation_link: null }],
      failures: [{ user_id: null, email: 'f@x.org', course_run_key: COURSE }],
    });
    expect(bucketOutcomes([], ['BAD'], [7])).toEqual({
      successes: [],
      pending: [],
      failures: [],
      invalid_email_addresses: ['BAD'],
      invalid_user_ids: [7],
    });
  });

  it('notifies, per course, only the learners this call newly enrolled, each once', () => {
    const other = 'course-v1:edX+Other+2025';
    const res: BulkEnrollmentResponse = bucketOutcomes(
      [
        success('a@x.org', COURSE, true),
        success('old@x.org', COURSE, false),
        pending('b@x.org', COURSE, true),
        pending('B@x.org', COURSE, false),
        pending('c@x.org', other, false),
      ],
      [],
      [],
    );
    expect([...newlyEnrolledByCourse(res)]).toEqual([
      [
        COURSE,
        [
          { email: 'a@x.org', lms_user_id: 1 },
          { email: 'b@x.org', lms_user_id: null },
        ],
      ],
    ]);
  });
});
