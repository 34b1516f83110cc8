import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LicenseManagerDB } from '../../src/services/license-manager/schema';
import { type Json, type Page, serviceClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';
import { daysFromNow, hex, roleTokens, uuid } from './support';

/**
 * openedx/license-manager's API tests, replayed over HTTP against the license-manager service.
 * Plans and licenses are made through the provisioning endpoints and the license actions, not
 * factories; upstream's Celery tasks (emails, enrollment revocation) are read from the service's
 * email outbox. A superuser is a token with the edx `administrator` claim.
 */

const VIEWS = 'license_manager/apps/api/v1/tests/test_views.py';
const ACTIVATION = 'license_manager/apps/api/v1/tests/test_license_activation_view.py';
const RENEWALS = 'license_manager/apps/api/v1/tests/test_subscription_plan_renewal_views.py';

let stack: TestStack;
let operator: string;
let superuser: string;
let tokens: ReturnType<typeof roleTokens>;
const lm = serviceClient(
  () => `${stack.urls['license-manager']}/api/v1/`,
  () => operator,
);
const as = <T = Json>(token: string | null, method: string, path: string, body?: unknown) =>
  lm.callAs<T>(token, method, path, body);
const tables = () => stack.db.database.forSchema<LicenseManagerDB>('license_manager');

beforeAll(async () => {
  stack = await startTestStack({ worker: false });
  operator = await stack.operatorToken();
  superuser = await stack.token({ roles: [], administrator: true });
  tokens = roleTokens(stack);
});
afterAll(async () => {
  await stack?.close();
});

interface Customer {
  uuid: string;
  agreement: string;
  admin: string;
}

async function newCustomer(overrides: Json = {}): Promise<Customer> {
  const customer = uuid();
  const res = await as<{ uuid: string }>(operator, 'POST', 'provisioning-admins/customer-agreement/', {
    enterprise_customer_uuid: customer,
    enterprise_customer_slug: `acme-${hex()}`,
    enterprise_customer_name: 'Acme',
    default_enterprise_catalog_uuid: uuid(),
    ...overrides,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { uuid: customer, agreement: res.body.uuid, admin: await tokens.admin([customer], 1) };
}

const planPayload = (c: Customer, overrides: Json = {}): Json => ({
  title: `Plan ${hex()}`,
  start_date: daysFromNow(-1),
  expiration_date: daysFromNow(365),
  customer_agreement: c.agreement,
  enterprise_catalog_uuid: uuid(),
  desired_num_licenses: 5,
  product: 2,
  salesforce_opportunity_line_item: null,
  change_reason: 'new',
  is_active: true,
  ...overrides,
});

async function newPlan(c: Customer, overrides: Json = {}): Promise<string> {
  const res = await as<{ uuid: string }>(
    operator,
    'POST',
    'provisioning-admins/subscriptions/',
    planPayload(c, overrides),
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.uuid;
}

const licenses = (plan: string) => `subscriptions/${plan}/licenses/`;

async function assign(c: Customer, plan: string, emails: string[]) {
  const res = await as(c.admin, 'POST', `${licenses(plan)}assign/`, { user_emails: emails, notify_users: false });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** Assigns and activates `email`'s license (as the learner). */
async function activate(c: Customer, plan: string, email: string) {
  await assign(c, plan, [email]);
  const row = await tables()
    .selectFrom('licenses')
    .select('activation_key')
    .where('subscription_plan', '=', plan)
    .where('user_email', '=', email)
    .where('status', '=', 'assigned')
    .executeTakeFirstOrThrow();
  const learner = await tokens.learner([c.uuid], 5000 + Math.floor(Math.random() * 1e6), email);
  const res = await as(learner, 'POST', `license-activation/?activation_key=${row.activation_key}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

const statusOf = async (plan: string) =>
  Object.fromEntries(
    (
      await tables()
        .selectFrom('licenses')
        .select(['user_email', 'status'])
        .where('subscription_plan', '=', plan)
        .where('user_email', 'is not', null)
        .execute()
    ).map((r) => [`${r.user_email}|${r.status}`, true]),
  );

const outbox = async (plan: string, kind: string) =>
  (
    await as<Page<{ recipient: string }>>(operator, 'GET', `email-outbox/?subscription_plan=${plan}&kind=${kind}`)
  ).body.results
    .map((e) => e.recipient)
    .sort();

// ---------------------------------------------------------------------------------------------

describe(`${VIEWS}: customer agreements`, () => {
  it('test_customer_agreement_unauthenticated_user_401', async () => {
    expect((await as(null, 'GET', `customer-agreement/${uuid()}/`)).status).toBe(401);
  });

  it('test_customer_agreement_create_unauthenticated_user_401', async () => {
    const res = await as(null, 'POST', 'provisioning-admins/customer-agreement/', { enterprise_customer_uuid: uuid() });
    expect(res.status).toBe(401);
  });

  it('test_customer_agreement_partial_update_unauthenticated_user_401', async () => {
    expect((await as(null, 'PATCH', `provisioning-admins/customer-agreement/${uuid()}/`, {})).status).toBe(401);
  });

  it('test_customer_agreement_create_staff_user_403', async () => {
    const staff = await tokens.roles([]);
    const res = await as(staff, 'POST', 'provisioning-admins/customer-agreement/', {
      enterprise_customer_uuid: uuid(),
    });
    expect(res.status).toBe(403);
  });

  it('test_customer_agreement_non_staff_user_403', async () => {
    expect((await as(await tokens.roles([]), 'GET', `customer-agreement/${uuid()}/`)).status).toBe(403);
  });

  it('test_customer_agreement_create_non_staff_user_201 (provisioning admin)', async () => {
    const provisioning = await tokens.roles(['enterprise_provisioning_admin:*']);
    const customer = uuid();
    const res = await as<Json>(provisioning, 'POST', 'provisioning-admins/customer-agreement/', {
      enterprise_customer_uuid: customer,
      enterprise_customer_slug: `slug-${hex()}`,
    });
    expect(res.status).toBe(201);
    expect(res.body.enterprise_customer_uuid).toBe(customer);
  });

  it('test_customer_agreement_partial_update_provisioning_admin_non_staff_user_200', async () => {
    const c = await newCustomer();
    const provisioning = await tokens.roles(['enterprise_provisioning_admin:*']);
    const res = await as<Json>(provisioning, 'PATCH', `provisioning-admins/customer-agreement/${c.agreement}/`, {
      disable_expiration_notifications: true,
    });
    expect(res.status).toBe(200);
    expect(res.body.disable_expiration_notifications).toBe(true);
  });

  it.each(['enterprise_admin', 'enterprise_learner'])(
    'test_customer_agreement_list_non_staff_user_200_empty[%s of another customer]',
    async (role) => {
      const c = await newCustomer();
      const stranger = await tokens.roles([`${role}:${uuid()}`]);
      const res = await as<Page<Json>>(stranger, 'GET', `customer-agreement/?enterprise_customer_uuid=${c.uuid}`);
      expect(res.status).toBe(200);
      expect(res.body.count).toBe(0);
      expect(res.body.results).toEqual([]);
    },
  );

  it.each(['enterprise_admin', 'enterprise_learner'])(
    'test_customer_agreement_list_non_staff_user_200[%s of the customer]',
    async (role) => {
      const c = await newCustomer();
      const res = await as<Page<Json>>(
        await tokens.roles([`${role}:${c.uuid}`]),
        'GET',
        `customer-agreement/?enterprise_customer_uuid=${c.uuid}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.results.map((a) => a.uuid)).toEqual([c.agreement]);
    },
  );
});

describe(`${VIEWS}: subscription plans`, () => {
  it('test_subscription_plan_list_unauthenticated_user_401', async () => {
    expect((await as(null, 'GET', 'subscriptions/')).status).toBe(401);
  });

  it('test_subscription_plan_list_staff_user_400_with_current_param_and_without_enterprise_param', async () => {
    const c = await newCustomer();
    await newPlan(c);
    expect((await as(c.admin, 'GET', 'subscriptions/?current=true')).status).toBe(400);
  });

  it('test_subscription_plan_create_non_staff_user_customer_agreement_400', async () => {
    const c = await newCustomer();
    const provisioning = await tokens.roles(['enterprise_provisioning_admin:*']);
    const res = await as(provisioning, 'POST', 'provisioning-admins/subscriptions/', {
      ...planPayload(c),
      customer_agreement: uuid(),
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: "An error occurred: Provided customer_agreement doesn't exist." });
  });

  it('test_subscription_plan_create_non_staff_user_product_400', async () => {
    const c = await newCustomer();
    const res = await as(operator, 'POST', 'provisioning-admins/subscriptions/', { ...planPayload(c), product: 999 });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { product: ['Invalid pk "999" - object does not exist.'] } });
  });

  it('test_subscription_plan_create_non_staff_user_salesforce_lineitem_400', async () => {
    const c = await newCustomer();
    const res = await as(operator, 'POST', 'provisioning-admins/subscriptions/', {
      ...planPayload(c),
      salesforce_opportunity_line_item: 'foo',
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: "An error occurred: Invalid Salesforce ID format. It must start with '00k'." });
  });

  it('test_subscription_plan_get_non_staff_user_failure', async () => {
    expect((await as(operator, 'GET', `provisioning-admins/subscriptions/${uuid()}/`)).status).toBe(404);
  });
});

