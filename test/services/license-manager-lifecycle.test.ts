import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LicenseManagerDB } from '../../src/services/license-manager/schema';
import { type Json, type Page, request, serviceClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * The license lifecycle of license-manager over HTTP (spec §5.5-5.11), against the real service
 * and database; test names cite the spec §9 checklist items they cover.
 */

let stack: TestStack;
let operator: string;
beforeAll(async () => {
  stack = await startTestStack({ worker: false });
  operator = await stack.operatorToken();
});
afterAll(async () => {
  await stack?.close();
});

const base = () => `${stack.urls['license-manager']}/api/v1/`;
const { callAs: call, call: asOperator } = serviceClient(base, () => operator);
const tables = () => stack.db.database.forSchema<LicenseManagerDB>('license_manager');

const DAY = 86_400_000;
const daysFromNow = (days: number) => new Date(Date.now() + days * DAY).toISOString();
const email = (who = 'user') => `${who}-${randomBytes(4).toString('hex')}@example.com`;
const GHOST = '00000000-0000-4000-8000-00000000dead';
const FORBIDDEN = { detail: 'You do not have permission to perform this action.' };

interface License {
  uuid: string;
  status: string;
  user_email: string | null;
  activation_date: string | null;
  last_remind_date: string | null;
  subscription_plan_uuid: string;
  revoked_date: string | null;
  activation_key: string | null;
}
interface LearnerLicense extends License {
  customer_agreement: Json & { uuid: string };
  subscription_plan: Json & { uuid: string };
}
interface Email {
  id: number;
  kind: string;
  recipient: string;
  subject: string;
  subscription_plan_uuid: string | null;
  license_uuid: string | null;
  payload: Json;
}
interface Customer {
  uuid: string;
  agreement: string;
  slug: string;
  /** Token of an admin of this customer. */
  admin: string;
}

async function newCustomer(overrides: Json = {}): Promise<Customer> {
  const uuid = randomUUID();
  const slug = `acme-${randomBytes(4).toString('hex')}`;
  const res = await asOperator<{ uuid: string }>('POST', 'provisioning-admins/customer-agreement/', {
    enterprise_customer_uuid: uuid,
    enterprise_customer_slug: slug,
    enterprise_customer_name: 'Acme',
    default_enterprise_catalog_uuid: randomUUID(),
    ...overrides,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const admin = await stack.token({ roles: [`enterprise_admin:${uuid}`], email: email('admin'), userId: 1 });
  return { uuid, agreement: res.body.uuid, slug, admin };
}

async function newPlan(c: Customer, overrides: Json = {}): Promise<string> {
  const res = await asOperator<{ uuid: string }>('POST', 'provisioning-admins/subscriptions/', {
    title: `Plan ${randomUUID().slice(0, 8)}`,
    start_date: daysFromNow(-1),
    expiration_date: daysFromNow(365),
    customer_agreement: c.agreement,
    enterprise_catalog_uuid: randomUUID(),
    desired_num_licenses: 5,
    product: 2,
    salesforce_opportunity_line_item: null,
    change_reason: 'new',
    is_active: true,
    ...overrides,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.uuid;
}

let nextUserId = 1000;
const learner = (c: Customer, address: string | undefined, userId: number | undefined = nextUserId++) =>
  stack.token({ roles: [`enterprise_learner:${c.uuid}`], email: address, userId });

type AssignResponse = {
  num_successful_assignments: number;
  num_already_associated: number;
  license_assignments: Array<{ user_email: string; license: string }>;
};
const assign = (c: Customer, plan: string, body: Json) =>
  call<AssignResponse>(c.admin, 'POST', `subscriptions/${plan}/licenses/assign/`, body);

async function assignOk(c: Customer, plan: string, emails: string[], extra: Json = {}) {
  const res = await assign(c, plan, { user_emails: emails, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

const licensesOf = (plan: string) =>
  tables().selectFrom('licenses').selectAll().where('subscription_plan', '=', plan).orderBy('uuid').execute();

async function keyOf(plan: string, address: string): Promise<string> {
  const row = await tables()
    .selectFrom('licenses')
    .select('activation_key')
    .where('subscription_plan', '=', plan)
    .where('user_email', '=', address.toLowerCase())
    .where('status', '=', 'assigned')
    .executeTakeFirstOrThrow();
  return row.activation_key as string;
}

const activate = (token: string | null, key: string) =>
  call<LearnerLicense>(token, 'POST', `license-activation/?activation_key=${key}`);

/** Assigns `address` a license and activates it as the learner; returns the learner's token. */
async function activated(c: Customer, plan: string, address: string, userId?: number) {
  await assignOk(c, plan, [address]);
  const token = await learner(c, address, userId);
  const res = await activate(token, await keyOf(plan, address));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return token;
}

async function emails(query: string): Promise<Email[]> {
  const res = await asOperator<Page<Email>>('GET', `email-outbox/?${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.results;
}

type PlanJson = Json & { licenses: Record<string, number>; revocations: { applied: number; remaining: number } | null };
async function counts(c: Customer, plan: string) {
  const res = await call<PlanJson>(c.admin, 'GET', `subscriptions/${plan}/`);
  expect(res.status).toBe(200);
  return res.body;
}

const revoke = (c: Customer, plan: string, body: Json) =>
  call<Json>(c.admin, 'POST', `subscriptions/${plan}/licenses/bulk-revoke/`, body);

describe('auth (spec §4, §9.1, §9.20)', () => {
  it('401 without a token on every lifecycle endpoint', async () => {
    const p = `subscriptions/${GHOST}`;
    const endpoints: Array<[string, string]> = [
      ['GET', 'subscriptions/'],
      ['GET', `${p}/`],
      ['GET', 'learner-subscriptions/'],
      ['GET', `${p}/licenses/`],
      ['GET', `${p}/licenses/overview/`],
      ['GET', `${p}/licenses/csv/`],
      ['GET', `${p}/licenses/${GHOST}/`],
      ['GET', `${p}/license/`],
      ['POST', `${p}/licenses/assign/`],
      ['POST', `${p}/licenses/remind/`],
      ['POST', `${p}/licenses/remind-all/`],
      ['POST', `${p}/licenses/bulk-revoke/`],
      ['POST', `${p}/licenses/revoke-all/`],
      ['GET', 'learner-licenses/'],
      ['POST', `license-activation/?activation_key=${GHOST}`],
      ['POST', `customer-agreement/${GHOST}/auto-apply/`],
      ['GET', 'email-outbox/'],
      ['POST', 'licenses-for-emails/'],
    ];
    for (const [method, path] of endpoints) {
      const res = await call(null, method, path, method === 'POST' ? {} : undefined);
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });

  it("admin endpoints: 403 for learners, other customers' admins and the provisioning role, before the body is read", async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const tokens = [
      await learner(c, email()),
      await stack.token({ roles: [`enterprise_admin:${randomUUID()}`] }),
      await stack.token({ roles: ['enterprise_provisioning_admin:*'] }),
    ];
    for (const token of tokens) {
      for (const [method, path] of [
        ['GET', `subscriptions/${plan}/`],
        ['GET', `subscriptions/${plan}/licenses/`],
        ['POST', `subscriptions/${plan}/licenses/assign/`],
        ['POST', `subscriptions/${plan}/licenses/bulk-revoke/`],
        ['POST', `subscriptions/${plan}/licenses/revoke-all/`],
      ] as const) {
        const res = await call(token, method, path, method === 'POST' ? {} : undefined);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body).toEqual(FORBIDDEN);
      }
    }
  });

  it('an unknown plan: 403 for a customer admin, 404 for a role over every customer (§9.20)', async () => {
    const c = await newCustomer();
    expect((await call(c.admin, 'GET', `subscriptions/${GHOST}/`)).status).toBe(403);
    expect((await call(c.admin, 'GET', 'subscriptions/not-a-uuid/licenses/')).status).toBe(403);
    expect(await asOperator('GET', `subscriptions/${GHOST}/`)).toEqual({ status: 404, body: { detail: 'Not found.' } });
    const revoked = await revoke(c, GHOST, { user_emails: ['a@example.com'] });
    expect(revoked.status).toBe(403);
    const superuser = await asOperator('POST', `subscriptions/${GHOST}/licenses/bulk-revoke/`, {
      user_emails: ['a@example.com'],
    });
    expect(superuser).toEqual({
      status: 404,
      body: { unsuccessful_revocations: [{ error: `No SubscriptionPlan identified by ${GHOST} exists` }] },
    });
  });

  it('the outbox and the email lookup are operator-only', async () => {
    const c = await newCustomer();
    expect((await call(c.admin, 'GET', 'email-outbox/')).status).toBe(403);
    const lookup = await call(c.admin, 'POST', 'licenses-for-emails/', {
      enterprise_customer_uuid: c.uuid,
      emails: ['a@example.com'],
    });
    expect(lookup.status).toBe(403);
  });
});

describe('subscription plans (spec 5.5, §9.6, §9.8)', () => {
  it("lists a customer's active plans newest start first, with license counts; learners read learner-subscriptions", async () => {
    const c = await newCustomer();
    const older = await newPlan(c, { start_date: daysFromNow(-30) });
    const newer = await newPlan(c, { start_date: daysFromNow(-2) });
    await newPlan(c, { is_active: false });
    const res = await call<Page<PlanJson>>(c.admin, 'GET', `subscriptions/?enterprise_customer_uuid=${c.uuid}`);
    expect(res.status).toBe(200);
    expect(res.body.results.map((p) => p.uuid)).toEqual([newer, older]);
    expect(res.body.results[0]).toMatchObject({
      enterprise_customer_uuid: c.uuid,
      is_active: true,
      is_current: true,
      plan_type: 'Trials',
      licenses: { total: 5, allocated: 0, unassigned: 5, activated: 0, assigned: 0, revoked: 0 },
      revocations: null,
      prior_renewals: [],
    });

    const stranger = await stack.token({ roles: [`enterprise_admin:${randomUUID()}`] });
    const none = await call(stranger, 'GET', `subscriptions/?enterprise_customer_uuid=${c.uuid}`);
    expect(none.body).toEqual({ count: 0, next: null, previous: null, results: [] });

    const mine = await call<Page<PlanJson>>(
      await learner(c, email()),
      'GET',
      `learner-subscriptions/?enterprise_customer_uuid=${c.uuid}`,
    );
    expect(mine.body.results.map((p) => p.uuid)).toEqual([newer, older]);
    expect((await call<Page<PlanJson>>(c.admin, 'GET', 'learner-subscriptions/')).body.count).toBe(0);
    expect((await call(c.admin, 'GET', 'subscriptions/?enterprise_customer_uuid=nope')).status).toBe(400);
  });

  it('current=true needs the customer (400) and answers only the current plan (§9.6)', async () => {
    const c = await newCustomer();
    await newPlan(c, { start_date: daysFromNow(10), expiration_date: daysFromNow(20) });
    const current = await newPlan(c);
    const res = await call<Page<PlanJson>>(c.admin, 'GET', 'subscriptions/?current=true');
    expect(res).toEqual({ status: 400, body: { detail: 'Current plan cannot be used without enterprise_uuid' } });
    const only = await call<Page<PlanJson>>(
      c.admin,
      'GET',
      `subscriptions/?enterprise_customer_uuid=${c.uuid}&current=true`,
    );
    expect(only.body.results.map((p) => p.uuid)).toEqual([current]);
  });

  it('counts: 3 assigned + 1 activated + 1 unassigned → total 5, allocated 4; revoking the activated one → 5, 3, revoked 1, unassigned 2 (§9.8)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const alice = email('alice');
    await activated(c, plan, alice);
    await assignOk(c, plan, [email(), email(), email()]);
    expect((await counts(c, plan)).licenses).toEqual({
      total: 5,
      allocated: 4,
      unassigned: 1,
      activated: 1,
      assigned: 3,
      revoked: 0,
    });
    expect((await revoke(c, plan, { user_emails: [alice] })).status).toBe(200);
    expect((await counts(c, plan)).licenses).toEqual({
      total: 5,
      allocated: 3,
      unassigned: 2,
      activated: 0,
      assigned: 3,
      revoked: 1,
    });
  });
});

describe('licenses of a plan (spec 5.6)', () => {
  let c: Customer;
  let plan: string;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    c = await newCustomer();
    plan = await newPlan(c, { desired_num_licenses: 6 });
    alice = `alice-${randomBytes(3).toString('hex')}@example.com`;
    bob = `bob-${randomBytes(3).toString('hex')}@example.com`;
    await activated(c, plan, alice);
    await assignOk(c, plan, [bob]);
  });
  const list = (query: string) =>
    call<Page<License> & { num_pages: number }>(c.admin, 'GET', `subscriptions/${plan}/licenses/?${query}`);

  it('lists every license (status, then email) with the upstream fields and num_pages', async () => {
    const res = await list('');
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(6);
    expect(res.body.num_pages).toBe(1);
    expect(res.body.results.map((l) => l.status)).toEqual([
      'activated',
      'assigned',
      'unassigned',
      'unassigned',
      'unassigned',
      'unassigned',
    ]);
    expect(Object.keys(res.body.results[0] as License).sort()).toEqual(
      [
        'activation_date',
        'activation_key',
        'last_remind_date',
        'revoked_date',
        'status',
        'subscription_plan_uuid',
        'user_email',
        'uuid',
      ].sort(),
    );
    expect(res.body.results[0]).toMatchObject({ user_email: alice, subscription_plan_uuid: plan });
  });

  it('filters: status list, active_only, search, ordering; page_size up to 500', async () => {
    expect((await list('status=assigned,activated')).body.results.map((l) => l.user_email)).toEqual([alice, bob]);
    expect((await list('active_only=1')).body.count).toBe(2);
    expect((await list('search=ALICE')).body.results.map((l) => l.user_email)).toEqual([alice]);
    expect((await list('status=revoked')).body.count).toBe(0);
    expect((await list('active_only=1&ordering=-user_email')).body.results.map((l) => l.user_email)).toEqual([
      bob,
      alice,
    ]);
    expect((await list('ignore_null_emails=true')).body.count).toBe(6);
    const paged = await list('page_size=4&page=2');
    expect(paged.body).toMatchObject({ count: 6, num_pages: 2, next: null });
    expect(paged.body.results).toHaveLength(2);
    expect((await list('page_size=1000')).body.results).toHaveLength(6);
    expect(await list('status=bogus')).toEqual({ status: 400, body: { status: ['"bogus" is not a valid choice.'] } });
    expect((await list('page=9')).status).toBe(404);
  });

  it('overview counts by status, largest first; detail; CSV of the used licenses', async () => {
    const overview = await call(c.admin, 'GET', `subscriptions/${plan}/licenses/overview/`);
    expect(overview.body).toEqual([
      { status: 'unassigned', count: 4 },
      { status: 'activated', count: 1 },
      { status: 'assigned', count: 1 },
    ]);
    const [first] = (await list('active_only=1')).body.results as [License];
    expect((await call(c.admin, 'GET', `subscriptions/${plan}/licenses/${first.uuid}/`)).body).toEqual(first);
    const other = await newPlan(c);
    expect((await call(c.admin, 'GET', `subscriptions/${other}/licenses/${first.uuid}/`)).status).toBe(404);

    const csv = await fetch(`${base()}subscriptions/${plan}/licenses/csv/`, {
      headers: { authorization: `JWT ${c.admin}` },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('status,user_email,activation_date,last_remind_date,activation_link');
    expect(lines).toHaveLength(3);
    const key = await keyOf(plan, bob);
    expect(lines[2]).toMatch(
      new RegExp(`^assigned,${bob},,\\S+,http://localhost:8734/${c.slug}/licenses/${key}/activate$`),
    );
  });
});

describe('assign (spec 5.7, §9.9–9.16)', () => {
  it('no body, [], a bad email → 400 naming the field; nothing assigned, no email (§9.9)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    expect(await assign(c, plan, {})).toEqual({ status: 400, body: { user_emails: ['This field is required.'] } });
    expect(await assign(c, plan, { user_emails: [] })).toEqual({
      status: 400,
      body: { user_emails: ['This list may not be empty.'] },
    });
    expect(await assign(c, plan, { user_emails: ['ok@example.com', 'nope'] })).toEqual({
      status: 400,
      body: { user_emails: { '1': ['Enter a valid email address.'] } },
    });
    expect(await assign(c, plan, { user_emails: 'a@example.com' })).toEqual({
      status: 400,
      body: { user_emails: ['Expected a list of items but got type "str".'] },
    });
    expect((await licensesOf(plan)).every((l) => l.status === 'unassigned')).toBe(true);
    expect(await emails(`subscription_plan=${plan}`)).toEqual([]);
  });

  it("not enough unassigned licenses → 400 with upstream's message, nothing assigned (§9.10)", async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { desired_num_licenses: 2 });
    await assignOk(c, plan, [email()]);
    const res = await assign(c, plan, { user_emails: [email(), email()] });
    expect(res).toEqual({
      status: 400,
      body:
        'There are not enough licenses that can be assigned to complete your request.' +
        'You attempted to assign 2 licenses, but there are only 1 potentially available.',
    });
    expect((await counts(c, plan)).licenses).toMatchObject({ assigned: 1, unassigned: 1 });
  });

  it('one email already assigned + one new → 200, 1 and 1; only the new one is emailed (§9.11)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const old = email('old');
    const fresh = email('new');
    await assignOk(c, plan, [old]);
    const body = await assignOk(c, plan, [old, fresh], { greeting: 'Hello!', closing: 'Bye.' });
    expect(body.num_successful_assignments).toBe(1);
    expect(body.num_already_associated).toBe(1);
    expect(body.license_assignments).toEqual([{ user_email: fresh, license: expect.any(String) }]);
    const sent = await emails(`subscription_plan=${plan}&kind=license_assignment`);
    expect(sent.map((e) => e.recipient)).toEqual([old, fresh]);
    const last = sent[1] as Email;
    expect(last.license_uuid).toBe(body.license_assignments[0]?.license);
    expect(last.payload).toMatchObject({
      greeting: 'Hello!',
      closing: 'Bye.',
      enterprise_customer_slug: c.slug,
      subscription_plan_uuid: plan,
      activation_link: `http://localhost:8734/${c.slug}/licenses/${await keyOf(plan, fresh)}/activate`,
    });
  });

  it('duplicates and different casing → one license, lower-cased email (§9.12)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const address = email('Mixed');
    const body = await assignOk(c, plan, [address.toUpperCase(), address, ` ${address} `]);
    expect(body.num_successful_assignments).toBe(1);
    const seated = (await licensesOf(plan)).filter((l) => l.status === 'assigned');
    expect(seated.map((l) => l.user_email)).toEqual([address.toLowerCase()]);
    expect(seated[0]?.activation_key).toBeTruthy();
    expect(seated[0]?.assigned_date).toBeTruthy();
  });

  it('user_sfids: sources only for non-blank ids; [] and a length mismatch → 400 (§9.13)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const [a, b, d] = [email('a'), email('b'), email('d')];
    const sfid = '00k0000000000AbCde';
    const body = await assignOk(c, plan, [a, b, d], { user_sfids: [sfid, '', null] });
    const sources = await tables().selectFrom('license_sources').selectAll().execute();
    const forA = body.license_assignments.find((x) => x.user_email === a)?.license;
    expect(sources.filter((s) => body.license_assignments.some((x) => x.license === s.license))).toEqual([
      expect.objectContaining({ license: forA, source_id: sfid, source_type: 'AMT' }),
    ]);
    expect(await assign(c, plan, { user_emails: [email()], user_sfids: [] })).toEqual({
      status: 400,
      body: { user_sfids: ['No Salesforce Ids provided.'] },
    });
    expect(await assign(c, plan, { user_emails: [email(), email()], user_sfids: [sfid] })).toEqual({
      status: 400,
      body: { non_field_errors: ['Number of Salesforce IDs did not match number of provided user emails.'] },
    });
    expect(await assign(c, plan, { user_emails: [email()], user_sfids: ['00kshort'] })).toEqual({
      status: 400,
      body: { user_sfids: { '0': ['Ensure this field has at least 18 characters.'] } },
    });
  });

  it('notify_users=false, or an agreement with onboarding emails off → no assignment email (§9.16)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await assignOk(c, plan, [email()], { notify_users: false });
    const quiet = await newCustomer({ disable_onboarding_notifications: true });
    const quietPlan = await newPlan(quiet);
    await assignOk(quiet, quietPlan, [email()]);
    expect(await emails(`subscription_plan=${plan}`)).toEqual([]);
    expect(await emails(`subscription_plan=${quietPlan}`)).toEqual([]);
    expect((await counts(quiet, quietPlan)).licenses.assigned).toBe(1);
  });
});

