import { type Expression, type SqlBool, sql } from 'kysely';
import { ALLOCATED_STATUSES, TRANSITIONS } from './license-transitions';
import { addUnassignedLicenses, type LicenseCounts, type LmDb } from './store';

/**
 * License queries of the lifecycle routes. Functions that change licenses take the caller's
 * transaction; those that consume or refill a plan's pool expect the plan row to be locked
 * (`lockPlan`), which serializes assign, auto-apply and revoke per plan so pool counts and the
 * revocation counter are exact. The at-most-one-seat-per-email rule does not depend on that
 * lock: the partial unique index `licenses_plan_email_allocated_key` enforces it for every writer.
 */

/** Locks the plan row for the rest of the transaction; returns the fields the rules need. */
export const lockPlan = (trx: LmDb, planUuid: string) =>
  trx
    .selectFrom('subscription_plans')
    .select(['uuid', 'is_revocation_cap_enabled', 'revoke_max_percentage', 'num_revocations_applied'])
    .where('uuid', '=', planUuid)
    .forUpdate()
    .executeTakeFirst();

export async function countLicenses(db: LmDb, planUuid: string): Promise<LicenseCounts> {
  const rows = await db
    .selectFrom('licenses')
    .select(['status', sql<number>`count(*)::integer`.as('n')])
    .where('subscription_plan', '=', planUuid)
    .groupBy('status')
    .execute();
  const counts: LicenseCounts = { unassigned: 0, assigned: 0, activated: 0, revoked: 0 };
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

/** `lower(user_email)`, the form every email comparison uses (emails are matched case-insensitively). */
const lowerEmail = sql<string>`lower(user_email)`;

/** The given (lower-case) emails that already hold an assigned or activated license in the plan. */
export async function allocatedEmails(db: LmDb, planUuid: string, emails: readonly string[]): Promise<Set<string>> {
  if (emails.length === 0) return new Set();
  const rows = await db
    .selectFrom('licenses')
    .select(lowerEmail.as('email'))
    .where('subscription_plan', '=', planUuid)
    .where('status', 'in', ALLOCATED_STATUSES)
    .where(lowerEmail, '=', sql<string>`any(${[...emails]}::text[])`)
    .execute();
  return new Set(rows.map((r) => r.email));
}

/**
 * Assigns one unassigned license to each email in one statement: the licenses are picked and
 * locked (`skip locked`: never wait on a row another writer took), then updated together.
 * Returns fewer rows than emails only if the pool ran short, which the caller checked under
 * the plan lock; a unique violation means another writer seated one of the emails.
 */
export async function assignLicenses(db: LmDb, planUuid: string, emails: readonly string[]) {
  if (emails.length === 0) return [];
  const picked = await db
    .selectFrom('licenses')
    .select('uuid')
    .where('subscription_plan', '=', planUuid)
    .where('status', 'in', TRANSITIONS.assign.from)
    .orderBy('uuid')
    .limit(emails.length)
    .forUpdate()
    .skipLocked()
    .execute();
  const uuids = picked.map((p) => p.uuid);
  const chosen = emails.slice(0, uuids.length);
  // The i-th picked license takes the i-th email, all in one statement: two arrays unnested in
  // lockstep make the (uuid, email) pairs the update joins on.
  const pairs = sql<{ uuid: string; email: string }>`
    (select unnest(${uuids}::uuid[]) as uuid, unnest(${chosen}::text[]) as email)`.as('v');
  const rows = await db
    .updateTable('licenses as l')
    .from(pairs)
    .set((eb) => ({
      status: TRANSITIONS.assign.to,
      user_email: eb.ref('v.email'),
      activation_key: sql<string>`gen_random_uuid()`,
      assigned_date: sql<Date>`now()`,
      last_remind_date: sql<Date>`now()`,
      modified: sql<Date>`now()`,
    }))
    .whereRef('l.uuid', '=', 'v.uuid')
    .where('l.status', 'in', TRANSITIONS.assign.from)
    .returning(['l.uuid', 'l.user_email', 'l.activation_key'])
    .execute();
  // Keep the request's order (the response lists assignments as the emails were given).
  const byEmail = new Map(rows.map((r) => [r.user_email, r]));
  return emails.flatMap((e) => byEmail.get(e) ?? []);
}

/** SubscriptionLicenseSource rows for the assignments that came with a Salesforce id. */
export async function addLicenseSources(db: LmDb, sources: ReadonlyArray<{ license: string; source_id: string }>) {
  if (sources.length === 0) return;
  await db
    .insertInto('license_sources')
    .values([...sources])
    .execute();
}

/** One license for a key in any of the user's active, current plans: the furthest-expiring one. */
export function findLicenseForActivation(db: LmDb, activationKey: string, email: string) {
  return db
    .selectFrom('licenses as l')
    .innerJoin('subscription_plans as p', 'p.uuid', 'l.subscription_plan')
    .selectAll('l')
    .where('l.activation_key', '=', activationKey)
    .where(sql<string>`lower(l.user_email)`, '=', email.toLowerCase())
    .where('p.is_active', '=', true)
    .where('p.start_date', '<=', sql<Date>`now()`)
    .where('p.expiration_date', '>=', sql<Date>`now()`)
    .orderBy('p.expiration_date', 'desc')
    .executeTakeFirst();
}

export const findLicense = (db: LmDb, uuid: string) =>
  db.selectFrom('licenses').selectAll().where('uuid', '=', uuid).executeTakeFirst();

/**
 * Revokes the given licenses in one statement, adds as many fresh unassigned licenses (so the
 * plan keeps its size) and counts `capUses` revocations against the cap. The caller locked the
 * rows (`revocableLicensesOf`), so each is still in a state the state machine lets it leave.
 */
export async function revokeMany(db: LmDb, planUuid: string, licenseUuids: readonly string[], capUses: number) {
  if (licenseUuids.length === 0) return;
  const revoked = await db
    .updateTable('licenses')
    .set({ status: TRANSITIONS.revoke.to, revoked_date: sql<Date>`now()`, modified: sql<Date>`now()` })
    .where('uuid', '=', sql<string>`any(${[...licenseUuids]}::uuid[])`)
    .where('status', 'in', TRANSITIONS.revoke.from)
    .executeTakeFirst();
  if (Number(revoked.numUpdatedRows) !== licenseUuids.length) throw new Error('a locked license changed state');
  await addUnassignedLicenses(db, planUuid, licenseUuids.length);
  if (capUses > 0) {
    await db
      .updateTable('subscription_plans')
      .set({ num_revocations_applied: sql<number>`num_revocations_applied + ${capUses}`, modified: sql<Date>`now()` })
      .where('uuid', '=', planUuid)
      .execute();
  }
}

/** revoke-all: every assigned or activated license of the plan at once, and as many fresh ones. */
export async function revokeAll(db: LmDb, planUuid: string): Promise<number> {
  const revoked = await db
    .updateTable('licenses')
    .set({ status: TRANSITIONS.revoke.to, revoked_date: sql<Date>`now()`, modified: sql<Date>`now()` })
    .where('subscription_plan', '=', planUuid)
    .where('status', 'in', TRANSITIONS.revoke.from)
    .executeTakeFirst();
  const n = Number(revoked.numUpdatedRows);
  await addUnassignedLicenses(db, planUuid, n);
  return n;
}

/**
 * The plan's licenses of `emails` (lower-case) in revocable statuses, for bulk revoke, locked:
 * an activation racing the revocation waits, so the cap is counted on the status revoked.
 */
export const revocableLicensesOf = (db: LmDb, planUuid: string, emails: readonly string[]) =>
  emails.length === 0
    ? Promise.resolve([])
    : db
        .selectFrom('licenses')
        .select(['uuid', 'status', lowerEmail.as('email')])
        .where('subscription_plan', '=', planUuid)
        .where('status', 'in', TRANSITIONS.revoke.from)
        .where(lowerEmail, '=', sql<string>`any(${[...emails]}::text[])`)
        .forUpdate()
        .execute();

/** Assigned licenses of the plan, optionally only those of `emails` (lower-case). */
export function assignedLicenses(db: LmDb, planUuid: string, emails?: readonly string[]) {
  let q = db
    .selectFrom('licenses')
    .select(['uuid', 'user_email', 'activation_key'])
    .where('subscription_plan', '=', planUuid)
    .where('status', '=', 'assigned');
  if (emails) q = q.where(lowerEmail, '=', sql<string>`any(${[...emails]}::text[])`);
  return q.orderBy('user_email').execute();
}

export async function touchRemindDate(db: LmDb, licenseUuids: readonly string[]) {
  if (licenseUuids.length === 0) return;
  await db
    .updateTable('licenses')
    .set({ last_remind_date: sql<Date>`now()`, modified: sql<Date>`now()` })
    .where('uuid', '=', sql<string>`any(${[...licenseUuids]}::uuid[])`)
    .execute();
}

// ---- filters of license lists (spec 5.6) ------------------------------------------------------

export interface LicenseFilters {
  /** Statuses as given (text): an unknown one matches nothing, as upstream's filter does. */
  statuses?: readonly string[];
  /** `active_only`: assigned and activated only. */
  activeOnly?: boolean;
  /** Email substring, case-insensitive. */
  search?: string;
  /** Hide licenses whose email was scrubbed (PII retirement), except unassigned ones. */
  ignoreNullEmails?: boolean;
}

/** The filters as conditions on a query that selects from `licenses as l`. */
export function licenseConditions(f: LicenseFilters): Expression<SqlBool>[] {
  const out: Expression<SqlBool>[] = [];
  if (f.statuses) {
    out.push(f.statuses.length ? sql<SqlBool>`l.status = any(${[...f.statuses]}::text[])` : sql<SqlBool>`false`);
  }
  if (f.activeOnly) out.push(sql<SqlBool>`l.status in ('assigned', 'activated')`);
  // strpos, not LIKE: the search text needs no escaping of % and _.
  if (f.search) out.push(sql<SqlBool>`strpos(lower(l.user_email), ${f.search.toLowerCase()}) > 0`);
  if (f.ignoreNullEmails) out.push(sql<SqlBool>`not (l.user_email is null and l.status <> 'unassigned')`);
  return out;
}

/** DRF OrderingFilter fields of the license lists. */
export const LICENSE_ORDERING_FIELDS = ['user_email', 'status', 'activation_date', 'last_remind_date'] as const;
export type LicenseOrdering = { field: (typeof LICENSE_ORDERING_FIELDS)[number]; desc: boolean };

/** `?ordering=-status,user_email`: unknown fields are ignored, as DRF's OrderingFilter does. */
export function parseOrdering(raw: string | undefined): LicenseOrdering[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((term) => term.trim())
    .flatMap((term) => {
      const field = term.replace(/^-/, '');
      const known = (LICENSE_ORDERING_FIELDS as readonly string[]).includes(field);
      return known ? [{ field: field as LicenseOrdering['field'], desc: term.startsWith('-') }] : [];
    });
}