describe(`${VIEWS}::LicenseViewSetActionTests (assign)`, () => {
  it('test_assign_no_emails', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    expect((await as(c.admin, 'POST', `${licenses(plan)}assign/`)).status).toBe(400);
    expect(await outbox(plan, 'license_assignment')).toEqual([]);
  });

  it.each([true, false])('test_assign_non_admin_user[staff=%s]', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const other = await tokens.admin([uuid()]);
    expect((await as(other, 'POST', `${licenses(plan)}assign/`)).status).toBe(403);
  });

  it('test_assign_empty_emails', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    expect((await as(c.admin, 'POST', `${licenses(plan)}assign/`, { user_emails: [] })).status).toBe(400);
  });

  it('test_assign_invalid_emails', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    expect((await as(c.admin, 'POST', `${licenses(plan)}assign/`, { user_emails: ['lkajsdf'] })).status).toBe(400);
  });

  it('test_assign_insufficient_licenses', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { desired_num_licenses: 3 });
    await assign(c, plan, ['a@example.com', 'b@example.com', 'c@example.com']);
    const res = await as(c.admin, 'POST', `${licenses(plan)}assign/`, { user_emails: ['test@example.com'] });
    expect(res.status).toBe(400);
  });

  it('test_assign_already_associated_email', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await assign(c, plan, ['test@example.com']);
    const res = await as<Json>(c.admin, 'POST', `${licenses(plan)}assign/`, {
      greeting: 'Hello',
      closing: 'Goodbye',
      user_emails: ['test@example.com', 'unassigned@example.com'],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ num_successful_assignments: 1, num_already_associated: 1 });
    expect(await outbox(plan, 'license_assignment')).toEqual(['unassigned@example.com']);
  });

  it('test_assign_dedupe_casing_input', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const res = await as(c.admin, 'POST', `${licenses(plan)}assign/`, {
      user_emails: ['test@example.com', 'TEST@EXAMPLE.COM'],
    });
    expect(res.status).toBe(200);
    expect(await statusOf(plan)).toEqual({ 'test@example.com|assigned': true });
    expect(await outbox(plan, 'license_assignment')).toEqual(['test@example.com']);
  });

  it('test_assign_with_less_salesforce_ids', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const res = await as(c.admin, 'POST', `${licenses(plan)}assign/`, {
      user_emails: ['bb8@mit.edu', 'aaa@mit.edu'],
      user_sfids: ['0010abc34MS67a8907'],
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      non_field_errors: ['Number of Salesforce IDs did not match number of provided user emails.'],
    });
  });

  it('test_assign_with_empty_salesforce_ids', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const res = await as(c.admin, 'POST', `${licenses(plan)}assign/`, { user_emails: ['bb8@mit.edu'], user_sfids: [] });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ user_sfids: ['No Salesforce Ids provided.'] });
  });
});

