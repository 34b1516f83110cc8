import { describe, expect, it } from 'vitest';
import {
  chunkCount,
  chunkRange,
  chunkSizes,
  MAX_PAIRS_PER_CHUNK,
  pairsIn,
} from '../../src/access/bulk-enrollment/chunks';
import { CSV_HEADER, resultsCsv } from '../../src/access/bulk-enrollment/csv';
import { decideChunk, type LicenseFact, licenseFor, MISSING } from '../../src/access/bulk-enrollment/licensing';
import { countOutcomes, groupOutcomes, LMS_NOTES, outcomesOf } from '../../src/access/bulk-enrollment/lms-outcomes';
import {
  parseBulkEnrollmentQuery,
  parseBulkEnrollmentRequest,
  SUBSCRIPTION_REQUIRED,
  TOO_MANY_PAIRS,
  tooManyPairs,
} from '../../src/access/bulk-enrollment/request';
import { HttpError } from '../../src/lib/http-errors';

/** Pure rules of bulk license enrollment (licenses-and-enrollment §6.1, §6.3, §6.4, §11). */

describe('chunks: course chunks outside, email chunks inside (upstream §6.3), 25 × 25 by default', () => {
  it('covers every pair exactly once, in order', () => {
    for (const [emails, courses, ec, cc] of [
      [1, 1, 25, 25],
      [26, 3, 25, 25],
      [400, 25, 25, 25],
      [7, 60, 3, 25],
      [10_000, 1, 25, 25],
    ] as const) {
      const shape = { email_count: emails, course_count: courses, emails_per_chunk: ec, courses_per_chunk: cc };
      const seen = new Set<string>();
      let pairs = 0;
      for (let i = 0; i < chunkCount(shape); i++) {
        const r = chunkRange(shape, i);
        expect(r.index).toBe(i);
        pairs += pairsIn(r);
        for (let e = r.email_from; e < r.email_to; e++)
          for (let c = r.course_from; c < r.course_to; c++) seen.add(`${e}/${c}`);
      }
      expect(pairs).toBe(emails * courses);
      expect(seen.size).toBe(emails * courses);
    }
  });

  it('walks the emails inside each course chunk', () => {
    const shape = { email_count: 60, course_count: 30, emails_per_chunk: 25, courses_per_chunk: 25 };
    expect(chunkCount(shape)).toBe(6);
    expect([0, 1, 2, 3].map((i) => chunkRange(shape, i))).toEqual([
      { index: 0, email_from: 0, email_to: 25, course_from: 0, course_to: 25 },
      { index: 1, email_from: 25, email_to: 50, course_from: 0, course_to: 25 },
      { index: 2, email_from: 50, email_to: 60, course_from: 0, course_to: 25 },
      { index: 3, email_from: 0, email_to: 25, course_from: 25, course_to: 30 },
    ]);
    expect(() => chunkRange(shape, 6)).toThrow(RangeError);
    expect(chunkCount({ ...shape, email_count: 0 })).toBe(0);
  });

  it('keeps a chunk within the lms limit of 1000 items', () => {
    expect(chunkSizes()).toEqual({ emails_per_chunk: 25, courses_per_chunk: 25 });
    expect(chunkSizes(100, 25)).toEqual({ emails_per_chunk: 40, courses_per_chunk: 25 });
    expect(chunkSizes(5000, 5000)).toEqual({ emails_per_chunk: 1, courses_per_chunk: MAX_PAIRS_PER_CHUNK });
    expect(chunkSizes(0, Number.NaN)).toEqual({ emails_per_chunk: 25, courses_per_chunk: 25 });
  });
});

const lic = (o: Partial<LicenseFact> & { license_uuid: string }): LicenseFact => ({
  status: 'activated',
  plan_is_active: true,
  plan_is_current: true,
  expiration_date: '2030-01-01T00:00:00Z',
  enterprise_catalog_uuid: 'cat-a',
  ...o,
});
const catalogs: Record<string, string[]> = { 'cat-a': ['run-1', 'run-2'], 'cat-b': ['run-2', 'run-3'] };
const inCatalog = (catalog: string, course: string) => (catalogs[catalog] ?? []).includes(course);

