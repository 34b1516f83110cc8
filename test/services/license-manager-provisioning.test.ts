import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LicenseManagerDB } from '../../src/services/license-manager/schema';
import { type Json, serviceClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let operator: string;
beforeAll(async () => {
  stack = await startTestStack({ worker: false });
  operator = await stack.operatorToken();
});
afterAll(async () => {
  await stack?.close();
});

const base = () => `${stack.urls['license-manager']}/api/v1`;
const tables = () => stack.db.database.forSchema<LicenseManagerDB>('license_manager');

const { callAs: call, call: asOperator } = serviceClient(
  () => `${base()}/`,
  () => operator,
);

const DAY = 86_400_000;
const daysFromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const lineItem = () => `00k${randomUUID().replaceAll('-', '').slice(0, 15)}`;

async function createAgreement(overrides: Json = {}): Promise<Json & { uuid: string }> {
  const res = await asOperator<Json & { uuid: string }>('POST', 'provisioning-admins/customer-agreement/', {
    enterprise_customer_uuid: randomUUID(),
    enterprise_customer_slug: `slug-${randomUUID().slice(0, 8)}`,
    default_enterprise_catalog_uuid: randomUUID(),
    ...overrides,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const planPayload = (agreement: string, overrides: Json = {}): Json => ({
  title: `Plan ${randomUUID().slice(0, 8)}`,
  start_date: daysFromNow(-1),
  expiration_date: daysFromNow(365),
  customer_agreement: agreement,
  enterprise_catalog_uuid: randomUUID(),
  desired_num_licenses: 5,
  product: 1,
  salesforce_opportunity_line_item: lineItem(),
  change_reason: 'new',
  is_active: true,
  ...overrides,
});

async function createPlan(agreement: string, overrides: Json = {}): Promise<Json & { uuid: string }> {
  const res = await asOperator<Json & { uuid: string }>(
    'POST',
    'provisioning-admins/subscriptions/',
    planPayload(agreement, overrides),
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function licenseRows(plan: string) {
  return tables().selectFrom('licenses').select(['status']).where('subscription_plan', '=', plan).execute();
}

const PLAN_FIELDS = [
  'can_freeze_unused_licenses',
  'change_reason',
  'created',
  'customer_agreement',
  'days_until_expiration',
  'days_until_expiration_including_renewals',
  'desired_num_licenses',
  'enterprise_catalog_uuid',
  'enterprise_customer_uuid',
  'expiration_date',
  'expiration_processed',
  'for_internal_use_only',
  'is_active',
  'is_current',
  'is_locked_for_renewal_processing',
  'is_revocation_cap_enabled',
  'last_freeze_timestamp',
  'licenses',
  'num_revocations_applied',
  'plan_type',
  'product',
  'revoke_max_percentage',
  'salesforce_opportunity_line_item',
  'should_auto_apply_licenses',
  'start_date',
  'title',
  'uuid',
];

const AGREEMENT_FIELDS = [
  'available_subscription_catalogs',
  'default_enterprise_catalog_uuid',
  'disable_expiration_notifications',
  'enable_auto_applied_subscriptions_with_universal_link',
  'enterprise_customer_slug',
  'enterprise_customer_uuid',
  'net_days_until_expiration',
  'subscription_for_auto_applied_licenses',
  'subscriptions',
  'uuid',
];

describe('auth (spec §9.1)', () => {
  const someUuid = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
  const endpoints: Array<[string, string]> = [
    ['POST', 'provisioning-admins/customer-agreement/'],
    ['GET', `provisioning-admins/customer-agreement/${someUuid}/`],
    ['PATCH', `provisioning-admins/customer-agreement/${someUuid}/`],
    ['GET', 'customer-agreement/'],
    ['GET', `customer-agreement/${someUuid}/`],
    ['POST', 'provisioning-admins/subscriptions/'],
    ['GET', 'provisioning-admins/subscriptions/'],
    ['GET', `provisioning-admins/subscriptions/${someUuid}/`],
    ['PATCH', `provisioning-admins/subscriptions/${someUuid}/`],
    ['POST', 'provisioning-admins/subscription-plan-renewals/'],
    ['GET', 'provisioning-admins/subscription-plan-renewals/'],
    ['GET', 'provisioning-admins/subscription-plan-renewals/1/'],
  ];

  it('401 without a token on every endpoint', async () => {
    for (const [method, path] of endpoints) {
      const res = await call(undefined, method, path, method === 'GET' ? undefined : {});
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body).toEqual({ detail: 'Authentication credentials were not provided.' });
    }
  });

  it('403 on provisioning endpoints for admins and learners, before the body is validated', async () => {
    const token = await stack.token({ roles: [`enterprise_admin:*`, `enterprise_learner:*`] });
    for (const [method, path] of endpoints.filter(([, p]) => p.startsWith('provisioning-admins'))) {
      const res = await call(token, method, path, method === 'GET' ? undefined : {});
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body).toEqual({ detail: 'You do not have permission to perform this action.' });
    }
  });

  it('the provisioning admin role is accepted as well as the operator role', async () => {
    const token = await stack.token({ roles: ['enterprise_provisioning_admin:*'] });
    const res = await call(token, 'POST', 'provisioning-admins/customer-agreement', {
      enterprise_customer_uuid: randomUUID(),
    });
    expect(res.status).toBe(201);
  });
});

describe('provisioning: customer agreements (spec 5.1, §9.2)', () => {
  it('POST creates the agreement (201, 5.4 representation, row stored); GET and PATCH answer 200', async () => {
    const customer = randomUUID();
    const catalog = randomUUID();
    const created = await asOperator('POST', 'provisioning-admins/customer-agreement/', {
      enterprise_customer_uuid: customer.toUpperCase(),
      enterprise_customer_slug: 'acme-corp',
      default_enterprise_catalog_uuid: catalog,
      disable_expiration_notifications: true,
    });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(AGREEMENT_FIELDS);
    expect(created.body).toMatchObject({
      enterprise_customer_uuid: customer,
      enterprise_customer_slug: 'acme-corp',
      default_enterprise_catalog_uuid: catalog,
      disable_expiration_notifications: true,
      enable_auto_applied_subscriptions_with_universal_link: false,
      net_days_until_expiration: 0,
      subscription_for_auto_applied_licenses: null,
      available_subscription_catalogs: [],
      subscriptions: [],
    });
    const uuid = created.body.uuid as string;
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);

    const row = await tables()
      .selectFrom('customer_agreements')
      .selectAll()
      .where('uuid', '=', uuid)
      .executeTakeFirst();
    expect(row?.enterprise_customer_uuid).toBe(customer);

    const got = await asOperator('GET', `provisioning-admins/customer-agreement/${uuid}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);

    const patched = await asOperator('PATCH', `provisioning-admins/customer-agreement/${uuid}/`, {
      enterprise_customer_slug: 'acme-renamed',
      enable_auto_applied_subscriptions_with_universal_link: true,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      uuid,
      enterprise_customer_uuid: customer,
      enterprise_customer_slug: 'acme-renamed',
      enable_auto_applied_subscriptions_with_universal_link: true,
      disable_expiration_notifications: true,
    });
  });

  it('PATCH with enterprise_customer_uuid is refused with 400 and changes nothing', async () => {
    const agreement = await createAgreement();
    const res = await asOperator('PATCH', `provisioning-admins/customer-agreement/${agreement.uuid}/`, {
      enterprise_customer_uuid: randomUUID(),
      enterprise_customer_slug: 'never-applied',
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ enterprise_customer_uuid: ['enterprise_customer_uuid cannot be updated'] });
    const after = await asOperator('GET', `provisioning-admins/customer-agreement/${agreement.uuid}/`);
    expect(after.body.enterprise_customer_slug).toBe(agreement.enterprise_customer_slug);
  });

  it('404 for an unknown or malformed agreement uuid', async () => {
    for (const path of [
      `provisioning-admins/customer-agreement/${randomUUID()}/`,
      'provisioning-admins/customer-agreement/nope/',
    ]) {
      const res = await asOperator('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.body).toEqual({ detail: 'Not found.' });
      expect((await asOperator('PATCH', path, { enterprise_customer_slug: 'x' })).status).toBe(404);
    }
  });

  it('field validation: missing or malformed enterprise_customer_uuid, over-long slug', async () => {
    const missing = await asOperator('POST', 'provisioning-admins/customer-agreement/', {});
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ enterprise_customer_uuid: ['This field is required.'] });
    const bad = await asOperator('POST', 'provisioning-admins/customer-agreement/', {
      enterprise_customer_uuid: 'not-a-uuid',
      enterprise_customer_slug: 'x'.repeat(129),
      default_enterprise_catalog_uuid: 'nope',
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      enterprise_customer_uuid: ['Must be a valid UUID.'],
      enterprise_customer_slug: ['Ensure this field has no more than 128 characters.'],
      default_enterprise_catalog_uuid: ['Must be a valid UUID.'],
    });
  });

  it('duplicate enterprise_customer_uuid or slug → 400 naming the field (also on PATCH)', async () => {
    const first = await createAgreement();
    const sameCustomer = await asOperator('POST', 'provisioning-admins/customer-agreement/', {
      enterprise_customer_uuid: first.enterprise_customer_uuid,
    });
    expect(sameCustomer.status).toBe(400);
    expect(sameCustomer.body).toEqual({
      enterprise_customer_uuid: ['customer agreement with this enterprise customer uuid already exists.'],
    });

    const sameSlug = await asOperator('POST', 'provisioning-admins/customer-agreement/', {
      enterprise_customer_uuid: randomUUID(),
      enterprise_customer_slug: first.enterprise_customer_slug,
    });
    expect(sameSlug.status).toBe(400);
    expect(sameSlug.body).toEqual({
      enterprise_customer_slug: ['customer agreement with this enterprise customer slug already exists.'],
    });

    const other = await createAgreement();
    const patch = await asOperator('PATCH', `provisioning-admins/customer-agreement/${other.uuid}/`, {
      enterprise_customer_slug: first.enterprise_customer_slug,
    });
    expect(patch.status).toBe(400);
    expect(patch.body).toEqual(sameSlug.body);
  });

  it('10 concurrent creates for one customer: one 201, nine 400, one row, never a 500', async () => {
    const customer = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        asOperator('POST', 'provisioning-admins/customer-agreement/', {
          enterprise_customer_uuid: customer,
          enterprise_customer_slug: `race-${i}-${customer.slice(0, 8)}`,
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
    for (const r of results.filter((x) => x.status === 400)) {
      expect(r.body).toEqual({
        enterprise_customer_uuid: ['customer agreement with this enterprise customer uuid already exists.'],
      });
    }
    const rows = await tables()
      .selectFrom('customer_agreements')
      .select('uuid')
      .where('enterprise_customer_uuid', '=', customer)
      .execute();
    expect(rows).toHaveLength(1);
  });
});

describe('customer agreement read (spec 5.4, §9.7)', () => {
  it('lists the agreement to its admins and learners, active plans only and without a product key', async () => {
    const agreement = await createAgreement();
    const customer = agreement.enterprise_customer_uuid as string;
    const active = await createPlan(agreement.uuid, { should_auto_apply_licenses: true });
    const inactive = await createPlan(agreement.uuid, { is_active: false });

    for (const role of ['enterprise_admin', 'enterprise_learner']) {
      const token = await stack.token({ roles: [`${role}:${customer}`] });
      const res = await call<{ count: number; next: null; previous: null; results: Json[] }>(
        token,
        'GET',
        `customer-agreement/?enterprise_customer_uuid=${customer}`,
      );
      expect(res.status, role).toBe(200);
      expect(res.body.count).toBe(1);
      expect(res.body.next).toBeNull();
      expect(res.body.previous).toBeNull();
      const [item] = res.body.results as [Json & { subscriptions: Json[] }];
      expect(item.uuid).toBe(agreement.uuid);
      expect(item.subscriptions.map((s) => s.uuid)).toEqual([active.uuid]);
      expect(item.subscriptions[0]).not.toHaveProperty('product');
      expect(item.subscriptions[0]).toMatchObject({
        plan_type: 'Standard Paid',
        licenses: { total: 5, allocated: 0, unassigned: 5, activated: 0, assigned: 0, revoked: 0 },
        revocations: null,
        prior_renewals: [],
      });
      expect(item.subscription_for_auto_applied_licenses).toBe(active.uuid);
      expect(item.available_subscription_catalogs).toEqual([active.enterprise_catalog_uuid]);
      expect(item.net_days_until_expiration).toBeGreaterThanOrEqual(363);
    }

    const all = await asOperator<{ results: Array<{ subscriptions: Json[] }> }>(
      'GET',
      `customer-agreement/?enterprise_customer_uuid=${customer}&active_plans_only=false`,
    );
    expect(all.body.results[0]?.subscriptions.map((s) => s.uuid).sort()).toEqual([active.uuid, inactive.uuid].sort());

    const one = await call(
      await stack.token({ roles: [`enterprise_learner:${customer}`] }),
      'GET',
      `customer-agreement/${agreement.uuid}/`,
    );
    expect(one.status).toBe(200);
    expect(Object.keys(one.body).sort()).toEqual(AGREEMENT_FIELDS);
  });

  it('a caller with no role on the customer gets 200 with count 0 (and 403 on the record)', async () => {
    const agreement = await createAgreement();
    const stranger = await stack.token({ roles: [`enterprise_admin:${randomUUID()}`] });
    const list = await call(
      stranger,
      'GET',
      `customer-agreement/?enterprise_customer_uuid=${agreement.enterprise_customer_uuid}`,
    );
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ count: 0, next: null, previous: null, results: [] });

    const unfiltered = await call<{ results: Json[] }>(stranger, 'GET', 'customer-agreement/');
    expect(unfiltered.body.results.map((r) => r.uuid)).not.toContain(agreement.uuid);

    const record = await call(stranger, 'GET', `customer-agreement/${agreement.uuid}/`);
    expect(record.status).toBe(403);
    const unknown = await asOperator('GET', `customer-agreement/${randomUUID()}/`);
    expect(unknown.status).toBe(404);
  });

  it('a malformed enterprise_customer_uuid filter is a 400, not a 500', async () => {
    const res = await asOperator('GET', 'customer-agreement/?enterprise_customer_uuid=nope');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ enterprise_customer_uuid: ['Must be a valid UUID.'] });
  });
});

describe('provisioning: subscription plans (spec 5.2, §9.3–9.5)', () => {
  it('POST → 201 with the 5.2 field set plus license counts; the licenses exist', async () => {
    const agreement = await createAgreement();
    const payload = planPayload(agreement.uuid, { desired_num_licenses: 7 });
    const res = await asOperator('POST', 'provisioning-admins/subscriptions/', payload);
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(PLAN_FIELDS);
    expect(res.body).toMatchObject({
      title: payload.title,
      customer_agreement: agreement.uuid,
      enterprise_customer_uuid: agreement.enterprise_customer_uuid,
      enterprise_catalog_uuid: payload.enterprise_catalog_uuid,
      start_date: payload.start_date,
      expiration_date: payload.expiration_date,
      product: 1,
      plan_type: 'Standard Paid',
      is_active: true,
      is_current: true,
      change_reason: 'new',
      desired_num_licenses: 7,
      revoke_max_percentage: 5,
      num_revocations_applied: 0,
      salesforce_opportunity_line_item: payload.salesforce_opportunity_line_item,
      licenses: { total: 7, allocated: 0, unassigned: 7, activated: 0, assigned: 0, revoked: 0 },
    });
    const rows = await licenseRows(res.body.uuid as string);
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r.status === 'unassigned')).toBe(true);

    const got = await asOperator('GET', `provisioning-admins/subscriptions/${res.body.uuid}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
  });

  it('dates: ISO-8601 with an offset (or a date alone) in, UTC ISO strings out', async () => {
    const agreement = await createAgreement();
    const plan = await createPlan(agreement.uuid, {
      start_date: '2030-01-01T10:00:00.123456+05:30',
      expiration_date: '2031-01-01',
    });
    expect(plan.start_date).toBe('2030-01-01T04:30:00.123Z');
    expect(plan.expiration_date).toBe('2031-01-01T00:00:00.000Z');
    expect(plan.is_current).toBe(false);
    expect(plan.created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('enterprise_catalog_uuid null → the agreement default; no default either → 400', async () => {
    const agreement = await createAgreement();
    const plan = await createPlan(agreement.uuid, { enterprise_catalog_uuid: null });
    expect(plan.enterprise_catalog_uuid).toBe(agreement.default_enterprise_catalog_uuid);

    const bare = await createAgreement({ default_enterprise_catalog_uuid: null });
    const res = await asOperator(
      'POST',
      'provisioning-admins/subscriptions/',
      planPayload(bare.uuid, { enterprise_catalog_uuid: null }),
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        enterprise_catalog_uuid: [
          'This field is required when the customer agreement has no default_enterprise_catalog_uuid.',
        ],
      },
    });
  });

  it('validation errors answer 400 with the upstream {"error": ...} bodies', async () => {
    const agreement = await createAgreement();
    const post = (overrides: Json) =>
      asOperator('POST', 'provisioning-admins/subscriptions/', planPayload(agreement.uuid, overrides));
    const cases: Array<[string, Json, unknown]> = [
      [
        'unknown agreement',
        { customer_agreement: randomUUID() },
        { error: "An error occurred: Provided customer_agreement doesn't exist." },
      ],
      ['unknown product', { product: 9 }, { error: { product: ['Invalid pk "9" - object does not exist.'] } }],
      [
        'product of the wrong type',
        { product: 'abc' },
        { error: { product: ['Incorrect type. Expected pk value, received str.'] } },
      ],
      [
        'SF line item "foo"',
        { salesforce_opportunity_line_item: 'foo' },
        { error: "An error occurred: Invalid Salesforce ID format. It must start with '00k'." },
      ],
      [
        'SF line item null for a paid product',
        { salesforce_opportunity_line_item: null },
        { error: "An error occurred: You must specify Salesforce ID for selected product. It must start with '00k'." },
      ],
      [
        'SF line item too short',
        { salesforce_opportunity_line_item: '00kshort' },
        { error: { salesforce_opportunity_line_item: ['Ensure this field has at least 18 characters.'] } },
      ],
      [
        'change_reason invalid',
        { change_reason: 'whim' },
        { error: { change_reason: ['"whim" is not a valid choice.'] } },
      ],
      [
        'desired_num_licenses negative',
        { desired_num_licenses: -1 },
        { error: { desired_num_licenses: ['Ensure this value is greater than or equal to 0.'] } },
      ],
      [
        'desired_num_licenses too big',
        { desired_num_licenses: 1_000_001 },
        { error: { desired_num_licenses: ['Ensure this value is less than or equal to 1000000.'] } },
      ],
      [
        'desired_num_licenses fractional',
        { desired_num_licenses: 1.5 },
        { error: { desired_num_licenses: ['A valid integer is required.'] } },
      ],
      [
        'start after expiration',
        { start_date: daysFromNow(10), expiration_date: daysFromNow(5) },
        { error: { expiration_date: ['The expiration date must be after the start date.'] } },
      ],
      [
        'malformed date',
        { start_date: '2024-02-31T00:00:00Z' },
        {
          error: {
            start_date: [
              'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].',
            ],
          },
        },
      ],
      [
        'malformed agreement uuid',
        { customer_agreement: 'nope' },
        { error: { customer_agreement: ['Must be a valid UUID.'] } },
      ],
      ['NUL byte in the title', { title: 'a\u0000b' }, { error: { title: ['Null characters are not allowed.'] } }],
      [
        'product id beyond integer range',
        { product: 99_999_999_999 },
        { error: { product: ['Invalid pk "99999999999" - object does not exist.'] } },
      ],
      ['blank title', { title: ' ' }, { error: { title: ['This field may not be blank.'] } }],
    ];
    for (const [name, overrides, expected] of cases) {
      const res = await post(overrides);
      expect(res.status, name).toBe(400);
      expect(res.body, name).toEqual(expected);
    }

    // Required keys, including salesforce_opportunity_line_item (its key, even when null is allowed).
    const {
      change_reason: _c,
      salesforce_opportunity_line_item: _s,
      title: _t,
      ...rest
    } = planPayload(agreement.uuid, {
      product: 2,
    });
    const missing = await asOperator('POST', 'provisioning-admins/subscriptions/', rest);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      error: {
        title: ['This field is required.'],
        change_reason: ['This field is required.'],
        salesforce_opportunity_line_item: ['This field is required.'],
      },
    });

    const count = await tables()
      .selectFrom('subscription_plans')
      .select('uuid')
      .where('customer_agreement', '=', agreement.uuid)
      .execute();
    expect(count).toHaveLength(0);
  });

  it('a null SF line item is allowed for trial products (plan type sf_id_required=false)', async () => {
    const agreement = await createAgreement();
    for (const product of [2, 4]) {
      const plan = await createPlan(agreement.uuid, { product, salesforce_opportunity_line_item: null });
      expect(plan).toMatchObject({ product, plan_type: 'Trials', salesforce_opportunity_line_item: null });
    }
  });

  it('a null SF line item is allowed on a paid product when the plan is for internal use only (ADR 0007)', async () => {
    const agreement = await createAgreement();
    const plan = await createPlan(agreement.uuid, {
      product: 1,
      salesforce_opportunity_line_item: null,
      for_internal_use_only: true,
    });
    expect(plan).toMatchObject({ product: 1, plan_type: 'Standard Paid', salesforce_opportunity_line_item: null });
  });

  it('the same title twice in an agreement → 400 unique-set error (also with 5 concurrent creates)', async () => {
    const agreement = await createAgreement();
    const first = await createPlan(agreement.uuid, { title: 'Annual' });
    const again = await asOperator(
      'POST',
      'provisioning-admins/subscriptions/',
      planPayload(agreement.uuid, { title: 'Annual' }),
    );
    expect(again.status).toBe(400);
    expect(again.body).toEqual({
      error: { non_field_errors: ['The fields title, customer_agreement must make a unique set.'] },
    });
    // Another agreement may use the title.
    await createPlan((await createAgreement()).uuid, { title: 'Annual' });

    const racing = await Promise.all(
      Array.from({ length: 5 }, () =>
        asOperator(
          'POST',
          'provisioning-admins/subscriptions/',
          planPayload(agreement.uuid, { title: 'Racing', desired_num_licenses: 50 }),
        ),
      ),
    );
    expect(racing.map((r) => r.status).sort()).toEqual([201, 400, 400, 400, 400]);
    for (const r of racing.filter((x) => x.status === 400)) expect(r.body).toEqual(again.body);
    const plans = await tables()
      .selectFrom('subscription_plans')
      .select('uuid')
      .where('customer_agreement', '=', agreement.uuid)
      .execute();
    expect(plans.map((p) => p.uuid).sort()).toEqual(
      [first.uuid, racing.find((r) => r.status === 201)?.body.uuid].sort(),
    );
    // The losers' licenses were rolled back with their plans.
    const licenses = await tables()
      .selectFrom('licenses')
      .innerJoin('subscription_plans', 'subscription_plans.uuid', 'licenses.subscription_plan')
      .select('licenses.uuid')
      .where('subscription_plans.customer_agreement', '=', agreement.uuid)
      .execute();
    expect(licenses).toHaveLength(5 + 50);
  });

  it('provisions 10,000 licenses in the create transaction with one set-based statement', async () => {
    const agreement = await createAgreement();
    const started = performance.now();
    const plan = await createPlan(agreement.uuid, { desired_num_licenses: 10_000 });
    const ms = Math.round(performance.now() - started);
    console.log(`[license-manager] POST plan with 10,000 licenses took ${ms} ms`);
    expect(plan.licenses).toEqual({
      total: 10_000,
      allocated: 0,
      unassigned: 10_000,
      activated: 0,
      assigned: 0,
      revoked: 0,
    });
    const rows = await licenseRows(plan.uuid);
    expect(rows).toHaveLength(10_000);
    const distinct = await tables()
      .selectFrom('licenses')
      .select((eb) => eb.fn.count<number>('uuid').distinct().as('n'))
      .where('subscription_plan', '=', plan.uuid)
      .executeTakeFirstOrThrow();
    expect(Number(distinct.n)).toBe(10_000);
  });

  it('PATCH updates the title (200); bad product or SF id → 400; change_reason is required', async () => {
    const agreement = await createAgreement();
    const plan = await createPlan(agreement.uuid);
    const path = `provisioning-admins/subscriptions/${plan.uuid}/`;

    // As upstream's tests do, send the whole create payload back (read-only fields are ignored).
    const renamed = await asOperator('PATCH', path, {
      ...planPayload(agreement.uuid),
      title: 'bar',
      change_reason: 'other',
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({
      uuid: plan.uuid,
      title: 'bar',
      change_reason: 'other',
      customer_agreement: agreement.uuid,
    });

    const badProduct = await asOperator('PATCH', path, { product: 10, change_reason: 'other' });
    expect(badProduct.status).toBe(400);
    expect(badProduct.body).toEqual({ error: { product: ['Invalid pk "10" - object does not exist.'] } });

    const badSf = await asOperator('PATCH', path, { salesforce_opportunity_line_item: 'foo', change_reason: 'other' });
    expect(badSf.status).toBe(400);
    expect(badSf.body).toEqual({ error: "An error occurred: Invalid Salesforce ID format. It must start with '00k'." });

    const noReason = await asOperator('PATCH', path, { title: 'baz' });
    expect(noReason.status).toBe(400);
    expect(noReason.body).toEqual({ error: { change_reason: ['This field is required.'] } });

    const newOli = lineItem();
    const oli = await asOperator('PATCH', path, { salesforce_opportunity_line_item: newOli, change_reason: 'other' });
    expect(oli.status).toBe(200);
    expect(oli.body.salesforce_opportunity_line_item).toBe(newOli);
    expect(oli.body.title).toBe('bar');

    const other = await createPlan(agreement.uuid);
    const clash = await asOperator('PATCH', `provisioning-admins/subscriptions/${other.uuid}/`, {
      title: 'bar',
      change_reason: 'other',
    });
    expect(clash.status).toBe(400);
    expect(clash.body).toEqual({
      error: { non_field_errors: ['The fields title, customer_agreement must make a unique set.'] },
    });
  });

  it('GET/PATCH of an unknown plan → 404 {"error": "No record found."}', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const got = await asOperator('GET', `provisioning-admins/subscriptions/${id}/`);
      expect(got.status).toBe(404);
      expect(got.body).toEqual({ error: 'No record found.' });
      const patched = await asOperator('PATCH', `provisioning-admins/subscriptions/${id}/`, { change_reason: 'other' });
      expect(patched.status).toBe(404);
      expect(patched.body).toEqual({ error: 'No record found.' });
    }
  });

  it('raising desired_num_licenses adds unassigned licenses up to it; lowering never removes any', async () => {
    const agreement = await createAgreement();
    const plan = await createPlan(agreement.uuid, { desired_num_licenses: 5 });
    const path = `provisioning-admins/subscriptions/${plan.uuid}/`;

    const up = await asOperator('PATCH', path, {
      desired_num_licenses: 12,
      change_reason: 'organization_requested_change',
    });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ desired_num_licenses: 12, licenses: { total: 12, unassigned: 12 } });
    expect(await licenseRows(plan.uuid)).toHaveLength(12);

    const concurrent = await Promise.all(
      [20, 20, 20].map((n) => asOperator('PATCH', path, { desired_num_licenses: n, change_reason: 'other' })),
    );
    expect(concurrent.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await licenseRows(plan.uuid)).toHaveLength(20);

    const down = await asOperator('PATCH', path, { desired_num_licenses: 3, change_reason: 'other' });
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ desired_num_licenses: 3, licenses: { total: 20 } });
    expect(await licenseRows(plan.uuid)).toHaveLength(20);
  });

  it('GET list: active plans only (newest start first, with product); active_plans_only=false adds the rest', async () => {
    const agreement = await createAgreement();
    const older = await createPlan(agreement.uuid, { start_date: daysFromNow(-30) });
    const newer = await createPlan(agreement.uuid, { start_date: daysFromNow(-2) });
    const inactive = await createPlan(agreement.uuid, { is_active: false, start_date: daysFromNow(-1) });

    type Page = { count: number; results: Json[] };
    const list = await asOperator<Page>(
      'GET',
      `provisioning-admins/subscriptions/?enterprise_customer_uuid=${agreement.enterprise_customer_uuid}`,
    );
    expect(list.status).toBe(200);
    expect(list.body.count).toBe(2);
    expect(list.body.results.map((p) => p.uuid)).toEqual([newer.uuid, older.uuid]);
    expect(list.body.results[0]).toMatchObject({ product: 1, revocations: null, prior_renewals: [] });

    const all = await asOperator<Page>(
      'GET',
      `provisioning-admins/subscriptions/?customer_agreement=${agreement.uuid}&active_plans_only=false`,
    );
    expect(all.body.results.map((p) => p.uuid)).toEqual([inactive.uuid, newer.uuid, older.uuid]);
  });

  it('paginates by 100 with absolute next/previous links built from the request host', async () => {
    const agreement = await createAgreement();
    const product = 1;
    await tables()
      .insertInto('subscription_plans')
      .values(
        Array.from({ length: 101 }, (_, i) => ({
          title: `Paged ${i}`,
          customer_agreement: agreement.uuid,
          start_date: new Date(Date.now() - (i + 1) * DAY),
          expiration_date: new Date(Date.now() + 365 * DAY),
          enterprise_catalog_uuid: randomUUID(),
          product_id: product,
          salesforce_opportunity_line_item: lineItem(),
          change_reason: 'new' as const,
          is_active: true,
        })),
      )
      .execute();
    type Page = { count: number; next: string | null; previous: string | null; results: Json[] };
    const first = await asOperator<Page>(
      'GET',
      `provisioning-admins/subscriptions/?customer_agreement=${agreement.uuid}`,
    );
    expect(first.body.count).toBe(101);
    expect(first.body.results).toHaveLength(100);
    expect(first.body.previous).toBeNull();
    expect(first.body.next).toBe(
      `${base()}/provisioning-admins/subscriptions/?customer_agreement=${agreement.uuid}&page=2`,
    );

    const second = await call<Page>(operator, 'GET', (first.body.next as string).slice(base().length + 1));
    expect(second.body.results).toHaveLength(1);
    expect(second.body.next).toBeNull();
    expect(second.body.previous).toBe(
      `${base()}/provisioning-admins/subscriptions/?customer_agreement=${agreement.uuid}`,
    );
    const seen = new Set([...first.body.results, ...second.body.results].map((p) => p.uuid));
    expect(seen.size).toBe(101);

    const beyond = await asOperator(
      'GET',
      `provisioning-admins/subscriptions/?customer_agreement=${agreement.uuid}&page=3`,
    );
    expect(beyond.status).toBe(404);
    expect(beyond.body).toEqual({ detail: 'Invalid page.' });
  });
});

