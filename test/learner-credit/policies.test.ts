import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spendLimitMessage } from '../../src/access/learner-credit/policy-rules';
import type { AccessDB } from '../../src/access/schema';
import { type Json, type Page, type Res, request, serviceClient } from '../helpers/http';
import { importRuns } from '../helpers/learner-credit';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * Subsidy access policy CRUD through the orchestrator api, against the real subsidy and lms
 * services (spec learner-credit §2.1, §9, §13, §16 "CRUD").
 */

let stack: TestStack;
let operator: string;
/** A course run in the catalog service at PRICE, for spend in the subsidy's ledger. */
let RUN: string;

const ENROLLMENT = 'PerLearnerEnrollmentCreditAccessPolicy';
const SPEND = 'PerLearnerSpendCreditAccessPolicy';
const ASSIGNED = 'AssignedLearnerCreditAccessPolicy';
const PRICE = 4_900;
const DAY = 86_400_000;
const GHOST = '00000000-0000-4000-8000-00000000dead';
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const FORBIDDEN = { detail: 'You do not have permission to perform this action.' };

/** The §13 response fields, exactly. */
const POLICY_FIELDS = [
  'uuid',
  'policy_type',
  'display_name',
  'description',
  'active',
  'retired',
  'retired_at',
  'enterprise_customer_uuid',
  'catalog_uuid',
  'subsidy_uuid',
  'access_method',
  'per_learner_enrollment_limit',
  'per_learner_spend_limit',
  'spend_limit',
  'subsidy_active_datetime',
  'subsidy_expiration_datetime',
  'is_subsidy_active',
  'aggregates',
  'assignment_configuration',
  'group_associations',
  'late_redemption_allowed_until',
  'is_late_redemption_allowed',
  'created',
  'bnr_enabled',
  'total_spend_limits_for_subsidy',
  'total_deposits_for_subsidy',
].sort();

interface PolicyJson extends Json {
  uuid: string;
  policy_type: string;
  active: boolean;
  retired: boolean;
  retired_at: string | null;
  access_method: string;
  spend_limit: number | null;
  group_associations: string[];
  aggregates: null | Record<string, number>;
}
interface PolicyPage extends Page<PolicyJson> {
  num_pages: number;
  current_page: number;
  start: number;
}

beforeAll(async () => {
  stack = await startTestStack({ worker: false });
  operator = await stack.operatorToken();
  [RUN] = (await importRuns(stack, 1, PRICE)) as [string];
});
afterAll(async () => {
  await stack?.close();
});

const api = serviceClient(
  () => stack.apiUrl,
  () => operator,
);
const subsidyService = serviceClient(
  () => stack.urls.subsidy,
  () => operator,
);
const lms = serviceClient(
  () => stack.urls.lms,
  () => operator,
);
const access = () => stack.db.database.forSchema<AccessDB>('access');

const BASE = '/api/v1/subsidy-access-policies/';
const policyPath = (uuid: string) => `${BASE}${uuid}/`;

