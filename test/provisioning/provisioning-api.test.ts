import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisioningRequestSchema } from '../../src/access/provisioning/request';
import { provisioningWorkflowId } from '../../src/api/provisioning/service';
import { request } from '../helpers/http';
import { validBody } from '../helpers/provisioning';
import { provision, provisionedRows } from '../helpers/provisioning-db';
import { startTestStack, type TestStack, uniqueId } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ env: { PROVISIONING_RETRY_WINDOW_SECONDS: '60' } });
});
afterAll(async () => {
  await stack?.close();
});

const slugOf = (prefix: string) => uniqueId(prefix).slice(0, 30);

async function registerUser(email: string) {
  const res = await request('POST', `${stack.urls.lms}/api/user/v1/accounts`, { email }, await stack.operatorToken());
  expect([200, 201]).toContain(res.status);
}

const planKeys = [
  'created',
  'enterprise_catalog_uuid',
  'expiration_date',
  'is_active',
  'is_current',
  'plan_type',
  'product',
  'salesforce_opportunity_line_item',
  'start_date',
  'title',
  'uuid',
];

describe('POST /api/v1/provisioning: one call creates a complete subscription customer', () => {
  it('answers 201 with the upstream response shape and creates every record exactly once', async () => {
    const slug = slugOf('e2e');
    const body = validBody(slug);
    await registerUser(`known@${slug}.example.com`);
    body.pending_admins = [{ user_email: `known@${slug}.example.com` }, { user_email: `new@${slug}.example.com` }];
    body.trial_subscription_plan.desired_num_licenses = 250;

    const { status, body: res } = await provision(stack, body);
    expect(status).toBe(201);
    expect(Object.keys(res).sort()).toEqual([
      'customer_admins',
      'customer_agreement',
      'enterprise_catalog',
      'enterprise_customer',
      'first_paid_subscription_plan',
      'subscription_plan_renewal',
      'trial_subscription_plan',
    ]);
    const r = res as Record<string, Record<string, unknown>>;
    expect(r.enterprise_customer).toMatchObject({ name: `${slug} Inc`, slug, country: 'US' });
    expect(r.customer_admins).toEqual({
      created_admins: [{ user_email: `known@${slug}.example.com` }, { user_email: `new@${slug}.example.com` }],
      existing_admins: [],
    });
    expect(r.enterprise_catalog).toMatchObject({
      enterprise_customer_uuid: r.enterprise_customer?.uuid,
      title: `${slug} Inc Subscription Catalog`,
      catalog_query_id: 2,
    });
    expect(r.customer_agreement).toMatchObject({
      enterprise_customer_uuid: r.enterprise_customer?.uuid,
      default_catalog_uuid: null,
      subscriptions: [],
    });
    expect(Object.keys(r.trial_subscription_plan ?? {}).sort()).toEqual(planKeys);
    expect(r.trial_subscription_plan).toMatchObject({
      title: `${slug} Trial`,
      product: 2,
      is_active: true,
      enterprise_catalog_uuid: r.enterprise_catalog?.uuid,
      start_date: '2026-06-01T00:00:00.000Z',
      expiration_date: '2026-06-15T00:00:00.000Z',
    });
    expect(r.first_paid_subscription_plan).toMatchObject({
      title: `${slug} Paid`,
      product: 1,
      start_date: '2026-06-15T00:00:00.000Z',
      expiration_date: '2027-06-15T00:00:00.000Z',
    });
    expect(r.subscription_plan_renewal).toMatchObject({
      prior_subscription_plan: r.trial_subscription_plan?.uuid,
      renewed_subscription_plan: r.first_paid_subscription_plan?.uuid,
      number_of_licenses: 250,
      effective_date: '2026-06-15T00:00:00.000Z',
      renewed_expiration_date: '2027-06-15T00:00:00.000Z',
      salesforce_opportunity_line_item: null,
    });

    expect(await provisionedRows(stack, slug)).toMatchObject({
      customers: 1,
      admins: 1,
      pendingAdmins: 1,
      catalogs: 1,
      agreements: 1,
      plans: 2,
      licenses: 500,
      renewals: 1,
    });
  });

  it('answers a repeat of the same request with the same records, and adds no row', async () => {
    const slug = slugOf('repeat');
    const first = await provision(stack, validBody(slug));
    expect(first.status).toBe(201);
    const rows = await provisionedRows(stack, slug);
    const again = await provision(stack, validBody(slug));
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await provisionedRows(stack, slug)).toEqual(rows);
  });

  it('joins 10 identical concurrent requests into one run and one set of records', async () => {
    const slug = slugOf('burst');
    const results = await Promise.all(Array.from({ length: 10 }, () => provision(stack, validBody(slug))));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    const uuids = new Set(results.map((r) => (r.body.enterprise_customer as { uuid: string }).uuid));
    expect(uuids.size).toBe(1);
    expect(await provisionedRows(stack, slug)).toMatchObject({
      customers: 1,
      catalogs: 1,
      agreements: 1,
      plans: 2,
      licenses: 10,
      renewals: 1,
    });
  });

  it('makes one customer when two different requests for one new slug arrive at once', async () => {
    const slug = slugOf('race');
    const a = validBody(slug);
    const b = validBody(slug);
    b.pending_admins = [{ user_email: `other@${slug}.example.com` }];
    const [ra, rb] = await Promise.all([provision(stack, a), provision(stack, b)]);
    expect([ra.status, rb.status]).toEqual([201, 201]);
    expect((ra.body.enterprise_customer as { uuid: string }).uuid).toBe(
      (rb.body.enterprise_customer as { uuid: string }).uuid,
    );
    expect((ra.body.trial_subscription_plan as { uuid: string }).uuid).toBe(
      (rb.body.trial_subscription_plan as { uuid: string }).uuid,
    );
    expect(await provisionedRows(stack, slug)).toMatchObject({
      customers: 1,
      pendingAdmins: 2,
      agreements: 1,
      plans: 2,
    });
  });
});

