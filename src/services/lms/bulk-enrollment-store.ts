import { sql } from 'kysely';
import { inColumn } from '../../lib/drf/fields';
import type { BulkEnrollmentRequest, Subsidy } from './bulk-enrollment-request';
import {
  type BulkEnrollmentResponse,
  bucketOutcomes,
  emailKey,
  newlyEnrolledByCourse,
  type Outcome,
  type PairState,
  resolveTargets,
  sameSubsidy,
  settlePair,
  stateAfter,
  type Target,
} from './bulk-enrollment-rules';
import { getOrCreatePendingLearners } from './pending-learner-store';
import type { EnrollmentSource } from './schema';
import { type LmsDb, linkActiveUsers, lockEmails, usersByEmails } from './store';

/**
 * `enroll_learners_in_courses` against the database, set-based: a fixed number of statements
 * whatever the number of (learner, course) pairs, so a 25 × 25 chunk is one short transaction.
 *
 * Upstream is best effort, item by item, without a transaction. Here the whole call is one
 * transaction whose per-item failures are decided by rules (`bulk-enrollment-rules.ts`), not by
 * database errors, so the best-effort answer is the same while an unexpected fault (a lost
 * connection) leaves nothing half-made, and the retry that follows finds the call not yet done or
 * wholly done. The emails of the call are locked first (as registration and group assignment
 * lock them), so identical or overlapping calls run one after the other: each sees what the
 * previous one committed, and `created` is true for exactly one of them.
 */

/** Upstream records bulk enrollments as made by the customer's admin. */
const BULK_SOURCE: EnrollmentSource = 'customer_admin';

/** An item to enroll, with its owner: a learner link (enrollments) or a pending learner (pending enrollments). */
interface Owned {
  target: Target;
  owner: number;
}

/** The items naming one (owner, course run) pair, in request order (never empty). */
interface Pair<T extends Owned> {
  owner: number;
  course: string;
  items: T[];
}

const pairKey = (owner: number, course: string) => `${owner}\u0000${course}`;
const firstSubsidy = <T extends Owned>(pair: Pair<T>) => (pair.items[0] as T).target.item.subsidy;

/** Items grouped by pair, pairs in order of first appearance. */
function pairsOf<T extends Owned>(targets: readonly T[]): Map<string, Pair<T>> {
  const pairs = new Map<string, Pair<T>>();
  for (const t of targets) {
    const key = pairKey(t.owner, t.target.item.course_run_key);
    const pair = pairs.get(key);
    if (pair) pair.items.push(t);
    else pairs.set(key, { owner: t.owner, course: t.target.item.course_run_key, items: [t] });
  }
  return pairs;
}

/** Pairs in ascending (owner, course) order: two transactions inserting overlapping pairs then cannot deadlock. */
const insertOrder = <T extends Owned>(pairs: Map<string, Pair<T>>) =>
  [...pairs.values()].sort((a, b) => a.owner - b.owner || (a.course < b.course ? -1 : a.course > b.course ? 1 : 0));

/** The owners and courses of `pairs`, for fetching their rows with two scalar IN lists. */
const ownersAndCourses = <T extends Owned>(pairs: Pair<T>[]) => ({
  owners: [...new Set(pairs.map((p) => p.owner))],
  courses: [...new Set(pairs.map((p) => p.course))],
});

/** Each pair's items settled against its state after the call (`settlePair`), turned into outcomes by `make`. */
function settleAll<T extends Owned>(
  pairs: Map<string, Pair<T>>,
  stateOf: ReadonlyMap<string, PairState>,
  make: (t: T, ok: boolean, created: boolean, key: string) => Outcome,
): Map<T, Outcome> {
  const out = new Map<T, Outcome>();
  for (const [key, pair] of pairs) {
    const state = stateOf.get(key);
    if (!state) throw new Error(`pair ${key} was neither inserted nor found`);
    settlePair(
      pair.items.map((t) => t.target.item),
      state,
    ).forEach(({ ok, created }, i) => {
      const t = pair.items[i] as T;
      out.set(t, make(t, ok, created, key));
    });
  }
  return out;
}

/**
 * `(values (...), ...) as alias(columns)`, each value cast to its column's type (a bare parameter
 * in VALUES would be text, and `uuid = text` has no operator), to join an UPDATE to per-row values.
 */
function valuesTable<R extends Record<string, unknown>, A extends string>(
  alias: A,
  types: { [K in keyof R]: string },
  rows: R[],
) {
  const columns = Object.keys(types) as Array<keyof R & string>;
  const tuples = rows.map((r) => sql`(${sql.join(columns.map((c) => sql`cast(${r[c]} as ${sql.raw(types[c])})`))})`);
  return sql<R>`(values ${sql.join(tuples)})`.as<A>(
    sql`${sql.ref(alias)}(${sql.join(columns.map((c) => sql.ref(c)))})`,
  );
}

interface LinkedTarget extends Owned {
  userId: number;
}

