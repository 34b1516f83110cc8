import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubsidyDB } from '../../src/services/subsidy/schema';
import { type Page as DrfPage, type Json, request, serviceClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let operator: string;

interface Subsidy extends Json {
  uuid: string;
  current_balance: number;
  total_deposits: number;
  starting_balance: number;
  is_active: boolean;
}
interface Tx extends Json {
  uuid: string;
  state: string;
  quantity: number;
  idempotency_key: string;
  reversal: null | { uuid: string; state: string; quantity: number; idempotency_key: string; created: string };
}
interface Page<T> extends DrfPage<T> {
  aggregates?: { unit: string; remaining_subsidy_balance: number; total_quantity: number };
}

// Content the tests redeem, imported into the real catalog service (prices in cents).
const COURSE = 'edX+LedgerX';
const RUN = 'course-v1:edX+LedgerX+2026';
const PRICE = 4_900;
const PRICEY_RUN = 'course-v1:edX+PriceyX+2026';
const PRICEY = 100_000;
const FREE_RUN = 'course-v1:edX+FreeX+2026';

beforeAll(async () => {
  stack = await startTestStack({ worker: false });
  operator = await stack.operatorToken();
  const future = new Date(Date.now() + 365 * DAY).toISOString();
  const item = (content_key: string, content_type: string, parent: string | null, price: number | null) => ({
    content_key,
    content_type,
    parent_content_key: parent,
    title: `Title of ${content_key}`,
    org: 'edX',
    content_price_cents: price,
    enroll_by_date: future,
    start_date: future,
    end_date: future,
    is_active: true,
  });
  const items = [
    item(COURSE, 'course', null, PRICE),
    item(RUN, 'courserun', COURSE, PRICE),
    item('edX+PriceyX', 'course', null, PRICEY),
    item(PRICEY_RUN, 'courserun', 'edX+PriceyX', PRICEY),
    item('edX+FreeX', 'course', null, 0),
    item(FREE_RUN, 'courserun', 'edX+FreeX', 0),
  ];
  const res = await request('POST', `${stack.urls.catalog}/api/v1/content-items/import/`, { items }, operator);
  if (res.status !== 200) throw new Error(`catalog import failed: ${res.status} ${JSON.stringify(res.body)}`);
});
afterAll(async () => {
  await stack?.close();
});

const DAY = 86_400_000;
const daysFromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const lineItem = () => `00k${randomUUID().replaceAll('-', '').slice(0, 15)}`;
const tables = () => stack.db.database.forSchema<SubsidyDB>('subsidy');

const { callAs: call, call: asOperator } = serviceClient(
  () => stack.urls.subsidy,
  () => operator,
);
const tokenFor = (roles: string[], userId?: number) => stack.token({ roles, userId });

const subsidyPayload = (overrides: Json = {}): Json => ({
  title: `Budget ${randomUUID().slice(0, 8)}`,
  enterprise_customer_uuid: randomUUID(),
  active_datetime: daysFromNow(-1),
  expiration_datetime: daysFromNow(365),
  unit: 'usd_cents',
  starting_balance: 100_000,
  reference_id: lineItem(),
  reference_type: 'salesforce_opportunity_line_item',
  ...overrides,
});

async function createSubsidy(overrides: Json = {}): Promise<Subsidy> {
  const res = await asOperator<Subsidy>('POST', '/api/v1/subsidies/', subsidyPayload(overrides));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const getSubsidy = async (uuid: string) => {
  const res = await asOperator<Subsidy>('GET', `/api/v1/subsidies/${uuid}/`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};

const txPath = (subsidy: string) => `/api/v2/subsidies/${subsidy}/admin/transactions/`;

let learnerSeq = 1_000;
const nextLearner = () => ++learnerSeq;

const reservation = (overrides: Json = {}): Json => ({
  lms_user_id: nextLearner(),
  content_key: RUN,
  subsidy_access_policy_uuid: randomUUID(),
  idempotency_key: `key-${randomUUID()}`,
  ...overrides,
});

async function reserve(subsidy: string, overrides: Json = {}): Promise<Tx> {
  const res = await asOperator<Tx>('POST', txPath(subsidy), reservation(overrides));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const commit = (subsidy: string, tx: string, fulfillment = randomUUID()) =>
  asOperator<Tx>('POST', `${txPath(subsidy)}${tx}/commit/`, { fulfillment_identifier: fulfillment });
const fail = (subsidy: string, tx: string, body: Json = {}) =>
  asOperator<Tx>('POST', `${txPath(subsidy)}${tx}/fail/`, body);
const reverse = (subsidy: string, tx: string, body: Json = {}) =>
  asOperator<Tx>('POST', `${txPath(subsidy)}${tx}/reverse/`, body);

async function redeemCommitted(subsidy: string, overrides: Json = {}): Promise<Tx> {
  const tx = await reserve(subsidy, overrides);
  const res = await commit(subsidy, tx.uuid);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/**
 * The ledger invariant, straight from the tables: the stored balance equals Σ over non-failed
 * transactions of quantity + reversal quantity (openedx-ledger `balance()`).
 */
async function ledgerSums(subsidy: string) {
  const ledger = await tables()
    .selectFrom('ledgers')
    .selectAll()
    .where('subsidy_uuid', '=', subsidy)
    .executeTakeFirstOrThrow();
  const row = await tables()
    .selectFrom('transactions as t')
    .leftJoin('reversals as r', 'r.transaction', 't.uuid')
    .select(sql<string>`coalesce(sum(t.quantity + coalesce(r.quantity, 0)), 0)`.as('total'))
    .where('t.ledger', '=', ledger.uuid)
    .where('t.state', '<>', 'failed')
    .executeTakeFirstOrThrow();
  return { stored: Number(ledger.balance), computed: Number(row.total), ledger };
}

async function expectBalance(subsidy: string, expected: number) {
  const sums = await ledgerSums(subsidy);
  expect(sums.stored).toBe(expected);
  expect(sums.computed).toBe(expected);
  expect((await getSubsidy(subsidy)).current_balance).toBe(expected);
}

const SUBSIDY_FIELDS = [
  'active_datetime',
  'created',
  'current_balance',
  'enterprise_customer_uuid',
  'expiration_datetime',
  'internal_only',
  'is_active',
  'modified',
  'reference_id',
  'reference_type',
  'revenue_category',
  'starting_balance',
  'title',
  'total_deposits',
  'unit',
  'uuid',
];

const TRANSACTION_FIELDS = [
  'content_key',
  'content_title',
  'course_run_start_date',
  'created',
  'external_reference',
  'fulfillment_identifier',
  'idempotency_key',
  'lms_user_email',
  'lms_user_id',
  'metadata',
  'modified',
  'parent_content_key',
  'quantity',
  'reversal',
  'state',
  'subsidy_access_policy_uuid',
  'transaction_status_api_url',
  'unit',
  'uuid',
];

// ---------------------------------------------------------------------------------------------

describe('POST /api/v1/subsidies/ (get-or-create)', () => {
  it('creates the subsidy, its ledger and the starting balance as a committed initial deposit', async () => {
    const payload = subsidyPayload({ starting_balance: 250_000, internal_only: true });
    const res = await asOperator<Subsidy>('POST', '/api/v1/subsidies/', payload);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(SUBSIDY_FIELDS);
    expect(res.body).toMatchObject({
      title: payload.title,
      enterprise_customer_uuid: payload.enterprise_customer_uuid,
      unit: 'usd_cents',
      reference_id: payload.reference_id,
      reference_type: 'salesforce_opportunity_line_item',
      starting_balance: 250_000,
      current_balance: 250_000,
      total_deposits: 250_000,
      internal_only: true,
      revenue_category: 'bulk-enrollment-prepay',
      is_active: true,
    });
    expect(new Date(res.body.active_datetime as string).toISOString()).toBe(payload.active_datetime);

    const { ledger } = await ledgerSums(res.body.uuid);
    expect(ledger.idempotency_key).toBe(`ledger-for-subsidy-${res.body.uuid}`);
    const txs = await tables().selectFrom('transactions').selectAll().where('ledger', '=', ledger.uuid).execute();
    expect(txs).toHaveLength(1);
    expect(txs[0]).toMatchObject({
      idempotency_key: `ledger-for-subsidy-${res.body.uuid}-250000-initial-deposit`,
      quantity: 250_000,
      state: 'committed',
      kind: 'deposit',
    });
    const deposits = await tables()
      .selectFrom('deposits')
      .selectAll()
      .where('transaction', '=', txs[0]?.uuid as string)
      .execute();
    expect(deposits).toEqual([
      expect.objectContaining({
        sales_contract_reference_id: payload.reference_id,
        sales_contract_reference_provider: 'salesforce_opportunity_line_item',
      }),
    ]);
  });

  it('answers 200 with the existing subsidy for the same reference, without a second ledger or deposit', async () => {
    const payload = subsidyPayload();
    const first = await asOperator<Subsidy>('POST', '/api/v1/subsidies/', payload);
    expect(first.status).toBe(201);
    const again = await asOperator<Subsidy>('POST', '/api/v1/subsidies/', {
      ...payload,
      title: 'another title',
      starting_balance: 5,
    });
    expect(again.status).toBe(200);
    expect(again.body.uuid).toBe(first.body.uuid);
    expect(again.body.title).toBe(payload.title);
    expect(again.body.current_balance).toBe(100_000);
    const rows = await tables()
      .selectFrom('subsidies')
      .select('uuid')
      .where('reference_id', '=', payload.reference_id as string)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('makes exactly one subsidy when the same reference is created concurrently', async () => {
    const payload = subsidyPayload();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => asOperator<Subsidy>('POST', '/api/v1/subsidies/', payload)),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(11);
    expect(new Set(results.map((r) => r.body.uuid)).size).toBe(1);
    const subsidy = results[0]?.body.uuid as string;
    await expectBalance(subsidy, 100_000);
    const ledgers = await tables().selectFrom('ledgers').select('uuid').where('subsidy_uuid', '=', subsidy).execute();
    expect(ledgers).toHaveLength(1);
  });

  it('refuses a reference that already funds another customer', async () => {
    const payload = subsidyPayload();
    await createSubsidy(payload);
    const res = await asOperator('POST', '/api/v1/subsidies/', { ...payload, enterprise_customer_uuid: randomUUID() });
    expect(res.status).toBe(400);
    expect(res.body).toHaveProperty('reference_id');
  });

  it('creates a subsidy without a reference every time (no get-or-create key)', async () => {
    const payload = subsidyPayload({ reference_id: null });
    const a = await createSubsidy(payload);
    const b = await createSubsidy(payload);
    expect(a.uuid).not.toBe(b.uuid);
  });

  it('records no deposit for a zero starting balance', async () => {
    const s = await createSubsidy({ starting_balance: 0 });
    expect(s).toMatchObject({ current_balance: 0, total_deposits: 0, starting_balance: 0 });
    const { ledger } = await ledgerSums(s.uuid);
    const txs = await tables().selectFrom('transactions').select('uuid').where('ledger', '=', ledger.uuid).execute();
    expect(txs).toHaveLength(0);
  });

  it('answers 400 with a DRF field error for every missing field (the deprecated body)', async () => {
    const res = await asOperator('POST', '/api/v1/subsidies/', { title: 'x' });
    expect(res.status).toBe(400);
    for (const field of ['enterprise_customer_uuid', 'active_datetime', 'expiration_datetime', 'starting_balance']) {
      expect(res.body[field], field).toEqual(['This field is required.']);
    }
    const empty = await asOperator('POST', '/api/v1/subsidies/', {});
    expect(empty).toEqual({ status: 400, body: 'Request body is required' });
  });

  it.each<[string, Json, string]>([
    ['negative starting balance', { starting_balance: -1 }, 'starting_balance'],
    ['fractional starting balance', { starting_balance: 10.5 }, 'starting_balance'],
    ['unknown unit', { unit: 'seats_of_gold' }, 'unit'],
    ['unknown reference type', { reference_type: 'napkin' }, 'reference_type'],
    ['bad customer uuid', { enterprise_customer_uuid: 'not-a-uuid' }, 'enterprise_customer_uuid'],
    ['bad datetime', { active_datetime: 'yesterday' }, 'active_datetime'],
    ['blank title', { title: '  ' }, 'title'],
    [
      'expiration before activation',
      { active_datetime: daysFromNow(2), expiration_datetime: daysFromNow(1) },
      'expiration_datetime',
    ],
    [
      'expiration equal to activation',
      { active_datetime: daysFromNow(2), expiration_datetime: daysFromNow(2) },
      'expiration_datetime',
    ],
  ])('answers 400 for %s', async (_name, overrides, field) => {
    const res = await asOperator('POST', '/api/v1/subsidies/', subsidyPayload(overrides));
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body).toHaveProperty(field);
  });

  it('needs a token (401) and an operator role (403), before the body is read', async () => {
    expect((await call(undefined, 'POST', '/api/v1/subsidies/', {})).status).toBe(401);
    const customer = randomUUID();
    const admin = await tokenFor([`enterprise_admin:${customer}`]);
    expect((await call(admin, 'POST', '/api/v1/subsidies/', {})).status).toBe(403);
    const provisioning = await tokenFor(['enterprise_provisioning_admin:*']);
    const res = await call(
      provisioning,
      'POST',
      '/api/v1/subsidies/',
      subsidyPayload({ enterprise_customer_uuid: customer }),
    );
    expect(res.status).toBe(201);
  });
});

describe('GET /api/v1/subsidies/', () => {
  it('shows a subsidy to the operators and admins of its customer only, not to its learners', async () => {
    const customer = randomUUID();
    const s = await createSubsidy({ enterprise_customer_uuid: customer });
    for (const roles of [[`enterprise_admin:${customer.toUpperCase()}`], [`enterprise_openedx_operator:${customer}`]]) {
      const res = await call<Subsidy>(await tokenFor(roles), 'GET', `/api/v1/subsidies/${s.uuid}/`);
      expect(res.status, roles[0]).toBe(200);
      expect(res.body.uuid).toBe(s.uuid);
    }
    const learner = await tokenFor([`enterprise_learner:${customer}`]);
    expect((await call(learner, 'GET', `/api/v1/subsidies/${s.uuid}/`)).status).toBe(403);
    const other = await tokenFor([`enterprise_admin:${randomUUID()}`]);
    expect((await call(other, 'GET', `/api/v1/subsidies/${s.uuid}/`)).status).toBe(403);
    const otherOperator = await tokenFor([`enterprise_openedx_operator:${randomUUID()}`]);
    expect((await call(otherOperator, 'GET', `/api/v1/subsidies/${s.uuid}/`)).status).toBe(403);
    expect((await call(undefined, 'GET', `/api/v1/subsidies/${s.uuid}/`)).status).toBe(401);
  });

  it('answers 404 for unknown, malformed and soft-deleted subsidies to a reader of every customer', async () => {
    expect((await asOperator('GET', `/api/v1/subsidies/${randomUUID()}/`)).status).toBe(404);
    expect((await asOperator('GET', '/api/v1/subsidies/not-a-uuid/')).status).toBe(404);
    const s = await createSubsidy();
    await tables().updateTable('subsidies').set({ is_soft_deleted: true }).where('uuid', '=', s.uuid).execute();
    expect((await asOperator('GET', `/api/v1/subsidies/${s.uuid}/`)).status).toBe(404);
    const list = await asOperator<Page<Subsidy>>(
      'GET',
      `/api/v1/subsidies/?enterprise_customer_uuid=${s.enterprise_customer_uuid}`,
    );
    expect(list.body.count).toBe(0);
  });

  it('is_active follows the activity window', async () => {
    const future = await createSubsidy({ active_datetime: daysFromNow(1), expiration_datetime: daysFromNow(10) });
    const past = await createSubsidy({ active_datetime: daysFromNow(-10), expiration_datetime: daysFromNow(-1) });
    expect(future.is_active).toBe(false);
    expect(past.is_active).toBe(false);
  });

  it('lists the subsidies of a customer, paginated, and only those the caller may read', async () => {
    const customer = randomUUID();
    const a = await createSubsidy({ enterprise_customer_uuid: customer });
    const b = await createSubsidy({ enterprise_customer_uuid: customer });
    await createSubsidy();
    const res = await asOperator<Page<Subsidy>>(
      'GET',
      `/api/v1/subsidies/?enterprise_customer_uuid=${customer}&page_size=1&sort_by=-created`,
    );
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(2);
    expect(res.body.results.map((s) => s.uuid)).toEqual([b.uuid]);
    expect(res.body.next).toContain('page=2');

    const admin = await tokenFor([`enterprise_admin:${customer}`]);
    const mine = await call<Page<Subsidy>>(admin, 'GET', '/api/v1/subsidies/');
    expect(mine.body.results.map((s) => s.uuid).sort()).toEqual([a.uuid, b.uuid].sort());
    const stranger = await tokenFor([`enterprise_admin:${randomUUID()}`]);
    const none = await call<Page<Subsidy>>(stranger, 'GET', `/api/v1/subsidies/?enterprise_customer_uuid=${customer}`);
    expect(none.status).toBe(200);
    expect(none.body.count).toBe(0);
  });
});

describe('GET /api/v1/subsidies/{uuid}/can_redeem/', () => {
  const canRedeem = (subsidy: string, lmsUserId: number, contentKey: string, token = operator) =>
    call<Json & { can_redeem: boolean; all_transactions: Tx[] }>(
      token,
      'GET',
      `/api/v1/subsidies/${subsidy}/can_redeem/?lms_user_id=${lmsUserId}&content_key=${encodeURIComponent(contentKey)}`,
    );

  it('is true for an active subsidy with enough balance and no redemption of the content', async () => {
    const s = await createSubsidy({ starting_balance: PRICE });
    const res = await canRedeem(s.uuid, nextLearner(), RUN);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      can_redeem: true,
      content_price: PRICE,
      unit: 'usd_cents',
      all_transactions: [],
      active: true,
    });
  });

  it('is false when the balance is below the price', async () => {
    const s = await createSubsidy({ starting_balance: PRICE - 1 });
    const res = await canRedeem(s.uuid, nextLearner(), RUN);
    expect(res.body).toMatchObject({ can_redeem: false, content_price: PRICE, active: true });
  });

  it('is false for an expired or not yet active subsidy', async () => {
    for (const window of [
      { active_datetime: daysFromNow(-10), expiration_datetime: daysFromNow(-1) },
      { active_datetime: daysFromNow(1), expiration_datetime: daysFromNow(10) },
    ]) {
      const s = await createSubsidy(window);
      const res = await canRedeem(s.uuid, nextLearner(), RUN);
      expect(res.body).toMatchObject({ can_redeem: false, active: false, content_price: PRICE });
    }
  });

  it('is false while the learner holds a committed redemption, and true again once it is reversed', async () => {
    const s = await createSubsidy();
    const learner = nextLearner();
    const pending = await reserve(s.uuid, { lms_user_id: learner });
    expect((await canRedeem(s.uuid, learner, RUN)).body.can_redeem).toBe(true);
    await commit(s.uuid, pending.uuid);
    const held = await canRedeem(s.uuid, learner, RUN);
    expect(held.body.can_redeem).toBe(false);
    expect(held.body.all_transactions.map((t) => [t.uuid, t.state])).toEqual([[pending.uuid, 'committed']]);
    expect((await canRedeem(s.uuid, nextLearner(), RUN)).body.can_redeem).toBe(true);
    await reverse(s.uuid, pending.uuid);
    const after = await canRedeem(s.uuid, learner, RUN);
    expect(after.body.can_redeem).toBe(true);
    expect(after.body.all_transactions[0]?.reversal?.state).toBe('committed');
  });

  it('lists every transaction of the learner and content, all states, oldest first', async () => {
    const s = await createSubsidy({ starting_balance: 300_000 });
    const learner = nextLearner();
    const failed = await reserve(s.uuid, { lms_user_id: learner });
    await fail(s.uuid, failed.uuid);
    const pending = await reserve(s.uuid, { lms_user_id: learner });
    await reserve(s.uuid, { lms_user_id: learner, content_key: PRICEY_RUN });
    await reserve(s.uuid, { content_key: RUN });
    const res = await canRedeem(s.uuid, learner, RUN);
    expect(res.body.all_transactions.map((t) => [t.uuid, t.state])).toEqual([
      [failed.uuid, 'failed'],
      [pending.uuid, 'pending'],
    ]);
    expect(Object.keys(res.body.all_transactions[0] as Tx).sort()).toEqual(TRANSACTION_FIELDS);
  });

  it('answers 422 content_not_found for content the catalog does not know', async () => {
    const s = await createSubsidy();
    const res = await canRedeem(s.uuid, nextLearner(), 'course-v1:edX+NoSuchX+1');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'content_not_found' });
  });

  it('answers 503 when the catalog fails transiently', async () => {
    const s = await createSubsidy();
    await stack
      .faults('catalog')
      .add({ method: 'GET', route: '/api/v1/content-metadata/:content_key/', status: 503, count: 1 });
    try {
      const res = await canRedeem(s.uuid, nextLearner(), RUN);
      expect(res.status).toBe(503);
      expect((await canRedeem(s.uuid, nextLearner(), RUN)).status).toBe(200);
    } finally {
      await stack.faults('catalog').clear();
    }
  });

  it('answers 400 without lms_user_id or content_key', async () => {
    const s = await createSubsidy();
    const res = await asOperator('GET', `/api/v1/subsidies/${s.uuid}/can_redeem/`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error_code: 'Bad Request',
      developer_message: 'A lms_user_id and content_key are required',
      user_message: 'A lms_user_id and content_key are required',
    });
    const bad = await asOperator('GET', `/api/v1/subsidies/${s.uuid}/can_redeem/?lms_user_id=abc&content_key=${RUN}`);
    expect(bad.status).toBe(400);
    expect(bad.body).toHaveProperty('lms_user_id');
  });

  it('is for admins and operators of the customer (can_read_subsidies), not for learners', async () => {
    const customer = randomUUID();
    const s = await createSubsidy({ enterprise_customer_uuid: customer });
    const learner = await tokenFor([`enterprise_learner:${customer}`], 4242);
    expect((await canRedeem(s.uuid, 4242, RUN, learner)).status).toBe(403);
    const admin = await tokenFor([`enterprise_admin:${customer}`], 1);
    expect((await canRedeem(s.uuid, 4243, RUN, admin)).status).toBe(200);
    const stranger = await tokenFor([`enterprise_learner:${randomUUID()}`], 4242);
    expect((await canRedeem(s.uuid, 4242, RUN, stranger)).status).toBe(403);
  });
});

