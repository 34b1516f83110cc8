import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LmsDB } from '../../src/services/lms/schema';
import { type Page, serviceClient } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';

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
const NOT_ADMIN = 'A user with this email and enterprise customer already has admin permission.';
const NOT_PENDING = 'A pending user with this email and enterprise customer already exists.';
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Customer {
  uuid: string;
  slug: string;
  enterprise_customer_catalogs: string[];
  admin_users: Array<{ email: string; lms_user_id: number }>;
}
interface Learner {
  id: number;
  enterprise_customer: string;
  user_id: number;
  user: { email: string };
  role_assignments: string[];
}
interface Catalog {
  uuid: string;
  enterprise_catalog_query: number | null;
}

const { call, get, post } = serviceClient(
  () => stack.urls.lms,
  () => token,
);

const db = () => stack.db.database.forSchema<LmsDB>('lms');
const slug = () => `c-${randomBytes(5).toString('hex')}`;
const email = (who = 'user') => `${who}-${randomBytes(4).toString('hex')}@example.com`;

async function newCustomer(extra: Record<string, unknown> = {}): Promise<Customer> {
  const res = await post<Customer>(`${API}/enterprise-customer/`, {
    name: 'Acme',
    slug: slug(),
    country: 'US',
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
async function newUser(address = email()): Promise<{ id: number; email: string }> {
  const res = await post<{ id: number; email: string }>('/api/user/v1/accounts', { email: address });
  expect(res.status).toBe(201);
  return res.body;
}
const countRows = async (
  table:
    | 'enterprise_customers'
    | 'enterprise_customer_users'
    | 'role_assignments'
    | 'pending_enterprise_admins'
    | 'enterprise_customer_catalogs',
  where: Record<string, string | number>,
) => {
  let q = db()
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'));
  for (const [k, v] of Object.entries(where)) q = q.where(k as never, '=', v as never);
  return Number((await q.executeTakeFirstOrThrow()).n);
};

describe('lms provisioning endpoints: auth', () => {
  const routes: Array<[string, string]> = [
    ['GET', `${API}/enterprise-customer/`],
    ['GET', `${API}/enterprise-customer/00000000-0000-4000-8000-000000000000/`],
    ['POST', `${API}/enterprise-customer/`],
    ['GET', `${API}/enterprise-learner/`],
    ['POST', `${API}/enterprise-customer-admin/create_admin_by_email/`],
    ['GET', `${API}/pending-enterprise-admin/`],
    ['POST', `${API}/pending-enterprise-admin/`],
    ['GET', `${API}/enterprise_catalogs/`],
    ['POST', `${API}/enterprise_customer_catalog/`],
  ];

  it('401 without a token on every route', async () => {
    for (const [method, path] of routes) {
      const res = await call(method, path, method === 'POST' ? {} : undefined, null);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body).toEqual({ detail: 'Authentication credentials were not provided.' });
    }
  });

  it('403 for a role other than provisioning admin or operator, before the body is validated', async () => {
    const learner = await stack.token({ roles: ['enterprise_learner:*', 'enterprise_admin:*'] });
    for (const [method, path] of routes) {
      const res = await call(method, path, method === 'POST' ? {} : undefined, learner);
      expect(res.status, `${method} ${path}`).toBe(403);
      const message =
        path.includes('pending-enterprise-admin') && method === 'POST'
          ? 'MISSING: provisioning.has_pending_enterprise_customer_admin_access'
          : 'You do not have permission to perform this action.';
      expect(res.body).toEqual({ detail: message });
    }
  });

  it('accepts the provisioning admin role as well as the operator role', async () => {
    const provisioner = await stack.token({ roles: ['enterprise_provisioning_admin:*'] });
    const res = await call('GET', `${API}/enterprise-customer/`, undefined, provisioner);
    expect(res.status).toBe(200);
  });
});

describe('enterprise-customer', () => {
  it('POST creates a customer (201, full representation); GET by uuid, slug and uuid filter find it', async () => {
    const s = slug();
    const res = await post(`${API}/enterprise-customer/`, {
      name: '  Acme Corp ',
      slug: s,
      country: 'us',
      enable_portal_subscription_management_screen: true,
      enable_analytics_screen: false,
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      uuid: expect.stringMatching(UUID),
      name: 'Acme Corp',
      slug: s,
      active: true,
      country: 'US',
      site: { domain: 'example.com', name: 'example.com' },
      enable_portal_subscription_management_screen: true,
      enable_analytics_screen: false,
      enterprise_customer_catalogs: [],
      admin_users: [],
      created: expect.stringMatching(ISO_TIME),
      modified: expect.stringMatching(ISO_TIME),
    });
    const uuid = res.body.uuid as string;

    const one = await get(`${API}/enterprise-customer/${uuid}/`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(res.body);
    // Trailing slash optional, as upstream.
    expect((await get(`${API}/enterprise-customer/${uuid}`)).body).toEqual(res.body);

    const bySlug = await get<Page<Customer>>(`${API}/enterprise-customer/?slug=${s}`);
    expect(bySlug.body).toEqual({ count: 1, next: null, previous: null, results: [res.body] });
    const byUuid = await get<Page<Customer>>(`${API}/enterprise-customer/?uuid=${uuid}`);
    expect(byUuid.body.results.map((c) => c.slug)).toEqual([s]);
    const none = await get<Page<Customer>>(`${API}/enterprise-customer/?slug=no-such-slug`);
    expect(none.body).toEqual({ count: 0, next: null, previous: null, results: [] });
  });

  it('uses the named site, and the upstream defaults for omitted flags', async () => {
    const c = await newCustomer({ site: { domain: 'localhost' } });
    expect(c).toMatchObject({
      site: { domain: 'localhost', name: 'localhost' },
      enable_portal_subscription_management_screen: false,
      enable_analytics_screen: true,
    });
  });

  it('400 field errors for missing, blank and malformed fields', async () => {
    const missing = await post(`${API}/enterprise-customer/`, {});
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      name: ['This field is required.'],
      slug: ['This field is required.'],
      country: ['This field is required.'],
    });

    const bad = await post(`${API}/enterprise-customer/`, { name: '   ', slug: 'has space', country: 'XX' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      name: ['This field may not be blank.'],
      slug: ['Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'],
      country: ['"XX" is not a valid choice.'],
    });

    const long = await post(`${API}/enterprise-customer/`, { name: 'A', slug: 'a'.repeat(31), country: 'USA' });
    expect(long.body).toEqual({
      slug: ['Ensure this field has no more than 30 characters.'],
      country: ['"USA" is not a valid choice.'],
    });
    expect(await countRows('enterprise_customers', { name: 'A' })).toBe(0);
  });

  it('400 for a duplicate slug and for an unknown site, in the upstream shapes', async () => {
    const c = await newCustomer();
    const dup = await post(`${API}/enterprise-customer/`, { name: 'Other', slug: c.slug, country: 'FR' });
    expect(dup.status).toBe(400);
    expect(dup.body).toEqual({ slug: ['enterprise customer with this slug already exists.'] });

    const site = await post(`${API}/enterprise-customer/`, {
      name: 'Other',
      slug: slug(),
      country: 'FR',
      site: { domain: 'nowhere.example' },
    });
    expect(site.status).toBe(400);
    expect(site.body).toEqual({ site: { domain: ['Site with this domain does not exist.'] } });

    const both = await post(`${API}/enterprise-customer/`, {
      name: 'Other',
      slug: c.slug,
      country: 'FR',
      site: { domain: 'nowhere.example' },
    });
    expect(both.body).toEqual({
      slug: ['enterprise customer with this slug already exists.'],
      site: { domain: ['Site with this domain does not exist.'] },
    });
  });

  it('404 for an unknown or malformed uuid; inactive customers are hidden from reads', async () => {
    const unknown = await get(`${API}/enterprise-customer/00000000-0000-4000-8000-000000000000/`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ detail: 'Not found.' });
    expect((await get(`${API}/enterprise-customer/not-a-uuid/`)).status).toBe(404);

    const badFilter = await get(`${API}/enterprise-customer/?uuid=not-a-uuid`);
    expect(badFilter.status).toBe(400);
    expect(badFilter.body).toEqual({ uuid: ['Enter a valid UUID.'] });

    const c = await newCustomer();
    await db().updateTable('enterprise_customers').set({ active: false }).where('uuid', '=', c.uuid).execute();
    expect((await get(`${API}/enterprise-customer/${c.uuid}/`)).status).toBe(404);
    expect((await get<Page<Customer>>(`${API}/enterprise-customer/?slug=${c.slug}`)).body.count).toBe(0);
  });

  it('10 concurrent creates of one slug: one 201, nine 400 duplicate-slug, one row', async () => {
    const s = slug();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => post(`${API}/enterprise-customer/`, { name: 'Race', slug: s, country: 'DE' })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
    for (const r of results.filter((x) => x.status === 400)) {
      expect(r.body).toEqual({ slug: ['enterprise customer with this slug already exists.'] });
    }
    expect(await countRows('enterprise_customers', { slug: s })).toBe(1);
  });
});

