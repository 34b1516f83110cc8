import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LmsDB } from '../../src/services/lms/schema';
import { type Page, type Res, serviceClient } from '../helpers/http';
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
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GHOST = '00000000-0000-4000-8000-00000000dead';
const FORBIDDEN = { detail: 'You do not have permission to perform this action.' };

interface Learner {
  id: number;
  enterprise_customer: string;
  user_id: number;
  active: boolean;
  user: { id: number; email: string; username: string };
  role_assignments: string[];
  enterprise_group: string[];
}
interface Group {
  uuid: string;
  enterprise_customer: string;
  name: string;
  accepted_members_count: number;
}
interface Member {
  enterprise_group_membership_uuid: string;
  lms_user_id: number | null;
  enterprise_customer_user_id: number | null;
  member_details: { user_email: string; user_name: string | null };
  status: 'accepted' | 'pending';
}
interface Enrollment {
  uuid: string;
  enterprise_customer_uuid: string;
  lms_user_id: number;
  course_run_key: string;
  source: string;
  transaction_id: string | null;
  license_uuid: string | null;
  is_active: boolean;
  created: string;
  modified: string;
  unenrolled_at: string | null;
}
interface User {
  id: number;
  email: string;
  username: string;
}

const { call, get, post } = serviceClient(
  () => stack.urls.lms,
  () => token,
);

const db = () => stack.db.database.forSchema<LmsDB>('lms');
const email = (who = 'user') => `${who}-${randomBytes(4).toString('hex')}@example.com`;
const courseKey = () => `course-v1:edX+C${randomBytes(3).toString('hex')}+2025_T1`;