describe('remind (spec 5.8, §9.26)', () => {
  it('reminds assigned licenses by email or by filters (204), refreshes last_remind_date; 404 for an email without a pending license', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const [pending, other] = [email('pending'), email('other')];
    const active = email('active');
    await assignOk(c, plan, [pending, other], { notify_users: false });
    await activated(c, plan, active);
    const before = (await licensesOf(plan)).find((l) => l.user_email === pending)?.last_remind_date;

    const res = await call(c.admin, 'POST', `subscriptions/${plan}/licenses/remind/`, {
      user_emails: [pending.toUpperCase()],
      greeting: 'Psst',
    });
    expect(res).toEqual({ status: 204, body: null });
    const sent = await emails(`subscription_plan=${plan}&kind=license_reminder`);
    expect(sent.map((e) => e.recipient)).toEqual([pending]);
    expect(sent[0]?.payload).toMatchObject({ greeting: 'Psst', closing: '' });
    const after = (await licensesOf(plan)).find((l) => l.user_email === pending)?.last_remind_date;
    expect(new Date(after as Date).getTime()).toBeGreaterThan(new Date(before as Date).getTime());

    for (const who of [active, email('nobody')]) {
      expect(await call(c.admin, 'POST', `subscriptions/${plan}/licenses/remind/`, { user_emails: [who] })).toEqual({
        status: 404,
        body: `Could not find any licenses pending activation that are associated with the email: ${who}`,
      });
    }
    const filtered = await call(c.admin, 'POST', `subscriptions/${plan}/licenses/remind/`, {
      filters: [{ name: 'user_email', filter_value: 'other' }],
    });
    expect(filtered.status).toBe(204);
    expect((await emails(`subscription_plan=${plan}&kind=license_reminder`)).map((e) => e.recipient)).toEqual([
      pending,
      other,
    ]);
  });

  it('remind validation: emails xor filters, known filters only', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const path = `subscriptions/${plan}/licenses/remind/`;
    expect((await call(c.admin, 'POST', path, {})).body).toEqual({
      non_field_errors: ['Either user_emails or filters must be provided.'],
    });
    expect(
      (await call(c.admin, 'POST', path, { user_emails: ['a@example.com'], filters: [{ name: 'user_email' }] })).body,
    ).toEqual({ non_field_errors: ['Either user_emails or filters must be provided, but not both.'] });
    expect((await call(c.admin, 'POST', path, { filters: [{ name: 'plan', filter_value: 'x' }] })).body).toEqual({
      non_field_errors: ["Malformed filters, supported filters are ['user_email', 'status_in']."],
    });
    expect((await call(c.admin, 'POST', path, { filters: [{ name: 'status_in', filter_value: 'x' }] })).body).toEqual({
      non_field_errors: ['Malformed filters, status_in must be a list of strings.'],
    });
  });

  it('remind-all: 404 with nothing pending, else every assigned license is reminded (§9.26)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    expect(await call(c.admin, 'POST', `subscriptions/${plan}/licenses/remind-all/`, {})).toEqual({
      status: 404,
      body: 'Could not find any licenses pending activation',
    });
    const two = [email('x'), email('y')];
    await assignOk(c, plan, two, { notify_users: false });
    expect((await call(c.admin, 'POST', `subscriptions/${plan}/licenses/remind-all/`, {})).status).toBe(204);
    expect((await emails(`subscription_plan=${plan}&kind=license_reminder`)).map((e) => e.recipient).sort()).toEqual(
      two.sort(),
    );
  });
});

