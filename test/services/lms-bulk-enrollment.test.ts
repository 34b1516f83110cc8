import { randomBytes, randomUUID } from 'node:crypto';
import { type RawBuilder, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BulkEnrollmentResponse } from '../../src/services/lms/bulk-enrollment-rules';
import type { LmsDB } from '../../src/services/lms/schema';
import { type Page, serviceClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * edx-enterprise `enroll_learners_in_courses` over HTTP against the real lms service
 * (licenses-and-enrollment §7; the checklist items of §9 are named in the tests).
 */

let stack: TestStack;
let token: string;
beforeAll(async () => {
  stack = await startTestStack({ worker: false });
  token = await stack.operatorToken();
});
afterAll(async () => {
  await stack?.close();
});

const API = '/enterprise/api/v1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GHOST = '00000000-0000-4000-8000-00000000dead';
const NOT_FOUND = { detail: 'Not found.' };
const FORBIDDEN = { detail: 'You do not have permission to perform this action.' };

interface User {
  id: number;
  email: string;
}
type Result = BulkEnrollmentResponse;
interface Enrollment {
  uuid: string;
  lms_user_id: number;
  course_run_key: string;
  source: string;
  license_uuid: string | null;
  transaction_id: string | null;
  is_active: boolean;
}
type Item = Record<string, unknown>;

const { post, get } = serviceClient(
  () => stack.urls.lms,
  () => token,
);
const db = () => stack.db.database.forSchema<LmsDB>('lms');
const email = (who = 'learner') => `${who}-${randomBytes(4).toString('hex')}@example.com`;
const courseKey = () => `course-v1:edX+C${randomBytes(3).toString('hex')}+2025_T1`;
const enrollPath = (customer: string) => `${API}/enterprise-customer/${customer}/enroll_learners_in_courses/`;
const enroll = (customer: string, body: unknown, auth?: string | null) =>
  post<Result>(enrollPath(customer), body, auth);

async function newCustomer(): Promise<string> {
  const res = await post<{ uuid: string }>(`${API}/enterprise-customer/`, {
    name: 'Acme',
    slug: `c-${randomBytes(5).toString('hex')}`,
    country: 'US',
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.uuid;
}
async function newUser(address = email()): Promise<User> {
  const res = await post<User>('/api/user/v1/accounts', { email: address });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
const enrollmentsOf = async (customer: string, extra = '') =>
  (await get<Page<Enrollment>>(`${API}/enterprise-course-enrollment/?enterprise_customer_uuid=${customer}${extra}`))
    .body;

const count = async (query: RawBuilder<{ n: number }>) => Number((await query.execute(db())).rows[0]?.n ?? Number.NaN);
const enrollmentCount = (customer: string) =>
  count(sql<{ n: number }>`select count(*)::int as n from lms.enterprise_course_enrollments e
    join lms.enterprise_customer_users ecu on ecu.id = e.enterprise_customer_user
    where ecu.enterprise_customer = ${customer}`);
const pendingRows = (customer: string) =>
  db()
    .selectFrom('pending_enrollments as pe')
    .innerJoin('pending_enterprise_customer_users as pu', 'pu.id', 'pe.pending_user')
    .select([
      'pu.user_email',
      'pe.course_id',
      'pe.source',
      'pe.license_uuid',
      'pe.transaction_id',
      'pe.discount_percentage',
    ])
    .where('pu.enterprise_customer', '=', customer)
    .orderBy('pe.id')
    .execute();
const pendingLearners = (customer: string) =>
  db()
    .selectFrom('pending_enterprise_customer_users')
    .select('user_email')
    .where('enterprise_customer', '=', customer)
    .orderBy('id')
    .execute();
const notifications = (customer: string) =>
  db()
    .selectFrom('enrollment_notifications')
    .select(['course_id', 'learners', 'admin_enrollment'])
    .where('enterprise_customer', '=', customer)
    .orderBy('created')
    .execute();

describe('endpoint and auth (§7.1)', () => {
  it('401 without a token; 403 for a learner, a provisioning admin, an admin of another customer', async () => {
    const customer = await newCustomer();
    const res = await enroll(customer, {}, null);
    expect(res.status).toBe(401);
    for (const roles of [
      [`enterprise_learner:${customer}`],
      ['enterprise_provisioning_admin:*'],
      [`enterprise_admin:${GHOST}`],
    ]) {
      const denied = await enroll(customer, {}, await stack.token({ roles }));
      expect(denied.status, roles.join()).toBe(403);
      expect(denied.body).toEqual(FORBIDDEN);
    }
  });

  it('404 for an unknown, malformed or inactive customer, before the body is validated', async () => {
    const customer = await newCustomer();
    await db().updateTable('enterprise_customers').set({ active: false }).where('uuid', '=', customer).execute();
    for (const path of [GHOST, 'not-a-uuid', customer]) {
      const res = await enroll(path, {});
      expect(res.status, path).toBe(404);
      expect(res.body).toEqual(NOT_FOUND);
    }
  });

  it('an enterprise_admin enrolls into its own customer when linked to it; 404 when it is not linked', async () => {
    const customer = await newCustomer();
    const admin = await newUser();
    const body = { licenses_info: [{ email: email(), course_run_key: courseKey(), license_uuid: randomUUID() }] };
    const unlinked = await stack.token({ roles: [`enterprise_admin:${customer}`], userId: admin.id });
    expect((await enroll(customer, body, unlinked)).status).toBe(404);
    await post(`${API}/enterprise-learner/`, { enterprise_customer: customer, user_id: admin.id });
    const res = await enroll(customer, body, unlinked);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
  });
});

describe('request body (§7.2)', () => {
  it('checklist 43: the validation matrix answers 400 with the upstream bodies and writes nothing', async () => {
    const customer = await newCustomer();
    const item = { email: email(), course_run_key: courseKey(), license_uuid: randomUUID() };
    const cases: Array<[unknown, unknown]> = [
      [{}, { non_field_errors: ['Must include the `enrollment_info` parameter in request.'] }],
      [{ licenses_info: [] }, { non_field_errors: ['Must include the `enrollment_info` parameter in request.'] }],
      [
        { licenses_info: [item], enrollments_info: [item] },
        { non_field_errors: ['`licenses_info` must be ommitted if `enrollments_info` is present.'] },
      ],
      [
        { licenses_info: item },
        { licenses_info: { non_field_errors: ['Expected a list of items but got type "dict".'] } },
      ],
      [
        { licenses_info: [{ email: item.email, course_run_key: item.course_run_key }] },
        {
          licenses_info: [
            { non_field_errors: ['At least one subsidy info field [license_uuid or transaction_id] required.'] },
          ],
        },
      ],
      [
        { enrollments_info: [{ ...item, transaction_id: randomUUID() }] },
        {
          enrollments_info: [
            {
              non_field_errors: [
                'Enrollment info contains conflicting subsidy information: `license_uuid` and `transaction_id` found',
              ],
            },
          ],
        },
      ],
      [
        { licenses_info: [{ course_run_key: item.course_run_key, license_uuid: item.license_uuid }] },
        { licenses_info: [{ non_field_errors: ['At least one user identifier field [user_id or email] required.'] }] },
      ],
      [
        { licenses_info: [item, { ...item, course_run_key: '  ', user_id: 2 ** 40 }] },
        { licenses_info: [{}, { course_run_key: ['This field may not be blank.'] }] },
      ],
      ['just a string', { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] }],
    ];
    for (const [body, expected] of cases) {
      const res = await enroll(customer, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toEqual(expected);
    }
    expect(await enrollmentCount(customer)).toBe(0);
    expect(await pendingLearners(customer)).toEqual([]);
  });

  it('checklist 47: force_enrollment is taken per item (default false) and must be a boolean', async () => {
    const customer = await newCustomer();
    const user = await newUser();
    const [c1, c2] = [courseKey(), courseKey()];
    const license = randomUUID();
    const res = await enroll(customer, {
      licenses_info: [
        { user_id: user.id, course_run_key: c1, license_uuid: license, force_enrollment: true },
        { user_id: user.id, course_run_key: c2, license_uuid: license },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.successes.map((s) => s.created)).toEqual([true, true]);
    const bad = await enroll(customer, {
      licenses_info: [{ user_id: user.id, course_run_key: c1, license_uuid: license, force_enrollment: 'soon' }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ licenses_info: [{ force_enrollment: ['Must be a valid boolean.'] }] });
  });
});

describe('processing and response (§7.3, §7.4)', () => {
  it('checklist 44: a badly formatted email → 409 with only invalid_email_addresses', async () => {
    const customer = await newCustomer();
    const res = await enroll(customer, {
      licenses_info: [{ email: 'BADLYFORMATTEDEMAIL', course_run_key: courseKey(), license_uuid: randomUUID() }],
    });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      successes: [],
      pending: [],
      failures: [],
      invalid_email_addresses: ['BADLYFORMATTEDEMAIL'],
    });
    expect(await pendingLearners(customer)).toEqual([]);
  });

  it.each([
    ['licenses_info', 1, 1],
    ['licenses_info', 2, 1],
    ['licenses_info', 2, 2],
    ['enrollments_info', 1, 1],
    ['enrollments_info', 2, 2],
  ] as const)(
    'checklist 45: unknown emails (%s, %i learners × %i courses) → 202, all pending and created',
    async (key, learners, courses) => {
      const customer = await newCustomer();
      const emails = Array.from({ length: learners }, () => email('new'));
      const keys = Array.from({ length: courses }, courseKey);
      const license = randomUUID();
      const items = emails.flatMap((e) => keys.map((k) => ({ email: e, course_run_key: k, license_uuid: license })));
      const res = await enroll(customer, { [key]: items });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body).toEqual({
        successes: [],
        pending: items.map((i) => ({
          email: i.email,
          course_run_key: i.course_run_key,
          created: true,
          activation_link: null,
        })),
        failures: [],
      });
      const rows = await pendingRows(customer);
      expect(rows.map((r) => `${r.user_email} ${r.course_id}`).sort()).toEqual(
        items.map((i) => `${i.email} ${i.course_run_key}`).sort(),
      );
      expect(new Set(rows.map((r) => r.source))).toEqual(new Set(['customer_admin']));
      expect(new Set(rows.map((r) => r.license_uuid))).toEqual(new Set([license]));
      // The default discount of a bulk enrollment is 100%.
      expect(new Set(rows.map((r) => Number(r.discount_percentage)))).toEqual(new Set([100]));
      expect((await pendingLearners(customer)).map((p) => p.user_email).sort()).toEqual([...emails].sort());
      // No notification unless `notify`.
      expect(await notifications(customer)).toEqual([]);
    },
  );

  it('checklist 46: existing users by user_id and by email → 201; the enrollments are the enterprise-course-enrollment records, with the license', async () => {
    const customer = await newCustomer();
    const [byId, byEmail] = [await newUser(), await newUser()];
    const course = courseKey();
    const [l1, l2] = [randomUUID(), randomUUID()];
    const res = await enroll(customer, {
      licenses_info: [
        { user_id: byId.id, course_run_key: course, license_uuid: l1 },
        { email: byEmail.email.toUpperCase(), course_run_key: course, license_uuid: l2 },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const listed = (await enrollmentsOf(customer)).results;
    expect(listed).toHaveLength(2);
    const uuidOf = (userId: number) => listed.find((e) => e.lms_user_id === userId)?.uuid;
    expect(res.body).toEqual({
      successes: [
        {
          user_id: byId.id,
          email: byId.email,
          course_run_key: course,
          created: true,
          activation_link: null,
          enterprise_fulfillment_source_uuid: uuidOf(byId.id),
        },
        {
          user_id: byEmail.id,
          email: byEmail.email.toUpperCase(),
          course_run_key: course,
          created: true,
          activation_link: null,
          enterprise_fulfillment_source_uuid: uuidOf(byEmail.id),
        },
      ],
      pending: [],
      failures: [],
    });
    expect(listed.map((e) => [e.lms_user_id, e.source, e.license_uuid, e.transaction_id, e.is_active])).toEqual(
      expect.arrayContaining([
        [byId.id, 'customer_admin', l1, null, true],
        [byEmail.id, 'customer_admin', l2, null, true],
      ]),
    );
    // Both are linked to the customer as learners.
    const learners = await get<Page<{ user_id: number; active: boolean; role_assignments: string[] }>>(
      `${API}/enterprise-learner/?enterprise_customer_uuid=${customer}`,
    );
    expect(learners.body.results.map((l) => [l.user_id, l.active, l.role_assignments])).toEqual([
      [byId.id, true, ['enterprise_learner']],
      [byEmail.id, true, ['enterprise_learner']],
    ]);
  });

  it('checklist 48: unknown user ids (also with a valid email) → 409 with only invalid_user_ids', async () => {
    const customer = await newCustomer();
    const res = await enroll(customer, {
      enrollments_info: [
        { user_id: 9998, course_run_key: courseKey(), transaction_id: randomUUID() },
        { user_id: 9999, email: email(), course_run_key: courseKey(), transaction_id: randomUUID() },
      ],
    });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ successes: [], pending: [], failures: [], invalid_user_ids: [9998, 9999] });
    expect(await pendingLearners(customer)).toEqual([]);
  });

  it('checklist 49: re-enrolling after a cancelled learner-credit enrollment → 201, re-activated, new transaction id', async () => {
    const customer = await newCustomer();
    const user = await newUser();
    const course = courseKey();
    const [tx1, tx2] = [randomUUID(), randomUUID()];
    const first = await enroll(customer, {
      enrollments_info: [{ user_id: user.id, course_run_key: course, transaction_id: tx1 }],
    });
    expect(first.status).toBe(201);
    const uuid = first.body.successes[0]?.enterprise_fulfillment_source_uuid;
    expect((await post(`${API}/enterprise-course-enrollment/${uuid}/unenroll/`, {})).status).toBe(200);

    const again = await enroll(customer, {
      enrollments_info: [{ user_id: user.id, course_run_key: course, transaction_id: tx2 }],
    });
    expect(again.status).toBe(201);
    expect(again.body.successes).toEqual([
      expect.objectContaining({ created: true, enterprise_fulfillment_source_uuid: uuid }),
    ]);
    expect((await enrollmentsOf(customer)).results).toEqual([
      expect.objectContaining({ uuid, is_active: true, transaction_id: tx2, unenrolled_at: null }),
    ]);
  });

  it('checklist 50: notify → one notification per course naming every newly enrolled learner; a repeat adds none', async () => {
    const customer = await newCustomer();
    const known = await newUser();
    const newcomer = email('new');
    const [c1, c2] = [courseKey(), courseKey()];
    const license = randomUUID();
    const items = [c1, c2].flatMap((c) => [
      { email: known.email, course_run_key: c, license_uuid: license },
      { email: newcomer, course_run_key: c, license_uuid: license },
    ]);
    expect((await enroll(customer, { licenses_info: items, notify: true })).status).toBe(202);
    const expected = [
      { email: known.email, lms_user_id: known.id },
      { email: newcomer, lms_user_id: null },
    ];
    const sent = await notifications(customer);
    expect(sent.map((n) => n.course_id).sort()).toEqual([c1, c2].sort());
    for (const n of sent) {
      expect(n.admin_enrollment).toBe(true);
      expect(n.learners).toEqual(expected);
    }
    expect((await enroll(customer, { licenses_info: items, notify: true })).status).toBe(202);
    expect(await notifications(customer)).toHaveLength(2);
  });

  it('checklist 51: partial failure (one pending, one failure, one invalid email) → 409 with the mixed body; what succeeded stays', async () => {
    const customer = await newCustomer();
    const enrolled = await newUser();
    const newcomer = email('new');
    const course = courseKey();
    const [l1, l2] = [randomUUID(), randomUUID()];
    // An active enrollment under l1: another license for it cannot be attached.
    expect(
      (await enroll(customer, { licenses_info: [{ user_id: enrolled.id, course_run_key: course, license_uuid: l1 }] }))
        .status,
    ).toBe(201);
    const other = await newUser();
    const res = await enroll(customer, {
      licenses_info: [
        { email: newcomer, course_run_key: course, license_uuid: l2 },
        { user_id: enrolled.id, course_run_key: course, license_uuid: l2 },
        { email: 'not-an-email', course_run_key: course, license_uuid: l2 },
        { email: other.email, course_run_key: course, license_uuid: l2 },
      ],
    });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      successes: [expect.objectContaining({ user_id: other.id, email: other.email, created: true })],
      pending: [{ email: newcomer, course_run_key: course, created: true, activation_link: null }],
      failures: [{ user_id: enrolled.id, email: enrolled.email, course_run_key: course }],
      invalid_email_addresses: ['not-an-email'],
    });
    const rows = (await enrollmentsOf(customer)).results;
    expect(rows.map((e) => [e.lms_user_id, e.license_uuid])).toEqual(
      expect.arrayContaining([
        [enrolled.id, l1],
        [other.id, l2],
      ]),
    );
    expect(await pendingRows(customer)).toHaveLength(1);
  });

  it('checklist 52: is_default_auto_enrollment is accepted (this lms keeps no default intentions)', async () => {
    const customer = await newCustomer();
    const user = await newUser();
    const res = await enroll(customer, {
      licenses_info: [
        { user_id: user.id, course_run_key: courseKey(), license_uuid: randomUUID(), is_default_auto_enrollment: true },
      ],
    });
    expect(res.status).toBe(201);
    const bad = await enroll(customer, {
      licenses_info: [
        { user_id: user.id, course_run_key: courseKey(), license_uuid: randomUUID(), is_default_auto_enrollment: 'x' },
      ],
    });
    expect(bad.body).toEqual({ licenses_info: [{ is_default_auto_enrollment: ['Must be a valid boolean.'] }] });
  });

  it('user_id and email naming different people → a failure for that item, nothing enrolled', async () => {
    const customer = await newCustomer();
    const [u1, u2] = [await newUser(), await newUser()];
    const course = courseKey();
    const res = await enroll(customer, {
      licenses_info: [{ user_id: u1.id, email: u2.email, course_run_key: course, license_uuid: randomUUID() }],
    });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      successes: [],
      pending: [],
      failures: [{ user_id: u1.id, email: u2.email, course_run_key: course }],
    });
    expect(await enrollmentCount(customer)).toBe(0);
  });

  it('a pending enrollment under another license for the same course → a failure; the first stays', async () => {
    const customer = await newCustomer();
    const newcomer = email('new');
    const course = courseKey();
    const [l1, l2] = [randomUUID(), randomUUID()];
    expect(
      (await enroll(customer, { licenses_info: [{ email: newcomer, course_run_key: course, license_uuid: l1 }] }))
        .status,
    ).toBe(202);
    const res = await enroll(customer, {
      licenses_info: [{ email: newcomer, course_run_key: course, license_uuid: l2 }],
    });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      successes: [],
      pending: [],
      failures: [{ user_id: null, email: newcomer, course_run_key: course }],
    });
    expect((await pendingRows(customer)).map((r) => r.license_uuid)).toEqual([l1]);
  });

  it('an active enrollment without a subsidy (made by enterprise-course-enrollment) gets the license; created: false', async () => {
    const customer = await newCustomer();
    const user = await newUser();
    await post(`${API}/enterprise-learner/`, { enterprise_customer: customer, user_id: user.id });
    const course = courseKey();
    const manual = await post<Enrollment>(`${API}/enterprise-course-enrollment/`, {
      enterprise_customer_uuid: customer,
      lms_user_id: user.id,
      course_run_key: course,
      source: 'manual',
    });
    expect(manual.status).toBe(201);
    const license = randomUUID();
    const res = await enroll(customer, {
      licenses_info: [{ user_id: user.id, course_run_key: course, license_uuid: license }],
    });
    expect(res.status).toBe(201);
    expect(res.body.successes).toEqual([
      expect.objectContaining({ created: false, enterprise_fulfillment_source_uuid: manual.body.uuid }),
    ]);
    expect((await enrollmentsOf(customer)).results).toEqual([
      expect.objectContaining({ uuid: manual.body.uuid, source: 'manual', license_uuid: license }),
    ]);
  });

  it('an inactive learner link is made active again by linking', async () => {
    const customer = await newCustomer();
    const user = await newUser();
    await post(`${API}/enterprise-learner/`, { enterprise_customer: customer, user_id: user.id, active: false });
    const res = await enroll(customer, {
      licenses_info: [{ email: user.email, course_run_key: courseKey(), license_uuid: randomUUID() }],
    });
    expect(res.status).toBe(201);
    const link = await db()
      .selectFrom('enterprise_customer_users')
      .select('active')
      .where('enterprise_customer', '=', customer)
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(link.active).toBe(true);
  });
});