describe('POST /api/v2/subsidies/{uuid}/admin/transactions/ (reserve)', () => {
  it('reserves the catalog price in a pending transaction and takes it off the balance', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const policy = randomUUID();
    const body = reservation({
      subsidy_access_policy_uuid: policy,
      metadata: { source: 'test' },
      lms_user_email: 'ada@example.com',
    });
    const res = await asOperator<Tx>('POST', txPath(s.uuid), body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(TRANSACTION_FIELDS);
    expect(res.body).toMatchObject({
      state: 'pending',
      quantity: -PRICE,
      unit: 'usd_cents',
      lms_user_id: body.lms_user_id,
      lms_user_email: 'ada@example.com',
      content_key: RUN,
      parent_content_key: COURSE,
      content_title: `Title of ${RUN}`,
      idempotency_key: body.idempotency_key,
      subsidy_access_policy_uuid: policy,
      fulfillment_identifier: null,
      metadata: { source: 'test' },
      reversal: null,
      transaction_status_api_url: `${stack.urls.subsidy}/api/v1/transactions/${res.body.uuid}/`,
    });
    await expectBalance(s.uuid, 10_000 - PRICE);
    const status = await asOperator<Tx>('GET', `/api/v1/transactions/${res.body.uuid}/`);
    expect(status.body).toEqual(res.body);
  });

  it('answers 200 with the same transaction for a repeated idempotency key, whatever its state', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const body = reservation();
    const first = await asOperator<Tx>('POST', txPath(s.uuid), body);
    expect(first.status).toBe(201);
    const again = await asOperator<Tx>('POST', txPath(s.uuid), body);
    expect(again.status).toBe(200);
    expect(again.body.uuid).toBe(first.body.uuid);
    await fail(s.uuid, first.body.uuid);
    const afterFail = await asOperator<Tx>('POST', txPath(s.uuid), body);
    expect(afterFail.status).toBe(200);
    expect(afterFail.body).toMatchObject({ uuid: first.body.uuid, state: 'failed' });
    await expectBalance(s.uuid, 10_000);
  });

  it('makes one transaction when the same request is retried concurrently', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const body = reservation();
    const results = await Promise.all(Array.from({ length: 8 }, () => asOperator<Tx>('POST', txPath(s.uuid), body)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.uuid)).size).toBe(1);
    await expectBalance(s.uuid, 10_000 - PRICE);
  });

  it('answers 200 with the committed transaction when the learner already holds the content', async () => {
    const s = await createSubsidy();
    const learner = nextLearner();
    const held = await redeemCommitted(s.uuid, { lms_user_id: learner });
    const res = await asOperator<Tx>('POST', txPath(s.uuid), reservation({ lms_user_id: learner }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ uuid: held.uuid, state: 'committed' });
    await expectBalance(s.uuid, 100_000 - PRICE);
  });

  it('reserves again for a learner whose earlier redemption was reversed', async () => {
    const s = await createSubsidy();
    const learner = nextLearner();
    const held = await redeemCommitted(s.uuid, { lms_user_id: learner });
    expect((await reverse(s.uuid, held.uuid)).status).toBe(201);
    const res = await asOperator<Tx>('POST', txPath(s.uuid), reservation({ lms_user_id: learner }));
    expect(res.status).toBe(201);
    expect(res.body.uuid).not.toBe(held.uuid);
    await expectBalance(s.uuid, 100_000 - PRICE);
  });

  it('answers 422 inactive_subsidy_creation_error for an expired or future subsidy', async () => {
    for (const window of [
      { active_datetime: daysFromNow(-10), expiration_datetime: daysFromNow(-1) },
      { active_datetime: daysFromNow(1), expiration_datetime: daysFromNow(10) },
    ]) {
      const s = await createSubsidy(window);
      const res = await asOperator('POST', txPath(s.uuid), reservation());
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'inactive_subsidy_creation_error' });
      await expectBalance(s.uuid, 100_000);
    }
  });

  it('answers 422 content_not_found for content the catalog does not know', async () => {
    const s = await createSubsidy();
    const res = await asOperator('POST', txPath(s.uuid), reservation({ content_key: 'course-v1:edX+NoSuchX+1' }));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'content_not_found' });
  });

  it('accepts a requested price within ±5% of the catalog price and redeems at it', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const low = await asOperator<Tx>('POST', txPath(s.uuid), reservation({ requested_price_cents: 4_655 }));
    expect(low.status, JSON.stringify(low.body)).toBe(201);
    expect(low.body.quantity).toBe(-4_655);
    await expectBalance(s.uuid, 10_000 - 4_655);
    for (const requested of [4_654, 5_146]) {
      const res = await asOperator('POST', txPath(s.uuid), reservation({ requested_price_cents: requested }));
      expect(res.status, String(requested)).toBe(422);
      expect(res.body).toMatchObject({ code: 'invalid_requested_price' });
    }
    await expectBalance(s.uuid, 10_000 - 4_655);
  });

  it('redeems free content for 0', async () => {
    const s = await createSubsidy({ starting_balance: 0 });
    const res = await asOperator<Tx>('POST', txPath(s.uuid), reservation({ content_key: FREE_RUN }));
    expect(res.status).toBe(201);
    expect(res.body.quantity).toBe(0);
  });

  it('answers 422 transaction_creation_error when the balance cannot cover the price, and records nothing', async () => {
    const s = await createSubsidy({ starting_balance: PRICE + 100 });
    await reserve(s.uuid);
    const res = await asOperator('POST', txPath(s.uuid), reservation());
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'transaction_creation_error' });
    const pricey = await asOperator('POST', txPath(s.uuid), reservation({ content_key: PRICEY_RUN }));
    expect(pricey.status).toBe(422);
    const { ledger } = await ledgerSums(s.uuid);
    const rows = await tables().selectFrom('transactions').select('uuid').where('ledger', '=', ledger.uuid).execute();
    expect(rows).toHaveLength(2);
    await expectBalance(s.uuid, 100);
  });

  it('never overspends: 100 concurrent reservations on a balance that fits 37 give 37 pending and 63 refusals', async () => {
    const s = await createSubsidy({ starting_balance: 37 * PRICE });
    const results = await Promise.all(
      Array.from({ length: 100 }, () => asOperator<Tx & { code?: string }>('POST', txPath(s.uuid), reservation())),
    );
    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 201: 37, 422: 63 });
    for (const r of results.filter((x) => x.status === 422)) {
      expect(r.body.code).toBe('transaction_creation_error');
    }
    await expectBalance(s.uuid, 0);
    const { ledger } = await ledgerSums(s.uuid);
    const pending = await tables()
      .selectFrom('transactions')
      .select('uuid')
      .where('ledger', '=', ledger.uuid)
      .where('state', '=', 'pending')
      .execute();
    expect(pending).toHaveLength(37);
  });

  it('answers 400 with field errors for a bad body', async () => {
    const s = await createSubsidy();
    const res = await asOperator('POST', txPath(s.uuid), { lms_user_id: 'x', metadata: [1] });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body).sort()).toEqual([
      'content_key',
      'lms_user_id',
      'metadata',
      'subsidy_access_policy_uuid',
    ]);
  });

  it('is for operators only (401 / 403), and 403 for an unknown subsidy', async () => {
    const customer = randomUUID();
    const s = await createSubsidy({ enterprise_customer_uuid: customer });
    expect((await call(undefined, 'POST', txPath(s.uuid), reservation())).status).toBe(401);
    const admin = await tokenFor([`enterprise_admin:${customer}`]);
    expect((await call(admin, 'POST', txPath(s.uuid), reservation())).status).toBe(403);
    expect((await asOperator('POST', txPath(randomUUID()), reservation())).status).toBe(403);
    await expectBalance(s.uuid, 100_000);
  });
});