describe('bulk-revoke (spec 5.9, §9.17–9.25)', () => {
  it('revokes activated and assigned licenses (200), each replaced by a fresh unassigned one (§9.17)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const [alice, bob, carol] = [email('alice'), email('bob'), email('carol')];
    await activated(c, plan, alice);
    await activated(c, plan, bob);
    await assignOk(c, plan, [carol]);
    const res = await revoke(c, plan, { user_emails: [alice.toUpperCase(), carol] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      successful_revocations: [
        { license_uuid: expect.any(String), original_status: 'activated', user_email: alice },
        { license_uuid: expect.any(String), original_status: 'assigned', user_email: carol },
      ],
      unsuccessful_revocations: [],
    });
    expect((await counts(c, plan)).licenses).toEqual({
      total: 5,
      allocated: 1,
      unassigned: 4,
      activated: 1,
      assigned: 0,
      revoked: 2,
    });
    const revokedRow = (await licensesOf(plan)).find((l) => l.user_email === alice);
    expect(revokedRow).toMatchObject({ status: 'revoked' });
    expect(revokedRow?.revoked_date).toBeTruthy();
    // No cap on this plan: no notice to ECS (§9.25).
    expect(await emails(`subscription_plan=${plan}&kind=revocation_cap_reached`)).toEqual([]);
  });

  it('the database refuses a second seat for one email in one plan, whatever its casing (§9.18, §9.32)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const alice = email('alice');
    await activated(c, plan, alice);
    const [spare] = (await licensesOf(plan)).filter((l) => l.status === 'unassigned');
    const seat = tables()
      .updateTable('licenses')
      .set({
        status: 'assigned',
        user_email: alice.toUpperCase(),
        activation_key: randomUUID(),
        assigned_date: new Date(),
      })
      .where('uuid', '=', spare?.uuid as string)
      .execute();
    await expect(seat).rejects.toMatchObject({ code: '23505' });
  });

  it('filters: user_email substring, status_in; a status with nothing to revoke → 200 with no revocations (§9.19)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const tag = randomBytes(3).toString('hex');
    const alice = `alice-${tag}@example.com`;
    const bob = `bob-${tag}@example.com`;
    await activated(c, plan, alice);
    await assignOk(c, plan, [bob]);
    const none = await revoke(c, plan, { filters: [{ name: 'status_in', filter_value: ['revoked'] }] });
    expect(none).toEqual({ status: 200, body: { successful_revocations: [], unsuccessful_revocations: [] } });
    const byEmail = await revoke(c, plan, { filters: [{ name: 'user_email', filter_value: `ALICE-${tag}` }] });
    expect((byEmail.body.successful_revocations as Json[]).map((r) => r.user_email)).toEqual([alice]);
    const rest = await revoke(c, plan, { filters: [{ name: 'status_in', filter_value: ['assigned', 'activated'] }] });
    expect((rest.body.successful_revocations as Json[]).map((r) => r.user_email)).toEqual([bob]);
  });

  it('one found + one missing → 207; all missing → 404 with the errors (§9.22)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const alice = email('alice');
    const ghost = email('ghost');
    await assignOk(c, plan, [alice]);
    const res = await revoke(c, plan, { user_emails: [alice, ghost] });
    expect(res.status).toBe(207);
    expect(res.body).toEqual({
      successful_revocations: [{ license_uuid: expect.any(String), original_status: 'assigned', user_email: alice }],
      unsuccessful_revocations: [
        {
          error: `No license for email ${ghost} exists in plan ${plan} with a status in ['activated', 'assigned']. user_email: ${ghost}`,
          error_response_status: 404,
          user_email: ghost,
        },
      ],
    });
    const again = await revoke(c, plan, { user_emails: [alice] });
    expect(again.status).toBe(404);
    expect((again.body.unsuccessful_revocations as Json[])[0]).toMatchObject({ error_response_status: 404 });
    expect((await call(c.admin, 'POST', `subscriptions/${plan}/licenses/bulk-revoke/`, {})).body).toEqual({
      non_field_errors: ['Either user_emails or filters must be provided.'],
    });
  });

  it('cap enabled at 0% → 400, nothing revoked (§9.21)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { is_revocation_cap_enabled: true, revoke_max_percentage: 0 });
    const alice = email('alice');
    await assignOk(c, plan, [alice]);
    expect(await revoke(c, plan, { user_emails: [alice] })).toEqual({
      status: 400,
      body: { unsuccessful_revocations: [{ error: 'Plan does not have enough revocations remaining.' }] },
    });
    expect((await counts(c, plan)).licenses.assigned).toBe(1);
  });

  it('the cap counts activated revocations only; ECS is told once it is used up; re-assigning a revoked email seats a new license (§9.25)', async () => {
    const c = await newCustomer();
    // 20% of 10 = 2 revocations of activated licenses.
    const plan = await newPlan(c, {
      desired_num_licenses: 10,
      is_revocation_cap_enabled: true,
      revoke_max_percentage: 20,
    });
    const [a, b, d, e] = [email('a'), email('b'), email('d'), email('e')];
    await activated(c, plan, a);
    await activated(c, plan, b);
    await activated(c, plan, d);
    await assignOk(c, plan, [e]);

    expect((await revoke(c, plan, { user_emails: [e] })).status).toBe(200);
    expect((await counts(c, plan)).revocations).toEqual({ applied: 0, remaining: 2 });
    expect((await revoke(c, plan, { user_emails: [a] })).status).toBe(200);
    expect((await counts(c, plan)).revocations).toEqual({ applied: 1, remaining: 1 });
    expect(await emails(`subscription_plan=${plan}&kind=revocation_cap_reached`)).toEqual([]);
    expect((await revoke(c, plan, { user_emails: [b] })).status).toBe(200);
    const plan2 = await counts(c, plan);
    expect(plan2.revocations).toEqual({ applied: 2, remaining: 0 });
    expect(plan2.licenses).toMatchObject({ total: 10, revoked: 3 });
    const notices = await emails(`subscription_plan=${plan}&kind=revocation_cap_reached`);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      recipient: 'customersuccess@example.com',
      payload: { num_revocations_applied: 2 },
    });
    expect((await revoke(c, plan, { user_emails: [d] })).status).toBe(400);

    const before = (await licensesOf(plan)).find((l) => l.user_email === a)?.uuid;
    const again = await assignOk(c, plan, [a]);
    expect(again.num_successful_assignments).toBe(1);
    expect(again.license_assignments[0]?.license).not.toBe(before);
  });
});