async function newSubsidy(customer: string, startingBalance = 100_000): Promise<{ uuid: string }> {
  const res = await subsidyService.post<{ uuid: string }>('/api/v1/subsidies/', {
    title: `Budget ${randomUUID().slice(0, 8)}`,
    enterprise_customer_uuid: customer,
    active_datetime: new Date(Date.now() - DAY).toISOString(),
    expiration_datetime: new Date(Date.now() + 365 * DAY).toISOString(),
    unit: 'usd_cents',
    starting_balance: startingBalance,
    reference_id: `00k${randomUUID().replaceAll('-', '').slice(0, 15)}`,
    reference_type: 'salesforce_opportunity_line_item',
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A customer with a funded subsidy, and a policy payload on it. */
async function fixture(startingBalance = 100_000) {
  const customer = randomUUID();
  const subsidy = (await newSubsidy(customer, startingBalance)).uuid;
  const payload = (over: Json = {}): Json => ({
    policy_type: SPEND,
    enterprise_customer_uuid: customer,
    catalog_uuid: randomUUID(),
    subsidy_uuid: subsidy,
    access_method: 'direct',
    display_name: 'Budget',
    active: true,
    spend_limit: 10_000,
    ...over,
  });
  return { customer, subsidy, payload };
}

async function create(body: Json): Promise<PolicyJson> {
  const res = await api.post<PolicyJson>(BASE, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
const patch = (uuid: string, body: Json, token?: string) =>
  api.call<PolicyJson>('PATCH', policyPath(uuid), body, token);
const rowCount = async (customer: string) =>
  Number(
    (
      await access()
        .selectFrom('subsidy_access_policies')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('enterprise_customer_uuid', '=', customer)
        .executeTakeFirstOrThrow()
    ).n,
  );

/** Spend in the subsidy's ledger attributed to the policy: a reservation, committed. */
async function spend(subsidy: string, policy: string, lmsUserId = 7_000 + Math.floor(Math.random() * 1e6)) {
  const txPath = `/api/v2/subsidies/${subsidy}/admin/transactions/`;
  const tx = await subsidyService.post<{ uuid: string }>(txPath, {
    lms_user_id: lmsUserId,
    content_key: RUN,
    subsidy_access_policy_uuid: policy,
    idempotency_key: `key-${randomUUID()}`,
  });
  expect(tx.status, JSON.stringify(tx.body)).toBe(201);
  const done = await subsidyService.post(`${txPath}${tx.body.uuid}/commit/`, { fulfillment_identifier: randomUUID() });
  expect(done.status, JSON.stringify(done.body)).toBe(200);
}

describe('create', () => {
  it('201 with the §13 response: subsidy fields, aggregates and totals', async () => {
    const { customer, subsidy, payload } = await fixture();
    const body = payload({ description: '  trimmed  ', per_learner_spend_limit: 2_000 });
    const res = await api.post<PolicyJson>(BASE, body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(POLICY_FIELDS);
    expect(res.body).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      policy_type: SPEND,
      display_name: 'Budget',
      description: 'trimmed',
      active: true,
      retired: false,
      retired_at: null,
      enterprise_customer_uuid: customer,
      catalog_uuid: body.catalog_uuid,
      subsidy_uuid: subsidy,
      access_method: 'direct',
      per_learner_enrollment_limit: null,
      per_learner_spend_limit: 2_000,
      spend_limit: 10_000,
      subsidy_active_datetime: expect.stringMatching(ISO_TIME),
      subsidy_expiration_datetime: expect.stringMatching(ISO_TIME),
      is_subsidy_active: true,
      aggregates: {
        amount_redeemed_usd_cents: 0,
        amount_redeemed_usd: 0,
        amount_allocated_usd_cents: 0,
        amount_allocated_usd: 0,
        spend_available_usd_cents: 10_000,
        spend_available_usd: 100,
      },
      assignment_configuration: null,
      group_associations: [],
      late_redemption_allowed_until: null,
      is_late_redemption_allowed: false,
      created: expect.stringMatching(ISO_TIME),
      bnr_enabled: false,
      total_spend_limits_for_subsidy: 10_000,
      total_deposits_for_subsidy: 100_000,
    });
    const got = await api.get<PolicyJson>(policyPath(res.body.uuid));
    expect(got.status).toBe(200);
    expect(got.body).toEqual(res.body);
  });

  it('idempotent: 200 with the active policy of the same identity, unchanged', async () => {
    const { customer, payload } = await fixture();
    const body = payload();
    const first = await create(body);
    const again = await api.post<PolicyJson>(BASE, { ...body, display_name: 'Other', spend_limit: 5 });
    expect(again.status).toBe(200);
    expect(again.body.uuid).toBe(first.uuid);
    expect(again.body.display_name).toBe('Budget');
    // Another catalog, type or access method is another policy.
    expect((await api.post(BASE, { ...body, catalog_uuid: randomUUID() })).status).toBe(201);
    expect((await api.post(BASE, { ...body, policy_type: ENROLLMENT })).status).toBe(201);
    expect(await rowCount(customer)).toBe(3);
    // Once the first is deleted (inactive), the same request creates a new one.
    expect((await api.call('DELETE', policyPath(first.uuid))).status).toBe(200);
    const fresh = await api.post<PolicyJson>(BASE, body);
    expect(fresh.status).toBe(201);
    expect(fresh.body.uuid).not.toBe(first.uuid);
  });

  it('10 concurrent identical creates make one row: one 201, nine 200 with the same uuid', async () => {
    const { customer, payload } = await fixture();
    const body = payload();
    const results = await Promise.all(Array.from({ length: 10 }, () => api.post<PolicyJson>(BASE, body)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.uuid)).size).toBe(1);
    expect(await rowCount(customer)).toBe(1);
  });

  it('400 naming each missing required field', async () => {
    const res = await api.post(BASE, {});
    expect(res.status).toBe(400);
    const required = ['policy_type', 'enterprise_customer_uuid', 'catalog_uuid', 'subsidy_uuid', 'access_method'];
    expect(Object.keys(res.body).sort()).toEqual(required.sort());
    for (const field of required) expect(res.body[field]).toEqual(['This field is required.']);
    // No body at all is the same.
    const none = await api.call('POST', BASE);
    expect(none.status).toBe(400);
    expect(Object.keys(none.body).sort()).toEqual(required.sort());
  });

  it('400 naming the field for bad values, never a 500', async () => {
    const { payload } = await fixture();
    const cases: Array<[Json, string]> = [
      [{ policy_type: 'SubsidyAccessPolicy' }, 'policy_type'],
      [{ access_method: 'teleport' }, 'access_method'],
      [{ enterprise_customer_uuid: 'nope' }, 'enterprise_customer_uuid'],
      [{ catalog_uuid: 12 }, 'catalog_uuid'],
      [{ spend_limit: -1 }, 'spend_limit'],
      [{ spend_limit: 'lots' }, 'spend_limit'],
      [{ spend_limit: 1.5 }, 'spend_limit'],
      [{ per_learner_spend_limit: 1e16 }, 'per_learner_spend_limit'],
      [{ active: 'maybe' }, 'active'],
      [{ display_name: 'x'.repeat(513) }, 'display_name'],
      [{ description: 'x'.repeat(201) }, 'description'],
      [{ description: 'nul\u0000' }, 'description'],
      [{ late_redemption_allowed_until: 'tomorrow' }, 'late_redemption_allowed_until'],
      [{ group_associations: 'g' }, 'group_associations'],
      [{ group_associations: ['not-a-uuid'] }, 'group_associations'],
    ];
    for (const [over, field] of cases) {
      const res = await api.post(BASE, payload(over));
      expect(res.status, JSON.stringify(over)).toBe(400);
      expect(Object.keys(res.body), JSON.stringify(res.body)).toEqual([field]);
    }
  });

  it('per-type field constraints → 400 naming the fields; assigned forces access_method "assigned"', async () => {
    const { payload } = await fixture();
    const refused: Array<[Json, string[]]> = [
      [{ policy_type: ENROLLMENT, per_learner_spend_limit: 100 }, ['per_learner_spend_limit']],
      [{ policy_type: SPEND, per_learner_enrollment_limit: 3 }, ['per_learner_enrollment_limit']],
      [{ policy_type: ASSIGNED, spend_limit: null }, ['spend_limit']],
      [
        { policy_type: ASSIGNED, per_learner_enrollment_limit: 1, per_learner_spend_limit: 1 },
        ['per_learner_enrollment_limit', 'per_learner_spend_limit'],
      ],
    ];
    for (const [over, fields] of refused) {
      const res = await api.post(BASE, payload(over));
      expect(res.status, JSON.stringify(over)).toBe(400);
      expect(Object.keys(res.body).sort()).toEqual(fields);
    }
    const enrollment = await create(payload({ policy_type: ENROLLMENT, per_learner_enrollment_limit: 3 }));
    expect(enrollment.per_learner_enrollment_limit).toBe(3);
    const assigned = await create(payload({ policy_type: ASSIGNED, access_method: 'direct' }));
    expect(assigned.access_method).toBe('assigned');
  });

  it('the subsidy must exist, belong to the customer and be reachable', async () => {
    const { payload } = await fixture();
    const missing = await api.post(BASE, payload({ subsidy_uuid: GHOST }));
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ subsidy_uuid: [`Invalid pk "${GHOST}" - object does not exist.`] });

    const otherCustomer = (await newSubsidy(randomUUID())).uuid;
    const foreign = await api.post(BASE, payload({ subsidy_uuid: otherCustomer }));
    expect(foreign.status).toBe(400);
    expect(Object.keys(foreign.body)).toEqual(['subsidy_uuid']);

    await stack.faults('subsidy').add({ method: 'GET', route: '/api/v1/subsidies/:uuid', status: 503, count: 1 });
    const down = await api.post(BASE, payload());
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ detail: expect.stringContaining('subsidy service could not be reached') });
  });
});