describe('enterprise-customer-admin/create_admin_by_email and enterprise-learner', () => {
  it('makes an existing user an admin (201), then answers 200; email matched case-insensitively', async () => {
    const c = await newCustomer();
    const u = await newUser(email('Admin'));
    const first = await post(`${API}/enterprise-customer-admin/create_admin_by_email/`, {
      enterprise_customer_uuid: c.uuid,
      email: u.email.toUpperCase(),
    });
    expect(first.status).toBe(201);
    const adminRecord = {
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      enterprise_customer_user: expect.any(Number),
      last_login: null,
      completed_tour_flows: [],
      onboarding_tour_dismissed: false,
      onboarding_tour_completed: false,
    };
    expect(first.body).toEqual(adminRecord);

    const again = await post(`${API}/enterprise-customer-admin/create_admin_by_email/`, {
      enterprise_customer_uuid: c.uuid,
      email: u.email,
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    const admins = await get<Page<Learner>>(
      `${API}/enterprise-learner/?enterprise_customer_uuid=${c.uuid}&role=enterprise_admin`,
    );
    expect(admins.body.count).toBe(1);
    expect(admins.body.results[0]).toEqual({
      id: expect.any(Number),
      enterprise_customer: c.uuid,
      user_id: u.id,
      active: true,
      created: expect.stringMatching(ISO_TIME),
      user: { id: u.id, username: u.email.toLowerCase(), email: u.email, date_joined: expect.stringMatching(ISO_TIME) },
      // The learner role comes with the link, as upstream's post_save signal gives it.
      role_assignments: ['enterprise_admin', 'enterprise_learner'],
      enterprise_group: [],
    });

    const customer = await get<Customer>(`${API}/enterprise-customer/${c.uuid}/`);
    expect(customer.body.admin_users).toEqual([{ email: u.email, lms_user_id: u.id }]);
  });

  it('400 for missing parameters, 404 naming the unknown user or customer', async () => {
    const missing = await post(`${API}/enterprise-customer-admin/create_admin_by_email/`, {});
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: 'email is required' });

    const c = await newCustomer();
    const nobody = email('nobody');
    const noUser = await post(`${API}/enterprise-customer-admin/create_admin_by_email/`, {
      enterprise_customer_uuid: c.uuid,
      email: nobody,
    });
    expect(noUser.status).toBe(404);
    expect(noUser.body).toEqual({ error: `User with email ${nobody} does not exist` });

    const u = await newUser();
    const ghost = '00000000-0000-4000-8000-000000000001';
    const noCustomer = await post(`${API}/enterprise-customer-admin/create_admin_by_email/`, {
      enterprise_customer_uuid: ghost,
      email: u.email,
    });
    expect(noCustomer.status).toBe(404);
    expect(noCustomer.body).toEqual({ error: `EnterpriseCustomer with uuid ${ghost} does not exist` });
    expect(await countRows('enterprise_customer_users', { user_id: u.id })).toBe(0);
  });

  it('consumes the pending admin row for that email and customer only', async () => {
    const [c1, c2] = [await newCustomer(), await newCustomer()];
    // An existing user who is not an admin yet may still be invited as a pending admin (as upstream).
    const u = await newUser(email('pending'));
    for (const c of [c1, c2]) {
      const res = await post(`${API}/pending-enterprise-admin/`, { enterprise_customer: c.uuid, user_email: u.email });
      expect(res.status).toBe(201);
    }
    const res = await post(`${API}/enterprise-customer-admin/create_admin_by_email/`, {
      enterprise_customer_uuid: c1.uuid,
      email: u.email,
    });
    expect(res.status).toBe(201);
    expect(await countRows('pending_enterprise_admins', { enterprise_customer: c1.uuid })).toBe(0);
    expect(await countRows('pending_enterprise_admins', { enterprise_customer: c2.uuid })).toBe(1);
  });

  it('10 concurrent calls for one user: one 201, nine 200, one link and one admin role', async () => {
    const c = await newCustomer();
    const u = await newUser();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        post(`${API}/enterprise-customer-admin/create_admin_by_email/`, {
          enterprise_customer_uuid: c.uuid,
          email: u.email,
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(await countRows('enterprise_customer_users', { enterprise_customer: c.uuid, user_id: u.id })).toBe(1);
    expect(
      await countRows('role_assignments', { enterprise_customer: c.uuid, user_id: u.id, role: 'enterprise_admin' }),
    ).toBe(1);
  });

  it('enterprise-learner lists every linked user by id, filters by customer and by role', async () => {
    const [c, other] = [await newCustomer(), await newCustomer()];
    const admin = await newUser();
    const learner = await newUser();
    // A plain learner link, made directly in the table (POST enterprise-learner/ does the same).
    await db()
      .insertInto('enterprise_customer_users')
      .values({ enterprise_customer: c.uuid, user_id: learner.id })
      .execute();
    await db()
      .insertInto('role_assignments')
      .values({ enterprise_customer: c.uuid, user_id: learner.id, role: 'enterprise_learner' })
      .execute();
    await post(`${API}/enterprise-customer-admin/create_admin_by_email/`, {
      enterprise_customer_uuid: c.uuid,
      email: admin.email,
    });
    await post(`${API}/enterprise-customer-admin/create_admin_by_email/`, {
      enterprise_customer_uuid: other.uuid,
      email: learner.email,
    });

    const all = await get<Page<Learner>>(`${API}/enterprise-learner/?enterprise_customer_uuid=${c.uuid}`);
    expect(all.body.count).toBe(2);
    expect(all.body.results.map((l) => [l.user_id, l.role_assignments])).toEqual([
      [learner.id, ['enterprise_learner']],
      [admin.id, ['enterprise_admin', 'enterprise_learner']],
    ]);
    expect(all.body.results[0]?.id).toBeLessThan(all.body.results[1]?.id as number);

    const admins = await get<Page<Learner>>(
      `${API}/enterprise-learner/?enterprise_customer_uuid=${c.uuid}&role=enterprise_admin`,
    );
    expect(admins.body.results.map((l) => l.user.email)).toEqual([admin.email]);

    const bad = await get(`${API}/enterprise-learner/?enterprise_customer_uuid=nope`);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ enterprise_customer_uuid: ['Enter a valid UUID.'] });
  });
});