describe('reuse matrix (spec provisioning §8): a new request for an existing customer adds only what is new', () => {
  it('reuses customer, admins, pending admins, catalog, agreement, plans and renewal; adds only the new admin', async () => {
    const slug = slugOf('reuse');
    await registerUser(`real@${slug}.example.com`);
    const first = validBody(slug);
    first.pending_admins = [{ user_email: `real@${slug}.example.com` }, { user_email: `pending@${slug}.example.com` }];
    const one = await provision(stack, first);
    expect(one.status).toBe(201);
    const before = await provisionedRows(stack, slug);

    const second = validBody(slug);
    second.pending_admins = [
      { user_email: `REAL@${slug}.example.com` },
      { user_email: `pending@${slug}.example.com` },
      { user_email: `third@${slug}.example.com` },
    ];
    const two = await provision(stack, second);
    expect(two.status).toBe(201);
    const [a, b] = [one.body, two.body] as Array<Record<string, { uuid?: string; id?: number }>>;
    for (const key of [
      'enterprise_customer',
      'enterprise_catalog',
      'customer_agreement',
      'trial_subscription_plan',
      'first_paid_subscription_plan',
    ]) {
      expect(b?.[key]?.uuid, key).toBe(a?.[key]?.uuid);
    }
    expect(b?.subscription_plan_renewal?.id).toBe(a?.subscription_plan_renewal?.id);
    expect(two.body.customer_admins).toEqual({
      created_admins: [{ user_email: `third@${slug}.example.com` }],
      existing_admins: [{ user_email: `pending@${slug}.example.com` }, { user_email: `real@${slug}.example.com` }],
    });
    // The agreement as found by the second run already lists the plans of the first.
    expect((two.body.customer_agreement as { subscriptions: unknown[] }).subscriptions).toHaveLength(2);
    expect(await provisionedRows(stack, slug)).toEqual({ ...before, pendingAdmins: before.pendingAdmins + 1 });
  });

  it('adds a plan with a new line item to the existing agreement; a second renewal of the trial is a 422 conflict', async () => {
    const slug = slugOf('newplan');
    const one = await provision(stack, validBody(slug));
    expect(one.status).toBe(201);
    const second = validBody(slug);
    second.first_paid_subscription_plan.title = `${slug} Paid 2027`;
    second.first_paid_subscription_plan.salesforce_opportunity_line_item = '00k000000000042AAA';
    const two = await provision(stack, second);
    // The new paid plan is made, but license-manager refuses to renew the trial into a second plan.
    expect(two.status).toBe(422);
    expect(two.body.detail).toMatch(
      /^Error in provisioning workflow: create_subscription_plan_renewal: license-manager create subscription plan renewal: HTTP 422 /,
    );
    expect(await provisionedRows(stack, slug)).toMatchObject({ customers: 1, agreements: 1, plans: 3, renewals: 1 });
  });

  it('uses a catalog the customer already has for the same query, and the requested title only on create', async () => {
    const slug = slugOf('cat');
    const body = validBody(slug) as ReturnType<typeof validBody> & { enterprise_catalog?: unknown };
    body.enterprise_catalog = { title: 'Hand-made catalog', catalog_query_id: 2 };
    const one = await provision(stack, body);
    body.enterprise_catalog = { title: 'Another title', catalog_query_id: 2 };
    const two = await provision(stack, body);
    expect(two.status).toBe(201);
    expect(two.body.enterprise_catalog).toEqual(one.body.enterprise_catalog);
    expect((two.body.enterprise_catalog as { title: string }).title).toBe('Hand-made catalog');
  });
});