describe('ADR 0023: spend limits may not exceed the deposits', () => {
  it('rejects an active policy over the deposits, ignores inactive ones, and checks activation and raises', async () => {
    const { customer, subsidy, payload } = await fixture(100_000);
    const a = await create(payload({ spend_limit: 60_000 }));
    const over = await api.post(BASE, payload({ spend_limit: 50_000 }));
    expect(over.status).toBe(400);
    expect(over.body).toEqual({ spend_limit: [spendLimitMessage(110_000, 100_000)] });
    expect(over.body.spend_limit).toEqual([expect.stringMatching(/Error: \$1,100\.00 is greater than \$1,000\.00$/)]);

    // Inactive policies do not count, and may hold any limit.
    const b = await create(payload({ spend_limit: 50_000, active: false }));
    expect(b.total_spend_limits_for_subsidy).toBe(60_000);
    // Null limits count as 0: an unlimited policy escapes the check.
    await create(payload({ spend_limit: null, active: true }));

    // Activating b would make 110,000.
    const activate = await patch(b.uuid, { active: true });
    expect(activate.status).toBe(400);
    expect(activate.body).toEqual({ spend_limit: [spendLimitMessage(110_000, 100_000)] });
    // Raising a over the deposits is refused; exactly reaching them is allowed.
    expect((await patch(a.uuid, { spend_limit: 100_001 })).status).toBe(400);
    expect((await patch(a.uuid, { spend_limit: 100_000 })).status).toBe(200);
    // Rebalance: lower a first, then activate b.
    expect((await patch(a.uuid, { spend_limit: 40_000 })).status).toBe(200);
    const ok = await patch(b.uuid, { active: true });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.total_spend_limits_for_subsidy).toBe(90_000);

    // Another customer's policies on its own subsidy do not count; neither do this customer's other subsidies.
    const other = await newSubsidy(customer, 10_000);
    expect((await api.post(BASE, payload({ subsidy_uuid: other.uuid, spend_limit: 10_000 }))).status).toBe(201);
    expect(subsidy).not.toBe(other.uuid);
  });

  it('two concurrent creates cannot both pass the check', async () => {
    const { payload } = await fixture(100_000);
    const results = await Promise.all([
      api.post(BASE, payload({ spend_limit: 60_000 })),
      api.post(BASE, payload({ spend_limit: 60_000 })),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 400]);
  });
});