/**
 * Get-or-create of the enterprise enrollments of linked learners (owner: the learner link), in
 * at most three statements: insert every pair's first item; lock the rows of the pairs that
 * already existed; re-activate them or attach a subsidy where `decideExisting` says so. Then each
 * item is settled against its pair's resulting state.
 *
 * The existing rows are fetched as "these learners × these courses" (a chunk's pairs are exactly
 * that product) with two scalar IN lists rather than `(a, b) in ((...), ...)`: PGlite answers that
 * with no rows at all from about 300 tuples on. Rows of pairs not asked for are locked too; they
 * belong to the same learners, whose emails the call holds locked anyway.
 */
async function enrollLinked(db: LmsDb, targets: LinkedTarget[]): Promise<Map<LinkedTarget, Outcome>> {
  if (targets.length === 0) return new Map();
  const pairs = pairsOf(targets);
  const inserted = await db
    .insertInto('enterprise_course_enrollments')
    .values(
      insertOrder(pairs).map((p) => ({
        enterprise_customer_user: p.owner,
        course_id: p.course,
        source: BULK_SOURCE,
        ...firstSubsidy(p),
      })),
    )
    .onConflict((oc) => oc.columns(['enterprise_customer_user', 'course_id']).doNothing())
    .returning(['uuid', 'enterprise_customer_user', 'course_id'])
    .execute();

  const uuidOf = new Map<string, string>();
  const stateOf = new Map<string, PairState>();
  for (const r of inserted) {
    const key = pairKey(r.enterprise_customer_user, r.course_id);
    uuidOf.set(key, r.uuid);
    stateOf.set(key, { subsidy: firstSubsidy(pairs.get(key) as Pair<LinkedTarget>), createdHere: true });
  }

  const existing = [...pairs].filter(([key]) => !uuidOf.has(key)).map(([, p]) => p);
  if (existing.length > 0) {
    const { owners, courses } = ownersAndCourses(existing);
    const rows = await db
      .selectFrom('enterprise_course_enrollments')
      .select(['uuid', 'enterprise_customer_user', 'course_id', 'is_active', 'license_uuid', 'transaction_id'])
      .where('enterprise_customer_user', 'in', owners)
      .where('course_id', 'in', courses)
      .orderBy('uuid')
      .forUpdate()
      .execute();
    const updates: Array<Subsidy & { uuid: string; reactivate: boolean }> = [];
    for (const row of rows) {
      const key = pairKey(row.enterprise_customer_user, row.course_id);
      const pair = pairs.get(key);
      if (!pair || uuidOf.has(key)) continue;
      const state = stateAfter(row, firstSubsidy(pair));
      uuidOf.set(key, row.uuid);
      stateOf.set(key, state);
      if (!row.is_active || !sameSubsidy(row, state.subsidy)) {
        updates.push({ uuid: row.uuid, ...state.subsidy, reactivate: !row.is_active });
      }
    }
    if (updates.length > 0) {
      const v = valuesTable(
        'v',
        { uuid: 'uuid', license_uuid: 'uuid', transaction_id: 'uuid', reactivate: 'boolean' },
        updates,
      );
      await db
        .updateTable('enterprise_course_enrollments as e')
        .from(v)
        .set({
          license_uuid: sql`v.license_uuid`,
          transaction_id: sql`v.transaction_id`,
          is_active: true,
          unenrolled_at: null,
          // A re-activated enrollment is the bulk call's; an attached subsidy leaves its origin alone.
          source: sql`case when v.reactivate then ${BULK_SOURCE} else e.source end`,
          modified: sql`now()`,
        })
        .where(sql<boolean>`e.uuid = v.uuid`)
        .execute();
    }
  }

  return settleAll(pairs, stateOf, ({ target, userId }, ok, created, key) => {
    const base = { user_id: userId, email: target.email, course_run_key: target.item.course_run_key };
    if (!ok) return { kind: 'failure', ...base };
    const uuid = uuidOf.get(key) as string;
    return { kind: 'success', ...base, created, activation_link: null, enterprise_fulfillment_source_uuid: uuid };
  });
}

/**
 * Get-or-create of pending enrollments (owner: the pending learner), keyed as upstream by
 * (pending learner, course run): the same subsidy again is the same pending enrollment (its
 * discount updated, as upstream's update_or_create does); another subsidy for the same course is
 * a failure. Fetched and locked as in `enrollLinked`.
 */