describe(`${VIEWS}::LicenseViewSetActionTests (remind)`, () => {
  it('test_remind_no_emails', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    expect((await as(c.admin, 'POST', `${licenses(plan)}remind/`)).status).toBe(400);
  });

  it('test_remind_invalid_emails', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    expect((await as(c.admin, 'POST', `${licenses(plan)}remind/`, { user_emails: ['lkajsf'] })).status).toBe(400);
  });

  it('test_remind_blank_email', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    expect((await as(c.admin, 'POST', `${licenses(plan)}remind/`, { user_emails: [''] })).status).toBe(400);
  });

  it('test_remind_no_valid_subscription_plan', async () => {
    const c = await newCustomer();
    const res = await as(c.admin, 'POST', `${licenses(uuid())}remind/`, { user_emails: ['edx@example.com'] });
    expect(res.status).toBe(403);
  });

  it('test_remind_no_valid_subscription_plan_superuser', async () => {
    const res = await as(superuser, 'POST', `${licenses(uuid())}remind/`, { user_emails: ['edx@example.com'] });
    expect(res.status).toBe(404);
  });

  it('test_remind_no_license_for_user', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    const res = await as(c.admin, 'POST', `${licenses(plan)}remind/`, { user_emails: ['nolicense@example.com'] });
    expect(res.status).toBe(404);
    expect(await outbox(plan, 'license_reminder')).toEqual([]);
  });

  it('test_remind_no_pending_license_for_user', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await activate(c, plan, 'test@example.com');
    const res = await as(c.admin, 'POST', `${licenses(plan)}remind/`, { user_emails: ['test@example.com'] });
    expect(res.status).toBe(404);
  });

  it.each([true, false])('test_remind[use_superuser=%s]', async (useSuperuser) => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await assign(c, plan, ['test@example.com', 'other@example.com']);
    const res = await as(useSuperuser ? superuser : c.admin, 'POST', `${licenses(plan)}remind/`, {
      user_emails: ['test@example.com', 'other@example.com'],
      greeting: 'Hello',
      closing: 'Goodbye',
    });
    expect(res.status).toBe(204);
    expect(await outbox(plan, 'license_reminder')).toEqual(['other@example.com', 'test@example.com']);
  });

  it.each<[string, Json[], string[]]>([
    ['user_email=al', [{ name: 'user_email', filter_value: 'al' }], ['alice@example.com']],
    ['status_in=[activated]', [{ name: 'status_in', filter_value: ['activated'] }], []],
    [
      'status_in=[assigned, activated]',
      [{ name: 'status_in', filter_value: ['assigned', 'activated'] }],
      ['alice@example.com', 'bob@example.com'],
    ],
    [
      'user_email=al and status_in=[activated]',
      [
        { name: 'user_email', filter_value: 'al' },
        { name: 'status_in', filter_value: ['activated'] },
      ],
      [],
    ],
    [
      'user_email=al and status_in=[assigned]',
      [
        { name: 'user_email', filter_value: 'al' },
        { name: 'status_in', filter_value: ['assigned'] },
      ],
      ['alice@example.com'],
    ],
  ])('test_remind_with_filters[%s]', async (_name, filters, expected) => {
    const c = await newCustomer();
    const plan = await newPlan(c, { desired_num_licenses: 6 });
    await assign(c, plan, ['alice@example.com', 'bob@example.com']);
    await activate(c, plan, 'sam@example.com');
    await activate(c, plan, 'eve@example.com');
    expect(
      (await as(c.admin, 'POST', `${licenses(plan)}bulk-revoke/`, { user_emails: ['eve@example.com'] })).status,
    ).toBe(200);
    const res = await as(c.admin, 'POST', `${licenses(plan)}remind/`, { filters });
    expect(res.status).toBe(204);
    expect(await outbox(plan, 'license_reminder')).toEqual(expected);
  });

  it('test_remind_all_no_pending_licenses', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    expect((await as(c.admin, 'POST', `${licenses(plan)}remind-all/`)).status).toBe(404);
  });

  it('test_remind_all', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { desired_num_licenses: 8 });
    const pending = ['p1@example.com', 'p2@example.com', 'p3@example.com'];
    await assign(c, plan, pending);
    const res = await as(c.admin, 'POST', `${licenses(plan)}remind-all/`, { greeting: 'Hello', closing: 'Goodbye' });
    expect(res.status).toBe(204);
    expect(await outbox(plan, 'license_reminder')).toEqual(pending);
  });
});