describe('retrieve', () => {
  it('404 for an unknown or malformed uuid', async () => {
    expect((await api.get(policyPath(GHOST))).status).toBe(404);
    expect((await api.get(policyPath('not-a-uuid'))).status).toBe(404);
    expect((await api.call('PATCH', policyPath('not-a-uuid'), {})).status).toBe(404);
    expect((await api.call('PUT', policyPath(GHOST), {})).status).toBe(404);
    expect((await api.call('DELETE', policyPath(GHOST))).status).toBe(404);
  });

  it('aggregates are null (and the rest is served) when the subsidy service fails', async () => {
    const { payload } = await fixture();
    const p = await create(payload());
    await stack.faults('subsidy').add({ method: 'GET', route: '/api/v1/subsidies/:uuid', status: 500, count: 1 });
    const res = await api.get<PolicyJson>(policyPath(p.uuid));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      uuid: p.uuid,
      aggregates: null,
      is_subsidy_active: null,
      subsidy_active_datetime: null,
      total_deposits_for_subsidy: null,
      total_spend_limits_for_subsidy: 10_000,
    });
  });
});

describe('update', () => {
  it('PUT and PATCH are both partial; 400 for fields no update may touch', async () => {
    const { payload } = await fixture();
    const p = await create(payload({ description: 'kept' }));
    const put = await api.put<PolicyJson>(policyPath(p.uuid), { display_name: 'Renamed' });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ display_name: 'Renamed', description: 'kept', spend_limit: 10_000 });
    const patched = await patch(p.uuid, { description: 'changed', late_redemption_allowed_until: '2999-01-01' });
    expect(patched.body).toMatchObject({
      display_name: 'Renamed',
      description: 'changed',
      late_redemption_allowed_until: '2999-01-01T00:00:00.000Z',
      is_late_redemption_allowed: true,
    });

    const refused = await patch(p.uuid, { display_name: 'x', bogus: 1, assignment_configuration: null });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ non_field_errors: ['Field(s) are not updatable: assignment_configuration, bogus'] });
    // Read-only fields echoed back unchanged are ignored (a client may send back what it read).
    const { uuid, policy_type, enterprise_customer_uuid, aggregates, created, subsidy_active_datetime } = put.body;
    const echoed = await api.put<PolicyJson>(policyPath(p.uuid), {
      uuid,
      policy_type,
      enterprise_customer_uuid,
      aggregates,
      created,
      subsidy_active_datetime,
      display_name: 'Echoed',
    });
    expect(echoed.status, JSON.stringify(echoed.body)).toBe(200);
    expect(echoed.body.display_name).toBe('Echoed');
    expect(echoed.body.policy_type).toBe(SPEND);
    // Field validation.
    const bad = await patch(p.uuid, { spend_limit: -5, catalog_uuid: 'x' });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body).sort()).toEqual(['catalog_uuid', 'spend_limit']);
  });

  it('per-type constraints apply to the updated policy; assigned stays "assigned"', async () => {
    const { payload } = await fixture();
    const p = await create(payload({ policy_type: ENROLLMENT }));
    const res = await patch(p.uuid, { per_learner_spend_limit: 100 });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body)).toEqual(['per_learner_spend_limit']);
    const assigned = await create(payload({ policy_type: ASSIGNED }));
    expect((await patch(assigned.uuid, { spend_limit: null })).status).toBe(400);
    const method = await patch(assigned.uuid, { access_method: 'direct' });
    expect(method.status).toBe(200);
    expect(method.body.access_method).toBe('assigned');
  });

  it('retire sets retired_at to now, unretire clears it', async () => {
    const { payload } = await fixture();
    const p = await create(payload());
    const before = Date.now();
    const retired = await patch(p.uuid, { retired: true });
    expect(retired.status).toBe(200);
    expect(retired.body.retired).toBe(true);
    const at = Date.parse(retired.body.retired_at as string);
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    // Retiring again keeps the first timestamp.
    expect((await patch(p.uuid, { retired: true })).body.retired_at).toBe(retired.body.retired_at);
    const back = await patch(p.uuid, { retired: false });
    expect(back.body).toMatchObject({ retired: false, retired_at: null, active: true });
  });

  it('moving onto the identity of another active policy is a 400, not a 500', async () => {
    const { payload } = await fixture();
    const a = await create(payload());
    const b = await create(payload());
    const res = await patch(b.uuid, { catalog_uuid: a.catalog_uuid });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body)).toEqual(['non_field_errors']);
  });

  it('moving to a subsidy that does not exist is a 400 on subsidy_uuid', async () => {
    const { payload } = await fixture();
    const p = await create(payload());
    const res = await patch(p.uuid, { subsidy_uuid: GHOST });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body)).toEqual(['subsidy_uuid']);
  });
});