describe('licenseFor: the license check, with upstream gaps closed (§6.4)', () => {
  const cases: Array<[string, LicenseFact[], string, ReturnType<typeof licenseFor>]> = [
    ['no license at all', [], 'run-1', { missing: MISSING.none }],
    [
      'an activated license whose catalog has the course',
      [lic({ license_uuid: 'L1' })],
      'run-1',
      { license_uuid: 'L1' },
    ],
    [
      'an assigned license counts too',
      [lic({ license_uuid: 'L1', status: 'assigned' })],
      'run-1',
      { license_uuid: 'L1' },
    ],
    [
      'a revoked license does not (upstream matched it)',
      [lic({ license_uuid: 'L1', status: 'revoked' })],
      'run-1',
      { missing: MISSING.revoked },
    ],
    [
      'an expired plan does not (upstream ignored plan dates)',
      [lic({ license_uuid: 'L1', plan_is_current: false })],
      'run-1',
      { missing: MISSING.planNotCurrent },
    ],
    [
      'an inactive plan does not',
      [lic({ license_uuid: 'L1', plan_is_active: false })],
      'run-1',
      { missing: MISSING.planNotCurrent },
    ],
    [
      'the course must be in the plan catalog',
      [lic({ license_uuid: 'L1' })],
      'run-3',
      { missing: MISSING.notInCatalog },
    ],
    [
      'the latest-expiring usable license wins (one entry, not one per license)',
      [
        lic({ license_uuid: 'early', expiration_date: '2027-01-01T00:00:00Z', enterprise_catalog_uuid: 'cat-b' }),
        lic({ license_uuid: 'late', expiration_date: '2031-01-01T00:00:00Z', enterprise_catalog_uuid: 'cat-b' }),
      ],
      'run-2',
      { license_uuid: 'late' },
    ],
    [
      'a license whose catalog lacks the course is passed over for one that has it',
      [
        lic({ license_uuid: 'late', expiration_date: '2031-01-01T00:00:00Z', enterprise_catalog_uuid: 'cat-a' }),
        lic({ license_uuid: 'early', expiration_date: '2027-01-01T00:00:00Z', enterprise_catalog_uuid: 'cat-b' }),
      ],
      'run-3',
      { license_uuid: 'early' },
    ],
    [
      'at equal expiry an activated license before an assigned one',
      [lic({ license_uuid: 'assigned', status: 'assigned' }), lic({ license_uuid: 'activated' })],
      'run-1',
      { license_uuid: 'activated' },
    ],
    [
      'a revoked license beside an expired one says the plan',
      [lic({ license_uuid: 'r', status: 'revoked' }), lic({ license_uuid: 'x', plan_is_current: false })],
      'run-1',
      { missing: MISSING.planNotCurrent },
    ],
  ];
  it.each(cases)('%s', (_name, licenses, course, expected) => {
    expect(licenseFor(licenses, course, inCatalog)).toEqual(expected);
  });

  it('decides a chunk: licensed pairs carry their license, the rest fail with the reason', () => {
    const pairs = [
      { email_index: 0, course_index: 0, email: 'ada@example.com', course_run_key: 'run-1' },
      { email_index: 0, course_index: 1, email: 'ada@example.com', course_run_key: 'run-3' },
      { email_index: 1, course_index: 0, email: 'Bob@Example.com', course_run_key: 'run-1' },
    ];
    const held: Record<string, LicenseFact[]> = { 'ada@example.com': [lic({ license_uuid: 'L-ada' })] };
    const { licensed, missing } = decideChunk(pairs, (e) => held[e] ?? [], inCatalog);
    expect(licensed).toEqual([{ ...pairs[0], license_uuid: 'L-ada' }]);
    expect(missing).toEqual([
      { email_index: 0, course_index: 1, status: 'failed', notes: MISSING.notInCatalog, license_uuid: null },
      { email_index: 1, course_index: 0, status: 'failed', notes: MISSING.none, license_uuid: null },
    ]);
    expect(Object.values(MISSING).every((n) => n.startsWith('missing subscription'))).toBe(true);
  });
});