describe('idempotency (§7.5)', () => {
  it('a repeat answers every item again with created: false, the same records, no new rows, 201/202', async () => {
    const customer = await newCustomer();
    const user = await newUser();
    const newcomer = email('new');
    const course = courseKey();
    const license = randomUUID();
    const body = {
      licenses_info: [
        { user_id: user.id, course_run_key: course, license_uuid: license },
        { email: newcomer, course_run_key: course, license_uuid: license },
        // The same pair twice in one call: created once.
        { user_id: user.id, course_run_key: course, license_uuid: license },
      ],
    };
    const first = await enroll(customer, body);
    expect(first.status).toBe(202);
    expect(first.body.successes.map((s) => s.created)).toEqual([true, false]);
    const again = await enroll(customer, {
      ...body,
      licenses_info: body.licenses_info.map((i) => ({ ...i, license_uuid: license.toUpperCase() })),
    });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({
      successes: first.body.successes.map((s) => ({ ...s, created: false })),
      pending: first.body.pending.map((p) => ({ ...p, created: false })),
      failures: [],
    });
    expect(await enrollmentCount(customer)).toBe(1);
    expect(await pendingRows(customer)).toHaveLength(1);
    expect(await pendingLearners(customer)).toHaveLength(1);
  });

  it('10 identical concurrent calls: one record per pair, created: true exactly once per pair', async () => {
    const customer = await newCustomer();
    const users = [await newUser(), await newUser()];
    const newcomers = [email('new'), email('new')];
    const courses = [courseKey(), courseKey(), courseKey()];
    const license = randomUUID();
    const items = [
      ...users.flatMap((u) => courses.map((c) => ({ user_id: u.id, course_run_key: c, license_uuid: license }))),
      ...newcomers.flatMap((e) => courses.map((c) => ({ email: e, course_run_key: c, license_uuid: license }))),
    ];
    const results = await Promise.all(
      Array.from({ length: 10 }, () => enroll(customer, { licenses_info: items, notify: true })),
    );
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(202);
    const created = results.flatMap((r) => [...r.body.successes, ...r.body.pending].filter((i) => i.created));
    expect(created).toHaveLength(items.length);
    expect(new Set(created.map((c) => `${'user_id' in c ? c.user_id : c.email}|${c.course_run_key}`)).size).toBe(
      items.length,
    );
    expect(await enrollmentCount(customer)).toBe(users.length * courses.length);
    expect(await pendingRows(customer)).toHaveLength(newcomers.length * courses.length);
    expect(await pendingLearners(customer)).toHaveLength(newcomers.length);
    expect(await notifications(customer)).toHaveLength(courses.length);
    const uuids = new Set(results.flatMap((r) => r.body.successes.map((s) => s.enterprise_fulfillment_source_uuid)));
    expect(uuids.size).toBe(users.length * courses.length);
    for (const uuid of uuids) expect(uuid).toMatch(UUID);
  });

  it('a 625-pair chunk (25 learners × 25 courses) in one call, and its retry after a "timeout"', async () => {
    const customer = await newCustomer();
    const known = await Promise.all(Array.from({ length: 13 }, () => newUser()));
    const emails = [...known.map((u) => u.email), ...Array.from({ length: 12 }, () => email('new'))];
    const courses = Array.from({ length: 25 }, courseKey);
    const licenseOf = new Map(emails.map((e) => [e, randomUUID()]));
    const items: Item[] = emails.flatMap((e) =>
      courses.map((c) => ({ email: e, course_run_key: c, license_uuid: licenseOf.get(e), activation_link: 'x' })),
    );
    expect(items).toHaveLength(625);

    let t = performance.now();
    const first = await enroll(customer, { licenses_info: items, notify: true });
    const firstMs = performance.now() - t;
    expect(first.status).toBe(202);
    expect(first.body.successes).toHaveLength(13 * 25);
    expect(first.body.pending).toHaveLength(12 * 25);
    expect([...first.body.successes, ...first.body.pending].every((i) => i.created)).toBe(true);

    t = performance.now();
    const retry = await enroll(customer, { licenses_info: items, notify: true });
    const retryMs = performance.now() - t;
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({
      successes: first.body.successes.map((s) => ({ ...s, created: false })),
      pending: first.body.pending.map((p) => ({ ...p, created: false })),
      failures: [],
    });
    expect(await enrollmentCount(customer)).toBe(13 * 25);
    expect(await pendingRows(customer)).toHaveLength(12 * 25);
    expect(await notifications(customer)).toHaveLength(25);
    const listed = await enrollmentsOf(customer, `&lms_user_id=${known[0]?.id}`);
    expect(listed.count).toBe(25);
    expect(new Set(listed.results.map((e) => e.license_uuid))).toEqual(
      new Set([licenseOf.get(known[0]?.email as string)]),
    );

    console.log(
      `[bulk enrollment] 625-pair call on ${stack.db.database.kind}: ${firstMs.toFixed(0)} ms first, ${retryMs.toFixed(0)} ms retry`,
    );
    // Generous bounds: a regression to one round trip per pair shows up as many seconds.
    expect(firstMs).toBeLessThan(10_000);
    expect(retryMs).toBeLessThan(10_000);
  });
});

