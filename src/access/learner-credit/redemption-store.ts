/**
 * The orchestrator's redemption records: attempt rows (ADR 0020) and reservations against the
 * local aggregates (ADR 0021). Every write here is one database transaction; the check-and-
 * reserve step is the only one that serializes redemptions of a policy, by locking that
 * policy's aggregate row for the few milliseconds of the check (no network call inside).
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import { countRows } from '../../lib/drf/pagination';
import type { AccessDB } from '../schema';
import { evaluateCanRedeem, redeemFactsOf } from './can-redeem';
import { findPolicy, type Policy, policyFacts } from './policy-store';
import { REASON } from './reasons';
import type {
  AttemptRef,
  FinishInput,
  PolicySnapshot,
  ReconcileInput,
  ReserveInput,
  ReserveResult,
  StartAttemptInput,
  StartAttemptResult,
} from './redemption-contract';

type Db = Kysely<AccessDB>;
type Tx = Transaction<AccessDB>;

export function policySnapshot(p: Policy): PolicySnapshot {
  return {
    uuid: p.uuid,
    policy_type: p.policy_type,
    enterprise_customer_uuid: p.enterprise_customer_uuid,
    subsidy_uuid: p.subsidy_uuid,
    catalog_uuid: p.catalog_uuid,
    active: p.active,
    retired: p.retired,
    spend_limit: p.spend_limit === null ? null : Number(p.spend_limit),
    per_learner_spend_limit: p.per_learner_spend_limit === null ? null : Number(p.per_learner_spend_limit),
    per_learner_enrollment_limit: p.per_learner_enrollment_limit,
    late_redemption_allowed_until: p.late_redemption_allowed_until?.toISOString() ?? null,
    group_uuids: p.group_uuids,
    modified: p.modified.toISOString(),
  };
}

/** Writes the attempt row (once per workflow run; a retried step finds its own row). */
export async function startAttempt(db: Db, input: StartAttemptInput): Promise<StartAttemptResult> {
  const policy = await findPolicy(db, input.policy_uuid);
  const snapshot = policy ? policySnapshot(policy) : null;
  await db
    .insertInto('redemption_attempts')
    .values({
      uuid: crypto.randomUUID(),
      workflow_id: input.workflow_id,
      run_id: input.run_id,
      policy_uuid: input.policy_uuid,
      enterprise_customer_uuid: policy?.enterprise_customer_uuid ?? null,
      lms_user_id: input.lms_user_id,
      content_key: input.content_key,
      assignment_uuid: input.assignment_uuid ?? null,
      request_uuid: input.request_uuid ?? null,
      requested_by: input.requested_by ?? null,
      policy_state: snapshot ? JSON.stringify(snapshot) : null,
      outcome: 'started',
    })
    .onConflict((oc) => oc.columns(['workflow_id', 'run_id']).doNothing())
    .execute();
  const row = await attemptRow(db, input);
  return { attempt_uuid: row.uuid, policy: snapshot };
}

const attemptRow = (db: Db | Tx, ref: AttemptRef) =>
  db
    .selectFrom('redemption_attempts')
    .select(['uuid', 'outcome'])
    .where('workflow_id', '=', ref.workflow_id)
    .where('run_id', '=', ref.run_id)
    .executeTakeFirstOrThrow();