describe('pending-enterprise-admin', () => {
  it('201 creates; 400 for a duplicate (any case), for an existing admin and for an unknown customer', async () => {
    const c = await newCustomer();
    const address = email('Invitee');
    const created = await post(`${API}/pending-enterprise-admin/`, {
      enterprise_customer: c.uuid,
      user_email: address,
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(Number), enterprise_customer: c.uuid, user_email: address });

    const dup = await post(`${API}/pending-enterprise-admin/`, {
      enterprise_customer: c.uuid,
      user_email: address.toUpperCase(),
    });
    expect(dup.status).toBe(400);
    expect(dup.body).toEqual({ user_email: [NOT_PENDING] });

    const u = await newUser();
    await post(`${API}/enterprise-customer-admin/create_admin_by_email/`, {
      enterprise_customer_uuid: c.uuid,
      email: u.email,
    });
    const admin = await post(`${API}/pending-enterprise-admin/`, { enterprise_customer: c.uuid, user_email: u.email });
    expect(admin.status).toBe(400);
    expect(admin.body).toEqual({ user_email: [NOT_ADMIN] });

    const ghost = '00000000-0000-4000-8000-000000000002';
    const unknown = await post(`${API}/pending-enterprise-admin/`, { enterprise_customer: ghost, user_email: address });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ enterprise_customer: [`Invalid pk "${ghost}" - object does not exist.`] });

    const invalid = await post(`${API}/pending-enterprise-admin/`, {
      enterprise_customer: 'x',
      user_email: 'not-an-email',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toEqual({
      enterprise_customer: ['Must be a valid UUID.'],
      user_email: ['Enter a valid email address.'],
    });

    const list = await get<Page<{ user_email: string }>>(
      `${API}/pending-enterprise-admin/?enterprise_customer=${c.uuid}`,
    );
    expect(list.body).toEqual({ count: 1, next: null, previous: null, results: [created.body] });
  });

  it('10 concurrent creates of one pending admin: one 201, nine 400 duplicate, one row', async () => {
    const c = await newCustomer();
    const address = email('race');
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        post(`${API}/pending-enterprise-admin/`, { enterprise_customer: c.uuid, user_email: address }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
    for (const r of results.filter((x) => x.status === 400)) expect(r.body).toEqual({ user_email: [NOT_PENDING] });
    expect(await countRows('pending_enterprise_admins', { enterprise_customer: c.uuid })).toBe(1);
  });
});

describe('registration hook', () => {
  it('a new account becomes admin of every customer that invited its email, and the invitations go', async () => {
    const [c1, c2, c3] = [await newCustomer(), await newCustomer(), await newCustomer()];
    const address = email('Newcomer');
    for (const c of [c1, c2]) {
      await post(`${API}/pending-enterprise-admin/`, { enterprise_customer: c.uuid, user_email: address });
    }
    await post(`${API}/pending-enterprise-admin/`, { enterprise_customer: c3.uuid, user_email: email('other') });

    const user = await newUser(address.toLowerCase());
    for (const c of [c1, c2]) {
      const admins = await get<Page<Learner>>(
        `${API}/enterprise-learner/?enterprise_customer_uuid=${c.uuid}&role=enterprise_admin`,
      );
      expect(admins.body.results.map((l) => l.user_id)).toEqual([user.id]);
      expect(
        (await get<Page<unknown>>(`${API}/pending-enterprise-admin/?enterprise_customer=${c.uuid}`)).body.count,
      ).toBe(0);
    }
    expect(
      (await get<Page<unknown>>(`${API}/pending-enterprise-admin/?enterprise_customer=${c3.uuid}`)).body.count,
    ).toBe(1);
    expect(await countRows('enterprise_customer_users', { user_id: user.id })).toBe(2);

    // A repeated registration (200, existing account) changes nothing.
    const again = await post('/api/user/v1/accounts', { email: address });
    expect(again.status).toBe(200);
    expect(await countRows('role_assignments', { user_id: user.id })).toBe(4);
  });
});

describe('enterprise_customer_catalog and enterprise_catalogs', () => {
  it('201 creates (query defaults to 1), 200 returns the existing one for the same query, filters work', async () => {
    const c = await newCustomer();
    const first = await post<Catalog>(`${API}/enterprise_customer_catalog/`, {
      title: 'Main',
      enterprise_customer: c.uuid,
    });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      uuid: expect.stringMatching(UUID),
      title: 'Main',
      enterprise_customer: c.uuid,
      enterprise_catalog_query: 1,
      created: expect.stringMatching(ISO_TIME),
      modified: expect.stringMatching(ISO_TIME),
    });

    for (const query of [1, '1', 0, null]) {
      const again = await post<Catalog>(`${API}/enterprise_customer_catalog/`, {
        title: 'Renamed',
        enterprise_customer: c.uuid,
        enterprise_catalog_query: query,
      });
      expect(again.status, String(query)).toBe(200);
      expect(again.body).toEqual(first.body);
    }

    const open = await post<Catalog>(`${API}/enterprise_customer_catalog/`, {
      title: 'Open',
      enterprise_customer: c.uuid,
      enterprise_catalog_query: 2,
    });
    expect(open.status).toBe(201);
    expect(open.body.uuid).not.toBe(first.body.uuid);

    const filtered = await get<Page<Catalog>>(
      `${API}/enterprise_catalogs/?enterprise_customer=${c.uuid}&enterprise_catalog_query=2`,
    );
    expect(filtered.body).toEqual({ count: 1, next: null, previous: null, results: [open.body] });
    const all = await get<Page<Catalog>>(`${API}/enterprise_catalogs/?enterprise_customer=${c.uuid}`);
    expect(all.body.results.map((x) => x.enterprise_catalog_query)).toEqual([1, 2]);
    expect((await get<Customer>(`${API}/enterprise-customer/${c.uuid}/`)).body.enterprise_customer_catalogs).toEqual([
      first.body.uuid,
      open.body.uuid,
    ]);
  });

  it('400 for missing fields and for an unknown customer or catalog query', async () => {
    const missing = await post(`${API}/enterprise_customer_catalog/`, {});
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      title: ['This field is required.'],
      enterprise_customer: ['This field is required.'],
    });

    const ghost = '00000000-0000-4000-8000-000000000003';
    const unknown = await post(`${API}/enterprise_customer_catalog/`, {
      title: 'T',
      enterprise_customer: ghost,
      enterprise_catalog_query: 99,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({
      enterprise_customer: [`Invalid pk "${ghost}" - object does not exist.`],
      enterprise_catalog_query: ['Invalid pk "99" - object does not exist.'],
    });

    const c = await newCustomer();
    const badType = await post(`${API}/enterprise_customer_catalog/`, {
      title: 'T',
      enterprise_customer: c.uuid,
      enterprise_catalog_query: 'two',
    });
    expect(badType.body).toEqual({ enterprise_catalog_query: ['Incorrect type. Expected pk value, received str.'] });
    const huge = await post(`${API}/enterprise_customer_catalog/`, {
      title: 'T',
      enterprise_customer: c.uuid,
      enterprise_catalog_query: 99_999_999_999,
    });
    expect(huge.body).toEqual({ enterprise_catalog_query: ['Invalid pk "99999999999" - object does not exist.'] });
    expect(await countRows('enterprise_customer_catalogs', { enterprise_customer: c.uuid })).toBe(0);
  });

  it('10 concurrent creates for one (customer, query): one row, all answer with its uuid, one 201', async () => {
    const c = await newCustomer();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        post<Catalog>(`${API}/enterprise_customer_catalog/`, {
          title: 'Race',
          enterprise_customer: c.uuid,
          enterprise_catalog_query: 2,
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.uuid)).size).toBe(1);
    expect(await countRows('enterprise_customer_catalogs', { enterprise_customer: c.uuid })).toBe(1);
  });
});