describe('pending enrollments are fulfilled at registration', () => {
  it('registering turns pending learners and their enrollments into links and enterprise enrollments', async () => {
    const [customer, other] = [await newCustomer(), await newCustomer()];
    const address = email('later');
    const [c1, c2] = [courseKey(), courseKey()];
    const [license, tx] = [randomUUID(), randomUUID()];
    expect(
      (
        await enroll(customer, {
          licenses_info: [
            { email: address, course_run_key: c1, license_uuid: license },
            { email: address, course_run_key: c2, license_uuid: license },
          ],
        })
      ).status,
    ).toBe(202);
    expect(
      (
        await enroll(other, {
          enrollments_info: [{ email: address.toUpperCase(), course_run_key: c1, transaction_id: tx }],
        })
      ).status,
    ).toBe(202);

    const user = await newUser(address);
    const mine = (await enrollmentsOf(customer)).results;
    expect(
      mine.map((e) => [e.lms_user_id, e.course_run_key, e.source, e.license_uuid, e.transaction_id]).sort(),
    ).toEqual(
      [
        [user.id, c1, 'enrollment_url', license, null],
        [user.id, c2, 'enrollment_url', license, null],
      ].sort(),
    );
    expect((await enrollmentsOf(other)).results.map((e) => [e.lms_user_id, e.transaction_id])).toEqual([[user.id, tx]]);
    expect(await pendingLearners(customer)).toEqual([]);
    expect(await pendingRows(customer)).toEqual([]);
    expect(await pendingLearners(other)).toEqual([]);
    const learners = await get<Page<{ user_id: number }>>(`${API}/enterprise-learner/?user_ids=${user.id}`);
    expect(learners.body.count).toBe(2);

    // The same call again now finds the learner: the enrollments it made, created: false.
    const again = await enroll(customer, {
      licenses_info: [{ email: address, course_run_key: c1, license_uuid: license }],
    });
    expect(again.status).toBe(201);
    expect(again.body.successes).toEqual([
      expect.objectContaining({
        user_id: user.id,
        created: false,
        enterprise_fulfillment_source_uuid: mine.find((e) => e.course_run_key === c1)?.uuid,
      }),
    ]);
  });

  it('registrations racing bulk enrollments of the same emails leave no pending enrollment behind', async () => {
    const customer = await newCustomer();
    const addresses = Array.from({ length: 6 }, () => email('race'));
    const course = courseKey();
    const license = randomUUID();
    await Promise.all([
      ...addresses.map((a) =>
        enroll(customer, { licenses_info: [{ email: a, course_run_key: course, license_uuid: license }] }),
      ),
      ...addresses.map((a) => post('/api/user/v1/accounts', { email: a })),
    ]);
    expect(await pendingRows(customer)).toEqual([]);
    expect(await pendingLearners(customer)).toEqual([]);
    expect(await enrollmentCount(customer)).toBe(addresses.length);
  });
});