describe('commit / fail / reverse', () => {
  it('commits a pending transaction with its fulfillment identifier; a repeat is a no-op', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const tx = await reserve(s.uuid);
    const fulfillment = randomUUID();
    const res = await commit(s.uuid, tx.uuid, fulfillment);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ uuid: tx.uuid, state: 'committed', fulfillment_identifier: fulfillment });
    const again = await commit(s.uuid, tx.uuid, fulfillment);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(res.body);
    await expectBalance(s.uuid, 10_000 - PRICE);
    expect((await fail(s.uuid, tx.uuid)).body).toMatchObject({ code: 'invalid_state' });
    expect((await fail(s.uuid, tx.uuid)).status).toBe(422);
    await expectBalance(s.uuid, 10_000 - PRICE);
  });

  it('fails a pending transaction and returns its amount to the balance, once', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const tx = await reserve(s.uuid);
    await expectBalance(s.uuid, 10_000 - PRICE);
    const res = await fail(s.uuid, tx.uuid, { reason: 'enrollment refused' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'failed', metadata: { failure_reason: 'enrollment refused' } });
    await expectBalance(s.uuid, 10_000);
    const again = await fail(s.uuid, tx.uuid);
    expect(again.status).toBe(200);
    expect(again.body.state).toBe('failed');
    await expectBalance(s.uuid, 10_000);
    const late = await commit(s.uuid, tx.uuid);
    expect(late.status).toBe(422);
    expect(late.body).toMatchObject({ code: 'invalid_state' });
  });

  it('releases the amount exactly once when the same failure is reported concurrently', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const tx = await reserve(s.uuid);
    const results = await Promise.all(Array.from({ length: 10 }, () => fail(s.uuid, tx.uuid)));
    expect(results.every((r) => r.status === 200 && r.body.state === 'failed')).toBe(true);
    await expectBalance(s.uuid, 10_000);
  });

  it('lets exactly one of a concurrent commit and fail win', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const tx = await reserve(s.uuid);
    const [c, f] = await Promise.all([commit(s.uuid, tx.uuid), fail(s.uuid, tx.uuid)]);
    expect([c.status, f.status].sort()).toEqual([200, 422]);
    const final = (await asOperator<Tx>('GET', `/api/v1/transactions/${tx.uuid}/`)).body.state;
    await expectBalance(s.uuid, final === 'failed' ? 10_000 : 10_000 - PRICE);
  });

  it('reverses a committed redemption in full, restoring the balance; a repeat answers the same reversal', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const tx = await redeemCommitted(s.uuid);
    await expectBalance(s.uuid, 10_000 - PRICE);
    const res = await reverse(s.uuid, tx.uuid);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.state).toBe('committed');
    expect(res.body.reversal).toMatchObject({
      state: 'committed',
      quantity: PRICE,
      idempotency_key: `admin-invoked-reverse-${tx.uuid}`,
    });
    await expectBalance(s.uuid, 10_000);
    const again = await reverse(s.uuid, tx.uuid, { idempotency_key: 'another-key' });
    expect(again.status).toBe(200);
    expect(again.body.reversal?.uuid).toBe(res.body.reversal?.uuid);
    await expectBalance(s.uuid, 10_000);
    // total_deposits counts deposits, not refunds.
    expect((await getSubsidy(s.uuid)).total_deposits).toBe(10_000);
  });

  it('makes one reversal when the same reverse is sent concurrently', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const tx = await redeemCommitted(s.uuid);
    const results = await Promise.all(Array.from({ length: 10 }, () => reverse(s.uuid, tx.uuid)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.reversal?.uuid)).size).toBe(1);
    await expectBalance(s.uuid, 10_000);
  });

  it('refuses to reverse pending, failed and deposit transactions (422)', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const pending = await reserve(s.uuid);
    const failed = await reserve(s.uuid);
    await fail(s.uuid, failed.uuid);
    const { ledger } = await ledgerSums(s.uuid);
    const initial = await tables()
      .selectFrom('transactions')
      .select('uuid')
      .where('ledger', '=', ledger.uuid)
      .where('kind', '=', 'deposit')
      .executeTakeFirstOrThrow();
    for (const uuid of [pending.uuid, failed.uuid, initial.uuid]) {
      const res = await reverse(s.uuid, uuid);
      expect(res.status, uuid).toBe(422);
      expect(res.body).toMatchObject({ code: 'reversal_error' });
    }
    await expectBalance(s.uuid, 10_000 - PRICE);
  });

  it('answers 404 for an unknown transaction or one of another subsidy', async () => {
    const a = await createSubsidy();
    const b = await createSubsidy();
    const tx = await reserve(a.uuid);
    for (const action of ['commit', 'fail', 'reverse']) {
      const body = action === 'commit' ? { fulfillment_identifier: 'x' } : {};
      expect((await asOperator('POST', `${txPath(b.uuid)}${tx.uuid}/${action}/`, body)).status, action).toBe(404);
      expect((await asOperator('POST', `${txPath(a.uuid)}${randomUUID()}/${action}/`, body)).status, action).toBe(404);
    }
    expect((await asOperator<Tx>('GET', `/api/v1/transactions/${tx.uuid}/`)).body.state).toBe('pending');
  });

  it('needs a fulfillment identifier to commit (400) and an operator (403)', async () => {
    const s = await createSubsidy();
    const tx = await reserve(s.uuid);
    const res = await asOperator('POST', `${txPath(s.uuid)}${tx.uuid}/commit/`, {});
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ fulfillment_identifier: ['This field is required.'] });
    const admin = await tokenFor([`enterprise_admin:${s.enterprise_customer_uuid}`]);
    for (const action of ['commit', 'fail', 'reverse']) {
      expect((await call(admin, 'POST', `${txPath(s.uuid)}${tx.uuid}/${action}/`, {})).status).toBe(403);
    }
  });
});