/** Locks (creating if needed) the policy's aggregate row, then the learner's. Always in that order. */
async function lockAggregates(trx: Tx, policyUuid: string, lmsUserId: number) {
  await trx
    .insertInto('policy_spend')
    .values({ policy_uuid: policyUuid, spent_cents: 0, redemptions: 0 })
    .onConflict((oc) => oc.column('policy_uuid').doNothing())
    .execute();
  const policy = await trx
    .selectFrom('policy_spend')
    .select(['spent_cents', 'redemptions'])
    .where('policy_uuid', '=', policyUuid)
    .forUpdate()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('policy_learner_spend')
    .values({ policy_uuid: policyUuid, lms_user_id: lmsUserId, spent_cents: 0, redemptions: 0 })
    .onConflict((oc) => oc.columns(['policy_uuid', 'lms_user_id']).doNothing())
    .execute();
  const learner = await trx
    .selectFrom('policy_learner_spend')
    .select(['spent_cents', 'redemptions'])
    .where('policy_uuid', '=', policyUuid)
    .where('lms_user_id', '=', lmsUserId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return {
    policySpent: Number(policy.spent_cents),
    learnerSpent: Number(learner.spent_cents),
    learnerRedemptions: learner.redemptions,
  };
}

/** Adds (or, with negative numbers, removes) an amount and a count on both aggregate rows. */
async function adjustAggregates(trx: Tx, policyUuid: string, lmsUserId: number, cents: number, count: number) {
  const now = new Date();
  await trx
    .updateTable('policy_spend')
    .set({
      spent_cents: sql`spent_cents + ${cents}`,
      redemptions: sql`redemptions + ${count}`,
      modified: now,
    })
    .where('policy_uuid', '=', policyUuid)
    .execute();
  await trx
    .updateTable('policy_learner_spend')
    .set({
      spent_cents: sql`spent_cents + ${cents}`,
      redemptions: sql`redemptions + ${count}`,
      modified: now,
    })
    .where('policy_uuid', '=', policyUuid)
    .where('lms_user_id', '=', lmsUserId)
    .execute();
}

/**
 * Marks committed reservations whose ledger transactions were reversed, and gives their amount
 * back to the aggregates. Caller holds the policy's aggregate lock.
 */
async function applyReversals(trx: Tx, policyUuid: string, txUuids: readonly string[]): Promise<number> {
  if (txUuids.length === 0) return 0;
  const reversed = await trx
    .updateTable('redemption_reservations')
    .set({ state: 'reversed', modified: new Date() })
    .where('policy_uuid', '=', policyUuid)
    .where('state', '=', 'committed')
    .where('transaction_uuid', 'in', [...txUuids])
    .returning(['lms_user_id', 'price_cents'])
    .execute();
  for (const r of reversed) {
    await trx
      .insertInto('policy_learner_spend')
      .values({ policy_uuid: policyUuid, lms_user_id: Number(r.lms_user_id), spent_cents: 0, redemptions: 0 })
      .onConflict((oc) => oc.columns(['policy_uuid', 'lms_user_id']).doNothing())
      .execute();
    await adjustAggregates(trx, policyUuid, Number(r.lms_user_id), -Number(r.price_cents), -1);
  }
  return reversed.length;
}

/**
 * Check and reserve, under the policy's aggregate lock: the can_redeem rules with the spend
 * counted so far (reservations included, reversals netted), then the reservation itself. A key
 * that already holds a reservation returns it unchanged (a retried step, a repeated request).
 */
export async function reserve(db: Db, input: ReserveInput, now = new Date()): Promise<ReserveResult> {
  return db.transaction().execute(async (trx) => {
    const policy = await findPolicy(trx, input.policy_uuid);
    const reject = async (reason: ReserveResult & { outcome: 'rejected' }) => {
      await trx
        .updateTable('redemption_attempts')
        .set({ can_redeem: false, reason: reason.reason, idempotency_key: input.idempotency_key })
        .where('workflow_id', '=', input.workflow_id)
        .where('run_id', '=', input.run_id)
        .execute();
      return reason;
    };
    if (!policy) return reject({ outcome: 'rejected', reason: REASON.POLICY_EXPIRED });

    const totals = await lockAggregates(trx, policy.uuid, input.lms_user_id);
    if (await applyReversals(trx, policy.uuid, input.reversed_transaction_uuids)) {
      Object.assign(totals, await lockAggregates(trx, policy.uuid, input.lms_user_id));
    }

    const held = await trx
      .selectFrom('redemption_reservations')
      .selectAll()
      .where('idempotency_key', '=', input.idempotency_key)
      .executeTakeFirst();
    const markChecked = (price: number) =>
      trx
        .updateTable('redemption_attempts')
        .set({ can_redeem: true, reason: null, idempotency_key: input.idempotency_key, price_cents: price })
        .where('workflow_id', '=', input.workflow_id)
        .where('run_id', '=', input.run_id)
        .execute();
    if (held && (held.state === 'reserved' || held.state === 'committed')) {
      await markChecked(Number(held.price_cents));
      return {
        outcome: 'reserved',
        price_cents: Number(held.price_cents),
        existing: true,
        state: held.state,
        transaction_uuid: held.transaction_uuid,
      };
    }

    const verdict = evaluateCanRedeem(
      redeemFactsOf(now, policyFacts(policy), input.facts, {
        policySpent: -totals.policySpent,
        learnerSpent: -totals.learnerSpent,
        learnerRedemptions: totals.learnerRedemptions,
      }),
    );
    if (!verdict.canRedeem) return reject({ outcome: 'rejected', reason: verdict.reason });
    const price = input.facts.content?.priceCents ?? 0;

    if (held) {
      // Released or reversed before under the same key (e.g. the ledger refused it): hold it again.
      await trx
        .updateTable('redemption_reservations')
        .set({ state: 'reserved', price_cents: price, transaction_uuid: null, modified: new Date() })
        .where('uuid', '=', held.uuid)
        .execute();
    } else {
      await trx
        .insertInto('redemption_reservations')
        .values({
          uuid: crypto.randomUUID(),
          idempotency_key: input.idempotency_key,
          policy_uuid: policy.uuid,
          lms_user_id: input.lms_user_id,
          content_key: input.content_key,
          price_cents: price,
          state: 'reserved',
          modified: new Date(),
        })
        .execute();
    }
    await adjustAggregates(trx, policy.uuid, input.lms_user_id, price, 1);
    await markChecked(price);
    return { outcome: 'reserved', price_cents: price, existing: false, state: 'reserved', transaction_uuid: null };
  });
}

/**
 * Ends an attempt: on success the reservation becomes committed (corrected to what the ledger
 * charged); on failure, or when the ledger already held the content, it is released. Idempotent:
 * a finished attempt is not finished again.
 */
export async function finishAttempt(db: Db, input: FinishInput): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const held = input.idempotency_key
      ? await trx
          .selectFrom('redemption_reservations')
          .selectAll()
          .where('idempotency_key', '=', input.idempotency_key)
          .executeTakeFirst()
      : undefined;
    if (held && held.state === 'reserved') {
      const user = Number(held.lms_user_id);
      await lockAggregates(trx, held.policy_uuid, user);
      const release = input.outcome !== 'redeemed' || input.already_redeemed === true;
      if (release) {
        await trx
          .updateTable('redemption_reservations')
          .set({ state: 'released', modified: new Date() })
          .where('uuid', '=', held.uuid)
          .execute();
        await adjustAggregates(trx, held.policy_uuid, user, -Number(held.price_cents), -1);
      } else {
        const charged = input.price_cents ?? Number(held.price_cents);
        await trx
          .updateTable('redemption_reservations')
          .set({
            state: 'committed',
            transaction_uuid: input.transaction_uuid ?? null,
            price_cents: charged,
            modified: new Date(),
          })
          .where('uuid', '=', held.uuid)
          .execute();
        if (charged !== Number(held.price_cents)) {
          await adjustAggregates(trx, held.policy_uuid, user, charged - Number(held.price_cents), 0);
        }
      }
    }
    await trx
      .updateTable('redemption_attempts')
      .set({
        outcome: input.outcome,
        transaction_uuid: input.transaction_uuid ?? null,
        fulfillment_identifier: input.fulfillment_identifier ?? null,
        ...(input.price_cents === undefined || input.price_cents === null ? {} : { price_cents: input.price_cents }),
        error_code: input.error_code ?? null,
        error_message: input.error_message ?? null,
        completed_at: new Date(),
      })
      .where('workflow_id', '=', input.workflow_id)
      .where('run_id', '=', input.run_id)
      .where('outcome', '=', 'started')
      .execute();
  });
}

