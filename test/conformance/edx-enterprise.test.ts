import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LmsDB } from '../../src/services/lms/schema';
import { type Json, type Page, serviceClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';
import { hex, lmsUser, roleTokens, uuid } from './support';

/**
 * openedx/edx-enterprise's API tests (the parts this lms implements), replayed over HTTP against
 * the lms service. `self.user` with a permission or role becomes a token with the matching role;
 * "staff" (IsAdminUser) becomes an operator of every customer.
 */

const VIEWS = 'tests/test_enterprise/api/test_views.py';
const ADMIN_VIEWS = 'tests/test_enterprise/api/test_enterprise_customer_admin.py';
const API = '/enterprise/api/v1';

let stack: TestStack;
let operator: string;
let tokens: ReturnType<typeof roleTokens>;
const lms = serviceClient(
  () => stack.urls.lms,
  () => operator,
);
const as = <T = Json>(token: string | null, method: string, path: string, body?: unknown) =>
  lms.callAs<T>(token, method, path, body);
const db = () => stack.db.database.forSchema<LmsDB>('lms');

beforeAll(async () => {
  stack = await startTestStack({ worker: false });
  operator = await stack.operatorToken();
  tokens = roleTokens(stack);
});
afterAll(async () => {
  await stack?.close();
});

/** EnterpriseCustomerFactory(). */
async function customer(): Promise<string> {
  const res = await as<{ uuid: string }>(operator, 'POST', `${API}/enterprise-customer/`, {
    name: 'test_enterprise',
    slug: `c-${hex(5)}`,
    country: 'US',
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.uuid;
}

const enrollPath = (c: string) => `${API}/enterprise-customer/${c}/enroll_learners_in_courses/`;

async function pendingEnrollments(c: string) {
  return db()
    .selectFrom('pending_enrollments as pe')
    .innerJoin('pending_enterprise_customer_users as pu', 'pu.id', 'pe.pending_user')
    .select(['pu.user_email', 'pe.course_id', 'pe.source', 'pe.license_uuid'])
    .where('pu.enterprise_customer', '=', c)
    .execute();
}

const DEMO = 'course-v1:edX+DemoX+Demo_Course';
const SECOND = 'course-v2:edX+DemoX+Second_Demo_Course';
const L1 = '5a88bdcade7c4ecb838f8111b68e18ac';
const L2 = '2c58acdade7c4ede838f7111b42e18ac';
const pending = (email: string, course: string) => ({
  email,
  course_run_key: course,
  created: true,
  activation_link: null,
});
const four = (key: 'licenses_info' | 'enrollments_info') => ({
  [key]: [
    { email: 'abc@test.com', course_run_key: DEMO, license_uuid: L1 },
    { email: 'xyz@test.com', course_run_key: DEMO, license_uuid: L2 },
    { email: 'abc@test.com', course_run_key: SECOND, license_uuid: L1 },
    { email: 'xyz@test.com', course_run_key: SECOND, license_uuid: L2 },
  ],
});
const fourPending = {
  successes: [],
  pending: [
    pending('abc@test.com', DEMO),
    pending('xyz@test.com', DEMO),
    pending('abc@test.com', SECOND),
    pending('xyz@test.com', SECOND),
  ],
  failures: [],
};

describe(`${VIEWS}::TestBulkEnrollment`, () => {
  it.each<[string, Json, number, Json, number]>([
    [
      'enrollment_info usage',
      { enrollments_info: [{ email: 'abc@test.com', course_run_key: DEMO, license_uuid: L1 }] },
      202,
      { successes: [], pending: [pending('abc@test.com', DEMO)], failures: [] },
      1,
    ],
    [
      'missing enrollment_info or licenses_info',
      {},
      400,
      { non_field_errors: ['Must include the `enrollment_info` parameter in request.'] },
      0,
    ],
    [
      'invalid licenses_info format',
      { licenses_info: {} },
      400,
      { licenses_info: { non_field_errors: ['Expected a list of items but got type "dict".'] } },
      0,
    ],
    [
      'no subsidy identifiers provided',
      { licenses_info: [{ email: 'abc@test.com', course_run_key: DEMO }] },
      400,
      {
        licenses_info: [
          { non_field_errors: ['At least one subsidy info field [license_uuid or transaction_id] required.'] },
        ],
      },
      0,
    ],
    [
      'conflicting license and transaction identifiers',
      {
        licenses_info: [
          { email: 'abc@test.com', course_run_key: DEMO, license_uuid: 'foobar', transaction_id: 'ayylmao' },
        ],
      },
      400,
      {
        licenses_info: [
          {
            non_field_errors: [
              'Enrollment info contains conflicting subsidy information: `license_uuid` and `transaction_id` found',
            ],
          },
        ],
      },
      0,
    ],
    [
      'no user identifier provided',
      { licenses_info: [{ course_run_key: DEMO, license_uuid: L1 }] },
      400,
      { licenses_info: [{ non_field_errors: ['At least one user identifier field [user_id or email] required.'] }] },
      0,
    ],
    [
      'invalid email format',
      { licenses_info: [{ email: 'BADLYFORMATTEDEMAIL', course_run_key: DEMO, license_uuid: L1 }] },
      409,
      { successes: [], pending: [], failures: [], invalid_email_addresses: ['BADLYFORMATTEDEMAIL'] },
      0,
    ],
    [
      'single learner, single course success',
      { licenses_info: [{ email: 'abc@test.com', course_run_key: DEMO, license_uuid: L1 }] },
      202,
      { successes: [], pending: [pending('abc@test.com', DEMO)], failures: [] },
      1,
    ],
    [
      'multi-learner, single course success',
      {
        licenses_info: [
          { email: 'abc@test.com', course_run_key: DEMO, license_uuid: L1 },
          { email: 'xyz@test.com', course_run_key: DEMO, license_uuid: L2 },
        ],
      },
      202,
      { successes: [], pending: [pending('abc@test.com', DEMO), pending('xyz@test.com', DEMO)], failures: [] },
      2,
    ],
    ['multi-learner, multi-course success', four('licenses_info'), 202, fourPending, 4],
    ['multi-learner, multi-course pending', four('enrollments_info'), 202, fourPending, 4],
  ])('test_bulk_enrollment_in_bulk_courses_pending_licenses[%s]', async (_name, body, status, expected, rows) => {
    const c = await customer();
    const res = await as(operator, 'POST', enrollPath(c), body);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toEqual(expected);
    const made = await pendingEnrollments(c);
    expect(made).toHaveLength(rows);
    if (rows === 1) expect(made[0]?.source).toBe('customer_admin');
    // License uuids given as 32 hex digits are stored as uuids.
    for (const row of made) expect([L1, L2]).toContain(String(row.license_uuid).replaceAll('-', ''));
  });

  it('test_bulk_enrollment_in_bulk_courses_existing_users', async () => {
    const c = await customer();
    const [one, two] = [await lmsUser(stack, operator), await lmsUser(stack, operator)];
    const res = await as<{ successes: Array<Json & { enterprise_fulfillment_source_uuid: string }> }>(
      operator,
      'POST',
      enrollPath(c),
      {
        enrollments_info: [
          { user_id: one.id, course_run_key: DEMO, license_uuid: L1 },
          { email: two.email, course_run_key: DEMO, license_uuid: L2 },
        ],
      },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toEqual({
      successes: [
        {
          user_id: one.id,
          email: one.email,
          course_run_key: DEMO,
          created: true,
          activation_link: null,
          enterprise_fulfillment_source_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        },
        {
          user_id: two.id,
          email: two.email,
          course_run_key: DEMO,
          created: true,
          activation_link: null,
          enterprise_fulfillment_source_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        },
      ],
      pending: [],
      failures: [],
    });
    const enrollments = await db()
      .selectFrom('enterprise_course_enrollments as e')
      .innerJoin('enterprise_customer_users as ecu', 'ecu.id', 'e.enterprise_customer_user')
      .select(['e.course_id'])
      .where('ecu.enterprise_customer', '=', c)
      .execute();
    expect(enrollments).toHaveLength(2);
  });

  it('test_bulk_enrollment_force_enrollment', async () => {
    const c = await customer();
    const [one, two] = [await lmsUser(stack, operator), await lmsUser(stack, operator)];
    const res = await as(operator, 'POST', enrollPath(c), {
      enrollments_info: [
        { user_id: one.id, course_run_key: DEMO, license_uuid: L1 },
        { email: two.email, course_run_key: DEMO, license_uuid: L2, force_enrollment: true },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it('test_bulk_enrollment_in_bulk_courses_nonexisting_user_id', async () => {
    const c = await customer();
    const user = await lmsUser(stack, operator);
    const res = await as(operator, 'POST', enrollPath(c), {
      enrollments_info: [
        { user_id: 99_998, course_run_key: DEMO, license_uuid: L1 },
        // An invalid user_id fails even with a valid email.
        { user_id: 99_999, email: user.email, course_run_key: DEMO, license_uuid: L1 },
      ],
    });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ successes: [], pending: [], failures: [], invalid_user_ids: [99_998, 99_999] });
  });

  it.each([
    ['license_uuid', 'licensed'],
    ['transaction_id', 'learner credit'],
  ])('test_bulk_enrollment_includes_fulfillment_source_uuid[%s]', async (field) => {
    const c = await customer();
    const user = await lmsUser(stack, operator, `abc-${hex()}@test.com`);
    const subsidy = uuid();
    const res = await as<{ successes: Array<{ enterprise_fulfillment_source_uuid: string }> }>(
      operator,
      'POST',
      enrollPath(c),
      { enrollments_info: [{ email: user.email, course_run_key: DEMO, [field]: subsidy }] },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.successes).toHaveLength(1);
    expect(res.body.successes[0]?.enterprise_fulfillment_source_uuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('test_bulk_enrollment_with_notification: notify="true" as a string is read as true (202, all pending)', async () => {
    const c = await customer();
    const res = await as(operator, 'POST', enrollPath(c), { notify: 'true', ...four('licenses_info') });
    expect(res.status).toBe(202);
    expect(res.body).toEqual(fourPending);
  });

  it('enterprise.can_enroll_learners (the view permission): 401 anonymous, 403 for learners and for other customers, before the body', async () => {
    const c = await customer();
    expect((await as(null, 'POST', enrollPath(c), {})).status).toBe(401);
    expect((await as(await tokens.learner([c]), 'POST', enrollPath(c), {})).status).toBe(403);
    expect((await as(await tokens.admin([uuid()]), 'POST', enrollPath(c), {})).status).toBe(403);
    // edx-rbac contexts: an operator scoped to another customer is no operator here.
    expect((await as(await tokens.operator([uuid()]), 'POST', enrollPath(c), {})).status).toBe(403);
    const scoped = await as(await tokens.operator([c]), 'POST', enrollPath(c), {});
    expect(scoped.status).toBe(400);
  });
});

describe(`${VIEWS}::TestPendingEnterpriseCustomerAdminUser`, () => {
  it('test_post_pending_enterprise_customer_admin_user_creation', async () => {
    const c = await customer();
    const provisioning = await tokens.roles(['enterprise_provisioning_admin:*']);
    const email = `admin-${hex()}@example.com`;
    const res = await as<Json>(provisioning, 'POST', `${API}/pending-enterprise-admin/`, {
      enterprise_customer: c,
      user_email: email,
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ enterprise_customer: c, user_email: email, id: expect.any(Number) });
  });

  it('test_post_pending_enterprise_customer_unauthorized_user', async () => {
    const c = await customer();
    const res = await as<{ detail: string }>(
      await tokens.roles(['test_unknown_role']),
      'POST',
      `${API}/pending-enterprise-admin/`,
      {
        enterprise_customer: c,
        user_email: 'someone@example.com',
      },
    );
    expect(res.status).toBe(403);
    expect(res.body.detail).toContain('MISSING: provisioning.has_pending_enterprise_customer_admin_access');
  });

  it('test_post_pending_enterprise_customer_user_logged_out', async () => {
    const res = await as(null, 'POST', `${API}/pending-enterprise-admin/`, {
      enterprise_customer: uuid(),
      user_email: 'someone@example.com',
    });
    expect(res.status).toBe(401);
  });
});

describe(`${VIEWS}::TestEnterpriseCustomerCatalogWriteViewSet`, () => {
  const create = (token: string, body: Json) => as<Json>(token, 'POST', `${API}/enterprise_customer_catalog/`, body);

  it.each([
    [false, 403],
    [true, 201],
  ] as const)('test_create_catalog[is_staff=%s]', async (staff, status) => {
    const c = await customer();
    const token = staff ? operator : await tokens.admin([c]);
    const res = await create(token, { title: 'Test Catalog', enterprise_customer: c, enterprise_catalog_query: 1 });
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    if (status === 201) expect(res.body).toMatchObject({ title: 'Test Catalog', enterprise_customer: c });
    else expect(res.body).toEqual({ detail: 'You do not have permission to perform this action.' });
  });

  it('test_create_existing_catalog', async () => {
    const c = await customer();
    const first = await create(operator, {
      title: 'Test Catalog',
      enterprise_customer: c,
      enterprise_catalog_query: 1,
    });
    const again = await create(operator, {
      title: 'Test Catalog 2',
      enterprise_customer: c,
      enterprise_catalog_query: 1,
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ title: 'Test Catalog', enterprise_customer: c, uuid: first.body.uuid });
    const all = await as<Page<Json>>(operator, 'GET', `${API}/enterprise_catalogs/?enterprise_customer=${c}`);
    expect(all.body.count).toBe(1);
  });

  it('test_create_catalog_incorrect_data', async () => {
    const res = await create(operator, { title: 'Test Catalog', enterprise_customer: uuid() });
    expect(res.status).toBe(400);
    expect((res.body.enterprise_customer as string[])[0]).toContain('Invalid pk');
  });
});

describe(`${ADMIN_VIEWS}::TestCreateAdminByEmailEndpoint`, () => {
  const path = `${API}/enterprise-customer-admin/create_admin_by_email/`;
  let provisioning: string;
  beforeAll(async () => {
    provisioning = await tokens.roles(['enterprise_provisioning_admin:*']);
  });

  it('test_create_admin_by_email_success_new_admin', async () => {
    const c = await customer();
    const target = await lmsUser(stack, operator);
    const res = await as<Json>(provisioning, 'POST', path, { email: target.email, enterprise_customer_uuid: c });
    expect(res.status).toBe(201);
    expect(res.body).toHaveProperty('uuid');
    const admins = await as<Page<Json>>(
      operator,
      'GET',
      `${API}/enterprise-learner/?enterprise_customer_uuid=${c}&role=enterprise_admin`,
    );
    expect(admins.body.results.map((r) => r.user_id)).toEqual([target.id]);
  });

  it('test_create_admin_by_email_success_existing_admin', async () => {
    const c = await customer();
    const target = await lmsUser(stack, operator);
    const first = await as<Json>(provisioning, 'POST', path, { email: target.email, enterprise_customer_uuid: c });
    const again = await as<Json>(provisioning, 'POST', path, { email: target.email, enterprise_customer_uuid: c });
    expect(again.status).toBe(200);
    expect(again.body.uuid).toBe(first.body.uuid);
  });

  it.each([
    ['test_create_admin_by_email_missing_email', { enterprise_customer_uuid: uuid() }, 'email is required'],
    [
      'test_create_admin_by_email_missing_enterprise_customer_uuid',
      { email: 'target@example.com' },
      'enterprise_customer_uuid is required',
    ],
  ])('%s', async (_name, body, message) => {
    const res = await as<Json>(provisioning, 'POST', path, body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: message });
  });

  it('test_create_admin_by_email_user_not_found', async () => {
    const c = await customer();
    const res = await as<Json>(provisioning, 'POST', path, {
      email: 'nonexistent@example.com',
      enterprise_customer_uuid: c,
    });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'User with email nonexistent@example.com does not exist' });
  });

  it('test_create_admin_by_email_enterprise_customer_not_found', async () => {
    const target = await lmsUser(stack, operator);
    const fake = '12345678-1234-5678-1234-567812345678';
    const res = await as<Json>(provisioning, 'POST', path, { email: target.email, enterprise_customer_uuid: fake });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: `EnterpriseCustomer with uuid ${fake} does not exist` });
  });

  it('test_create_admin_by_email_permission_required', async () => {
    const res = await as(await tokens.roles([]), 'POST', path, {
      email: 'a@example.com',
      enterprise_customer_uuid: uuid(),
    });
    expect(res.status).toBe(403);
  });

  it.each(['enterprise_admin', 'enterprise_learner', 'enterprise_catalog_admin'])(
    'test_create_admin_by_email_forbidden_roles[%s]',
    async (role) => {
      const c = await customer();
      const target = await lmsUser(stack, operator);
      const res = await as(await tokens.roles([`${role}:*`]), 'POST', path, {
        email: target.email,
        enterprise_customer_uuid: c,
      });
      expect(res.status).toBe(403);
    },
  );
});

describe(`${VIEWS}::TestEnterpriseGroupViewSet`, () => {
  const GROUPS = `${API}/enterprise_group/`;

  it('test_group_permissions', async () => {
    expect((await as(null, 'GET', GROUPS)).status).toBe(401);
  });

  it('test_successful_post_group', async () => {
    const mine = await customer();
    const other = await customer();
    const admin = await tokens.admin([mine]);
    const unauthorized = await as(admin, 'POST', GROUPS, { enterprise_customer: other, name: 'foobar' });
    expect(unauthorized.status).toBe(403);
    const res = await as<Json>(await tokens.admin([other]), 'POST', GROUPS, {
      enterprise_customer: other,
      name: 'foobar',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'foobar', enterprise_customer: other, group_type: 'flex' });
  });

  it('test_post_group_malformed_enterprise_customer_returns_400', async () => {
    const res = await as(await tokens.roles(['enterprise_admin:*']), 'POST', GROUPS, {
      enterprise_customer: 'not-a-uuid',
      name: 'foobar',
    });
    expect(res.status).toBe(400);
  });

  it('test_duplicate_group_name_returns_custom_error', async () => {
    const c = await customer();
    const admin = await tokens.admin([c]);
    const body = { enterprise_customer: c, name: 'duplicate-test-group' };
    const first = await as<Json>(admin, 'POST', GROUPS, body);
    expect(first.status).toBe(201);
    expect(first.body.name).toBe('duplicate-test-group');
    const duplicate = await as<Json>(admin, 'POST', GROUPS, body);
    expect(duplicate.status).toBe(400);
    expect(duplicate.body).toEqual({
      non_field_errors: ['A group with this name already exists. Please enter a unique name to create a new group.'],
    });
  });

  it('test_duplicate_group_name_different_enterprise_succeeds', async () => {
    const [a, b] = [await customer(), await customer()];
    const first = await as(await tokens.admin([a]), 'POST', GROUPS, {
      enterprise_customer: a,
      name: 'shared-group-name',
    });
    const second = await as(await tokens.admin([b]), 'POST', GROUPS, {
      enterprise_customer: b,
      name: 'shared-group-name',
    });
    expect([first.status, second.status]).toEqual([201, 201]);
  });

  it('test_successful_list_groups and test_successful_retrieve_group', async () => {
    const c = await customer();
    const admin = await tokens.admin([c]);
    const made = [];
    for (const name of ['g1', 'g2', 'g3']) {
      made.push((await as<{ uuid: string }>(admin, 'POST', GROUPS, { enterprise_customer: c, name })).body.uuid);
    }
    const list = await as<Page<Json>>(admin, 'GET', GROUPS);
    expect(list.body.count).toBe(3);
    expect(list.body.results.map((g) => g.group_type)).toEqual(['flex', 'flex', 'flex']);
    const one = await as<Json>(admin, 'GET', `${GROUPS}${made[0]}/`);
    expect(one.body.uuid).toBe(made[0]);
    const filtered = await as<Page<Json>>(admin, 'GET', `${GROUPS}?enterprise_uuids=${c}`);
    expect(filtered.body.count).toBe(3);
  });

  it('test_group_uuid_not_found', async () => {
    const admin = await tokens.roles(['enterprise_admin:*']);
    expect((await as(admin, 'GET', `${GROUPS}${uuid()}/learners/`)).status).toBe(404);
  });
});