describe('spend', () => {
  it('aggregates count the spend; a policy with spend cannot be deactivated or deleted, only retired', async () => {
    const { subsidy, payload } = await fixture(100_000);
    const p = await create(payload({ spend_limit: 6_000 }));
    await spend(subsidy, p.uuid);
    const got = await api.get<PolicyJson>(policyPath(p.uuid));
    expect(got.body.aggregates).toEqual({
      amount_redeemed_usd_cents: PRICE,
      amount_redeemed_usd: 49,
      amount_allocated_usd_cents: 0,
      amount_allocated_usd: 0,
      spend_available_usd_cents: 6_000 - PRICE,
      spend_available_usd: 11,
    });

    const deactivate = await patch(p.uuid, { active: false });
    expect(deactivate.status).toBe(400);
    expect(deactivate.body).toEqual({ active: ['Cannot deactivate this policy while it has existing spend.'] });
    const del = await api.call('DELETE', policyPath(p.uuid), { reason: 'cleanup' });
    expect(del.status).toBe(400);
    expect(del.body).toEqual({ active: ['Cannot deactivate this policy while it has existing spend.'] });
    const retire = await patch(p.uuid, { retired: true });
    expect(retire.status).toBe(200);
    expect(retire.body).toMatchObject({ active: true, retired: true });
  });

  it('503 when the spend cannot be determined', async () => {
    const { payload } = await fixture();
    const p = await create(payload());
    await stack.faults('subsidy').add({
      method: 'GET',
      route: '/api/v2/subsidies/:uuid/admin/transactions',
      status: 503,
      count: 1,
    });
    const res = await patch(p.uuid, { active: false });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ detail: 'Cannot deactivate this policy because spend could not be determined.' });
    expect((await patch(p.uuid, { active: false })).status).toBe(200);
  });
});