describe(`${VIEWS}::LicenseViewSetRevokeActionTests`, () => {
  const revoke = (c: Customer, plan: string, body: Json) =>
    as<Json>(c.admin, 'POST', `${licenses(plan)}bulk-revoke/`, body);

  it('test_bulk_revoke_happy_path', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await activate(c, plan, 'alice@example.com');
    await activate(c, plan, 'bob@example.com');
    const res = await revoke(c, plan, { user_emails: ['alice@example.com', 'bob@example.com'] });
    expect(res.status).toBe(200);
    expect(await statusOf(plan)).toEqual({ 'alice@example.com|revoked': true, 'bob@example.com|revoked': true });
  });

  it.each<[string, Json[], string[]]>([
    ['user_email=al', [{ name: 'user_email', filter_value: 'al' }], ['alice@example.com']],
    ['status_in=[activated]', [{ name: 'status_in', filter_value: ['activated'] }], ['alice@example.com']],
    ['status_in=[revoked]', [{ name: 'status_in', filter_value: ['revoked'] }], []],
    [
      'status_in=[assigned, activated]',
      [{ name: 'status_in', filter_value: ['assigned', 'activated'] }],
      ['alice@example.com', 'bob@example.com'],
    ],
    [
      'user_email=al and status_in=[activated]',
      [
        { name: 'user_email', filter_value: 'al' },
        { name: 'status_in', filter_value: ['activated'] },
      ],
      ['alice@example.com'],
    ],
    [
      'user_email=al and status_in=[assigned]',
      [
        { name: 'user_email', filter_value: 'al' },
        { name: 'status_in', filter_value: ['assigned'] },
      ],
      [],
    ],
  ])('test_bulk_revoke_with_filters_happy_path[%s]', async (_name, filters, expected) => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await activate(c, plan, 'alice@example.com');
    await assign(c, plan, ['bob@example.com']);
    await activate(c, plan, 'sam@example.com');
    expect((await revoke(c, plan, { user_emails: ['sam@example.com'] })).status).toBe(200);
    const res = await revoke(c, plan, { filters });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const revoked = (
      await tables()
        .selectFrom('licenses')
        .select('user_email')
        .where('subscription_plan', '=', plan)
        .where('status', '=', 'revoked')
        .where('user_email', '<>', 'sam@example.com')
        .execute()
    ).map((r) => r.user_email);
    expect(revoked.sort()).toEqual(expected);
  });

  it('test_bulk_revoke_no_valid_subscription_plan', async () => {
    const c = await newCustomer();
    const res = await revoke(c, uuid(), { user_emails: ['alice@example.com', 'bob@example.com'] });
    expect(res.status).toBe(403);
  });

  it('test_bulk_revoke_no_valid_subscription_plan_superuser', async () => {
    const ghost = uuid();
    const res = await as(superuser, 'POST', `${licenses(ghost)}bulk-revoke/`, {
      user_emails: ['alice@example.com', 'bob@example.com'],
    });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      unsuccessful_revocations: [{ error: `No SubscriptionPlan identified by ${ghost} exists` }],
    });
  });

  it('test_bulk_revoke_not_enough_revocations_remaining', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { is_revocation_cap_enabled: true, revoke_max_percentage: 0 });
    await activate(c, plan, 'alice@example.com');
    const res = await revoke(c, plan, { user_emails: ['alice@example.com'] });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      unsuccessful_revocations: [{ error: 'Plan does not have enough revocations remaining.' }],
    });
    expect(await statusOf(plan)).toEqual({ 'alice@example.com|activated': true });
  });

  it('test_bulk_revoke_license_not_found', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await activate(c, plan, 'alice@example.com');
    const res = await revoke(c, plan, { user_emails: ['alice@example.com', 'bob@example.com'] });
    expect(res.status).toBe(207);
    const body = res.body as {
      successful_revocations: Array<{ user_email: string }>;
      unsuccessful_revocations: Array<{ user_email: string; error: string }>;
    };
    expect(body.successful_revocations).toHaveLength(1);
    expect(typeof body.successful_revocations[0]?.user_email).toBe('string');
    expect(body.unsuccessful_revocations).toHaveLength(1);
    expect(body.unsuccessful_revocations[0]?.error).toBe(
      `No license for email bob@example.com exists in plan ${plan} with a status in ['activated', 'assigned']. user_email: bob@example.com`,
    );
  });

  it('test_revoke_all_no_valid_subscription_plan_superuser', async () => {
    const ghost = uuid();
    const res = await as(superuser, 'POST', `${licenses(ghost)}revoke-all/`, {});
    expect(res.status).toBe(404);
    expect(res.body).toBe(`No SubscriptionPlan identified by ${ghost} exists`);
  });

  it('test_revoke_all_revocation_cap_enabled', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { is_revocation_cap_enabled: true });
    const res = await as(superuser, 'POST', `${licenses(plan)}revoke-all/`, {});
    expect(res.status).toBe(422);
    expect(res.body).toBe('Cannot revoke all licenses when revocation cap is enabled for the subscription plan');
  });

  it('test_revoke_all_happy_path', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await activate(c, plan, 'alice@example.com');
    await assign(c, plan, ['bob@example.com']);
    expect((await as(superuser, 'POST', `${licenses(plan)}revoke-all/`, {})).status).toBe(204);
    expect(await statusOf(plan)).toEqual({ 'alice@example.com|revoked': true, 'bob@example.com|revoked': true });
  });

  it('test_assign_after_license_revoke_end_to_end', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { desired_num_licenses: 1 });
    await activate(c, plan, 'alice@example.com');
    expect((await revoke(c, plan, { user_emails: ['alice@example.com'] })).status).toBe(200);
    // The revoked seat is replaced by a fresh unassigned license, so the email can be seated again.
    const res = await as<Json>(c.admin, 'POST', `${licenses(plan)}assign/`, { user_emails: ['alice@example.com'] });
    expect(res.status).toBe(200);
    expect(await statusOf(plan)).toEqual({ 'alice@example.com|revoked': true, 'alice@example.com|assigned': true });
  });

  it('test_revoke_total_and_allocated_count_end_to_end', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c, { desired_num_licenses: 5 });
    await assign(c, plan, ['a1@example.com', 'a2@example.com', 'a3@example.com']);
    await activate(c, plan, 'act@example.com');
    const before = await as<Json>(c.admin, 'GET', `subscriptions/${plan}/`);
    expect(before.body.licenses).toMatchObject({ total: 5, allocated: 4 });
    expect((await revoke(c, plan, { user_emails: ['act@example.com'] })).status).toBe(200);
    const after = await as<Json>(c.admin, 'GET', `subscriptions/${plan}/`);
    expect(after.body.licenses).toMatchObject({ total: 5, allocated: 3, revoked: 1, unassigned: 2 });
  });
});