describe('pagination (DRF page envelope)', () => {
  it('pages of 100 with absolute next/previous links that work; 404 for an invalid page', async () => {
    const c = await newCustomer();
    const statuses = await Promise.all(
      Array.from({ length: 101 }, (_, i) =>
        post(`${API}/pending-enterprise-admin/`, { enterprise_customer: c.uuid, user_email: `p${i}@example.com` }).then(
          (r) => r.status,
        ),
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([201]));

    const first = await get<Page<{ id: number }>>(`${API}/pending-enterprise-admin/?enterprise_customer=${c.uuid}`);
    expect(first.body.count).toBe(101);
    expect(first.body.results).toHaveLength(100);
    expect(first.body.previous).toBeNull();
    expect(first.body.next).toBe(
      `${stack.urls.lms}${API}/pending-enterprise-admin/?enterprise_customer=${c.uuid}&page=2`,
    );

    const second = await get<Page<{ id: number }>>(first.body.next as string);
    expect(second.status).toBe(200);
    expect(second.body.count).toBe(101);
    expect(second.body.results).toHaveLength(1);
    expect(second.body.next).toBeNull();
    // DRF drops `page` from the link back to the first page.
    expect(second.body.previous).toBe(
      `${stack.urls.lms}${API}/pending-enterprise-admin/?enterprise_customer=${c.uuid}`,
    );
    const ids = [...first.body.results, ...second.body.results].map((r) => r.id);
    expect(new Set(ids).size).toBe(101);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    for (const page of ['3', '0', 'abc']) {
      const res = await get(`${API}/pending-enterprise-admin/?enterprise_customer=${c.uuid}&page=${page}`);
      expect(res.status, page).toBe(404);
      expect(res.body).toEqual({ detail: 'Invalid page.' });
    }
  });
});