describe('provisioning: subscription plan renewals (spec 5.3)', () => {
  const RENEWAL_FIELDS = [
    'created',
    'disable_auto_apply_licenses',
    'effective_date',
    'enterprise_customer_uuid',
    'exempt_from_batch_processing',
    'id',
    'license_types_to_copy',
    'modified',
    'number_of_licenses',
    'prior_subscription_plan',
    'prior_subscription_plan_title',
    'processed',
    'processed_datetime',
    'renewed_expiration_date',
    'renewed_plan_title',
    'renewed_subscription_plan',
    'renewed_subscription_plan_title',
    'salesforce_opportunity_id',
  ];

  const renewalPayload = (prior: Json, renewed: Json | null, overrides: Json = {}): Json => ({
    prior_subscription_plan: prior.uuid,
    renewed_subscription_plan: renewed?.uuid ?? null,
    salesforce_opportunity_id: lineItem(),
    number_of_licenses: 100,
    effective_date: prior.expiration_date,
    renewed_expiration_date: new Date(Date.parse(prior.expiration_date as string) + 365 * DAY).toISOString(),
    ...overrides,
  });
  const post = (body: Json) => asOperator('POST', 'provisioning-admins/subscription-plan-renewals/', body);

  it('get-or-create: 201 new, 200 for the same pair, 422 with the conflicting record for either plan', async () => {
    const agreement = await createAgreement();
    const prior = await createPlan(agreement.uuid);
    const renewed = await createPlan(agreement.uuid, {
      start_date: prior.expiration_date,
      expiration_date: daysFromNow(800),
    });
    const payload = renewalPayload(prior, renewed, { renewed_plan_title: 'Next year' });

    const created = await post(payload);
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(RENEWAL_FIELDS);
    expect(created.body).toMatchObject({
      prior_subscription_plan: prior.uuid,
      renewed_subscription_plan: renewed.uuid,
      salesforce_opportunity_id: payload.salesforce_opportunity_id,
      number_of_licenses: 100,
      effective_date: payload.effective_date,
      renewed_expiration_date: payload.renewed_expiration_date,
      renewed_plan_title: 'Next year',
      license_types_to_copy: 'assigned_and_activated',
      disable_auto_apply_licenses: false,
      exempt_from_batch_processing: false,
      processed: false,
      processed_datetime: null,
    });

    const again = await post({ ...payload, number_of_licenses: 5 });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(created.body);

    const third = await createPlan(agreement.uuid);
    const samePrior = await post(renewalPayload(prior, third));
    expect(samePrior.status).toBe(422);
    expect(samePrior.body).toEqual(created.body);

    const fourth = await createPlan(agreement.uuid, { start_date: daysFromNow(-100) });
    const sameRenewed = await post(renewalPayload(fourth, renewed));
    expect(sameRenewed.status).toBe(422);
    expect(sameRenewed.body).toEqual(created.body);

    const got = await asOperator('GET', `provisioning-admins/subscription-plan-renewals/${created.body.id}/`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);
    for (const id of ['999999', 'abc', '99999999999']) {
      const missing = await asOperator('GET', `provisioning-admins/subscription-plan-renewals/${id}/`);
      expect(missing.status, id).toBe(404);
    }

    // The renewal shows in the plans' representations.
    const priorView = await asOperator('GET', `provisioning-admins/subscriptions/${prior.uuid}/`);
    expect(priorView.body.days_until_expiration_including_renewals).toBeGreaterThan(
      priorView.body.days_until_expiration as number,
    );
    const renewedList = await asOperator<{ results: Json[] }>(
      'GET',
      `provisioning-admins/subscriptions/?customer_agreement=${agreement.uuid}`,
    );
    expect(renewedList.body.results.find((p) => p.uuid === renewed.uuid)?.prior_renewals).toEqual([
      {
        prior_subscription_plan_id: prior.uuid,
        prior_subscription_plan_start_date: prior.start_date,
        renewed_subscription_plan_id: renewed.uuid,
        renewed_subscription_plan_start_date: renewed.start_date,
      },
    ]);
  });

  it('a renewal without a renewed plan, and a null opportunity id, is accepted', async () => {
    const agreement = await createAgreement();
    const prior = await createPlan(agreement.uuid);
    const res = await post(
      renewalPayload(prior, null, { salesforce_opportunity_id: null, license_types_to_copy: 'activated' }),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      renewed_subscription_plan: null,
      salesforce_opportunity_id: null,
      license_types_to_copy: 'activated',
    });
    const again = await post(renewalPayload(prior, null));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(res.body.id);
  });

  it('validation: plans must exist and share the agreement, dates must be in order', async () => {
    const agreement = await createAgreement();
    const prior = await createPlan(agreement.uuid);
    const elsewhere = await createPlan((await createAgreement()).uuid);
    const renewed = await createPlan(agreement.uuid);
    const missingPlan = randomUUID();
    const cases: Array<[string, Json, unknown]> = [
      [
        'different agreements',
        renewalPayload(prior, elsewhere),
        {
          renewed_subscription_plan: [
            'The prior and renewed subscription plans must belong to the same customer agreement.',
          ],
        },
      ],
      [
        'effective date before the prior start',
        renewalPayload(prior, renewed, { effective_date: daysFromNow(-10) }),
        { effective_date: ["The renewal's effective date must be on or after the prior plan's start date."] },
      ],
      [
        'expiration not after the effective date',
        renewalPayload(prior, renewed, { renewed_expiration_date: prior.expiration_date }),
        { renewed_expiration_date: ['The renewed expiration date must be after the effective date.'] },
      ],
      [
        'unknown prior plan',
        renewalPayload({ ...prior, uuid: missingPlan }, renewed),
        { prior_subscription_plan: [`Invalid pk "${missingPlan}" - object does not exist.`] },
      ],
      [
        'renewing into itself',
        renewalPayload(prior, prior),
        { renewed_subscription_plan: ['A subscription plan cannot be renewed into itself.'] },
      ],
      [
        'zero licenses',
        renewalPayload(prior, renewed, { number_of_licenses: 0 }),
        { number_of_licenses: ['Ensure this value is greater than or equal to 1.'] },
      ],
      [
        'bad copy type',
        renewalPayload(prior, renewed, { license_types_to_copy: 'all' }),
        { license_types_to_copy: ['"all" is not a valid choice.'] },
      ],
      [
        'missing fields',
        { prior_subscription_plan: prior.uuid },
        {
          number_of_licenses: ['This field is required.'],
          effective_date: ['This field is required.'],
          renewed_expiration_date: ['This field is required.'],
        },
      ],
    ];
    for (const [name, body, expected] of cases) {
      const res = await post(body);
      expect(res.status, name).toBe(400);
      expect(res.body, name).toEqual(expected);
    }
    const rows = await tables()
      .selectFrom('subscription_plan_renewals')
      .select('id')
      .where('prior_subscription_plan', '=', prior.uuid)
      .execute();
    expect(rows).toHaveLength(0);
  });

  it('concurrent identical creates: one 201, the rest 200 with the same record, one row', async () => {
    const agreement = await createAgreement();
    const prior = await createPlan(agreement.uuid);
    const renewed = await createPlan(agreement.uuid);
    const payload = renewalPayload(prior, renewed);
    const results = await Promise.all(Array.from({ length: 5 }, () => post(payload)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const rows = await tables()
      .selectFrom('subscription_plan_renewals')
      .select('id')
      .where('prior_subscription_plan', '=', prior.uuid)
      .execute();
    expect(rows).toHaveLength(1);
  });
});