describe(`${VIEWS}::LearnerLicensesViewsetTests`, () => {
  it('test_endpoint_permissions_missing_role', async () => {
    const c = await newCustomer();
    const res = await as(
      await tokens.roles([], 7, 'x@example.com'),
      'GET',
      `learner-licenses/?enterprise_customer_uuid=${c.uuid}`,
    );
    expect(res.status).toBe(403);
  });

  it('test_endpoint_permissions_missing_role (without enterprise_customer_uuid too: 403 before the 400)', async () => {
    expect((await as(await tokens.roles([], 7, 'x@example.com'), 'GET', 'learner-licenses/')).status).toBe(403);
  });

  it.each(['enterprise_learner', 'enterprise_admin'])(
    'test_endpoint_permissions_with_customer_uuid[%s, customer without licenses → 200, no results]',
    async (role) => {
      const customer = uuid();
      const res = await as<Page<Json>>(
        await tokens.roles([`${role}:${customer}`], 7, 'x@example.com'),
        'GET',
        `learner-licenses/?enterprise_customer_uuid=${customer}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.results).toEqual([]);
    },
  );

  it('learner-licenses permission (edx-rbac context): a learner of another customer → 403', async () => {
    const c = await newCustomer();
    const learner = await tokens.learner([uuid()], 7, 'x@example.com');
    expect((await as(learner, 'GET', `learner-licenses/?enterprise_customer_uuid=${c.uuid}`)).status).toBe(403);
  });

  it.each(['enterprise_learner', 'enterprise_admin'])(
    'test_endpoint_request_missing_customer_uuid[%s]',
    async (role) => {
      const c = await newCustomer();
      const res = await as(await tokens.roles([`${role}:${c.uuid}`], 7, 'x@example.com'), 'GET', 'learner-licenses/');
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('missing enterprise_customer_uuid query param');
    },
  );

  it('test_endpoint_results_contains_customer_agreement', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await assign(c, plan, ['learner@example.com']);
    const learner = await tokens.learner([c.uuid], 77, 'learner@example.com');
    const res = await as<Page<Json & { customer_agreement: Json }>>(
      learner,
      'GET',
      `learner-licenses/?enterprise_customer_uuid=${c.uuid}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1);
    expect(res.body.results[0]?.customer_agreement).toMatchObject({ uuid: c.agreement });
  });

  it('test_endpoint_respects_include_revoked', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await assign(c, plan, ['learner@example.com']);
    expect(
      (await as(c.admin, 'POST', `${licenses(plan)}bulk-revoke/`, { user_emails: ['learner@example.com'] })).status,
    ).toBe(200);
    const learner = await tokens.learner([c.uuid], 78, 'learner@example.com');
    const base = `learner-licenses/?enterprise_customer_uuid=${c.uuid}`;
    expect((await as<Page<Json>>(learner, 'GET', base)).body.count).toBe(0);
    const withRevoked = await as<Page<Json>>(learner, 'GET', `${base}&include_revoked=true`);
    expect(withRevoked.body.results.map((l) => l.status)).toEqual(['revoked']);
  });
});

