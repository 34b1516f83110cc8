import type { EnrollmentRow, EnrollmentSource } from './schema';
import { iso, type LmsDb } from './store';

/** Queries of enterprise course enrollments. */

/** Enrollments joined to their learner link; filter, then `selectAll('e')` and LINK_COLUMNS. */
export const enrollmentQuery = (db: LmsDb) =>
  db
    .selectFrom('enterprise_course_enrollments as e')
    .innerJoin('enterprise_customer_users as ecu', 'ecu.id', 'e.enterprise_customer_user');

export const LINK_COLUMNS = ['ecu.enterprise_customer', 'ecu.user_id'] as const;

export type EnrollmentWithLink = EnrollmentRow & { enterprise_customer: string; user_id: number };

export const enrollmentView = (e: EnrollmentWithLink) => ({
  uuid: e.uuid,
  enterprise_customer_uuid: e.enterprise_customer,
  lms_user_id: e.user_id,
  course_run_key: e.course_id,
  source: e.source,
  transaction_id: e.transaction_id,
  license_uuid: e.license_uuid,
  is_active: e.is_active,
  created: iso(e.created),
  modified: iso(e.modified),
  unenrolled_at: e.unenrolled_at === null ? null : iso(e.unenrolled_at),
});
export type EnrollmentView = ReturnType<typeof enrollmentView>;

export const enrollmentByUuid = (db: LmsDb, uuid: string) =>
  enrollmentQuery(db).selectAll('e').select(LINK_COLUMNS).where('e.uuid', '=', uuid).executeTakeFirst();

export interface EnrollmentRequest {
  link: { id: number; enterprise_customer: string; user_id: number };
  courseRunKey: string;
  source: EnrollmentSource;
  transactionId: string | null;
  licenseUuid: string | null;
}

/**
 * Get-or-create by (learner link, course run), one statement per step so that concurrent twins
 * need no transaction: the insert that wins the unique key is the one 201; the others find it.
 * An inactive enrollment is re-activated and takes the new subsidy (a learner who unenrolled and
 * redeems again is paid for by the new transaction). An active one is answered as it is, even if
 * the request names another transaction: the caller sees the transaction that paid for it.
 */
export async function getOrCreateEnrollment(
  db: LmsDb,
  req: EnrollmentRequest,
): Promise<{ enrollment: EnrollmentView; outcome: 'created' | 'reactivated' | 'existing' }> {
  const { link } = req;
  const withLink = (row: EnrollmentRow) =>
    enrollmentView({ ...row, enterprise_customer: link.enterprise_customer, user_id: link.user_id });
  const subsidy = { source: req.source, transaction_id: req.transactionId, license_uuid: req.licenseUuid };

  const inserted = await db
    .insertInto('enterprise_course_enrollments')
    .values({ enterprise_customer_user: link.id, course_id: req.courseRunKey, ...subsidy })
    .onConflict((oc) => oc.columns(['enterprise_customer_user', 'course_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { enrollment: withLink(inserted), outcome: 'created' };

  const reactivated = await db
    .updateTable('enterprise_course_enrollments')
    .set((eb) => ({ ...subsidy, is_active: true, unenrolled_at: null, modified: eb.fn('now') }))
    .where('enterprise_customer_user', '=', link.id)
    .where('course_id', '=', req.courseRunKey)
    .where('is_active', '=', false)
    .returningAll()
    .executeTakeFirst();
  if (reactivated) return { enrollment: withLink(reactivated), outcome: 'reactivated' };

  const existing = await db
    .selectFrom('enterprise_course_enrollments')
    .selectAll()
    .where('enterprise_customer_user', '=', link.id)
    .where('course_id', '=', req.courseRunKey)
    .executeTakeFirstOrThrow();
  return { enrollment: withLink(existing), outcome: 'existing' };
}

/** Marks an enrollment inactive; a second call changes nothing (the first unenrolled_at stays). */
export async function unenroll(db: LmsDb, uuid: string): Promise<EnrollmentView | undefined> {
  await db
    .updateTable('enterprise_course_enrollments')
    .set((eb) => ({ is_active: false, unenrolled_at: eb.fn('now'), modified: eb.fn('now') }))
    .where('uuid', '=', uuid)
    .where('is_active', '=', true)
    .execute();
  const row = await enrollmentByUuid(db, uuid);
  return row && enrollmentView(row);
}