async function newCustomer(): Promise<{ uuid: string }> {
  const res = await post<{ uuid: string }>(`${API}/enterprise-customer/`, {
    name: 'Acme',
    slug: `c-${randomBytes(5).toString('hex')}`,
    country: 'US',
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
async function newUser(address = email()): Promise<User> {
  const res = await post<User>('/api/user/v1/accounts', { email: address });
  expect(res.status).toBe(201);
  return res.body;
}
async function link(customer: string, user: User): Promise<Learner> {
  const res = await post<Learner>(`${API}/enterprise-learner/`, { enterprise_customer: customer, user_id: user.id });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
async function newGroup(customer: string, name = `g-${randomBytes(3).toString('hex')}`, auth?: string) {
  const res = await post<Group>(`${API}/enterprise-group/`, { name, enterprise_customer: customer }, auth);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}
const assign = (group: string, emails: string[], auth?: string) =>
  post<{ records_processed: number; new_learners: number; existing_learners: number }>(
    `${API}/enterprise-group/${group}/assign_learners/`,
    { learner_emails: emails },
    auth,
  );
const members = async (group: string) => (await get<Page<Member>>(`${API}/enterprise-group/${group}/learners/`)).body;
const learnersOf = async (customer: string, extra = '') =>
  (await get<Page<Learner>>(`${API}/enterprise-learner/?enterprise_customer_uuid=${customer}${extra}`)).body;

const countOf = async (
  table: 'enterprise_customer_users' | 'role_assignments' | 'enterprise_group_memberships',
  where: Record<string, string | number>,
) => {
  let q = db()
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'));
  for (const [k, v] of Object.entries(where)) q = q.where(k as never, '=', v as never);
  return Number((await q.executeTakeFirstOrThrow()).n);
};
const enrollmentRows = (course: string) =>
  db().selectFrom('enterprise_course_enrollments').selectAll().where('course_id', '=', course).execute();

describe('auth', () => {
  const operatorRoutes: Array<[string, string]> = [
    ['POST', `${API}/enterprise-learner/`],
    ['POST', `${API}/enterprise-course-enrollment/`],
    ['GET', `${API}/enterprise-course-enrollment/`],
    ['POST', `${API}/enterprise-course-enrollment/${GHOST}/unenroll/`],
  ];
  const groupRoutes: Array<[string, string]> = [
    ['POST', `${API}/enterprise-group/`],
    ['GET', `${API}/enterprise-group/`],
    ['GET', `${API}/enterprise-group/${GHOST}/`],
    ['POST', `${API}/enterprise-group/${GHOST}/assign_learners/`],
    ['POST', `${API}/enterprise-group/${GHOST}/remove_learners/`],
    ['GET', `${API}/enterprise-group/${GHOST}/learners/`],
  ];

  it('401 without a token on every new route', async () => {
    for (const [method, path] of [...operatorRoutes, ...groupRoutes]) {
      const res = await call(method, path, method === 'POST' ? {} : undefined, null);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body).toEqual({ detail: 'Authentication credentials were not provided.' });
    }
  });

  it('403 for a learner everywhere, and for an admin on the operator routes, before the body is validated', async () => {
    const learner = await stack.token({ roles: ['enterprise_learner:*'] });
    const admin = await stack.token({ roles: ['enterprise_admin:*'] });
    for (const [method, path] of [...operatorRoutes, ...groupRoutes]) {
      const res = await call(method, path, method === 'POST' ? {} : undefined, learner);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body).toEqual(FORBIDDEN);
    }
    for (const [method, path] of operatorRoutes) {
      const res = await call(method, path, method === 'POST' ? {} : undefined, admin);
      expect(res.status, `${method} ${path}`).toBe(403);
    }
  });

  it("an enterprise_admin manages its own customer's groups and gets 403 on another customer's", async () => {
    const [mine, theirs] = [await newCustomer(), await newCustomer()];
    const admin = await stack.token({ roles: [`enterprise_admin:${mine.uuid}`] });
    const own = await newGroup(mine.uuid, 'Mine', admin);
    const other = await newGroup(theirs.uuid, 'Theirs');

    expect((await get(`${API}/enterprise-group/${own.uuid}/`, admin)).status).toBe(200);
    expect((await assign(own.uuid, [email()], admin)).status).toBe(201);
    expect((await get(`${API}/enterprise-group/${own.uuid}/learners/`, admin)).status).toBe(200);
    const listed = await get<Page<Group>>(`${API}/enterprise-group/`, admin);
    expect(listed.body.results.map((g) => g.uuid)).toEqual([own.uuid]);

    const denied: Array<Res> = [
      await post(`${API}/enterprise-group/`, { name: 'x', enterprise_customer: theirs.uuid }, admin),
      // Permission before validation: an invalid body for another customer's group is still 403.
      await post(`${API}/enterprise-group/`, { enterprise_customer: theirs.uuid }, admin),
      await get(`${API}/enterprise-group/?enterprise_uuid=${theirs.uuid}`, admin),
      await get(`${API}/enterprise-group/${other.uuid}/`, admin),
      await post(`${API}/enterprise-group/${other.uuid}/assign_learners/`, {}, admin),
      await post(`${API}/enterprise-group/${other.uuid}/remove_learners/`, { remove_all: true }, admin),
      await get(`${API}/enterprise-group/${other.uuid}/learners/`, admin),
    ];
    for (const res of denied) {
      expect(res.status).toBe(403);
      expect(res.body).toEqual(FORBIDDEN);
    }
    expect(await countOf('enterprise_group_memberships', { group_uuid: other.uuid })).toBe(0);
    expect((await get(`${API}/enterprise-group/${GHOST}/`, admin)).status).toBe(404);
  });
});

describe('enterprise-learner: link a user', () => {
  it('201 links (with the learner role), 200 for the same link again; by username, user_id or email', async () => {
    const c = await newCustomer();
    const u = await newUser(email('Linked'));
    const first = await post<Learner>(`${API}/enterprise-learner/`, {
      enterprise_customer: c.uuid,
      username: u.username,
    });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: expect.any(Number),
      enterprise_customer: c.uuid,
      user_id: u.id,
      active: true,
      created: expect.stringMatching(ISO_TIME),
      user: { id: u.id, username: u.username, email: u.email, date_joined: expect.stringMatching(ISO_TIME) },
      role_assignments: ['enterprise_learner'],
      enterprise_group: [],
    });
    for (const body of [{ user_id: u.id }, { email: u.email.toUpperCase() }, { username: u.username }]) {
      const again = await post<Learner>(`${API}/enterprise-learner/`, { enterprise_customer: c.uuid, ...body });
      expect(again.status, JSON.stringify(body)).toBe(200);
      expect(again.body.id).toBe(first.body.id);
    }
    expect(await countOf('enterprise_customer_users', { user_id: u.id })).toBe(1);
    expect(await countOf('role_assignments', { user_id: u.id, role: 'enterprise_learner' })).toBe(1);
  });

  it('`active` is stored on create and updates an existing link; absent leaves it alone', async () => {
    const c = await newCustomer();
    const u = await newUser();
    const created = await post<Learner>(`${API}/enterprise-learner/`, {
      enterprise_customer: c.uuid,
      email: u.email,
      active: false,
    });
    expect(created.status).toBe(201);
    expect(created.body.active).toBe(false);
    const untouched = await post<Learner>(`${API}/enterprise-learner/`, {
      enterprise_customer: c.uuid,
      email: u.email,
    });
    expect(untouched.body.active).toBe(false);
    const activated = await post<Learner>(`${API}/enterprise-learner/`, {
      enterprise_customer: c.uuid,
      email: u.email,
      active: true,
    });
    expect(activated.status).toBe(200);
    expect(activated.body.active).toBe(true);
  });

  it('400 with DRF field errors for an unknown user or customer, and for the wrong identifiers', async () => {
    const c = await newCustomer();
    const u = await newUser();
    const cases: Array<[unknown, unknown]> = [
      [{ enterprise_customer: c.uuid, username: 'nobody-here' }, { username: ['User does not exist'] }],
      [{ enterprise_customer: c.uuid, user_id: 2_000_000_000 }, { user_id: ['User does not exist'] }],
      [{ enterprise_customer: c.uuid, email: email('ghost') }, { email: ['User does not exist'] }],
      [
        { enterprise_customer: GHOST, username: 'nobody-here' },
        { enterprise_customer: [`Invalid pk "${GHOST}" - object does not exist.`], username: ['User does not exist'] },
      ],
      [
        { enterprise_customer: c.uuid },
        { non_field_errors: ['Exactly one of user_id, username or email is required.'] },
      ],
      [
        { enterprise_customer: c.uuid, user_id: u.id, email: u.email },
        { non_field_errors: ['Exactly one of user_id, username or email is required.'] },
      ],
      [
        { enterprise_customer: 'nope', user_id: 'x' },
        { enterprise_customer: ['Must be a valid UUID.'], user_id: ['A valid integer is required.'] },
      ],
    ];
    for (const [body, errors] of cases) {
      const res = await post(`${API}/enterprise-learner/`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toEqual(errors);
    }
    expect(await countOf('enterprise_customer_users', { enterprise_customer: c.uuid })).toBe(0);
  });

  it('10 concurrent links of one user: one 201, nine 200, one row', async () => {
    const c = await newCustomer();
    const u = await newUser();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        post(`${API}/enterprise-learner/`, { enterprise_customer: c.uuid, user_id: u.id }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(await countOf('enterprise_customer_users', { enterprise_customer: c.uuid, user_id: u.id })).toBe(1);
  });
});

describe('enterprise-learner: list filters', () => {
  it('filters by user_ids (comma-separated or repeated) and user_email; lists each record with its groups', async () => {
    const [c, other] = [await newCustomer(), await newCustomer()];
    const [a, b, d] = [await newUser(), await newUser(email('Bee')), await newUser()];
    for (const u of [a, b, d]) await link(c.uuid, u);
    await link(other.uuid, a);
    const [g1, g2] = [await newGroup(c.uuid), await newGroup(c.uuid)];
    await assign(g1.uuid, [a.email, b.email]);
    await assign(g2.uuid, [a.email]);

    const comma = await learnersOf(c.uuid, `&user_ids=${a.id},${b.id}`);
    expect(comma.results.map((l) => [l.user_id, l.enterprise_group])).toEqual([
      [a.id, [g1.uuid, g2.uuid]],
      [b.id, [g1.uuid]],
    ]);
    const repeated = await learnersOf(c.uuid, `&user_ids=${a.id}&user_ids=${d.id}`);
    expect(repeated.results.map((l) => [l.user_id, l.enterprise_group])).toEqual([
      [a.id, [g1.uuid, g2.uuid]],
      [d.id, []],
    ]);
    // The provisioning client reads user.email from these records.
    expect(repeated.results[0]?.user.email).toBe(a.email);

    // Without the customer filter, the other customer's link of `a` shows, with no groups of c's.
    const everywhere = (await get<Page<Learner>>(`${API}/enterprise-learner/?user_ids=${a.id}`)).body;
    expect(everywhere.results.map((l) => [l.enterprise_customer, l.enterprise_group.length])).toEqual([
      [c.uuid, 2],
      [other.uuid, 0],
    ]);

    const byEmail = await learnersOf(c.uuid, `&user_email=${encodeURIComponent(b.email.toUpperCase())}`);
    expect(byEmail.results.map((l) => l.user_id)).toEqual([b.id]);
    expect((await learnersOf(c.uuid, '&user_ids=2147483648')).count).toBe(0);

    const bad = await get(`${API}/enterprise-learner/?user_ids=1,x`);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ user_ids: ['Enter a whole number.'] });
  });
});

