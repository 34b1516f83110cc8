import type { GroupRow, MembershipStatus, UserRow } from './schema';
import { iso, type LmsDb, linkUsers, lockEmails, usersByEmails } from './store';

/** Queries of enterprise groups and their memberships (ADR 0018). */

export const groupByUuid = (db: LmsDb, uuid: string) =>
  db.selectFrom('enterprise_groups').selectAll().where('uuid', '=', uuid).executeTakeFirst();

/** Upstream's EnterpriseGroupSerializer (`group_type` is always "flex": budget groups do not exist here). */
export async function groupViews(db: LmsDb, rows: GroupRow[]) {
  if (rows.length === 0) return [];
  const counts = await db
    .selectFrom('enterprise_group_memberships')
    .select((eb) => ['group_uuid', eb.fn.countAll<string>().as('n')])
    .where(
      'group_uuid',
      'in',
      rows.map((r) => r.uuid),
    )
    .where('enterprise_customer_user', 'is not', null)
    .groupBy('group_uuid')
    .execute();
  const accepted = new Map(counts.map((c) => [c.group_uuid, Number(c.n)]));
  return rows.map((r) => ({
    uuid: r.uuid,
    enterprise_customer: r.enterprise_customer,
    name: r.name,
    accepted_members_count: accepted.get(r.uuid) ?? 0,
    group_type: 'flex' as const,
    created: iso(r.created),
  }));
}

export type GroupView = Awaited<ReturnType<typeof groupViews>>[number];

export async function groupView(db: LmsDb, row: GroupRow): Promise<GroupView> {
  return (await groupViews(db, [row]))[0] as GroupView;
}

/** First spelling of each email, case-insensitively (emails are matched that way everywhere). */
function distinctEmails(emails: string[]): string[] {
  const first = new Map<string, string>();
  for (const e of emails) if (!first.has(e.toLowerCase())) first.set(e.toLowerCase(), e);
  return [...first.values()];
}

export interface AssignResult {
  records_processed: number;
  /** Emails without an account: pending memberships. */
  new_learners: number;
  /** Emails of existing users: linked to the customer and made members. */
  existing_learners: number;
}

/**
 * `assign_learners`: existing users are linked to the group's customer and become members;
 * other emails become pending memberships. Already-members are counted as processed again, so a
 * repeated call answers the same. Call inside a transaction.
 */
export async function assignLearners(db: LmsDb, group: GroupRow, emails: string[]): Promise<AssignResult> {
  const unique = distinctEmails(emails);
  await lockEmails(db, unique);
  const users = await usersByEmails(db, unique);
  const links = await linkUsers(
    db,
    group.enterprise_customer,
    users.map((u) => u.id),
  );
  if (links.size > 0) {
    await db
      .insertInto('enterprise_group_memberships')
      .values([...links.values()].map((ecu) => ({ group_uuid: group.uuid, enterprise_customer_user: ecu })))
      .onConflict((oc) => oc.columns(['group_uuid', 'enterprise_customer_user']).doNothing())
      .execute();
  }
  const known = new Set(users.map((u) => u.email.toLowerCase()));
  const pending = unique.filter((e) => !known.has(e.toLowerCase()));
  if (pending.length > 0) {
    await db
      .insertInto('enterprise_group_memberships')
      .values(pending.map((email) => ({ group_uuid: group.uuid, pending_learner_email: email })))
      // No conflict target: the (group, lower(email)) unique index is an expression index.
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  return { records_processed: unique.length, new_learners: pending.length, existing_learners: users.length };
}

/**
 * `remove_learners`: deletes the memberships of these emails (pending or real), or all of the
 * group's with `'all'`. The learners stay linked to the customer. Returns the rows deleted.
 * Call inside a transaction.
 */
export async function removeLearners(db: LmsDb, group: GroupRow, emails: string[] | 'all'): Promise<number> {
  let q = db.deleteFrom('enterprise_group_memberships').where('group_uuid', '=', group.uuid);
  if (emails !== 'all') {
    const lowered = distinctEmails(emails).map((e) => e.toLowerCase());
    await lockEmails(db, lowered);
    q = q.where((eb) =>
      eb.or([
        eb(eb.fn('lower', ['pending_learner_email']), 'in', lowered),
        eb(
          'enterprise_customer_user',
          'in',
          eb
            .selectFrom('enterprise_customer_users as ecu')
            .innerJoin('users as u', 'u.id', 'ecu.user_id')
            .select('ecu.id')
            .where('ecu.enterprise_customer', '=', group.enterprise_customer)
            .where((inner) => inner(inner.fn('lower', ['u.email']), 'in', lowered)),
        ),
      ]),
    );
  }
  const result = await q.executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A group's members, pending ones included; filter, then select MEMBER_COLUMNS. */
export const memberQuery = (db: LmsDb, groupUuid: string) =>
  db
    .selectFrom('enterprise_group_memberships as m')
    .leftJoin('enterprise_customer_users as ecu', 'ecu.id', 'm.enterprise_customer_user')
    .leftJoin('users as u', 'u.id', 'ecu.user_id')
    .where('m.group_uuid', '=', groupUuid);

export const MEMBER_COLUMNS = [
  'm.uuid',
  'm.enterprise_customer_user',
  'm.pending_learner_email',
  'm.created',
  'ecu.user_id',
  'u.email',
  'u.username',
] as const;

/** Upstream's EnterpriseGroupMembershipSerializer, less what needs data kept elsewhere (names, enrollments). */
export const memberView = (m: {
  uuid: string;
  enterprise_customer_user: number | null;
  pending_learner_email: string | null;
  created: Date;
  user_id: number | null;
  email: string | null;
  username: string | null;
}) => {
  const status: MembershipStatus = m.enterprise_customer_user === null ? 'pending' : 'accepted';
  return {
    enterprise_group_membership_uuid: m.uuid,
    lms_user_id: m.user_id,
    enterprise_customer_user_id: m.enterprise_customer_user,
    member_details: { user_email: m.email ?? m.pending_learner_email ?? '', user_name: m.username },
    status,
    created: iso(m.created),
  };
};

/**
 * Registration hook (with `promotePendingAdmins`): the new user's pending memberships become real
 * ones, linking the user to each group's customer. The membership keeps its uuid. Call inside the
 * transaction that creates the user, after `lockEmails` for its email. Returns the groups joined.
 */
export async function activatePendingMemberships(db: LmsDb, user: Pick<UserRow, 'id' | 'email'>): Promise<string[]> {
  const pending = await db
    .selectFrom('enterprise_group_memberships as m')
    .innerJoin('enterprise_groups as g', 'g.uuid', 'm.group_uuid')
    .select(['m.uuid', 'm.group_uuid', 'g.enterprise_customer'])
    .where((eb) => eb(eb.fn('lower', ['m.pending_learner_email']), '=', user.email.toLowerCase()))
    .orderBy('m.created')
    .execute();
  for (const customer of new Set(pending.map((p) => p.enterprise_customer))) {
    const ecu = (await linkUsers(db, customer, [user.id])).get(user.id) as number;
    // The (group, member) key cannot clash: the user is new, so no real membership exists yet.
    await db
      .updateTable('enterprise_group_memberships')
      .set({ enterprise_customer_user: ecu, pending_learner_email: null })
      .where(
        'uuid',
        'in',
        pending.filter((p) => p.enterprise_customer === customer).map((p) => p.uuid),
      )
      .execute();
  }
  return pending.map((p) => p.group_uuid);
}