async function enrollPending(db: LmsDb, targets: Owned[], discount: string): Promise<Map<Owned, Outcome>> {
  if (targets.length === 0) return new Map();
  const pairs = pairsOf(targets);
  const inserted = await db
    .insertInto('pending_enrollments')
    .values(
      insertOrder(pairs).map((p) => ({
        pending_user: p.owner,
        course_id: p.course,
        source: BULK_SOURCE,
        discount_percentage: discount,
        ...firstSubsidy(p),
      })),
    )
    .onConflict((oc) => oc.columns(['pending_user', 'course_id']).doNothing())
    .returning(['pending_user', 'course_id'])
    .execute();

  const stateOf = new Map<string, PairState>();
  for (const r of inserted) {
    const key = pairKey(r.pending_user, r.course_id);
    stateOf.set(key, { subsidy: firstSubsidy(pairs.get(key) as Pair<Owned>), createdHere: true });
  }
  const existing = [...pairs].filter(([key]) => !stateOf.has(key)).map(([, p]) => p);
  if (existing.length > 0) {
    const { owners, courses } = ownersAndCourses(existing);
    const rows = await db
      .selectFrom('pending_enrollments')
      .select(['id', 'pending_user', 'course_id', 'license_uuid', 'transaction_id'])
      .where('pending_user', 'in', owners)
      .where('course_id', 'in', courses)
      .orderBy('id')
      .forUpdate()
      .execute();
    const repeated: number[] = [];
    for (const row of rows) {
      const key = pairKey(row.pending_user, row.course_id);
      const pair = pairs.get(key);
      if (!pair || stateOf.has(key)) continue;
      const subsidy = { license_uuid: row.license_uuid, transaction_id: row.transaction_id };
      stateOf.set(key, { subsidy, createdHere: false });
      if (sameSubsidy(subsidy, firstSubsidy(pair))) repeated.push(row.id);
    }
    if (repeated.length > 0) {
      await db
        .updateTable('pending_enrollments')
        .set({ discount_percentage: discount, modified: sql`now()` })
        .where('id', 'in', repeated)
        .execute();
    }
  }

  return settleAll(pairs, stateOf, ({ target }, ok, created) => {
    const course_run_key = target.item.course_run_key;
    return ok
      ? { kind: 'pending', email: target.email, course_run_key, created, activation_link: null }
      : { kind: 'failure', user_id: null, email: target.email, course_run_key };
  });
}

/**
 * §7.3 for one customer (already found active): resolve, lock, link every valid email (users to
 * links, the rest to pending learners, whether or not their enrollments succeed), enroll, and
 * queue the notifications `notify` asks for. Answers in request order.
 */
export async function bulkEnroll(
  db: LmsDb,
  customer: string,
  req: BulkEnrollmentRequest,
): Promise<BulkEnrollmentResponse> {
  return db.transaction().execute(async (trx) => {
    // Ids beyond `integer` cannot exist (and must not reach Postgres as int parameters).
    const ids = [...new Set(req.items.flatMap((i) => (i.user_id === undefined ? [] : [i.user_id])))].filter((id) =>
      inColumn('integer', id, { min: 1 }),
    );
    const byId =
      ids.length === 0 ? [] : await trx.selectFrom('users').select(['id', 'email']).where('id', 'in', ids).execute();
    const { invalidUserIds, invalidEmails, linkEmails, targets } = resolveTargets(
      req.items,
      new Map(byId.map((u) => [u.id, u])),
    );

    await lockEmails(trx, linkEmails);
    const users = await usersByEmails(trx, linkEmails);
    const userByEmail = new Map(users.map((u) => [emailKey(u.email), u]));
    const { ids: links } = await linkActiveUsers(
      trx,
      customer,
      users.map((u) => u.id),
    );
    const pendingLearners = await getOrCreatePendingLearners(
      trx,
      customer,
      linkEmails.filter((e) => !userByEmail.has(emailKey(e))),
    );

    const direct = new Map<Target, Outcome>();
    const linked: LinkedTarget[] = [];
    const pending: Owned[] = [];
    for (const target of targets) {
      const { item } = target;
      if (target.mismatch) {
        const email = item.email ?? null;
        direct.set(target, { kind: 'failure', user_id: target.userId, email, course_run_key: item.course_run_key });
        continue;
      }
      const userId = target.userId ?? userByEmail.get(emailKey(target.email))?.id;
      const ecu = userId === undefined ? undefined : links.get(userId);
      if (userId !== undefined && ecu !== undefined) linked.push({ target, owner: ecu, userId });
      else {
        const pendingUser = pendingLearners.ids.get(emailKey(target.email));
        if (pendingUser === undefined) throw new Error(`no pending learner for ${target.email}`);
        pending.push({ target, owner: pendingUser });
      }
    }
    const linkedOutcomes = await enrollLinked(trx, linked);
    const pendingOutcomes = await enrollPending(trx, pending, req.discount);
    for (const l of linked) direct.set(l.target, linkedOutcomes.get(l) as Outcome);
    for (const p of pending) direct.set(p.target, pendingOutcomes.get(p) as Outcome);

    const res = bucketOutcomes(
      targets.map((t) => direct.get(t) as Outcome),
      invalidEmails,
      invalidUserIds,
    );
    if (req.notify) await queueNotifications(trx, customer, res);
    return res;
  });
}

/** One admin-enrollment notification per course, naming the learners this call newly enrolled. */
async function queueNotifications(db: LmsDb, customer: string, res: BulkEnrollmentResponse) {
  const byCourse = newlyEnrolledByCourse(res);
  if (byCourse.size === 0) return;
  await db
    .insertInto('enrollment_notifications')
    .values(
      [...byCourse].map(([course, learners]) => ({
        enterprise_customer: customer,
        course_id: course,
        // Through text: a jsonb-typed parameter would be JSON-encoded a second time by PGlite.
        learners: sql<string>`cast(cast(${JSON.stringify(learners)} as text) as jsonb)`,
      })),
    )
    .execute();
}
