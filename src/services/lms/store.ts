import { type Kysely, sql } from 'kysely';
import {
  type CatalogRow,
  type CustomerRow,
  ENTERPRISE_ADMIN_ROLE,
  ENTERPRISE_LEARNER_ROLE,
  type LmsDB,
  type PendingAdminRow,
  type UserRow,
} from './schema';

/** A handle or a transaction on the lms schema. */
export type LmsDb = Kysely<LmsDB>;

export const iso = (d: Date) => new Date(d).toISOString();

// ---- lookups --------------------------------------------------------------------------------

export const userByEmail = (db: LmsDb, email: string) =>
  db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst();

/** The users with any of `emails` (case-insensitively), in one query. */
export async function usersByEmails(db: LmsDb, emails: string[]): Promise<Array<Pick<UserRow, 'id' | 'email'>>> {
  const lowered = [...new Set(emails.map((e) => e.toLowerCase()))];
  if (lowered.length === 0) return [];
  return db
    .selectFrom('users')
    .select(['id', 'email'])
    .where((eb) => eb(eb.fn('lower', ['email']), 'in', lowered))
    .execute();
}

export const userById = (db: LmsDb, id: number) =>
  db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();

export const userByUsername = (db: LmsDb, username: string) =>
  db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();

export const customerUserLink = (db: LmsDb, customer: string, userId: number) =>
  db
    .selectFrom('enterprise_customer_users')
    .selectAll()
    .where('enterprise_customer', '=', customer)
    .where('user_id', '=', userId)
    .executeTakeFirst();

export const customerByUuid = (db: LmsDb, uuid: string, opts: { activeOnly?: boolean } = {}) => {
  let q = db.selectFrom('enterprise_customers').selectAll().where('uuid', '=', uuid);
  if (opts.activeOnly) q = q.where('active', '=', true);
  return q.executeTakeFirst();
};

export const customerBySlug = (db: LmsDb, slug: string) =>
  db.selectFrom('enterprise_customers').selectAll().where('slug', '=', slug).executeTakeFirst();

export const siteByDomain = (db: LmsDb, domain: string) =>
  db.selectFrom('sites').selectAll().where('domain', '=', domain).executeTakeFirst();