describe('pending-enterprise-learner (§7.6)', () => {
  const path = `${API}/pending-enterprise-learner/`;

  it('201 when anything is new (one object or a list), 204 for a repeat; users are linked, others pending', async () => {
    const customer = await newCustomer();
    const user = await newUser();
    const newcomer = email('new');
    const one = await post(path, { enterprise_customer: customer, user_email: newcomer });
    expect(one.status).toBe(201);
    expect(one.body).toEqual({ enterprise_customer: customer, user_email: newcomer });
    const list = [
      { enterprise_customer: customer, user_email: newcomer.toUpperCase() },
      { enterprise_customer: customer, user_email: user.email },
    ];
    const many = await post(path, list);
    expect(many.status).toBe(201);
    expect(many.body).toEqual(list);
    expect((await post(path, list)).status).toBe(204);
    expect((await pendingLearners(customer)).map((p) => p.user_email)).toEqual([newcomer]);
    const learners = await get<Page<{ user_id: number }>>(
      `${API}/enterprise-learner/?enterprise_customer_uuid=${customer}`,
    );
    expect(learners.body.results.map((l) => l.user_id)).toEqual([user.id]);

    // Registration links the pending learner (it has no enrollments to fulfil).
    const registered = await newUser(newcomer);
    expect(await pendingLearners(customer)).toEqual([]);
    const after = await get<Page<{ user_id: number }>>(
      `${API}/enterprise-learner/?enterprise_customer_uuid=${customer}`,
    );
    expect(after.body.results.map((l) => l.user_id)).toEqual([user.id, registered.id]);
  });

  it('400 with DRF field errors (per item for a list); 401/403 for non-operators', async () => {
    const customer = await newCustomer();
    const bad = await post(path, { enterprise_customer: GHOST, user_email: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ user_email: ['Enter a valid email address.'] });
    const ghost = await post(path, [
      { enterprise_customer: customer, user_email: email() },
      { enterprise_customer: GHOST, user_email: email() },
    ]);
    expect(ghost.status).toBe(400);
    expect(ghost.body).toEqual([{}, { enterprise_customer: [`Invalid pk "${GHOST}" - object does not exist.`] }]);
    expect(await pendingLearners(customer)).toEqual([]);
    expect((await post(path, {}, null)).status).toBe(401);
    expect((await post(path, {}, await stack.token({ roles: [`enterprise_admin:${customer}`] }))).status).toBe(403);
  });
});