describe('enterprise-group', () => {
  it('201 creates; 400 for a duplicate name in the same customer (not in another), an unknown customer, no name', async () => {
    const [c, other] = [await newCustomer(), await newCustomer()];
    const created = await post<Group>(`${API}/enterprise-group/`, { name: 'Engineering', enterprise_customer: c.uuid });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      uuid: expect.stringMatching(UUID),
      enterprise_customer: c.uuid,
      name: 'Engineering',
      accepted_members_count: 0,
      group_type: 'flex',
      created: expect.stringMatching(ISO_TIME),
    });

    const dup = await post(`${API}/enterprise-group/`, { name: 'Engineering', enterprise_customer: c.uuid });
    expect(dup.status).toBe(400);
    expect(dup.body).toEqual({
      non_field_errors: ['A group with this name already exists. Please enter a unique name to create a new group.'],
    });
    expect(
      (await post(`${API}/enterprise-group/`, { name: 'Engineering', enterprise_customer: other.uuid })).status,
    ).toBe(201);

    const unknown = await post(`${API}/enterprise-group/`, { name: 'X', enterprise_customer: GHOST });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ enterprise_customer: [`Invalid pk "${GHOST}" - object does not exist.`] });
    const missing = await post(`${API}/enterprise-group/`, { enterprise_customer: c.uuid });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ name: ['This field is required.'] });
  });

  it("lists a customer's groups (paginated), reads one by uuid; 404 for unknown or malformed uuids", async () => {
    const [c, other] = [await newCustomer(), await newCustomer()];
    const groups = [await newGroup(c.uuid, 'A'), await newGroup(c.uuid, 'B')];
    await newGroup(other.uuid, 'C');
    const page1 = await get<Page<Group>>(`${API}/enterprise-group/?enterprise_uuid=${c.uuid}&page_size=1`);
    expect(page1.body.count).toBe(2);
    expect(page1.body.results.map((g) => g.name)).toEqual(['A']);
    expect(page1.body.next).toContain('page=2');
    const page2 = await get<Page<Group>>(`${API}/enterprise-group/?enterprise_uuid=${c.uuid}&page_size=1&page=2`);
    expect(page2.body.results.map((g) => g.name)).toEqual(['B']);

    const one = await get<Group>(`${API}/enterprise-group/${groups[1]?.uuid}/`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(groups[1]);
    expect((await get(`${API}/enterprise-group/${GHOST}/`)).status).toBe(404);
    expect((await get(`${API}/enterprise-group/not-a-uuid/`)).status).toBe(404);
    const bad = await get(`${API}/enterprise-group/?enterprise_uuid=nope`);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ enterprise_uuid: ['Enter a valid UUID.'] });
  });

  it('assign_learners: existing users become linked members, other emails pending; a repeat changes nothing', async () => {
    const c = await newCustomer();
    const existing = await newUser(email('Known'));
    const pendingEmail = email('Invited');
    const g = await newGroup(c.uuid);

    const emails = [existing.email.toUpperCase(), pendingEmail, pendingEmail.toUpperCase()];
    const first = await assign(g.uuid, emails);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ records_processed: 2, new_learners: 1, existing_learners: 1 });

    // The existing user is now linked to the customer, with the group on its learner record.
    const learners = await learnersOf(c.uuid);
    expect(learners.results.map((l) => [l.user_id, l.role_assignments, l.enterprise_group])).toEqual([
      [existing.id, ['enterprise_learner'], [g.uuid]],
    ]);

    const list = await members(g.uuid);
    expect(list.count).toBe(2);
    expect(list.results).toEqual([
      {
        enterprise_group_membership_uuid: expect.stringMatching(UUID),
        lms_user_id: existing.id,
        enterprise_customer_user_id: learners.results[0]?.id,
        member_details: { user_email: existing.email, user_name: existing.username },
        status: 'accepted',
        created: expect.stringMatching(ISO_TIME),
      },
      {
        enterprise_group_membership_uuid: expect.stringMatching(UUID),
        lms_user_id: null,
        enterprise_customer_user_id: null,
        member_details: { user_email: pendingEmail, user_name: null },
        status: 'pending',
        created: expect.stringMatching(ISO_TIME),
      },
    ]);
    const pendingOnly = await get<Page<Member>>(`${API}/enterprise-group/${g.uuid}/learners/?pending_users_only=true`);
    expect(pendingOnly.body.results.map((m) => m.status)).toEqual(['pending']);
    expect((await get<Group>(`${API}/enterprise-group/${g.uuid}/`)).body.accepted_members_count).toBe(1);

    const again = await assign(g.uuid, emails);
    expect(again.body).toEqual(first.body);
    expect(await members(g.uuid)).toEqual(list);
  });

  it('10 concurrent identical assigns: one membership per email', async () => {
    const c = await newCustomer();
    const u = await newUser();
    const g = await newGroup(c.uuid);
    const emails = [u.email, email('p1'), email('p2')];
    const results = await Promise.all(Array.from({ length: 10 }, () => assign(g.uuid, emails)));
    for (const r of results) expect(r.body).toEqual({ records_processed: 3, new_learners: 2, existing_learners: 1 });
    expect(await countOf('enterprise_group_memberships', { group_uuid: g.uuid })).toBe(3);
    expect(await countOf('enterprise_customer_users', { enterprise_customer: c.uuid })).toBe(1);
  });

  it('assign_learners validates the emails (400) and writes nothing', async () => {
    const c = await newCustomer();
    const g = await newGroup(c.uuid);
    const cases: Array<[unknown, unknown]> = [
      [{}, { learner_emails: ['This field is required.'] }],
      [{ learner_emails: [] }, { learner_emails: ['This list may not be empty.'] }],
      [{ learner_emails: 'a@example.com' }, { learner_emails: ['Expected a list of items but got type "str".'] }],
      [{ learner_emails: ['ok@example.com', 'nope'] }, { learner_emails: { 1: ['Enter a valid email address.'] } }],
    ];
    for (const [body, errors] of cases) {
      const res = await post(`${API}/enterprise-group/${g.uuid}/assign_learners/`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toEqual(errors);
    }
    expect(await countOf('enterprise_group_memberships', { group_uuid: g.uuid })).toBe(0);
    expect((await assign(GHOST, [email()])).status).toBe(404);
  });

  it('remove_learners deletes existing and pending memberships by email (the link stays); remove_all empties', async () => {
    const c = await newCustomer();
    const [stay, leave] = [await newUser(), await newUser()];
    const [pendingStay, pendingLeave] = [email('ps'), email('pl')];
    const [g, otherGroup] = [await newGroup(c.uuid), await newGroup(c.uuid)];
    await assign(g.uuid, [stay.email, leave.email, pendingStay, pendingLeave]);
    await assign(otherGroup.uuid, [leave.email, pendingLeave]);

    const removed = await post(`${API}/enterprise-group/${g.uuid}/remove_learners/`, {
      learner_emails: [leave.email.toUpperCase(), pendingLeave, email('never-member')],
    });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ records_deleted: 2 });
    expect((await members(g.uuid)).results.map((m) => m.member_details.user_email)).toEqual([stay.email, pendingStay]);
    // The other group keeps both, and `leave` is still linked to the customer.
    expect((await members(otherGroup.uuid)).count).toBe(2);
    expect((await learnersOf(c.uuid, `&user_ids=${leave.id}`)).results[0]?.enterprise_group).toEqual([otherGroup.uuid]);

    const again = await post(`${API}/enterprise-group/${g.uuid}/remove_learners/`, { learner_emails: [leave.email] });
    expect(again.body).toEqual({ records_deleted: 0 });

    const both = await post(`${API}/enterprise-group/${g.uuid}/remove_learners/`, {
      learner_emails: [stay.email],
      remove_all: true,
    });
    expect(both.status).toBe(400);
    expect(both.body).toEqual({ non_field_errors: ['Must supply `remove_all` or `learner_emails` but not both.'] });

    const all = await post(`${API}/enterprise-group/${g.uuid}/remove_learners/`, { remove_all: true });
    expect(all.body).toEqual({ records_deleted: 2 });
    expect((await members(g.uuid)).count).toBe(0);
    expect((await members(otherGroup.uuid)).count).toBe(2);
  });

  it('registration turns pending memberships into real ones and links the new user to each customer', async () => {
    const [c1, c2] = [await newCustomer(), await newCustomer()];
    const address = email('Newcomer');
    const [g1, g2] = [await newGroup(c1.uuid), await newGroup(c2.uuid)];
    await assign(g1.uuid, [address]);
    await assign(g2.uuid, [address.toUpperCase()]);
    const pendingUuid = (await members(g1.uuid)).results[0]?.enterprise_group_membership_uuid;
    const untouched = await newGroup(c1.uuid);
    await assign(untouched.uuid, [email('someone-else')]);

    const user = await newUser(address.toLowerCase());
    for (const [c, g] of [
      [c1, g1],
      [c2, g2],
    ] as const) {
      const learners = await learnersOf(c.uuid);
      expect(learners.results.map((l) => [l.user_id, l.role_assignments, l.enterprise_group])).toEqual([
        [user.id, ['enterprise_learner'], [g.uuid]],
      ]);
      const list = await members(g.uuid);
      expect(list.results.map((m) => [m.status, m.lms_user_id, m.enterprise_customer_user_id])).toEqual([
        ['accepted', user.id, learners.results[0]?.id],
      ]);
    }
    expect((await members(g1.uuid)).results[0]?.enterprise_group_membership_uuid).toBe(pendingUuid);
    expect((await members(untouched.uuid)).results.map((m) => m.status)).toEqual(['pending']);

    // Assigning the now-registered email again keeps one, accepted, membership.
    expect((await assign(g1.uuid, [address])).body).toEqual({
      records_processed: 1,
      new_learners: 0,
      existing_learners: 1,
    });
    expect(await countOf('enterprise_group_memberships', { group_uuid: g1.uuid })).toBe(1);
  });

  it('registrations racing assignments of the same emails leave no pending membership behind', async () => {
    const c = await newCustomer();
    const g = await newGroup(c.uuid);
    const addresses = Array.from({ length: 8 }, () => email('racer'));
    await Promise.all(
      addresses.flatMap((a) => [assign(g.uuid, [a]), post('/api/user/v1/accounts', { email: a }), assign(g.uuid, [a])]),
    );
    const list = await members(g.uuid);
    expect(list.count).toBe(addresses.length);
    expect(list.results.map((m) => m.status)).toEqual(addresses.map(() => 'accepted'));
  });
});