describe('deposits and adjustments', () => {
  const depositPath = (s: string) => `/api/v2/subsidies/${s}/admin/deposits/`;
  const adjustmentPath = (s: string) => `/api/v2/subsidies/${s}/admin/adjustments/`;
  const depositBody = (overrides: Json = {}) => ({
    desired_deposit_quantity: 25_000,
    sales_contract_reference_id: lineItem(),
    sales_contract_reference_provider: 'salesforce_opportunity_line_item',
    ...overrides,
  });

  it('adds a committed deposit to the balance and total_deposits', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    await redeemCommitted(s.uuid);
    const body = depositBody();
    const res = await asOperator('POST', depositPath(s.uuid), body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      desired_deposit_quantity: 25_000,
      sales_contract_reference_id: body.sales_contract_reference_id,
      sales_contract_reference_provider: 'salesforce_opportunity_line_item',
    });
    const tx = await asOperator<Tx>('GET', `/api/v1/transactions/${res.body.transaction}/`);
    expect(tx.body).toMatchObject({ state: 'committed', quantity: 25_000 });
    await expectBalance(s.uuid, 10_000 - PRICE + 25_000);
    expect((await getSubsidy(s.uuid)).total_deposits).toBe(35_000);
  });

  it('answers 200 with the first deposit for a repeated idempotency key, also when sent concurrently', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const body = depositBody({ idempotency_key: `topup-${randomUUID()}` });
    const results = await Promise.all(Array.from({ length: 6 }, () => asOperator('POST', depositPath(s.uuid), body)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.uuid)).size).toBe(1);
    await expectBalance(s.uuid, 35_000);
    // Without a key, each call is a new deposit (upstream behaviour).
    await asOperator('POST', depositPath(s.uuid), depositBody({ desired_deposit_quantity: 1 }));
    await asOperator('POST', depositPath(s.uuid), depositBody({ desired_deposit_quantity: 1 }));
    await expectBalance(s.uuid, 35_002);
  });

  it('refuses a deposit on an expired subsidy (422 deposit_on_expired_subsidy)', async () => {
    const s = await createSubsidy({ active_datetime: daysFromNow(-10), expiration_datetime: daysFromNow(-1) });
    const res = await asOperator('POST', depositPath(s.uuid), depositBody());
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'deposit_on_expired_subsidy' });
    await expectBalance(s.uuid, 100_000);
  });

  it.each<[string, Json, string]>([
    ['zero quantity', { desired_deposit_quantity: 0 }, 'desired_deposit_quantity'],
    ['negative quantity', { desired_deposit_quantity: -5 }, 'desired_deposit_quantity'],
    ['unknown provider', { sales_contract_reference_provider: 'napkin' }, 'sales_contract_reference_provider'],
    ['missing reference', { sales_contract_reference_id: undefined }, 'sales_contract_reference_id'],
  ])('answers 400 for a deposit with %s', async (_name, overrides, field) => {
    const s = await createSubsidy();
    const res = await asOperator('POST', depositPath(s.uuid), depositBody(overrides));
    expect(res.status).toBe(400);
    expect(res.body).toHaveProperty(field);
  });

  it('adjusts the balance both ways and counts adjustments in total_deposits', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const up = await asOperator('POST', adjustmentPath(s.uuid), {
      quantity: 2_000,
      reason: 'good_faith',
      notes: 'sorry',
    });
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    expect(up.body).toMatchObject({ adjustment_quantity: 2_000, reason: 'good_faith', notes: 'sorry' });
    const down = await asOperator('POST', adjustmentPath(s.uuid), { quantity: -3_000, reason: 'technical_challenges' });
    expect(down.status).toBe(201);
    await expectBalance(s.uuid, 9_000);
    expect((await getSubsidy(s.uuid)).total_deposits).toBe(9_000);
    // An adjustment is itself the correction: it cannot be reversed.
    const reversed = await reverse(s.uuid, up.body.transaction as string);
    expect(reversed.status).toBe(422);
  });

  it('refuses a negative adjustment that would take the balance below zero', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    await reserve(s.uuid);
    const res = await asOperator('POST', adjustmentPath(s.uuid), {
      quantity: -(10_000 - PRICE + 1),
      reason: 'good_faith',
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'adjustment_creation_error' });
    const exact = await asOperator('POST', adjustmentPath(s.uuid), {
      quantity: -(10_000 - PRICE),
      reason: 'good_faith',
    });
    expect(exact.status).toBe(201);
    await expectBalance(s.uuid, 0);
  });

  it('answers 200 for a repeated adjustment key and 400 for bad input', async () => {
    const s = await createSubsidy({ starting_balance: 10_000 });
    const body = { quantity: 500, reason: 'poor_content_fit', idempotency_key: `adj-${randomUUID()}` };
    expect((await asOperator('POST', adjustmentPath(s.uuid), body)).status).toBe(201);
    expect((await asOperator('POST', adjustmentPath(s.uuid), body)).status).toBe(200);
    await expectBalance(s.uuid, 10_500);
    const zero = await asOperator('POST', adjustmentPath(s.uuid), { quantity: 0, reason: 'good_faith' });
    expect(zero.status).toBe(400);
    expect(zero.body).toHaveProperty('quantity');
    const reason = await asOperator('POST', adjustmentPath(s.uuid), { quantity: 1, reason: 'because' });
    expect(reason.status).toBe(400);
    expect(reason.body).toHaveProperty('reason');
  });

  it('is for operators only', async () => {
    const s = await createSubsidy();
    const admin = await tokenFor([`enterprise_admin:${s.enterprise_customer_uuid}`]);
    expect((await call(admin, 'POST', depositPath(s.uuid), depositBody())).status).toBe(403);
    expect((await call(admin, 'POST', adjustmentPath(s.uuid), { quantity: 1, reason: 'good_faith' })).status).toBe(403);
    expect((await call(undefined, 'POST', depositPath(s.uuid), depositBody())).status).toBe(401);
    await expectBalance(s.uuid, 100_000);
  });
});