/**
 * Gives back the amount of reversed (refunded) transactions of one policy; returns how many. Safe
 * to repeat: only committed reservations turn reversed, and the policy's aggregate row is locked
 * only when there is one to turn (a repeated feed page costs one read, not a lock).
 */
export async function reconcileReversals(db: Db, input: ReconcileInput): Promise<number> {
  if (input.reversed_transaction_uuids.length === 0) return 0;
  const pending = await db
    .selectFrom('redemption_reservations')
    .select('uuid')
    .where('policy_uuid', '=', input.policy_uuid)
    .where('state', '=', 'committed')
    .where('transaction_uuid', 'in', [...input.reversed_transaction_uuids])
    .executeTakeFirst();
  if (!pending) return 0;
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('policy_spend')
      .values({ policy_uuid: input.policy_uuid, spent_cents: 0, redemptions: 0 })
      .onConflict((oc) => oc.column('policy_uuid').doNothing())
      .execute();
    await trx
      .selectFrom('policy_spend')
      .select('policy_uuid')
      .where('policy_uuid', '=', input.policy_uuid)
      .forUpdate()
      .execute();
    return applyReversals(trx, input.policy_uuid, input.reversed_transaction_uuids);
  });
}

/** Applies reversals learnt from the ledger's reversal feed, policy by policy; returns how many were new. */
export async function applyLedgerReversals(
  db: Db,
  reversals: ReadonlyArray<{ transaction_uuid: string; subsidy_access_policy_uuid: string | null }>,
): Promise<number> {
  const byPolicy = new Map<string, string[]>();
  for (const r of reversals) {
    if (!r.subsidy_access_policy_uuid) continue;
    byPolicy.set(r.subsidy_access_policy_uuid, [
      ...(byPolicy.get(r.subsidy_access_policy_uuid) ?? []),
      r.transaction_uuid,
    ]);
  }
  let applied = 0;
  for (const [policy, uuids] of byPolicy) {
    applied += await reconcileReversals(db, { policy_uuid: policy, reversed_transaction_uuids: uuids });
  }
  return applied;
}