describe('the legacy one-plan body and the status endpoint', () => {
  it('accepts the seed’s `subscription_plan` shape, converted as upstream does', async () => {
    const slug = slugOf('legacy');
    const { trial_subscription_plan, first_paid_subscription_plan: _, ...rest } = validBody(slug);
    const { status, body } = await provision(stack, { ...rest, subscription_plan: trial_subscription_plan });
    expect(status).toBe(201);
    expect(body.first_paid_subscription_plan).toMatchObject({
      title: `${slug} Trial - First Paid Plan`,
      product: 1,
      salesforce_opportunity_line_item: null,
    });
    expect(await provisionedRows(stack, slug)).toMatchObject({ plans: 2, renewals: 1 });
  });

  it('GET /api/v1/provisioning/{id}: 404 for an unknown id, 403 for other roles', async () => {
    const t = await stack.token({ roles: ['enterprise_provisioning_admin:*'] });
    const missing = await stack.api.inject({
      url: '/api/v1/provisioning/nope',
      headers: { authorization: `JWT ${t}` },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ detail: 'No provisioning workflow nope.' });
    const admin = await stack.token({ roles: ['enterprise_admin:*'] });
    const denied = await stack.api.inject({
      url: '/api/v1/provisioning/nope',
      headers: { authorization: `JWT ${admin}` },
    });
    expect(denied.statusCode).toBe(403);
  });
});