describe(`${ACTIVATION}::LicenseActivationViewTests`, () => {
  it('test_activation_no_auth', async () => {
    expect((await as(null, 'POST', `license-activation/?activation_key=${uuid()}`)).status).toBe(401);
  });

  it('test_activation_no_jwt_roles', async () => {
    const res = await as(
      await tokens.roles([], 1, 'a@example.com'),
      'POST',
      `license-activation/?activation_key=${uuid()}`,
    );
    expect(res.status).toBe(403);
  });

  it('test_activation_key_is_malformed', async () => {
    const c = await newCustomer();
    const learner = await tokens.learner([c.uuid], 1, 'a@example.com');
    const res = await as(learner, 'POST', 'license-activation/?activation_key=deadbeef');
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('deadbeef is not a valid activation key');
  });

  it('test_activation_key_does_not_exist', async () => {
    const c = await newCustomer();
    const learner = await tokens.learner([c.uuid], 1, 'a@example.com');
    expect((await as(learner, 'POST', `license-activation/?activation_key=${uuid()}`)).status).toBe(404);
  });

  it('test_activate_an_assigned_license, then test_license_already_activated_returns_200', async () => {
    const c = await newCustomer();
    const plan = await newPlan(c);
    await assign(c, plan, ['ada@example.com']);
    const { activation_key: key } = await tables()
      .selectFrom('licenses')
      .select('activation_key')
      .where('user_email', '=', 'ada@example.com')
      .where('subscription_plan', '=', plan)
      .executeTakeFirstOrThrow();
    const learner = await tokens.learner([c.uuid], 4242, 'ada@example.com');
    const first = await as<Json & { subscription_plan: Json }>(
      learner,
      'POST',
      `license-activation/?activation_key=${key}`,
    );
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'activated', subscription_plan: { uuid: plan } });
    const again = await as<Json>(learner, 'POST', `license-activation/?activation_key=${key}`);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      uuid: first.body.uuid,
      status: 'activated',
      activation_date: first.body.activation_date,
    });
    const row = await tables()
      .selectFrom('licenses')
      .select(['lms_user_id', 'status'])
      .where('uuid', '=', first.body.uuid as string)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ lms_user_id: 4242, status: 'activated' });
  });
});