describe('outcomesOf: the lms answer, one outcome per pair sent (§6.3)', () => {
  const sent = [
    { email_index: 0, course_index: 0, email: 'ada@example.com', course_run_key: 'r1', license_uuid: 'L0' },
    { email_index: 1, course_index: 0, email: 'bob@example.com', course_run_key: 'r1', license_uuid: 'L1' },
    { email_index: 2, course_index: 0, email: 'cy@example.com', course_run_key: 'r1', license_uuid: 'L2' },
    { email_index: 3, course_index: 0, email: 'bad@', course_run_key: 'r1', license_uuid: 'L3' },
    { email_index: 4, course_index: 0, email: 'dee@example.com', course_run_key: 'r1', license_uuid: 'L4' },
  ];
  it('maps successes, pending, failures, invalid emails, and says so for a pair not reported', () => {
    const outcomes = outcomesOf(sent, {
      successes: [{ email: 'ADA@example.com', course_run_key: 'r1' }],
      pending: [{ email: 'bob@example.com', course_run_key: 'r1' }],
      failures: [{ email: 'cy@example.com', course_run_key: 'r1' }],
      invalid_email_addresses: ['bad@'],
    });
    expect(outcomes.map((o) => [o.email_index, o.status, o.notes, o.license_uuid])).toEqual([
      [0, 'success', '', 'L0'],
      [1, 'pending', LMS_NOTES.pending, 'L1'],
      [2, 'failed', LMS_NOTES.failed, 'L2'],
      [3, 'failed', LMS_NOTES.invalidEmail, 'L3'],
      [4, 'failed', LMS_NOTES.unanswered, 'L4'],
    ]);
    expect(countOutcomes(outcomes)).toEqual({ success: 1, pending: 1, failed: 3 });
  });
});

describe('groupOutcomes: a chunk’s outcomes for the trip to the api', () => {
  it('groups pairs with the same outcome, each by its position in the chunk (emails outside)', () => {
    const chunk = { index: 3, email_from: 10, email_to: 12, course_from: 4, course_to: 7 };
    const o = (e: number, c: number, status: 'success' | 'pending' | 'failed', license: string | null) => ({
      email_index: e,
      course_index: c,
      status,
      notes: status === 'failed' ? 'x' : '',
      license_uuid: license,
    });
    const groups = groupOutcomes(chunk, [
      o(10, 4, 'success', 'L1'),
      o(10, 5, 'success', 'L1'),
      o(10, 6, 'failed', null),
      o(11, 4, 'pending', 'L2'),
      o(11, 5, 'pending', 'L2'),
      o(11, 6, 'failed', null),
    ]);
    expect(groups).toEqual([
      { status: 'success', notes: '', license_uuid: 'L1', pairs: [0, 1] },
      { status: 'failed', notes: 'x', license_uuid: null, pairs: [2, 5] },
      { status: 'pending', notes: '', license_uuid: 'L2', pairs: [3, 4] },
    ]);
  });
});

