import type { UserRow } from './schema';
import type { LmsDb } from './store';
import { linkUsers } from './store';

/**
 * Pending enterprise learners (PendingEnterpriseCustomerUser): emails linked to a customer before
 * their account exists, with the enrollments made for them meanwhile. Registration turns them into
 * real links and enrollments. Writers call these inside a transaction, after `lockEmails` for the
 * emails, so that a registration cannot miss a pending row committed just after it looked.
 */

/**
 * Get-or-create of pending learners for `emails` (each once, case-insensitively) and `customer`;
 * returns each lower-cased email's pending learner id and which emails are new. Two statements
 * whatever the number of emails.
 */
export async function getOrCreatePendingLearners(
  db: LmsDb,
  customer: string,
  emails: string[],
): Promise<{ ids: Map<string, number>; created: Set<string> }> {
  const first = new Map<string, string>();
  for (const e of emails) if (!first.has(e.toLowerCase())) first.set(e.toLowerCase(), e);
  if (first.size === 0) return { ids: new Map(), created: new Set() };
  // Sorted, so that two overlapping batches wait for each other instead of deadlocking.
  const keys = [...first.keys()].sort();
  const inserted = await db
    .insertInto('pending_enterprise_customer_users')
    .values(keys.map((k) => ({ enterprise_customer: customer, user_email: first.get(k) as string })))
    // No conflict target: the (customer, lower(email)) unique index is an expression index.
    .onConflict((oc) => oc.doNothing())
    .returning('user_email')
    .execute();
  const rows = await db
    .selectFrom('pending_enterprise_customer_users')
    .select(['id', 'user_email'])
    .where('enterprise_customer', '=', customer)
    .where((eb) => eb(eb.fn('lower', ['user_email']), 'in', keys))
    .execute();
  return {
    ids: new Map(rows.map((r) => [r.user_email.toLowerCase(), r.id])),
    created: new Set(inserted.map((r) => r.user_email.toLowerCase())),
  };
}

/**
 * Registration hook (upstream: edx-enterprise's User post_save handler), with
 * `promotePendingAdmins` and `activatePendingMemberships`: each pending learner of the new user's
 * email becomes a link to its customer, its pending enrollments become enterprise enrollments
 * (source `enrollment_url`, under the license or transaction they were made with), and the pending
 * rows go. Call inside the transaction that creates the user, after `lockEmails` for its email.
 * Returns the customers joined.
 */
export async function fulfillPendingLearners(db: LmsDb, user: Pick<UserRow, 'id' | 'email'>): Promise<string[]> {
  const pending = await db
    .selectFrom('pending_enterprise_customer_users')
    .select(['id', 'enterprise_customer'])
    .where((eb) => eb(eb.fn('lower', ['user_email']), '=', user.email.toLowerCase()))
    .orderBy('id')
    .forUpdate()
    .execute();
  if (pending.length === 0) return [];
  for (const p of pending) await linkUsers(db, p.enterprise_customer, [user.id]);
  // One statement for every pending enrollment of every customer. The user is new, so no
  // enrollment of theirs can exist yet; the conflict clause only keeps the statement total.
  await db
    .insertInto('enterprise_course_enrollments')
    .columns(['enterprise_customer_user', 'course_id', 'source', 'license_uuid', 'transaction_id'])
    .expression((eb) =>
      eb
        .selectFrom('pending_enrollments as pe')
        .innerJoin('pending_enterprise_customer_users as pu', 'pu.id', 'pe.pending_user')
        .innerJoin('enterprise_customer_users as ecu', (j) =>
          j.onRef('ecu.enterprise_customer', '=', 'pu.enterprise_customer').on('ecu.user_id', '=', user.id),
        )
        .select([
          'ecu.id',
          'pe.course_id',
          eb.val('enrollment_url').as('source'),
          'pe.license_uuid',
          'pe.transaction_id',
        ])
        .where(
          'pu.id',
          'in',
          pending.map((p) => p.id),
        )
        .orderBy('pe.id'),
    )
    .onConflict((oc) => oc.columns(['enterprise_customer_user', 'course_id']).doNothing())
    .execute();
  // Its pending enrollments go with it (on delete cascade).
  await db
    .deleteFrom('pending_enterprise_customer_users')
    .where(
      'id',
      'in',
      pending.map((p) => p.id),
    )
    .execute();
  return pending.map((p) => p.enterprise_customer);
}