describe('transaction lists, aggregates and status', () => {
  const P1 = randomUUID();
  const P2 = randomUUID();
  let s: Subsidy;
  let customer: string;
  const t: Record<string, Tx> = {};

  beforeAll(async () => {
    customer = randomUUID();
    s = await createSubsidy({ enterprise_customer_uuid: customer, starting_balance: 300_000 });
    // learner 1: committed A (P1), pending B (P2); learner 2: failed A (P1); learner 3: committed then reversed A (P1);
    // learner 4: committed A (P2).
    t.l1a = await redeemCommitted(s.uuid, { lms_user_id: 1, content_key: RUN, subsidy_access_policy_uuid: P1 });
    t.l1b = await reserve(s.uuid, { lms_user_id: 1, content_key: PRICEY_RUN, subsidy_access_policy_uuid: P2 });
    t.l2a = await reserve(s.uuid, { lms_user_id: 2, content_key: RUN, subsidy_access_policy_uuid: P1 });
    await fail(s.uuid, t.l2a.uuid);
    t.l3a = await redeemCommitted(s.uuid, { lms_user_id: 3, content_key: RUN, subsidy_access_policy_uuid: P1 });
    await reverse(s.uuid, t.l3a.uuid);
    t.l4a = await redeemCommitted(s.uuid, { lms_user_id: 4, content_key: RUN, subsidy_access_policy_uuid: P2 });
  });

  const list = (query: string, token = operator) =>
    call<Page<Tx>>(token, 'GET', `${txPath(s.uuid)}${query ? `?${query}` : ''}`);
  const uuids = (page: Page<Tx>) => page.results.map((x) => x.uuid);

  it('lists every transaction, newest first', async () => {
    const res = await list('');
    expect(res.status).toBe(200);
    // 5 redemptions plus the initial deposit.
    expect(res.body.count).toBe(6);
    const created = res.body.results.map((x) => Date.parse(x.created as string));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    expect(uuids(res.body).slice(0, 5)).toEqual([t.l4a, t.l3a, t.l2a, t.l1b, t.l1a].map((x) => x?.uuid));
    expect(res.body).not.toHaveProperty('aggregates');
  });

  it.each<[string, string, string[]]>([
    ['lms_user_id', 'lms_user_id=1', ['l1b', 'l1a']],
    ['content_key', `content_key=${encodeURIComponent(PRICEY_RUN)}`, ['l1b']],
    ['policy', `subsidy_access_policy_uuid=${P2}`, ['l4a', 'l1b']],
    ['one state', 'state=failed', ['l2a']],
    ['states OR-ed', 'state=pending&state=failed', ['l2a', 'l1b']],
    ['combined', `subsidy_access_policy_uuid=${P1}&state=committed&lms_user_id=3`, ['l3a']],
  ])('filters by %s', async (_name, query, expected) => {
    const res = await list(query);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(uuids(res.body)).toEqual(expected.map((k) => t[k]?.uuid));
  });

  it('adds aggregates over the filtered non-failed transactions, reversals netted', async () => {
    const res = await list(`subsidy_access_policy_uuid=${P1}&include_aggregates=true`);
    expect(res.body.count).toBe(3);
    // l1a committed (-4900), l2a failed (excluded), l3a committed and reversed (0).
    expect(res.body.aggregates).toEqual({
      unit: 'usd_cents',
      // l1a, l1b (pending) and l4a hold their prices; l2a failed and l3a was reversed.
      remaining_subsidy_balance: 300_000 - PRICE - PRICEY - PRICE,
      total_quantity: -PRICE,
    });
    expect((await getSubsidy(s.uuid)).current_balance).toBe(300_000 - PRICE - PRICEY - PRICE);
    const spent = await list(`subsidy_access_policy_uuid=${P2}&state=committed&state=pending&include_aggregates=true`);
    expect(spent.body.aggregates?.total_quantity).toBe(-PRICE - PRICEY);
  });

  it('paginates with page_size', async () => {
    const first = await list('page_size=4');
    expect(first.body.results).toHaveLength(4);
    expect(first.body.next).toContain('page=2');
    const next = new URL(first.body.next as string);
    const second = await call<Page<Tx>>(operator, 'GET', next.pathname + next.search);
    expect(second.body.results).toHaveLength(2);
    expect(second.body.previous).not.toBeNull();
  });

  it('answers 400 for an unknown state or a non-numeric learner', async () => {
    const state = await list('state=lost');
    expect(state.status).toBe(400);
    expect(state.body).toHaveProperty('state');
    const learner = await list('lms_user_id=abc');
    expect(learner.status).toBe(400);
    expect(learner.body).toHaveProperty('lms_user_id');
  });

  it("shows the list to the customer's admins, not to its learners or other customers", async () => {
    expect((await list('', await tokenFor([`enterprise_admin:${customer}`]))).status).toBe(200);
    expect((await list('', await tokenFor([`enterprise_learner:${customer}`], 1))).status).toBe(403);
    expect((await list('', await tokenFor([`enterprise_admin:${randomUUID()}`]))).status).toBe(403);
    expect((await list('', '')).status).toBe(401);
  });

  it('counts committed, un-reversed redemptions per learner (aggregates-by-learner)', async () => {
    const all = await asOperator(`GET`, `/api/v1/subsidies/${s.uuid}/aggregates-by-learner`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual([
      { lms_user_id: 1, total: 1 },
      { lms_user_id: 4, total: 1 },
    ]);
    const p1 = await asOperator(
      `GET`,
      `/api/v1/subsidies/${s.uuid}/aggregates-by-learner?subsidy_access_policy_uuid=${P1}`,
    );
    expect(p1.body).toEqual([{ lms_user_id: 1, total: 1 }]);
    const learner = await tokenFor([`enterprise_learner:${customer}`], 1);
    expect((await call(learner, 'GET', `/api/v1/subsidies/${s.uuid}/aggregates-by-learner`)).status).toBe(403);
  });

  it('shows a transaction to operators, admins and its own learner only', async () => {
    const path = `/api/v1/transactions/${t.l1a?.uuid}/`;
    const mine = await call<Tx>(await tokenFor([`enterprise_learner:${customer}`], 1), 'GET', path);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ uuid: t.l1a?.uuid, state: 'committed', lms_user_id: 1 });
    expect((await call(await tokenFor([`enterprise_admin:${customer}`]), 'GET', path)).status).toBe(200);
    // Another learner's transaction is hidden (404), as upstream's queryset hides it.
    expect((await call(await tokenFor([`enterprise_learner:${customer}`], 2), 'GET', path)).status).toBe(404);
    expect((await call(await tokenFor([`enterprise_admin:${randomUUID()}`]), 'GET', path)).status).toBe(403);
    expect((await asOperator('GET', `/api/v1/transactions/${randomUUID()}/`)).status).toBe(403);
    expect((await asOperator('GET', '/api/v1/transactions/nope/')).status).toBe(400);
  });
});