describe('delete', () => {
  it('soft delete with a reason: 200 with active=false, the row kept; repeat is a no-op', async () => {
    const { payload } = await fixture();
    const p = await create(payload());
    const res = await api.call<PolicyJson>('DELETE', policyPath(p.uuid), { reason: 'Budget closed' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(POLICY_FIELDS);
    expect(res.body).toMatchObject({ uuid: p.uuid, active: false });
    const row = await access()
      .selectFrom('subsidy_access_policies')
      .select(['active', 'deleted_reason'])
      .where('uuid', '=', p.uuid)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ active: false, deleted_reason: 'Budget closed' });
    const again = await api.call<PolicyJson>('DELETE', policyPath(p.uuid));
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(
      (
        await access()
          .selectFrom('subsidy_access_policies')
          .select('deleted_reason')
          .where('uuid', '=', p.uuid)
          .executeTakeFirstOrThrow()
      ).deleted_reason,
    ).toBe('Budget closed');
    expect((await api.get<PolicyJson>(policyPath(p.uuid))).body.active).toBe(false);
    // Without a body.
    const q = await create(payload());
    expect((await api.call('DELETE', policyPath(q.uuid))).status).toBe(200);
    expect((await api.call('DELETE', policyPath(q.uuid), { reason: 12 })).status).toBe(400);
  });
});

describe('list', () => {
  it('needs enterprise_customer_uuid; filters active and policy_type; pages of at most 10, newest first', async () => {
    const missing = await api.get(BASE);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ enterprise_customer_uuid: ['This field is required.'] });
    expect((await api.get(`${BASE}?enterprise_customer_uuid=nope`)).status).toBe(400);

    const { customer, payload } = await fixture(10_000_000);
    const created: PolicyJson[] = [];
    for (let i = 0; i < 11; i++) created.push(await create(payload({ spend_limit: 100 })));
    created.push(await create(payload({ policy_type: ENROLLMENT, active: false })));
    const list = (query: string) => api.get<PolicyPage>(`${BASE}?enterprise_customer_uuid=${customer}${query}`);

    const first = await list('');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ count: 12, num_pages: 2, current_page: 1, start: 0, previous: null });
    expect(first.body.results).toHaveLength(10);
    expect(first.body.results[0]?.uuid).toBe(created[11]?.uuid);
    expect(Object.keys(first.body.results[0] as object).sort()).toEqual(POLICY_FIELDS);
    const second = await api.get<PolicyPage>(first.body.next as string);
    expect(second.body).toMatchObject({ count: 12, current_page: 2, start: 10, next: null });
    expect(second.body.results).toHaveLength(2);
    const all = [...first.body.results, ...second.body.results].map((p) => p.uuid);
    expect(new Set(all)).toEqual(new Set(created.map((p) => p.uuid)));

    expect((await list('&page_size=50')).body.results).toHaveLength(10);
    expect((await list('&page_size=4')).body).toMatchObject({ num_pages: 3 });
    expect((await list('&page=9')).status).toBe(404);
    expect((await list('&active=false')).body.count).toBe(1);
    expect((await list('&active=true')).body.count).toBe(11);
    expect((await list(`&policy_type=${ENROLLMENT}`)).body.results.map((p) => p.uuid)).toEqual([created[11]?.uuid]);
    expect((await list('&policy_type=Bogus')).status).toBe(400);
    expect((await list('&active=maybe')).status).toBe(400);
    expect((await api.get<PolicyPage>(`${BASE}?enterprise_customer_uuid=${randomUUID()}`)).body.count).toBe(0);
  });
});