export const catalogQueryExists = async (db: LmsDb, id: number) =>
  (await db.selectFrom('catalog_queries').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;

export const catalogByCustomerAndQuery = (db: LmsDb, customer: string, query: number) =>
  db
    .selectFrom('enterprise_customer_catalogs')
    .selectAll()
    .where('enterprise_customer', '=', customer)
    .where('enterprise_catalog_query', '=', query)
    .executeTakeFirst();

export const pendingAdmin = (db: LmsDb, customer: string, email: string) =>
  db
    .selectFrom('pending_enterprise_admins')
    .selectAll()
    .where('enterprise_customer', '=', customer)
    .where((eb) => eb(eb.fn('lower', ['user_email']), '=', email.toLowerCase()))
    .executeTakeFirst();

export async function hasRole(db: LmsDb, userId: number, role: string, customer: string): Promise<boolean> {
  const row = await db
    .selectFrom('role_assignments')
    .select('id')
    .where('user_id', '=', userId)
    .where('role', '=', role)
    .where('enterprise_customer', '=', customer)
    .executeTakeFirst();
  return row !== undefined;
}

// ---- get-or-create of links and roles -------------------------------------------------------
// These run inside transactions. In Postgres a unique violation aborts the whole transaction, so
// they use ON CONFLICT DO NOTHING instead of catching 23505: a concurrent twin waits for the
// other insert to commit and then inserts nothing, and `created` is true for exactly one caller.

/** Links a user to a customer; like upstream's post_save signal, an active link carries the learner role. */
export async function linkUser(db: LmsDb, customer: string, userId: number): Promise<boolean> {
  const inserted = await db
    .insertInto('enterprise_customer_users')
    .values({ enterprise_customer: customer, user_id: userId })
    .onConflict((oc) => oc.columns(['enterprise_customer', 'user_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  await assignRole(db, userId, ENTERPRISE_LEARNER_ROLE, customer);
  return inserted !== undefined;
}

/**
 * `linkUser` for many users at once (group assignment takes up to 1000 emails); returns each
 * user's link id. Ids are inserted in ascending order so that two overlapping batches wait for
 * each other instead of deadlocking.
 */
export async function linkUsers(db: LmsDb, customer: string, userIds: number[]): Promise<Map<number, number>> {
  return (await linkMany(db, customer, userIds, false)).ids;
}

/**
 * upstream's `link_user` for many users (bulk enrollment, pending-enterprise-learner): `linkUsers`,
 * and an inactive link is made active again. Returns each user's link id and the users whose link
 * is new.
 */
export async function linkActiveUsers(
  db: LmsDb,
  customer: string,
  userIds: number[],
): Promise<{ ids: Map<number, number>; created: Set<number> }> {
  return linkMany(db, customer, userIds, true);
}

async function linkMany(
  db: LmsDb,
  customer: string,
  userIds: number[],
  activate: boolean,
): Promise<{ ids: Map<number, number>; created: Set<number> }> {
  const ids = [...new Set(userIds)].sort((a, b) => a - b);
  if (ids.length === 0) return { ids: new Map(), created: new Set() };
  const inserted = await db
    .insertInto('enterprise_customer_users')
    .values(ids.map((user_id) => ({ enterprise_customer: customer, user_id })))
    .onConflict((oc) => oc.columns(['enterprise_customer', 'user_id']).doNothing())
    .returning('user_id')
    .execute();
  if (activate) {
    await db
      .updateTable('enterprise_customer_users')
      .set({ active: true })
      .where('enterprise_customer', '=', customer)
      .where('user_id', 'in', ids)
      .where('active', '=', false)
      .execute();
  }
  await db
    .insertInto('role_assignments')
    .values(ids.map((user_id) => ({ user_id, role: ENTERPRISE_LEARNER_ROLE, enterprise_customer: customer })))
    .onConflict((oc) => oc.columns(['user_id', 'role', 'enterprise_customer']).doNothing())
    .execute();
  const rows = await db
    .selectFrom('enterprise_customer_users')
    .select(['id', 'user_id'])
    .where('enterprise_customer', '=', customer)
    .where('user_id', 'in', ids)
    .execute();
  return { ids: new Map(rows.map((r) => [r.user_id, r.id])), created: new Set(inserted.map((r) => r.user_id)) };
}

/**
 * The `enterprise-learner` write: get-or-create of the link, with the learner role. `active`
 * given updates an existing link (upstream's update_or_create); absent leaves it as it is.
 */
export async function linkLearner(
  db: LmsDb,
  customer: string,
  userId: number,
  active: boolean | undefined,
): Promise<{ id: number; created: boolean }> {
  const inserted = await db
    .insertInto('enterprise_customer_users')
    .values({ enterprise_customer: customer, user_id: userId, ...(active === undefined ? {} : { active }) })
    .onConflict((oc) => oc.columns(['enterprise_customer', 'user_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  await assignRole(db, userId, ENTERPRISE_LEARNER_ROLE, customer);
  if (inserted) return { id: inserted.id, created: true };
  const existing =
    active === undefined
      ? await customerUserLink(db, customer, userId)
      : await db
          .updateTable('enterprise_customer_users')
          .set({ active })
          .where('enterprise_customer', '=', customer)
          .where('user_id', '=', userId)
          .returning('id')
          .executeTakeFirst();
  if (!existing) throw new Error(`link of user ${userId} to ${customer} vanished`);
  return { id: existing.id, created: false };
}

/**
 * Serializes, per email, the transactions that turn an email into a member or learner:
 * registration (which makes pending memberships, pending learners and their enrollments real),
 * group assignment and bulk enrollment (which make an email pending unless its user exists).
 * Without it an assignment that looked the user up just before the account was committed would
 * leave a pending row that nothing ever converts. Transaction-scoped advisory locks, all taken in
 * one statement in ascending lock-id order, so that two batches cannot deadlock (the subquery's
 * ORDER BY keeps it from being flattened, so the locks are taken in that order); call inside a
 * transaction.
 */
export async function lockEmails(db: LmsDb, emails: Iterable<string>): Promise<void> {
  const keys = [...new Set([...emails].map((e) => `lms-email:${e.toLowerCase()}`))];
  if (keys.length === 0) return;
  await sql`select pg_advisory_xact_lock(s.id) from (
      select distinct hashtext(k) as id from unnest(array[${sql.join(keys)}]::text[]) as k order by id
    ) as s`.execute(db);
}

export async function assignRole(db: LmsDb, userId: number, role: string, customer: string): Promise<boolean> {
  const inserted = await db
    .insertInto('role_assignments')
    .values({ user_id: userId, role, enterprise_customer: customer })
    .onConflict((oc) => oc.columns(['user_id', 'role', 'enterprise_customer']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/**
 * Makes an existing user an admin of a customer: link, `enterprise_admin` role, and the pending
 * invitation for that email (if any) is consumed. Returns whether the admin role is new.
 * Call inside a transaction.
 */
export async function makeAdmin(db: LmsDb, customer: string, user: Pick<UserRow, 'id' | 'email'>): Promise<boolean> {
  await linkUser(db, customer, user.id);
  const created = await assignRole(db, user.id, ENTERPRISE_ADMIN_ROLE, customer);
  await db
    .deleteFrom('pending_enterprise_admins')
    .where('enterprise_customer', '=', customer)
    .where((eb) => eb(eb.fn('lower', ['user_email']), '=', user.email.toLowerCase()))
    .execute();
  return created;
}

/**
 * Registration hook (upstream: the User post_save handler in edx-enterprise): every pending admin
 * invitation for the new user's email becomes a real admin. Returns the customers it joined.
 * Call inside the transaction that creates the user.
 */
export async function promotePendingAdmins(db: LmsDb, user: Pick<UserRow, 'id' | 'email'>): Promise<string[]> {
  const pending = await db
    .selectFrom('pending_enterprise_admins')
    .select('enterprise_customer')
    .where((eb) => eb(eb.fn('lower', ['user_email']), '=', user.email.toLowerCase()))
    .orderBy('id')
    .forUpdate()
    .execute();
  for (const p of pending) await makeAdmin(db, p.enterprise_customer, user);
  return pending.map((p) => p.enterprise_customer);
}

// ---- representations ------------------------------------------------------------------------

export interface CustomerView {
  uuid: string;
  name: string;
  slug: string;
  active: boolean;
  country: string;
  site: { domain: string; name: string };
  enable_portal_subscription_management_screen: boolean;
  enable_analytics_screen: boolean;
  enterprise_customer_catalogs: string[];
  admin_users: Array<{ email: string; lms_user_id: number }>;
  created: string;
  modified: string;
}

/** Upstream's EnterpriseCustomerSerializer, for many customers in four queries. */
export async function customerViews(db: LmsDb, rows: CustomerRow[]): Promise<CustomerView[]> {
  if (rows.length === 0) return [];
  const uuids = rows.map((r) => r.uuid);
  const [sites, catalogs, admins] = await Promise.all([
    db
      .selectFrom('sites')
      .select(['domain', 'name'])
      .where('domain', 'in', [...new Set(rows.map((r) => r.site_domain))])
      .execute(),
    db
      .selectFrom('enterprise_customer_catalogs')
      .select(['uuid', 'enterprise_customer'])
      .where('enterprise_customer', 'in', uuids)
      .orderBy('created')
      .orderBy('uuid')
      .execute(),
    db
      .selectFrom('role_assignments as ra')
      .innerJoin('users as u', 'u.id', 'ra.user_id')
      .select(['ra.enterprise_customer', 'u.email', 'u.id'])
      .where('ra.enterprise_customer', 'in', uuids)
      .where('ra.role', '=', ENTERPRISE_ADMIN_ROLE)
      .orderBy('u.id')
      .execute(),
  ]);
  const siteName = new Map(sites.map((s) => [s.domain, s.name]));
  return rows.map((r) => ({
    uuid: r.uuid,
    name: r.name,
    slug: r.slug,
    active: r.active,
    country: r.country,
    site: { domain: r.site_domain, name: siteName.get(r.site_domain) ?? r.site_domain },
    enable_portal_subscription_management_screen: r.enable_portal_subscription_management_screen,
    enable_analytics_screen: r.enable_analytics_screen,
    enterprise_customer_catalogs: catalogs.filter((c) => c.enterprise_customer === r.uuid).map((c) => c.uuid),
    admin_users: admins
      .filter((a) => a.enterprise_customer === r.uuid)
      .map((a) => ({ email: a.email, lms_user_id: a.id })),
    created: iso(r.created),
    modified: iso(r.modified),
  }));
}

export async function customerView(db: LmsDb, row: CustomerRow): Promise<CustomerView> {
  return (await customerViews(db, [row]))[0] as CustomerView;
}

export const catalogView = (c: CatalogRow) => ({
  uuid: c.uuid,
  title: c.title,
  enterprise_customer: c.enterprise_customer,
  enterprise_catalog_query: c.enterprise_catalog_query,
  created: iso(c.created),
  modified: iso(c.modified),
});

export const pendingAdminView = (p: PendingAdminRow) => ({
  id: p.id,
  enterprise_customer: p.enterprise_customer,
  user_email: p.user_email,
});

/** The columns `learnerViews` reads, from `learnerQuery`. */
export const LEARNER_COLUMNS = [
  'ecu.id',
  'ecu.enterprise_customer',
  'ecu.user_id',
  'ecu.active',
  'ecu.created',
  'u.username',
  'u.email',
  'u.date_joined',
] as const;

/** Learner links joined to their users; filter it, then select LEARNER_COLUMNS. */
export const learnerQuery = (db: LmsDb) =>
  db.selectFrom('enterprise_customer_users as ecu').innerJoin('users as u', 'u.id', 'ecu.user_id');

export interface LearnerRow {
  id: number;
  enterprise_customer: string;
  user_id: number;
  active: boolean;
  created: Date;
  username: string;
  email: string;
  date_joined: Date;
}

/**
 * Learner links with their user, the roles the user holds for that customer (upstream's read-only
 * ECU serializer) and the groups the link is a member of (`enterprise_group`, which
 * enterprise-access intersects with a policy's groups).
 */
export async function learnerViews(db: LmsDb, rows: LearnerRow[]) {
  if (rows.length === 0) return [];
  const [roles, memberships] = await Promise.all([
    db
      .selectFrom('role_assignments')
      .select(['user_id', 'enterprise_customer', 'role'])
      .where('user_id', 'in', [...new Set(rows.map((r) => r.user_id))])
      .where('enterprise_customer', 'in', [...new Set(rows.map((r) => r.enterprise_customer))])
      .orderBy('role')
      .execute(),
    db
      .selectFrom('enterprise_group_memberships')
      .select(['enterprise_customer_user', 'group_uuid'])
      .where(
        'enterprise_customer_user',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('created')
      .orderBy('group_uuid')
      .execute(),
  ]);
  return rows.map((r) => ({
    id: r.id,
    enterprise_customer: r.enterprise_customer,
    user_id: r.user_id,
    active: r.active,
    created: iso(r.created),
    user: { id: r.user_id, username: r.username, email: r.email, date_joined: iso(r.date_joined) },
    role_assignments: roles
      .filter((a) => a.user_id === r.user_id && a.enterprise_customer === r.enterprise_customer)
      .map((a) => a.role),
    enterprise_group: memberships.filter((m) => m.enterprise_customer_user === r.id).map((m) => m.group_uuid),
  }));
}