describe('enterprise-course-enrollment', () => {
  async function linkedLearner() {
    const c = await newCustomer();
    const u = await newUser();
    await link(c.uuid, u);
    return { c, u };
  }
  const enroll = (body: Record<string, unknown>) => post<Enrollment>(`${API}/enterprise-course-enrollment/`, body);

  it('201 creates, 200 answers the same enrollment again; unenroll is idempotent; re-enrolling re-activates', async () => {
    const { c, u } = await linkedLearner();
    const course = courseKey();
    const tx1 = randomUUID();
    const body = {
      enterprise_customer_uuid: c.uuid,
      lms_user_id: u.id,
      course_run_key: course,
      source: 'learner_credit',
      transaction_id: tx1,
    };
    const created = await enroll(body);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      uuid: expect.stringMatching(UUID),
      enterprise_customer_uuid: c.uuid,
      lms_user_id: u.id,
      course_run_key: course,
      source: 'learner_credit',
      transaction_id: tx1,
      license_uuid: null,
      is_active: true,
      created: expect.stringMatching(ISO_TIME),
      modified: expect.stringMatching(ISO_TIME),
      unenrolled_at: null,
    });
    const again = await enroll(body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(created.body);

    const unenrolled = await post<Enrollment>(`${API}/enterprise-course-enrollment/${created.body.uuid}/unenroll/`, {});
    expect(unenrolled.status).toBe(200);
    expect(unenrolled.body).toMatchObject({ uuid: created.body.uuid, is_active: false });
    expect(unenrolled.body.unenrolled_at).toMatch(ISO_TIME);
    const twice = await post<Enrollment>(`${API}/enterprise-course-enrollment/${created.body.uuid}/unenroll/`, {});
    expect(twice.status).toBe(200);
    expect(twice.body).toEqual(unenrolled.body);

    const tx2 = randomUUID();
    const back = await enroll({ ...body, transaction_id: tx2 });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({
      uuid: created.body.uuid,
      is_active: true,
      unenrolled_at: null,
      transaction_id: tx2,
      created: created.body.created,
    });
    expect(await enrollmentRows(course)).toHaveLength(1);

    expect((await post(`${API}/enterprise-course-enrollment/${GHOST}/unenroll/`, {})).status).toBe(404);
    expect((await post(`${API}/enterprise-course-enrollment/nope/unenroll/`, {})).status).toBe(404);
  });

  it('an active enrollment is answered as it is, whatever subsidy the repeat names', async () => {
    const { c, u } = await linkedLearner();
    const course = courseKey();
    const license = randomUUID();
    const base = { enterprise_customer_uuid: c.uuid, lms_user_id: u.id, course_run_key: course };
    const first = await enroll({ ...base, source: 'subscription_license', license_uuid: license });
    expect(first.status).toBe(201);
    const repeat = await enroll({ ...base, source: 'learner_credit', transaction_id: randomUUID() });
    expect(repeat.status).toBe(200);
    expect(repeat.body).toMatchObject({ source: 'subscription_license', license_uuid: license, transaction_id: null });
  });

  it('400 for a malformed course run key, an unknown or unlinked user, an unknown customer, bad fields', async () => {
    const { c, u } = await linkedLearner();
    const stranger = await newUser();
    const base = { enterprise_customer_uuid: c.uuid, lms_user_id: u.id, course_run_key: courseKey(), source: 'manual' };
    const badKey = { course_run_key: ['Invalid course run key.'] };
    const cases: Array<[Record<string, unknown>, unknown]> = [
      [{ course_run_key: 'edX+DemoX' }, badKey],
      [{ course_run_key: 'course-v1:edX+DemoX' }, badKey],
      [{ course_run_key: 'course-v1:edX+Demo X+2025' }, badKey],
      [{ course_run_key: 'course-v1:edX+DemoX+2025+extra' }, badKey],
      [{ course_run_key: '' }, badKey],
      [{ course_run_key: 42 }, badKey],
      [{ lms_user_id: 2_000_000_000 }, { lms_user_id: ['Invalid pk "2000000000" - object does not exist.'] }],
      [
        { lms_user_id: stranger.id },
        { lms_user_id: [`User ${stranger.id} is not linked to enterprise customer ${c.uuid}.`] },
      ],
      [
        { enterprise_customer_uuid: GHOST },
        { enterprise_customer_uuid: [`Invalid pk "${GHOST}" - object does not exist.`] },
      ],
      [{ source: 'gift' }, { source: ['"gift" is not a valid choice.'] }],
      [
        { transaction_id: randomUUID(), license_uuid: randomUUID() },
        {
          non_field_errors: [
            'Enrollment info contains conflicting subsidy information: `license_uuid` and `transaction_id` found',
          ],
        },
      ],
    ];
    for (const [override, errors] of cases) {
      const res = await enroll({ ...base, ...override });
      expect(res.status, JSON.stringify(override)).toBe(400);
      expect(res.body).toEqual(errors);
    }
    const missing = await enroll({});
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      enterprise_customer_uuid: ['This field is required.'],
      lms_user_id: ['This field is required.'],
      course_run_key: ['This field is required.'],
      source: ['This field is required.'],
    });
    expect(await enrollmentRows(base.course_run_key)).toHaveLength(0);
  });

  it('accepts course run keys with the characters opaque-keys allows', async () => {
    const { c, u } = await linkedLearner();
    for (const key of ['course-v1:edX+Demo_X-1.0+2025~T1', 'course-v1:Université+Ça:va+run']) {
      const res = await enroll({
        enterprise_customer_uuid: c.uuid,
        lms_user_id: u.id,
        course_run_key: key,
        source: 'manual',
      });
      expect(res.status, key).toBe(201);
    }
  });

  it('10 identical concurrent enrollments: one row, one 201, nine 200, all with its uuid', async () => {
    const { c, u } = await linkedLearner();
    const course = courseKey();
    const body = {
      enterprise_customer_uuid: c.uuid,
      lms_user_id: u.id,
      course_run_key: course,
      source: 'learner_credit',
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => enroll(body)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const rows = await enrollmentRows(course);
    expect(rows).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.uuid))).toEqual(new Set([rows[0]?.uuid]));
  });

  it('lists enrollments filtered by customer, learner and course run (paginated)', async () => {
    const { c, u } = await linkedLearner();
    const other = await newUser();
    await link(c.uuid, other);
    const [k1, k2] = [courseKey(), courseKey()];
    for (const [user, key] of [
      [u, k1],
      [u, k2],
      [other, k1],
    ] as const) {
      const res = await enroll({
        enterprise_customer_uuid: c.uuid,
        lms_user_id: user.id,
        course_run_key: key,
        source: 'manual',
      });
      expect(res.status).toBe(201);
    }
    const list = async (q: string) => (await get<Page<Enrollment>>(`${API}/enterprise-course-enrollment/?${q}`)).body;
    expect((await list(`enterprise_customer_uuid=${c.uuid}`)).count).toBe(3);
    expect(
      (await list(`enterprise_customer_uuid=${c.uuid}&lms_user_id=${u.id}`)).results.map((e) => e.course_run_key),
    ).toEqual([k1, k2]);
    const one = await list(`lms_user_id=${other.id}&course_run_key=${encodeURIComponent(k1)}`);
    expect(one.results.map((e) => [e.lms_user_id, e.course_run_key, e.enterprise_customer_uuid])).toEqual([
      [other.id, k1, c.uuid],
    ]);
    const paged = await list(`enterprise_customer_uuid=${c.uuid}&page_size=2`);
    expect([paged.results.length, paged.next !== null]).toEqual([2, true]);
    expect((await list(`enterprise_customer_uuid=${GHOST}`)).count).toBe(0);
    expect((await list('lms_user_id=99999999999')).count).toBe(0);
    const bad = await get(`${API}/enterprise-course-enrollment/?lms_user_id=x`);
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ lms_user_id: ['Enter a number.'] });
  });
});