describe('the request (§6.1): fields, messages, the size guard', () => {
  const customer = '5f0e8b52-0d3f-4c0e-9a43-2f0c1a7b2d11';
  const valid = { enterprise_customer_uuid: customer, emails: ['a@x.com'], course_run_keys: ['k'], notify: true };
  it('normalises: emails lower-cased and each once, course keys each once', () => {
    const r = parseBulkEnrollmentRequest({
      ...valid,
      emails: ['Ada@Example.com', 'ada@example.com', ' bob@example.com '],
      course_run_keys: ['k1', 'k1', 'k2'],
    });
    expect(r).toEqual({
      ok: true,
      request: {
        enterprise_customer_uuid: customer,
        subscription_uuid: null,
        enroll_all: false,
        emails: ['ada@example.com', 'bob@example.com'],
        course_run_keys: ['k1', 'k2'],
        notify: true,
      },
    });
  });

  it.each([
    ['no body fields', {}, { emails: ['This field is required.'], course_run_keys: ['This field is required.'] }],
    ['empty emails', { emails: [] }, { emails: ['This list may not be empty.'] }],
    ['a bad email', { emails: ['ok@x.com', 'nope'] }, { emails: { '1': ['Enter a valid email address.'] } }],
    ['emails not a list', { emails: 'a@x.com' }, { emails: ['Expected a list of items but got type "str".'] }],
    ['a blank course key', { course_run_keys: [' '] }, { course_run_keys: { '0': ['This field may not be blank.'] } }],
    ['notify not a boolean', { notify: 'maybe' }, { notify: ['Must be a valid boolean.'] }],
    ['enroll_all without a plan', { enroll_all: true }, { subscription_id: [SUBSCRIPTION_REQUIRED] }],
  ])('%s → 400 naming the field', (_name, change, errors) => {
    const r = parseBulkEnrollmentRequest(
      Object.keys(change).length ? { ...valid, ...change } : { enterprise_customer_uuid: customer },
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toMatchObject(errors);
  });

  it('reads the query: enroll_all needs subscription_uuid (upstream key subscription_id); false enrolls nobody extra', () => {
    const plan = '0b7c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
    expect(parseBulkEnrollmentQuery({})).toEqual({ subscription_uuid: null, enroll_all: false });
    expect(parseBulkEnrollmentQuery({ subscription_uuid: plan, enroll_all: 'true' })).toEqual({
      subscription_uuid: plan,
      enroll_all: true,
    });
    expect(parseBulkEnrollmentQuery({ subscription_uuid: plan, enroll_all: 'false' }).enroll_all).toBe(false);
    const errorOf = (q: Record<string, unknown>) => {
      try {
        parseBulkEnrollmentQuery(q);
        return null;
      } catch (err) {
        return (err as HttpError).body;
      }
    };
    expect(errorOf({ enroll_all: 'true' })).toEqual({ subscription_id: [SUBSCRIPTION_REQUIRED] });
    expect(errorOf({ enroll_all: 'false' })).toEqual({ subscription_id: [SUBSCRIPTION_REQUIRED] });
    expect(errorOf({ subscription_uuid: 'x' })).toEqual({ subscription_uuid: ['Must be a valid UUID.'] });
    expect(errorOf({ subscription_uuid: plan, enroll_all: 'perhaps' })).toEqual({
      enroll_all: ['Must be a valid boolean.'],
    });
    expect(new HttpError(400, {})).toBeInstanceOf(Error);
  });

  it('guards the size on the submitted emails × course keys', () => {
    const body = { emails: ['a', 'b', 'c'], course_run_keys: ['1', '2'], notify: true };
    expect(tooManyPairs(body, 6)).toBe(false);
    expect(tooManyPairs(body, 5)).toBe(true);
    expect(TOO_MANY_PAIRS).toBe('Too many provided enrollments, please try a smaller request.');
  });
});

describe('the results CSV (§6.2): upstream columns, safe quoting', () => {
  it('writes a header and one row per pair', () => {
    const csv = resultsCsv([
      { email: 'ada@example.com', course_run_key: 'course-v1:edX+A+1', status: 'success', notes: '' },
      { email: 'bob@example.com', course_run_key: 'k,2', status: 'failed', notes: 'said "no"' },
      { email: '=cmd@example.com', course_run_key: 'k', status: 'pending', notes: 'pending license activation' },
    ]);
    expect(csv.split('\r\n')).toEqual([
      CSV_HEADER.join(','),
      'ada@example.com,course-v1:edX+A+1,success,',
      'bob@example.com,"k,2",failed,"said ""no"""',
      "'=cmd@example.com,k,pending,pending license activation",
      '',
    ]);
    expect(CSV_HEADER.join(',')).toBe('email address,course key,enrollment status,notes');
  });
});