describe(`${RENEWALS}::SubscriptionPlanRenewalViewSetTests`, () => {
  const PATH = 'provisioning-admins/subscription-plan-renewals/';
  let provisioning: string;
  beforeAll(async () => {
    provisioning = await tokens.roles(['enterprise_provisioning_admin:*']);
  });
  const payload = (prior: string, renewed?: string): Json => ({
    prior_subscription_plan: prior,
    salesforce_opportunity_id: '0061234567890ABCDE',
    number_of_licenses: 100,
    effective_date: daysFromNow(30),
    renewed_expiration_date: daysFromNow(395),
    license_types_to_copy: 'assigned_and_activated',
    ...(renewed ? { renewed_subscription_plan: renewed } : {}),
  });

  it('test_create_renewal_success', async () => {
    const c = await newCustomer();
    const prior = await newPlan(c);
    const res = await as<Json>(provisioning, 'POST', PATH, payload(prior));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(
      [
        'id',
        'created',
        'modified',
        'prior_subscription_plan',
        'prior_subscription_plan_title',
        'renewed_subscription_plan',
        'renewed_subscription_plan_title',
        'salesforce_opportunity_id',
        'number_of_licenses',
        'effective_date',
        'renewed_expiration_date',
        'processed',
        'processed_datetime',
        'renewed_plan_title',
        'license_types_to_copy',
        'disable_auto_apply_licenses',
        'exempt_from_batch_processing',
        'enterprise_customer_uuid',
      ].sort(),
    );
  });

  it('test_create_renewal_exact_match_returns_200', async () => {
    const c = await newCustomer();
    const [prior, renewed] = [await newPlan(c), await newPlan(c)];
    const first = await as<Json>(provisioning, 'POST', PATH, payload(prior, renewed));
    const again = await as<Json>(provisioning, 'POST', PATH, payload(prior, renewed));
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body.id).toBe(first.body.id);
  });

  it.each([
    ['only the prior plan matches (x1)', 'prior+renewed', 'prior'],
    ['only the prior plan matches (x3)', 'prior+unrelated', 'prior+renewed'],
    ['only the renewed plan matches', 'unrelated+renewed', 'prior+renewed'],
  ])('test_create_renewal_conflict_returns_422[%s]', async (_name, existing, requested) => {
    const c = await newCustomer();
    const plans: Record<string, string> = {
      prior: await newPlan(c),
      renewed: await newPlan(c),
      unrelated: await newPlan(c),
    };
    const pair = (spec: string) => spec.split('+').map((k) => plans[k] as string) as [string, string | undefined];
    const made = await as<Json>(provisioning, 'POST', PATH, payload(...pair(existing)));
    expect(made.status).toBe(201);
    const res = await as<Json>(provisioning, 'POST', PATH, {
      ...payload(...pair(requested)),
      salesforce_opportunity_id: null,
    });
    expect(res.status).toBe(422);
    expect(res.body.id).toBe(made.body.id);
  });

  it('test_create_renewal_without_permission_returns_403', async () => {
    const c = await newCustomer();
    const prior = await newPlan(c);
    expect((await as(await tokens.admin([c.uuid]), 'POST', PATH, payload(prior))).status).toBe(403);
  });

  it('test_create_renewal_different_customer_agreements_fails', async () => {
    const [c, other] = [await newCustomer(), await newCustomer()];
    const res = await as(provisioning, 'POST', PATH, payload(await newPlan(c), await newPlan(other)));
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body).toLowerCase()).toContain('same customer agreement');
  });

  it('test_create_renewal_effective_date_before_prior_start_fails', async () => {
    const c = await newCustomer();
    const future = await newPlan(c, { start_date: daysFromNow(100), expiration_date: daysFromNow(400) });
    const res = await as(provisioning, 'POST', PATH, { ...payload(future), effective_date: daysFromNow(50) });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body).toLowerCase()).toContain('effective date');
  });

  it('test_create_renewal_expiration_before_effective_fails', async () => {
    const c = await newCustomer();
    const res = await as(provisioning, 'POST', PATH, {
      ...payload(await newPlan(c)),
      effective_date: daysFromNow(30),
      renewed_expiration_date: daysFromNow(29),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body).toLowerCase()).toContain('expiration date');
  });

  it('test_create_renewal_with_null_salesforce_opportunity_id', async () => {
    const c = await newCustomer();
    const [prior, renewed] = [await newPlan(c), await newPlan(c)];
    const res = await as<Json>(provisioning, 'POST', PATH, {
      ...payload(prior, renewed),
      salesforce_opportunity_id: null,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      salesforce_opportunity_id: null,
      prior_subscription_plan: prior,
      renewed_subscription_plan: renewed,
    });
  });

  it('test_retrieve_renewal_not_found_returns_404', async () => {
    expect((await as(provisioning, 'GET', `${PATH}999999/`)).status).toBe(404);
  });
});

describe('edx-rbac contexts: an operator scoped to a customer (license_manager/apps/subscriptions/rules.py)', () => {
  it("administers that customer's plans only; provisioning (no one customer) needs the role for *", async () => {
    const [c, other] = [await newCustomer(), await newCustomer()];
    const [plan, otherPlan] = [await newPlan(c), await newPlan(other)];
    const scoped = await tokens.operator([c.uuid]);
    expect((await as(scoped, 'GET', `${licenses(plan)}`)).status).toBe(200);
    expect((await as(scoped, 'GET', `${licenses(otherPlan)}`)).status).toBe(403);
    expect((await as(scoped, 'POST', `${licenses(otherPlan)}assign/`, {})).status).toBe(403);
    expect((await as(scoped, 'POST', 'provisioning-admins/customer-agreement/', {})).status).toBe(403);
  });
});