describe('permissions', () => {
  it("the customer's admins and learners read; writes are operator-only, 403 before the body is validated", async () => {
    const { customer, payload } = await fixture();
    const p = await create(payload());
    const admin = await stack.token({ roles: [`enterprise_admin:${customer}`] });
    const learner = await stack.token({ roles: [`enterprise_learner:${customer}`], userId: 42 });
    for (const token of [admin, learner]) {
      expect((await api.get(policyPath(p.uuid), token)).status).toBe(200);
      const list = await api.get<PolicyPage>(`${BASE}?enterprise_customer_uuid=${customer}`, token);
      expect(list.status).toBe(200);
      expect(list.body.count).toBe(1);
      const writes: Res[] = [
        await api.post(BASE, payload(), token),
        await api.post(BASE, {}, token),
        await api.call('PATCH', policyPath(p.uuid), { bogus: 1 }, token),
        await api.call('PUT', policyPath(p.uuid), { display_name: 'x' }, token),
        await api.call('DELETE', policyPath(p.uuid), undefined, token),
        await api.call('DELETE', policyPath(GHOST), undefined, token),
        await api.call('DELETE', `/api/v1/${customer}/delete-group-association/${randomUUID()}/`, undefined, token),
      ];
      for (const res of writes) {
        expect(res.status).toBe(403);
        expect(res.body).toEqual(FORBIDDEN);
      }
    }
    expect((await api.get<PolicyJson>(policyPath(p.uuid))).body.display_name).toBe('Budget');
  });

  it("another customer's admin gets 403; no token gets 401", async () => {
    const { customer, payload } = await fixture();
    const p = await create(payload());
    const stranger = await stack.token({ roles: [`enterprise_admin:${randomUUID()}`] });
    expect((await api.get(policyPath(p.uuid), stranger)).status).toBe(403);
    expect((await api.get(`${BASE}?enterprise_customer_uuid=${customer}`, stranger)).status).toBe(403);
    expect((await api.get(`${policyPath(p.uuid)}group-members`, stranger)).status).toBe(403);
    for (const [method, path] of [
      ['GET', policyPath(p.uuid)],
      ['GET', `${BASE}?enterprise_customer_uuid=${customer}`],
      ['POST', BASE],
      ['PATCH', policyPath(p.uuid)],
      ['DELETE', policyPath(p.uuid)],
    ] as const) {
      const res = await api.call(method, path, method === 'GET' ? undefined : {}, null);
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });
});

describe('groups (ADR 0018)', () => {
  const LMS = '/enterprise/api/v1';

  it('group_associations on create and update replace the set; delete-group-association removes a group', async () => {
    const { customer, payload } = await fixture();
    const [g1, g2, g3] = [randomUUID(), randomUUID(), randomUUID()];
    const p = await create(payload({ group_associations: [g1, g2, g1] }));
    expect(p.group_associations).toEqual([g1, g2]);
    const q = await create(payload({ group_associations: [g2] }));

    const replaced = await patch(p.uuid, { group_associations: [g2, g3] });
    expect(replaced.status).toBe(200);
    expect(replaced.body.group_associations).toEqual([g2, g3]);
    // An update without the field leaves the groups alone.
    expect((await patch(p.uuid, { display_name: 'x' })).body.group_associations).toEqual([g2, g3]);

    // Another customer's policies keep the group.
    const other = await fixture();
    const foreign = await create(other.payload({ group_associations: [g2] }));

    const del = await api.call('DELETE', `/api/v1/${customer}/delete-group-association/${g2}/`);
    expect(del.status).toBe(204);
    expect(del.body).toBeNull();
    expect((await api.get<PolicyJson>(policyPath(p.uuid))).body.group_associations).toEqual([g3]);
    expect((await api.get<PolicyJson>(policyPath(q.uuid))).body.group_associations).toEqual([]);
    expect((await api.get<PolicyJson>(policyPath(foreign.uuid))).body.group_associations).toEqual([g2]);
    // Unknown group: still 204; malformed uuids: 404.
    expect((await api.call('DELETE', `/api/v1/${customer}/delete-group-association/${randomUUID()}`)).status).toBe(204);
    expect((await api.call('DELETE', `/api/v1/${customer}/delete-group-association/nope`)).status).toBe(404);
    expect((await patch(p.uuid, { group_associations: [] })).body.group_associations).toEqual([]);
  });

  it('group-members: LMS members with their committed enrollment counts in the policy', async () => {
    const customer = await lms.post<{ uuid: string }>(`${LMS}/enterprise-customer/`, {
      name: 'Groups Inc',
      slug: `g-${randomBytes(5).toString('hex')}`,
      country: 'US',
    });
    expect(customer.status, JSON.stringify(customer.body)).toBe(201);
    const customerUuid = customer.body.uuid;
    const users: Array<{ id: number; email: string }> = [];
    for (const name of ['ada', 'bob']) {
      const u = await lms.post<{ id: number; email: string }>('/api/user/v1/accounts', {
        email: `${name}-${randomBytes(4).readUInt32BE()}@example.com`,
      });
      expect(u.status).toBe(201);
      users.push(u.body);
      const link = await lms.post(`${LMS}/enterprise-learner/`, {
        enterprise_customer: customerUuid,
        user_id: u.body.id,
      });
      expect(link.status, JSON.stringify(link.body)).toBe(201);
    }
    const group = await lms.post<{ uuid: string }>(`${LMS}/enterprise-group/`, {
      name: 'Cohort',
      enterprise_customer: customerUuid,
    });
    expect(group.status).toBe(201);
    // Digits only: a hex suffix could spell "ada" and match the user_query below.
    const pendingEmail = `carol-${randomBytes(4).readUInt32BE()}@example.com`;
    const assigned = await lms.post(`${LMS}/enterprise-group/${group.body.uuid}/assign_learners/`, {
      learner_emails: [...users.map((u) => u.email), pendingEmail],
    });
    expect(assigned.status).toBe(201);

    const subsidy = (await newSubsidy(customerUuid)).uuid;
    const p = await create({
      policy_type: SPEND,
      enterprise_customer_uuid: customerUuid,
      catalog_uuid: randomUUID(),
      subsidy_uuid: subsidy,
      access_method: 'direct',
      active: true,
      spend_limit: 50_000,
      group_associations: [group.body.uuid],
    });
    const bob = users[1] as { id: number; email: string };
    await spend(subsidy, p.uuid, bob.id);

    const admin = await stack.token({ roles: [`enterprise_admin:${customerUuid}`] });
    const res = await api.get<Page<Json>>(`${policyPath(p.uuid)}group-members?sort_by=enrollment_count`, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.count).toBe(3);
    expect(res.body.results[0]).toMatchObject({
      lms_user_id: bob.id,
      member_details: { user_email: bob.email },
      status: 'accepted',
      enrollment_count: 1,
    });
    const counts = Object.fromEntries(
      res.body.results.map((m) => [(m.member_details as { user_email: string }).user_email, m.enrollment_count]),
    );
    expect(counts).toEqual({ [users[0]?.email as string]: 0, [bob.email]: 1, [pendingEmail]: 0 });

    // Members' emails are for admins: a learner of the customer gets 403.
    const learner = await stack.token({ roles: [`enterprise_learner:${customerUuid}`] });
    expect((await api.get(`${policyPath(p.uuid)}group-members`, learner)).status).toBe(403);

    const filtered = await api.get<Page<Json>>(`${policyPath(p.uuid)}group-members?user_query=ADA`, admin);
    expect(filtered.body.results.map((m) => m.lms_user_id)).toEqual([users[0]?.id]);
    const all = await api.get<Page<Json>>(`${policyPath(p.uuid)}group-members?traverse_pagination=true`, admin);
    expect(all.body).toMatchObject({ count: 3, next: null, previous: null });

    // A group the policy is not associated with, or a policy without groups: 404.
    const stray = await api.get(`${policyPath(p.uuid)}group-members?group_uuid=${randomUUID()}`);
    expect(stray.status).toBe(404);
    const { payload } = await fixture();
    const open = await create(payload());
    expect((await api.get(`${policyPath(open.uuid)}group-members`)).status).toBe(404);
    expect((await api.get(`${policyPath(GHOST)}group-members`)).status).toBe(404);
  });
});

describe('OpenAPI', () => {
  it('documents the policy routes under the learner-credit tag', async () => {
    const res = await request<{ paths: Record<string, Record<string, { tags?: string[] }>> }>(
      'GET',
      `${stack.apiUrl}/openapi.json`,
    );
    expect(res.status).toBe(200);
    const paths = res.body.paths;
    expect(paths['/api/v1/subsidy-access-policies']?.post?.tags).toEqual(['learner-credit']);
    expect(paths['/api/v1/subsidy-access-policies/{uuid}']?.patch?.tags).toEqual(['learner-credit']);
    expect(paths['/api/v1/subsidy-access-policies/{uuid}/group-members']?.get?.tags).toEqual(['learner-credit']);
  });
});