/**
 * How many times the learner's redemption of this content in this policy has ended without a
 * lasting charge (released after a failure, or reversed): the generation of the next redemption.
 * It names the redemption's workflow, so a repeat of a live redemption joins it and a redemption
 * after a failure or a refund runs anew. Read from the orchestrator's own records only.
 */
export async function redemptionGeneration(db: Db, policyUuid: string, lmsUserId: number, contentKey: string) {
  const row = await db
    .selectFrom('redemption_reservations')
    .select(sql<number>`count(*)::integer`.as('n'))
    .where('policy_uuid', '=', policyUuid)
    .where('lms_user_id', '=', lmsUserId)
    .where('content_key', '=', contentKey)
    .where('state', 'in', ['released', 'reversed'])
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// ---- the audit log (GET /api/v1/redemption-attempts) ------------------------------------------

export const ATTEMPT_OUTCOMES = ['started', 'redeemed', 'rejected', 'failed'] as const;

export interface AttemptFilter {
  customerUuid?: string;
  policyUuid?: string;
  lmsUserId?: number;
  contentKey?: string;
  outcome?: (typeof ATTEMPT_OUTCOMES)[number];
  startedAfter?: Date;
  startedBefore?: Date;
}

function filteredAttempts(db: Db, f: AttemptFilter) {
  let q = db.selectFrom('redemption_attempts');
  if (f.customerUuid) q = q.where('enterprise_customer_uuid', '=', f.customerUuid);
  if (f.policyUuid) q = q.where('policy_uuid', '=', f.policyUuid);
  if (f.lmsUserId !== undefined) q = q.where('lms_user_id', '=', f.lmsUserId);
  if (f.contentKey) q = q.where('content_key', '=', f.contentKey);
  if (f.outcome) q = q.where('outcome', '=', f.outcome);
  if (f.startedAfter) q = q.where('started_at', '>=', f.startedAfter);
  if (f.startedBefore) q = q.where('started_at', '<', f.startedBefore);
  return q;
}

export const countAttempts = (db: Db, f: AttemptFilter) => countRows(filteredAttempts(db, f));

/** Newest first. */
export async function listAttempts(db: Db, f: AttemptFilter, limit: number, offset: number) {
  const rows = await filteredAttempts(db, f)
    .selectAll()
    .orderBy('started_at', 'desc')
    .orderBy('uuid')
    .limit(limit)
    .offset(offset)
    .execute();
  return rows.map((r) => ({
    ...r,
    lms_user_id: Number(r.lms_user_id),
    price_cents: r.price_cents === null ? null : Number(r.price_cents),
    started_at: r.started_at.toISOString(),
    completed_at: r.completed_at?.toISOString() ?? null,
  }));
}