describe('failures', () => {
  it('retries the lms answering 503 to the first 3 customer creates, and completes', async () => {
    const slug = slugOf('flaky');
    await stack
      .faults('lms')
      .add({ method: 'POST', route: '/enterprise/api/v1/enterprise-customer/', status: 503, count: 3 });
    const { status } = await provision(stack, validBody(slug));
    expect(status).toBe(201);
    const [rule] = await stack.faults('lms').list();
    expect(rule?.hits).toBe(3);
    expect(await provisionedRows(stack, slug)).toMatchObject({ customers: 1, plans: 2 });
    await stack.faults('lms').clear();

    const view = await statusView(provisioningWorkflowId(provisioningRequestSchema.parse(validBody(slug))));
    expect(view.status).toBe('completed');
    expect(view.steps.map((s) => s.status)).toEqual(Array(7).fill('succeeded'));
    expect(view.steps.find((s) => s.name === 'create_customer')).toMatchObject({ status: 'succeeded', attempts: 4 });
  });

  it('completes the catalog sync when enterprise-catalog fails once: the retried step pushes it again', async () => {
    const slug = slugOf('catsync');
    await stack
      .faults('catalog')
      .add({ method: 'PUT', route: '/api/v1/enterprise-catalogs/:uuid/', status: 503, count: 1 });
    const { status, body } = await provision(stack, validBody(slug));
    expect(status).toBe(201);
    const [rule] = await stack.faults('catalog').list();
    expect(rule?.hits).toBe(1);
    await stack.faults('catalog').clear();
    const catalogUuid = (body.enterprise_catalog as { uuid: string }).uuid;
    const res = await fetch(`${stack.urls.catalog}/api/v1/enterprise-catalogs/${catalogUuid}/`, {
      headers: { authorization: `JWT ${await stack.operatorToken()}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ uuid: catalogUuid, enterprise_catalog_query: 2 });
  });

  it('fails with 422 and license-manager’s own message, after one attempt, when it refuses the plan', async () => {
    const slug = slugOf('refused');
    await stack.faults('license-manager').add({
      method: 'POST',
      route: '/api/v1/provisioning-admins/subscriptions/',
      status: 400,
      body: { error: 'An error occurred: Invalid Salesforce ID format.' },
      count: 5,
    });
    const { status, body } = await provision(stack, validBody(slug));
    // One attempt only: a 4xx is not retried.
    const [refusal] = await stack.faults('license-manager').list();
    expect(refusal?.hits).toBe(1);
    await stack.faults('license-manager').clear();
    expect(status).toBe(422);
    expect(body.detail).toBe(
      'Error in provisioning workflow: create_trial_subscription_plan: license-manager create subscription plan: ' +
        'HTTP 400 {"error":"An error occurred: Invalid Salesforce ID format."}',
    );
    expect(await provisionedRows(stack, slug)).toMatchObject({ customers: 1, agreements: 1, plans: 0 });

    // The same request again (the fault gone) runs anew and completes: failed runs do not block retries.
    const again = await provision(stack, validBody(slug));
    expect(again.status).toBe(201);
  });
});

describe('auth and validation at the edge', () => {
  it('401 without a token, 403 for other roles even with an empty body, 400 with field paths', async () => {
    const none = await stack.api.inject({ method: 'POST', url: '/api/v1/provisioning', payload: {} });
    expect(none.statusCode).toBe(401);
    for (const role of ['enterprise_admin:*', 'enterprise_learner:*', 'some-other-role:*']) {
      const t = await stack.token({ roles: [role.replace('some-other-role', 'some_other_role')] });
      const res = await stack.api.inject({
        method: 'POST',
        url: '/api/v1/provisioning/',
        headers: { authorization: `JWT ${t}` },
        payload: {},
      });
      expect(res.statusCode, role).toBe(403);
    }
    const op = await stack.token({ roles: ['enterprise_openedx_operator:*'] });
    const bad = validBody('x') as Record<string, unknown> & { enterprise_customer: Record<string, unknown> };
    bad.enterprise_customer.slug = '';
    bad.enterprise_customer.country = 'ZZ';
    const res = await provision(stack, bad, op);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      enterprise_customer: { slug: ['This field may not be blank.'], country: ['"ZZ" is not a valid choice.'] },
    });
    const empty = await provision(stack, {}, op);
    expect(empty.status).toBe(400);
    expect(Object.keys(empty.body).sort()).toEqual([
      'enterprise_customer',
      'first_paid_subscription_plan',
      'pending_admins',
      'trial_subscription_plan',
    ]);
  });
});

async function statusView(workflowId: string) {
  const t = await stack.token({ roles: ['enterprise_provisioning_admin:*'] });
  const res = await stack.api.inject({
    url: `/api/v1/provisioning/${workflowId}`,
    headers: { authorization: `JWT ${t}` },
  });
  expect(res.statusCode).toBe(200);
  return res.json() as { status: string; steps: Array<{ name: string; status: string; attempts: number }> };
}