describe('revoke-all (spec 5.9, §9.24)', () => {
  it('422 with the cap on; otherwise 204 and every seat revoked and replaced; 404 for a missing plan', async () => {
    const c = await newCustomer();
    const capped = await newPlan(c, { is_revocation_cap_enabled: true });
    expect(await call(c.admin, 'POST', `subscriptions/${capped}/licenses/revoke-all/`, {})).toEqual({
      status: 422,
      body: 'Cannot revoke all licenses when revocation cap is enabled for the subscription plan',
    });
    const plan = await newPlan(c);
    await activated(c, plan, email());
    await assignOk(c, plan, [email(), email()]);
    expect((await call(c.admin, 'POST', `subscriptions/${plan}/licenses/revoke-all/`, {})).status).toBe(204);
    expect((await counts(c, plan)).licenses).toEqual({
      total: 5,
      allocated: 0,
      unassigned: 5,
      activated: 0,
      assigned: 0,
      revoked: 3,
    });
    expect(await asOperator('POST', `subscriptions/${GHOST}/licenses/revoke-all/`, {})).toEqual({
      status: 404,
      body: `No SubscriptionPlan identified by ${GHOST} exists`,
    });
  });
});

describe('learner licenses (spec 5.10, §9.27–9.30)', () => {
  it('403 without a role, 400 without enterprise_customer_uuid; items and page carry the customer agreement (§9.27)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const address = email('ada');
    await assignOk(c, plan, [address]);
    const token = await learner(c, address);
    const stranger = await stack.token({ roles: [`enterprise_learner:${randomUUID()}`], email: address });
    expect((await call(stranger, 'GET', `learner-licenses/?enterprise_customer_uuid=${c.uuid}`)).status).toBe(403);
    expect(await call(token, 'GET', 'learner-licenses/')).toEqual({
      status: 400,
      body: 'missing enterprise_customer_uuid query param',
    });
    expect((await call(token, 'GET', 'learner-licenses/?enterprise_customer_uuid=bad')).body).toEqual({
      enterprise_customer_uuid: ['Must be a valid UUID.'],
    });
    const res = await call<Page<LearnerLicense> & { customer_agreement: Json }>(
      token,
      'GET',
      `learner-licenses/?enterprise_customer_uuid=${c.uuid}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(1);
    expect(res.body.customer_agreement).toMatchObject({ uuid: c.agreement, enterprise_customer_slug: c.slug });
    const [item] = res.body.results as [LearnerLicense];
    expect(item).toMatchObject({ status: 'assigned', user_email: address, subscription_plan_uuid: plan });
    expect(item.customer_agreement).toEqual(res.body.customer_agreement);
    expect(Object.keys(item.subscription_plan).sort()).toEqual(
      [
        'days_until_expiration',
        'days_until_expiration_including_renewals',
        'enterprise_catalog_uuid',
        'enterprise_customer_uuid',
        'expiration_date',
        'is_active',
        'is_locked_for_renewal_processing',
        'is_revocation_cap_enabled',
        'should_auto_apply_licenses',
        'start_date',
        'title',
        'uuid',
      ].sort(),
    );
  });

  it('orders activated before assigned, later expiration first; the flags widen the result (§9.28, §9.29)', async () => {
    const c = await newCustomer();
    const soon = await newPlan(c, { expiration_date: daysFromNow(100) });
    const later = await newPlan(c, { expiration_date: daysFromNow(300) });
    const pending = await newPlan(c, { expiration_date: daysFromNow(400) });
    const inactive = await newPlan(c, { is_active: false });
    const future = await newPlan(c, { start_date: daysFromNow(30), expiration_date: daysFromNow(60) });
    const gone = await newPlan(c);
    const address = email('ada');
    const userId = nextUserId++;
    await activated(c, soon, address, userId);
    await activated(c, later, address, userId);
    await assignOk(c, pending, [address]);
    await assignOk(c, inactive, [address]);
    await assignOk(c, future, [address]);
    await assignOk(c, gone, [address]);
    expect((await revoke(c, gone, { user_emails: [address] })).status).toBe(200);

    const token = await learner(c, address, userId);
    const plansOf = async (query: string) =>
      (
        await call<Page<LearnerLicense>>(token, 'GET', `learner-licenses/?enterprise_customer_uuid=${c.uuid}${query}`)
      ).body.results.map((l) => l.subscription_plan.uuid);
    expect(await plansOf('')).toEqual([later, soon, pending]);
    expect(await plansOf('&active_plans_only=false')).toContain(inactive);
    expect(await plansOf('&current_plans_only=false')).toContain(future);
    expect(await plansOf('&include_revoked=true')).toContain(gone);
    expect(await plansOf('&status=assigned')).toEqual([pending]);
  });

  it('a learner who changed their email is found by user id; the response and the database show the new email (§9.30)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const old = email('old');
    const userId = nextUserId++;
    await activated(c, plan, old, userId);
    const renamed = email('renamed');
    const token = await learner(c, renamed, userId);
    const res = await call<Page<LearnerLicense>>(token, 'GET', `learner-licenses/?enterprise_customer_uuid=${c.uuid}`);
    expect(res.body.results.map((l) => l.user_email)).toEqual([renamed]);
    const rows = (await licensesOf(plan)).filter((l) => l.lms_user_id === userId);
    expect(rows.map((l) => l.user_email)).toEqual([renamed]);
  });

  it("subscriptions/{uuid}/license/: the caller's own non-revoked license in the plan", async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const address = email('ada');
    await assignOk(c, plan, [address, email()]);
    const res = await call<Page<License>>(await learner(c, address), 'GET', `subscriptions/${plan}/license/`);
    expect(res.body.results.map((l) => l.user_email)).toEqual([address]);
    expect((await call(await learner(c, undefined), 'GET', `subscriptions/${plan}/license/`)).body).toMatchObject({
      count: 0,
    });
  });
});

describe('license activation (spec 5.11, §9.31–9.33)', () => {
  it('401, 403, 400 (no key, bad key, no email), 404 unknown key (§9.31)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const address = email('ada');
    await assignOk(c, plan, [address]);
    const key = await keyOf(plan, address);
    expect((await activate(null, key)).status).toBe(401);
    const stranger = await stack.token({ roles: [`enterprise_learner:${randomUUID()}`], email: address });
    expect(await activate(stranger, key)).toEqual({ status: 403, body: FORBIDDEN });
    const token = await learner(c, address);
    expect(await call(token, 'POST', 'license-activation/')).toEqual({
      status: 400,
      body: 'activation_key is a required parameter',
    });
    expect(await activate(token, 'nope')).toEqual({ status: 400, body: 'nope is not a valid activation key.' });
    expect(await activate(await learner(c, undefined), key)).toEqual({
      status: 400,
      body: '`email` is required and could not be found in your jwt',
    });
    expect(await activate(token, GHOST)).toEqual({
      status: 404,
      body: `No current license exists for the email ${address} with activation key ${GHOST}`,
    });
    expect((await activate(await learner(c, email('other')), key)).status).toBe(404);
  });

  it('assigned → 200 activated (date now, lms_user_id set, one post-activation email); again → 200 unchanged; revoked → 422 (§9.31)', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const address = email('ada');
    await assignOk(c, plan, [address], { notify_users: false });
    const key = await keyOf(plan, address);
    const token = await learner(c, address.toUpperCase(), 4242);
    const t0 = Date.now();
    const first = await activate(token, key);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'activated', user_email: address, activation_key: key });
    expect(first.body.subscription_plan.uuid).toBe(plan);
    expect(first.body.customer_agreement.uuid).toBe(c.agreement);
    expect(Math.abs(new Date(first.body.activation_date as string).getTime() - t0)).toBeLessThan(60_000);
    const row = (await licensesOf(plan)).find((l) => l.user_email === address);
    expect(row).toMatchObject({ status: 'activated', lms_user_id: 4242 });

    const second = await activate(token, key);
    expect(second.status).toBe(200);
    expect(second.body.activation_date).toBe(first.body.activation_date);
    const welcome = await emails(`subscription_plan=${plan}&kind=post_activation`);
    expect(welcome.map((e) => e.recipient)).toEqual([address]);

    expect((await revoke(c, plan, { user_emails: [address] })).status).toBe(200);
    const refused = await activate(token, key);
    expect(refused).toEqual({
      status: 422,
      body: `Action: activation failed for license: ${row?.uuid} because: Cannot activate a revoked license.`,
    });
    expect((await licensesOf(plan)).find((l) => l.uuid === row?.uuid)?.status).toBe('revoked');
  });

  it('onboarding emails off → activation sends no email', async () => {
    const c = await newCustomer({ disable_onboarding_notifications: true });
    const plan = await newPlan(c);
    await activated(c, plan, email());
    expect(await emails(`subscription_plan=${plan}`)).toEqual([]);
  });

  it("a key in an expired plan and in its current renewal → the current plan's license is activated (§9.33)", async () => {
    const c = await newCustomer();
    const expired = await newPlan(c, { start_date: daysFromNow(-400), expiration_date: daysFromNow(-1) });
    const current = await newPlan(c);
    const address = email('ada');
    const key = randomUUID();
    for (const plan of [expired, current]) {
      const [spare] = (await licensesOf(plan)).filter((l) => l.status === 'unassigned');
      await tables()
        .updateTable('licenses')
        .set({ status: 'assigned', user_email: address, activation_key: key, assigned_date: new Date() })
        .where('uuid', '=', spare?.uuid as string)
        .execute();
    }
    const res = await activate(await learner(c, address), key);
    expect(res.status).toBe(200);
    expect(res.body.subscription_plan.uuid).toBe(current);
    const statuses = await tables()
      .selectFrom('licenses')
      .select(['subscription_plan', 'status'])
      .where('activation_key', '=', key)
      .execute();
    expect(Object.fromEntries(statuses.map((s) => [s.subscription_plan, s.status]))).toEqual({
      [expired]: 'assigned',
      [current]: 'activated',
    });
  });
});

describe('auto-apply (spec 5.4, §9.34)', () => {
  const autoApply = (c: Customer, token: string) =>
    call<LearnerLicense>(token, 'POST', `customer-agreement/${c.agreement}/auto-apply/`);
  const NO_PLAN =
    'License was unable to be automatically applied. Please contact your administrator for further assistance.';

  it('no auto-apply plan → 422; success → 200 activated auto-applied license, idempotent, one email', async () => {
    const c = await newCustomer();
    const address = email('sso');
    const token = await learner(c, address, 777);
    expect(await autoApply(c, token)).toEqual({ status: 422, body: NO_PLAN });
    const plan = await newPlan(c, { should_auto_apply_licenses: true });
    const first = await autoApply(c, token);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'activated', user_email: address, subscription_plan_uuid: plan });
    const second = await autoApply(c, token);
    expect(second.body.uuid).toBe(first.body.uuid);
    const row = (await licensesOf(plan)).find((l) => l.uuid === first.body.uuid);
    expect(row).toMatchObject({ auto_applied: true, lms_user_id: 777 });
    expect((await emails(`subscription_plan=${plan}&kind=auto_applied_license`)).map((e) => e.recipient)).toEqual([
      address,
    ]);
  });

  it('5 concurrent auto-applies for one learner → one license, the same for all', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { should_auto_apply_licenses: true });
    const token = await learner(c, email('race'));
    const results = await Promise.all(Array.from({ length: 5 }, () => autoApply(c, token)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(results.map((r) => r.body.uuid)).size).toBe(1);
    expect((await counts(c, plan)).licenses).toMatchObject({ activated: 1, unassigned: 4 });
  });

  it('an existing assigned license is returned; a revoked one or an empty pool → 422, no new license', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { should_auto_apply_licenses: true, desired_num_licenses: 2 });
    const [assigned, revoked] = [email('assigned'), email('revoked')];
    await assignOk(c, plan, [assigned, revoked]);
    const same = await autoApply(c, await learner(c, assigned));
    expect(same.body).toMatchObject({ status: 'assigned', user_email: assigned });
    expect((await revoke(c, plan, { user_emails: [revoked] })).status).toBe(200);
    expect(await autoApply(c, await learner(c, revoked))).toEqual({
      status: 422,
      body: 'You are not eligible for an auto-applied license. Please contact your administrator for further assistance.',
    });
    await assignOk(c, plan, [email()]);
    expect(await autoApply(c, await learner(c, email('late')))).toEqual({
      status: 422,
      body: 'There are no licenses remaining in your organization. Please contact your administrator for further assistance.',
    });
    expect((await counts(c, plan)).licenses).toMatchObject({ total: 2, allocated: 2, unassigned: 0 });
  });
});

describe('email outbox (GET /api/v1/email-outbox/)', () => {
  it('lists recorded emails oldest first, filtered by customer, recipient and kind; bad filters → 400', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const [a, b] = [email('a'), email('b')];
    await assignOk(c, plan, [a, b]);
    const all = await asOperator<Page<Email>>('GET', `email-outbox/?enterprise_customer_uuid=${c.uuid}`);
    expect(all.body.count).toBe(2);
    expect(all.body.results.map((e) => e.recipient)).toEqual([a, b]);
    expect(all.body.results[0]).toMatchObject({
      kind: 'license_assignment',
      subject: 'Acme has sent you a subscription license',
      subscription_plan_uuid: plan,
      license_uuid: expect.any(String),
      sent_at: null,
    });
    const one = await asOperator<Page<Email>>('GET', `email-outbox/?recipient=${b.toUpperCase()}`);
    expect(one.body.results.map((e) => e.recipient)).toEqual([b]);
    expect((await asOperator('GET', 'email-outbox/?kind=spam')).status).toBe(400);
    expect((await asOperator('GET', 'email-outbox/?subscription_plan=nope')).body).toEqual({
      subscription_plan: ['Must be a valid UUID.'],
    });
  });
});

describe('licenses-for-emails (POST /api/v1/licenses-for-emails/, for bulk enrollment)', () => {
  const lookup = (body: Json) =>
    asOperator<Json & { results: Array<{ email: string; licenses: Json[] }> }>('POST', 'licenses-for-emails/', body);

  it("answers each email's licenses with status, plan and catalog, in request order; unassigned never listed", async () => {
    const c = await newCustomer();
    const catalog = randomUUID();
    const plan = await newPlan(c, { enterprise_catalog_uuid: catalog });
    const other = await newPlan(c, { is_active: false });
    const [active, pending, revoked, unknown] = [email('active'), email('pending'), email('revoked'), email('unknown')];
    await activated(c, plan, active);
    await assignOk(c, plan, [pending, revoked]);
    await assignOk(c, other, [active]);
    expect((await revoke(c, plan, { user_emails: [revoked] })).status).toBe(200);

    const res = await lookup({
      enterprise_customer_uuid: c.uuid,
      emails: [unknown, active.toUpperCase(), pending, revoked, active],
    });
    expect(res.status).toBe(200);
    expect(res.body.customer_agreement_uuid).toBe(c.agreement);
    expect(res.body.results.map((r) => [r.email, r.licenses.map((l) => l.status)])).toEqual([
      [unknown, []],
      [active, ['activated', 'assigned']],
      [pending, ['assigned']],
      [revoked, ['revoked']],
    ]);
    const [activeLicense, otherPlanLicense] = (res.body.results[1]?.licenses ?? []) as [Json?, Json?];
    expect(activeLicense).toMatchObject({
      subscription_plan_uuid: plan,
      plan_is_active: true,
      plan_is_current: true,
      enterprise_catalog_uuid: catalog,
      activation_link: null,
      expiration_date: expect.any(String),
      start_date: expect.any(String),
    });
    expect(otherPlanLicense).toMatchObject({ subscription_plan_uuid: other, plan_is_active: false });
    expect(res.body.results[2]?.licenses[0]?.activation_link).toContain(await keyOf(plan, pending));

    const onePlan = await lookup({ enterprise_customer_uuid: c.uuid, emails: [active], subscription_uuid: other });
    expect(onePlan.body.results[0]?.licenses.map((l) => l.subscription_plan_uuid)).toEqual([other]);
  });

  it('1,000 emails in one call; 1,001 → 400; bad input → 400 naming the field; no agreement → 404', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { desired_num_licenses: 3 });
    const many = Array.from({ length: 1000 }, (_, i) => `learner${i}-${randomBytes(2).toString('hex')}@example.com`);
    await assignOk(c, plan, many.slice(0, 3));
    const res = await lookup({ enterprise_customer_uuid: c.uuid, emails: many });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1000);
    expect(res.body.results.filter((r) => r.licenses.length > 0)).toHaveLength(3);

    expect((await lookup({ enterprise_customer_uuid: c.uuid, emails: [...many, 'x@example.com'] })).body).toEqual({
      emails: ['Ensure this field has no more than 1000 elements.'],
    });
    expect((await lookup({ emails: ['a@example.com'] })).body).toEqual({
      enterprise_customer_uuid: ['This field is required.'],
    });
    expect((await lookup({ enterprise_customer_uuid: c.uuid, emails: ['a@example.com', 'bad'] })).body).toEqual({
      emails: { '1': ['Enter a valid email address.'] },
    });
    expect(
      (await lookup({ enterprise_customer_uuid: c.uuid, emails: ['a@example.com'], subscription_uuid: GHOST })).body,
    ).toEqual({
      subscription_uuid: [`Invalid pk "${GHOST}" - object does not exist.`],
    });
    expect(await lookup({ enterprise_customer_uuid: GHOST, emails: ['a@example.com'] })).toEqual({
      status: 404,
      body: { detail: `No customer agreement exists for enterprise customer ${GHOST}.` },
    });
  });
});

describe('concurrent assignment (issue #5 item 2: database-enforced, no 423)', () => {
  /** 20 calls over a pool of 25 emails, each with 6 of them, overlapping. */
  const overlapping = (pool: string[]) =>
    Array.from({ length: 20 }, (_, i) =>
      Array.from({ length: 6 }, (_, j) => pool[(i * 3 + j * 4) % pool.length] as string),
    );

  async function seatsPerEmail(plan: string) {
    const rows = await tables()
      .selectFrom('licenses')
      .select([sql<string>`lower(user_email)`.as('email'), sql<number>`count(*)::integer`.as('n')])
      .where('subscription_plan', '=', plan)
      .where('status', 'in', ['assigned', 'activated'])
      .groupBy(sql`lower(user_email)`)
      .execute();
    return new Map(rows.map((r) => [r.email, Number(r.n)]));
  }

  it('20 concurrent assigns with overlapping emails: no email seated twice, exact pool counts, one email per seat, no 5xx', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { desired_num_licenses: 30 });
    const pool = Array.from({ length: 25 }, (_, i) => email(`p${i}`));
    const calls = overlapping(pool);
    const results = await Promise.all(
      calls.map((emails, i) =>
        request<AssignResponse>(
          'POST',
          `${base()}subscriptions/${plan}/licenses/assign/`,
          // Mixed casing on odd calls: the same learners, spelled differently.
          { user_emails: i % 2 ? emails.map((e) => e.toUpperCase()) : emails },
          c.admin,
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const distinct = new Set(calls.flat());
    const seated = results.reduce((n, r) => n + r.body.num_successful_assignments, 0);
    expect(seated).toBe(distinct.size);
    for (const r of results) {
      expect(r.body.num_successful_assignments + r.body.num_already_associated).toBe(6);
    }
    const seats = await seatsPerEmail(plan);
    expect(seats.size).toBe(distinct.size);
    expect([...seats.values()].every((n) => n === 1)).toBe(true);
    expect((await counts(c, plan)).licenses).toEqual({
      total: 30,
      allocated: distinct.size,
      unassigned: 30 - distinct.size,
      activated: 0,
      assigned: distinct.size,
      revoked: 0,
    });
    const sent = await emails(`subscription_plan=${plan}&kind=license_assignment`);
    expect(sent).toHaveLength(distinct.size);
    expect(new Set(sent.map((e) => e.recipient)).size).toBe(distinct.size);
  });

  it('the same race with a pool too small: some 400s, never more seats than licenses, no 5xx', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { desired_num_licenses: 10 });
    const pool = Array.from({ length: 25 }, (_, i) => email(`q${i}`));
    const results = await Promise.all(overlapping(pool).map((emails) => assign(c, plan, { user_emails: emails })));
    expect(results.every((r) => r.status === 200 || r.status === 400)).toBe(true);
    expect(results.some((r) => r.status === 400)).toBe(true);
    const seated = results.reduce((n, r) => n + (r.status === 200 ? r.body.num_successful_assignments : 0), 0);
    const seats = await seatsPerEmail(plan);
    expect([...seats.values()].every((n) => n === 1)).toBe(true);
    expect(seats.size).toBe(seated);
    const { licenses } = await counts(c, plan);
    expect(licenses).toMatchObject({ total: 10, assigned: seated, unassigned: 10 - seated, revoked: 0 });
  });
});
