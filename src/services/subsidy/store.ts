import { type Kysely, sql, type Transaction } from 'kysely';
import { isCheckViolation, isUniqueViolation } from '../../lib/pg-errors';
import { refuse } from './errors';
import {
  checkReversal,
  checkTransition,
  fitsBalance,
  initialDepositKey,
  ledgerKey,
  transitionDelta,
} from './ledger-rules';
import type {
  AdjustmentRow,
  DepositRow,
  LedgerRow,
  SubsidyDB,
  SubsidyRow,
  TransactionKind,
  TransactionRow,
  TransactionState,
} from './schema';

/**
 * Queries and ledger writes of the subsidy schema. Every write that moves value takes the
 * ledger row lock (`select ... for update`) first, applies the pure rules of ./ledger-rules, and
 * changes `ledgers.balance` in the same DB transaction as the rows it records; the balance CHECK
 * refuses anything that would still take it below zero. Locking the ledger before any of its
 * transactions, everywhere, keeps lock order fixed, so writes cannot deadlock.
 */
export type SubsidyDb = Kysely<SubsidyDB>;
type Trx = Transaction<SubsidyDB>;

/** 23514: a CHECK constraint refused the row, here the ledger balance going below zero. */

/** A subsidy with its ledger. */
export type SubsidyView = SubsidyRow & { ledger_uuid: string; ledger_key: string; balance: number };

/** A transaction with its reversal, if any (one row per transaction). */
export interface TransactionView extends TransactionRow {
  reversal_uuid: string | null;
  reversal_state: string | null;
  reversal_quantity: number | null;
  reversal_idempotency_key: string | null;
  reversal_created: Date | null;
}

const jsonb = (value: unknown) =>
  sql<unknown>`${value === undefined || value === null ? null : JSON.stringify(value)}::jsonb`;

// ---- reads ----------------------------------------------------------------------------------

function selectSubsidies(db: SubsidyDb) {
  return db
    .selectFrom('subsidies as s')
    .innerJoin('ledgers as l', 'l.subsidy_uuid', 's.uuid')
    .selectAll('s')
    .select(['l.uuid as ledger_uuid', 'l.idempotency_key as ledger_key', 'l.balance'])
    .where('s.is_soft_deleted', '=', false);
}

/** A subsidy that is not soft-deleted (soft-deleted ones answer 404, as upstream's default manager hides them). */
export const findSubsidy = (db: SubsidyDb, uuid: string): Promise<SubsidyView | undefined> =>
  selectSubsidies(db).where('s.uuid', '=', uuid).executeTakeFirst();

/** The (not soft-deleted) subsidy a ledger belongs to. */
export const findSubsidyOfLedger = (db: SubsidyDb, ledger: string): Promise<SubsidyView | undefined> =>
  selectSubsidies(db).where('l.uuid', '=', ledger).executeTakeFirst();

/**
 * The subsidy a reference id names (upstream's get-or-create key is `reference_id` alone). Test
 * subsidies (`internal_only`) may share a reference: the customer-facing one wins, then the oldest.
 */
const findSubsidyByReference = (db: SubsidyDb, referenceId: string) =>
  selectSubsidies(db)
    .where('s.reference_id', '=', referenceId)
    .orderBy('s.internal_only')
    .orderBy('s.created')
    .executeTakeFirst();

/** The customer of the subsidy a reference id names, if any (the permission context of a create). */
export const customerOfReference = async (db: SubsidyDb, referenceId: string): Promise<string | undefined> =>
  (await findSubsidyByReference(db, referenceId))?.enterprise_customer_uuid;

export interface SubsidyFilters {
  customer?: string;
  /** The caller's customers: the list shows theirs only. */
  customers?: readonly string[];
  uuid?: string;
  title?: string;
}

/** The subsidy list, filtered (upstream: `enterprise_customer_uuid`, `uuid`, `title`, exact matches). */
export function subsidyList(db: SubsidyDb, filters: SubsidyFilters) {
  let q = db
    .selectFrom('subsidies as s')
    .innerJoin('ledgers as l', 'l.subsidy_uuid', 's.uuid')
    .where('s.is_soft_deleted', '=', false);
  if (filters.customer) q = q.where('s.enterprise_customer_uuid', '=', filters.customer);
  if (filters.customers) q = q.where('s.enterprise_customer_uuid', 'in', [...filters.customers]);
  if (filters.uuid) q = q.where('s.uuid', '=', filters.uuid);
  if (filters.title !== undefined) q = q.where('s.title', '=', filters.title);
  return q;
}

/** Fields the list may be sorted by (`sort_by`, `-` for descending); upstream's default is `uuid`. */
export const SUBSIDY_SORT_FIELDS = [
  'uuid',
  'title',
  'enterprise_customer_uuid',
  'active_datetime',
  'expiration_datetime',
  'starting_balance',
  'reference_id',
  'created',
  'modified',
] as const;
export type SubsidySort = { field: (typeof SUBSIDY_SORT_FIELDS)[number]; descending: boolean };

export const subsidyPage = (
  q: ReturnType<typeof subsidyList>,
  limit: number,
  offset: number,
  sort: SubsidySort = { field: 'uuid', descending: false },
): Promise<SubsidyView[]> =>
  q
    .selectAll('s')
    .select(['l.uuid as ledger_uuid', 'l.idempotency_key as ledger_key', 'l.balance'])
    .orderBy(`s.${sort.field}`, sort.descending ? 'desc' : 'asc')
    .orderBy('s.uuid')
    .limit(limit)
    .offset(offset)
    .execute();

/** Fields PUT/PATCH may change (upstream SubsidyUpdateRequestSerializer). */
export interface SubsidyChanges {
  title?: string | null;
  enterprise_customer_uuid?: string;
  active_datetime?: Date;
  expiration_datetime?: Date;
  unit?: 'usd_cents';
  reference_id?: string | null;
  reference_type?: string;
  internal_only?: boolean;
  revenue_category?: string;
}

/** Applies the changes; undefined when the subsidy is gone. A reference another subsidy holds is a unique violation. */
export async function updateSubsidy(
  db: SubsidyDb,
  uuid: string,
  changes: SubsidyChanges,
): Promise<SubsidyView | undefined> {
  const set = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
  const updated = await db
    .updateTable('subsidies')
    .set({ ...set, modified: sql<Date>`now()` })
    .where('uuid', '=', uuid)
    .where('is_soft_deleted', '=', false)
    .returning('uuid')
    .executeTakeFirst();
  return updated ? findSubsidy(db, uuid) : undefined;
}

/** Soft delete (upstream `is_soft_deleted`): every read hides it from then on. True if it was there. */
export async function softDeleteSubsidy(db: SubsidyDb, uuid: string): Promise<boolean> {
  const res = await db
    .updateTable('subsidies')
    .set({ is_soft_deleted: true, modified: sql<Date>`now()` })
    .where('uuid', '=', uuid)
    .where('is_soft_deleted', '=', false)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** `total_deposits` per ledger: Σ committed deposits and adjustments with their reversals. */
export async function totalDeposits(db: SubsidyDb, ledgerUuids: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>(ledgerUuids.map((u) => [u, 0]));
  if (ledgerUuids.length === 0) return out;
  const rows = await db
    .selectFrom('transactions as t')
    .leftJoin('reversals as r', 'r.transaction', 't.uuid')
    .select(['t.ledger', sql<number>`coalesce(sum(t.quantity + coalesce(r.quantity, 0)), 0)::bigint`.as('total')])
    .where('t.ledger', 'in', [...ledgerUuids])
    .where('t.state', '=', 'committed')
    .where('t.kind', 'in', ['deposit', 'adjustment'])
    .groupBy('t.ledger')
    .execute();
  for (const r of rows) out.set(r.ledger, Number(r.total));
  return out;
}

export function selectTransactions(db: SubsidyDb | Trx) {
  return db
    .selectFrom('transactions as t')
    .leftJoin('reversals as r', 'r.transaction', 't.uuid')
    .selectAll('t')
    .select([
      'r.uuid as reversal_uuid',
      'r.state as reversal_state',
      'r.quantity as reversal_quantity',
      'r.idempotency_key as reversal_idempotency_key',
      'r.created as reversal_created',
    ]);
}

/** A transaction by uuid, within one ledger when given (a transaction path under another subsidy is a 404). */
export function findTransaction(
  db: SubsidyDb | Trx,
  uuid: string,
  ledger?: string,
): Promise<TransactionView | undefined> {
  let q = selectTransactions(db).where('t.uuid', '=', uuid);
  if (ledger) q = q.where('t.ledger', '=', ledger);
  return q.executeTakeFirst();
}

export const findTransactionByKey = (
  db: SubsidyDb | Trx,
  ledger: string,
  idempotencyKey: string,
): Promise<TransactionView | undefined> =>
  selectTransactions(db)
    .where('t.ledger', '=', ledger)
    .where('t.idempotency_key', '=', idempotencyKey)
    .executeTakeFirst();

/** Every transaction of a learner for a content key, all states, oldest first (a stable order callers hash). */
export const learnerContentTransactions = (
  db: SubsidyDb,
  ledger: string,
  lmsUserId: number,
  contentKey: string,
): Promise<TransactionView[]> =>
  selectTransactions(db)
    .where('t.ledger', '=', ledger)
    .where('t.lms_user_id', '=', lmsUserId)
    .where('t.content_key', '=', contentKey)
    .orderBy('t.created')
    .orderBy('t.uuid')
    .execute();

/** The learner's committed, un-reversed redemption of the content: they already have it. */
export const committedUnreversed = (db: SubsidyDb, ledger: string, lmsUserId: number, contentKey: string) =>
  selectTransactions(db)
    .where('t.ledger', '=', ledger)
    .where('t.kind', '=', 'redemption')
    .where('t.lms_user_id', '=', lmsUserId)
    .where('t.content_key', '=', contentKey)
    .where('t.state', '=', 'committed')
    .where('r.uuid', 'is', null)
    .orderBy('t.created')
    .executeTakeFirst();

export interface TransactionFilters {
  lmsUserId?: number;
  contentKey?: string;
  policy?: string;
  states?: readonly TransactionState[];
  /** true: only transactions with a committed reversal (refunds); false: only those without. */
  reversed?: boolean;
  /** DRF SearchFilter: every whitespace-separated term in `lms_user_email` or `content_title`, any case. */
  search?: string;
}

/** The admin list's filters; states are OR'd. */
export function filteredTransactions(db: SubsidyDb, ledger: string, f: TransactionFilters) {
  let q = db
    .selectFrom('transactions as t')
    .leftJoin('reversals as r', 'r.transaction', 't.uuid')
    .where('t.ledger', '=', ledger);
  if (f.lmsUserId !== undefined) q = q.where('t.lms_user_id', '=', f.lmsUserId);
  if (f.contentKey !== undefined) q = q.where('t.content_key', '=', f.contentKey);
  if (f.policy !== undefined) q = q.where('t.subsidy_access_policy_uuid', '=', f.policy);
  if (f.states?.length) q = q.where('t.state', 'in', [...f.states]);
  if (f.reversed === true) q = q.where('r.state', '=', 'committed');
  if (f.reversed === false) q = q.where((eb) => eb.or([eb('r.uuid', 'is', null), eb('r.state', '<>', 'committed')]));
  for (const term of (f.search ?? '')
    .replaceAll('\0', '')
    .split(/[\s,]+/)
    .filter(Boolean)) {
    const pattern = `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) => eb.or([eb('t.lms_user_email', 'ilike', pattern), eb('t.content_title', 'ilike', pattern)]));
  }
  return q;
}

/** Fields the admin list may be ordered by (upstream `ordering_fields`). */
export const TRANSACTION_ORDERINGS = ['created', 'quantity'] as const;
export type TransactionOrdering = { field: (typeof TRANSACTION_ORDERINGS)[number]; descending: boolean };

/** Ledger `subset_balance`: Σ quantity + reversal quantity over the filtered, non-failed transactions. */
export async function subsetBalance(q: ReturnType<typeof filteredTransactions>): Promise<number> {
  const row = await q
    .select(sql<number>`coalesce(sum(t.quantity + coalesce(r.quantity, 0)), 0)::bigint`.as('total'))
    .where('t.state', '<>', 'failed')
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

export const transactionPage = (
  q: ReturnType<typeof filteredTransactions>,
  limit: number,
  offset: number,
  ordering: TransactionOrdering = { field: 'created', descending: true },
): Promise<TransactionView[]> =>
  q
    .selectAll('t')
    .select([
      'r.uuid as reversal_uuid',
      'r.state as reversal_state',
      'r.quantity as reversal_quantity',
      'r.idempotency_key as reversal_idempotency_key',
      'r.created as reversal_created',
    ])
    .orderBy(`t.${ordering.field}`, ordering.descending ? 'desc' : 'asc')
    .orderBy('t.created', ordering.descending ? 'desc' : 'asc')
    .orderBy('t.uuid', ordering.descending ? 'desc' : 'asc')
    .limit(limit)
    .offset(offset)
    .execute();

/** Records the learner's email on a transaction that has none (read from the lms after the fact). */
export async function fillLearnerEmail(
  db: SubsidyDb,
  uuid: string,
  email: string,
): Promise<TransactionView | undefined> {
  await db
    .updateTable('transactions')
    .set({ lms_user_email: email })
    .where('uuid', '=', uuid)
    .where('lms_user_email', 'is', null)
    .execute();
  return findTransaction(db, uuid);
}

/** Upstream `aggregated_enrollments_from_transactions`: committed, un-reversed redemptions per learner. */
export async function aggregatesByLearner(
  db: SubsidyDb,
  ledger: string,
  policy?: string,
): Promise<Array<{ lms_user_id: number; total: number }>> {
  let q = db
    .selectFrom('transactions as t')
    .leftJoin('reversals as r', 'r.transaction', 't.uuid')
    .select(['t.lms_user_id', sql<number>`count(t.content_key)::integer`.as('total')])
    .where('t.ledger', '=', ledger)
    .where('t.kind', '=', 'redemption')
    .where('t.state', '=', 'committed')
    .where('r.uuid', 'is', null)
    .where('t.lms_user_id', 'is not', null);
  if (policy) q = q.where('t.subsidy_access_policy_uuid', '=', policy);
  const rows = await q.groupBy('t.lms_user_id').orderBy('t.lms_user_id').execute();
  return rows.map((r) => ({ lms_user_id: Number(r.lms_user_id), total: Number(r.total) }));
}

// ---- ledger writes --------------------------------------------------------------------------

const lockLedger = (trx: Trx, uuid: string): Promise<LedgerRow> =>
  trx.selectFrom('ledgers').selectAll().where('uuid', '=', uuid).forUpdate().executeTakeFirstOrThrow();

/** Moves the balance; the CHECK refuses a result below zero (SQLSTATE 23514). */
const moveBalance = (trx: Trx, ledger: string, delta: number) =>
  trx
    .updateTable('ledgers')
    .set({ balance: sql<number>`balance + ${delta}::bigint`, modified: sql<Date>`now()` })
    .where('uuid', '=', ledger)
    .execute();

/** Runs a ledger write; a CHECK refusal (the balance would go negative) becomes `onOverdraw`. */
async function guarded<T>(write: () => Promise<T>, onOverdraw: () => Error): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isCheckViolation(err)) throw onOverdraw();
    throw err;
  }
}

export interface NewSubsidy {
  title: string;
  enterprise_customer_uuid: string;
  active_datetime: Date;
  expiration_datetime: Date;
  unit: 'usd_cents';
  starting_balance: number;
  reference_id: string | null;
  reference_type: string;
  internal_only: boolean;
  revenue_category: string;
}

/**
 * Get-or-create by reference_id, as upstream (`internal_only` test subsidies are always created):
 * the subsidy, its ledger and the starting balance as a committed initial deposit, in one DB
 * transaction (upstream made them in steps, and backfilled the initial deposits later). A concurrent create of the same reference loses on
 * the unique index and returns the winner's subsidy.
 */
export async function getOrCreateSubsidy(
  db: SubsidyDb,
  values: NewSubsidy,
): Promise<{ subsidy: SubsidyView; created: boolean }> {
  // Upstream: a test subsidy (`internal_only`) is always created, whatever holds its reference.
  const existing = () =>
    values.reference_id === null || values.internal_only
      ? Promise.resolve(undefined)
      : findSubsidyByReference(db, values.reference_id);
  const before = await existing();
  if (before) return { subsidy: before, created: false };
  try {
    const uuid = await db.transaction().execute(async (trx) => {
      const subsidy = await trx.insertInto('subsidies').values(values).returning('uuid').executeTakeFirstOrThrow();
      const key = ledgerKey(subsidy.uuid);
      const ledger = await trx
        .insertInto('ledgers')
        .values({ subsidy_uuid: subsidy.uuid, idempotency_key: key, unit: values.unit, balance: 0 })
        .returning('uuid')
        .executeTakeFirstOrThrow();
      if (values.starting_balance > 0) {
        const tx = await trx
          .insertInto('transactions')
          .values({
            ledger: ledger.uuid,
            idempotency_key: initialDepositKey(key, values.starting_balance),
            quantity: values.starting_balance,
            state: 'committed',
            kind: 'deposit',
            metadata: jsonb(null),
          })
          .returning('uuid')
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('deposits')
          .values({
            transaction: tx.uuid,
            sales_contract_reference_id: values.reference_id,
            sales_contract_reference_provider: values.reference_type,
          })
          .execute();
        await moveBalance(trx, ledger.uuid, values.starting_balance);
      }
      return subsidy.uuid;
    });
    const subsidy = await findSubsidy(db, uuid);
    if (!subsidy) throw new Error(`subsidy ${uuid} vanished after creation`);
    return { subsidy, created: true };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const winner = await existing();
    if (winner) return { subsidy: winner, created: false };
    throw err;
  }
}

export interface Reservation {
  ledger: string;
  idempotency_key: string;
  quantity: number;
  lms_user_id: number;
  lms_user_email: string | null;
  content_key: string;
  parent_content_key: string | null;
  content_title: string | null;
  subsidy_access_policy_uuid: string;
  metadata: unknown;
}

const insufficient = (price: number, balance?: number) =>
  refuse(
    'transaction_creation_error',
    `Transaction was None after attempting to redeem: the subsidy balance${balance === undefined ? '' : ` (${balance})`} is less than the price (${price}).`,
  );

/**
 * Reserves the price: a `pending` redemption of -price and the balance decreased by it, under
 * the ledger row lock. The idempotency key is looked up again under the lock, so concurrent
 * retries of one request get one transaction; the balance is checked under the lock and, should
 * anything slip past that, by the CHECK: an overspend is a 422, never a 500 or a 429.
 */
export async function reserve(db: SubsidyDb, r: Reservation): Promise<{ tx: TransactionView; created: boolean }> {
  const price = -r.quantity;
  try {
    const result = await guarded(
      () =>
        db.transaction().execute(async (trx) => {
          const ledger = await lockLedger(trx, r.ledger);
          const again = await findTransactionByKey(trx, r.ledger, r.idempotency_key);
          if (again) return { uuid: again.uuid, created: false };
          if (!fitsBalance(ledger.balance, r.quantity)) throw insufficient(price, ledger.balance);
          const tx = await trx
            .insertInto('transactions')
            .values({ ...r, state: 'pending', kind: 'redemption', metadata: jsonb(r.metadata) })
            .returning('uuid')
            .executeTakeFirstOrThrow();
          await moveBalance(trx, r.ledger, r.quantity);
          return { uuid: tx.uuid, created: true };
        }),
      () => insufficient(price),
    );
    return { tx: await mustFind(db, result.uuid), created: result.created };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const winner = await findTransactionByKey(db, r.ledger, r.idempotency_key);
    if (winner) return { tx: winner, created: false };
    throw err;
  }
}

async function mustFind(db: SubsidyDb, uuid: string): Promise<TransactionView> {
  const tx = await findTransaction(db, uuid);
  if (!tx) throw new Error(`transaction ${uuid} vanished`);
  return tx;
}

const lockTransaction = (trx: Trx, ledger: string, uuid: string) =>
  trx
    .selectFrom('transactions')
    .selectAll()
    .where('uuid', '=', uuid)
    .where('ledger', '=', ledger)
    .forUpdate()
    .executeTakeFirst();

/**
 * commit / fail: the state change and, for fail, the release of the reserved amount, in one DB
 * transaction under the ledger lock. A repeat of the same change answers the transaction as it
 * is; a forbidden change is a 422 `invalid_state`. Returns undefined for an unknown transaction.
 */
export async function transition(
  db: SubsidyDb,
  ledger: string,
  uuid: string,
  to: 'committed' | 'failed',
  changes: { fulfillment_identifier?: string; failure_reason?: string },
): Promise<TransactionView | undefined> {
  const found = await db.transaction().execute(async (trx) => {
    await lockLedger(trx, ledger);
    const tx = await lockTransaction(trx, ledger, uuid);
    if (!tx) return false;
    const check = checkTransition(tx.state, to);
    if (check.kind === 'refuse') throw refuse('invalid_state', check.reason);
    if (check.kind === 'noop') return true;
    const metadata =
      changes.failure_reason !== undefined
        ? sql<unknown>`coalesce(metadata, '{}'::jsonb) || ${JSON.stringify({ failure_reason: changes.failure_reason })}::jsonb`
        : undefined;
    await trx
      .updateTable('transactions')
      .set({
        state: to,
        modified: sql<Date>`now()`,
        ...(changes.fulfillment_identifier !== undefined
          ? { fulfillment_identifier: changes.fulfillment_identifier }
          : {}),
        ...(metadata ? { metadata } : {}),
      })
      .where('uuid', '=', uuid)
      .execute();
    const delta = transitionDelta(tx.quantity, tx.state, to);
    if (delta !== 0) await moveBalance(trx, ledger, delta);
    return true;
  });
  return found ? mustFind(db, uuid) : undefined;
}

/**
 * Reverses a committed transaction in full: a committed reversal of -quantity and the amount
 * back on the balance, under the ledger lock. The unique reversal per transaction makes a
 * repeat (or a concurrent twin) return the first reversal. `redemptionsOnly` narrows it to
 * learner redemptions (the admin refund endpoint). Undefined for an unknown transaction.
 */
export async function reverse(
  db: SubsidyDb,
  ledger: string,
  uuid: string,
  idempotencyKey: string,
  opts: { redemptionsOnly: boolean },
): Promise<{ tx: TransactionView; created: boolean } | undefined> {
  const run = () =>
    guarded(
      () =>
        db.transaction().execute(async (trx) => {
          await lockLedger(trx, ledger);
          const tx = await lockTransaction(trx, ledger, uuid);
          if (!tx) return undefined;
          const existing = await trx
            .selectFrom('reversals')
            .select('uuid')
            .where('transaction', '=', uuid)
            .executeTakeFirst();
          if (opts.redemptionsOnly && tx.kind !== 'redemption' && !existing) {
            throw refuse('reversal_error', `Only redemption transactions can be reversed; this one is a ${tx.kind}.`);
          }
          const check = checkReversal({ ...tx, hasReversal: existing !== undefined });
          if (check.kind === 'refuse') throw refuse('reversal_error', check.reason);
          if (check.kind === 'noop') return false;
          await trx
            .insertInto('reversals')
            .values({
              transaction: uuid,
              idempotency_key: idempotencyKey,
              quantity: check.quantity,
              state: 'committed',
            })
            .execute();
          await trx.updateTable('transactions').set({ modified: sql<Date>`now()` }).where('uuid', '=', uuid).execute();
          await moveBalance(trx, ledger, check.quantity);
          return true;
        }),
      () => refuse('reversal_error', 'Reversing this transaction would take the subsidy balance below zero.'),
    );
  let created: boolean | undefined;
  try {
    created = await run();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    created = false;
  }
  if (created === undefined) return undefined;
  return { tx: await mustFind(db, uuid), created };
}

export interface ValueChange {
  ledger: string;
  quantity: number;
  idempotency_key: string;
  metadata: unknown;
}

export type DepositView = DepositRow & { ledger: string; quantity: number };
export type AdjustmentView = AdjustmentRow & { ledger: string; quantity: number };

/**
 * A committed deposit or adjustment and its audit row, with the balance moved, under the ledger
 * lock. The same idempotency key answers the first record (`created: false`); a key already used
 * by another kind of transaction is a 422. A negative adjustment may not overdraw the balance.
 */
async function addValue(
  db: SubsidyDb,
  kind: Exclude<TransactionKind, 'redemption'>,
  v: ValueChange,
  audit: (trx: Trx, txUuid: string) => Promise<void>,
): Promise<{ txUuid: string; created: boolean }> {
  const code = kind === 'deposit' ? 'deposit_creation_error' : 'adjustment_creation_error';
  const known = (tx: TransactionView) => {
    if (tx.kind !== kind) {
      throw refuse(code, `The idempotency key ${v.idempotency_key} is already used by a ${tx.kind} transaction.`);
    }
    return { txUuid: tx.uuid, created: false };
  };
  try {
    return await guarded(
      () =>
        db.transaction().execute(async (trx) => {
          const ledger = await lockLedger(trx, v.ledger);
          const again = await findTransactionByKey(trx, v.ledger, v.idempotency_key);
          if (again) return known(again);
          if (!fitsBalance(ledger.balance, v.quantity)) {
            throw refuse(code, `This ${kind} would take the subsidy balance (${ledger.balance}) below zero.`);
          }
          const tx = await trx
            .insertInto('transactions')
            .values({
              ledger: v.ledger,
              idempotency_key: v.idempotency_key,
              quantity: v.quantity,
              state: 'committed',
              kind,
              metadata: jsonb(v.metadata),
            })
            .returning('uuid')
            .executeTakeFirstOrThrow();
          await audit(trx, tx.uuid);
          await moveBalance(trx, v.ledger, v.quantity);
          return { txUuid: tx.uuid, created: true };
        }),
      () => refuse(code, `This ${kind} would take the subsidy balance below zero.`),
    );
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const winner = await findTransactionByKey(db, v.ledger, v.idempotency_key);
    if (winner) return known(winner);
    throw err;
  }
}

export async function createDeposit(
  db: SubsidyDb,
  v: ValueChange & { sales_contract_reference_id: string; sales_contract_reference_provider: string },
): Promise<{ deposit: DepositView; created: boolean }> {
  const { txUuid, created } = await addValue(db, 'deposit', v, async (trx, transaction) => {
    await trx
      .insertInto('deposits')
      .values({
        transaction,
        sales_contract_reference_id: v.sales_contract_reference_id,
        sales_contract_reference_provider: v.sales_contract_reference_provider,
      })
      .execute();
  });
  const deposit = await db
    .selectFrom('deposits as d')
    .innerJoin('transactions as t', 't.uuid', 'd.transaction')
    .selectAll('d')
    .select(['t.ledger', 't.quantity'])
    .where('d.transaction', '=', txUuid)
    .executeTakeFirstOrThrow();
  return { deposit, created };
}

export async function createAdjustment(
  db: SubsidyDb,
  v: ValueChange & { reason: string; notes: string | null },
): Promise<{ adjustment: AdjustmentView; created: boolean }> {
  const { txUuid, created } = await addValue(db, 'adjustment', v, async (trx, transaction) => {
    await trx.insertInto('adjustments').values({ transaction, reason: v.reason, notes: v.notes }).execute();
  });
  const adjustment = await db
    .selectFrom('adjustments as a')
    .innerJoin('transactions as t', 't.uuid', 'a.transaction')
    .selectAll('a')
    .select(['t.ledger', 't.quantity'])
    .where('a.transaction', '=', txUuid)
    .executeTakeFirstOrThrow();
  return { adjustment, created };
}

/** One committed reversal, as the reversal feed lists it. */
export interface ReversalEvent {
  reversal_uuid: string;
  transaction_uuid: string;
  subsidy_uuid: string;
  subsidy_access_policy_uuid: string | null;
  lms_user_id: number | null;
  content_key: string | null;
  quantity: number;
  created: Date;
}

/**
 * Committed reversals created at or after `since`, oldest first, across every subsidy: the pull
 * form of upstream's LEDGER_TRANSACTION_REVERSED event, for consumers that keep their own view of
 * redemptions (enterprise-access's local aggregates and assignments).
 */
export function reversalsSince(db: SubsidyDb, since: Date, limit: number): Promise<ReversalEvent[]> {
  return db
    .selectFrom('reversals as r')
    .innerJoin('transactions as t', 't.uuid', 'r.transaction')
    .innerJoin('ledgers as l', 'l.uuid', 't.ledger')
    .where('r.state', '=', 'committed')
    .where('r.created', '>=', since)
    .select([
      'r.uuid as reversal_uuid',
      't.uuid as transaction_uuid',
      'l.subsidy_uuid',
      't.subsidy_access_policy_uuid',
      't.lms_user_id',
      't.content_key',
      'r.quantity',
      'r.created',
    ])
    .orderBy('r.created')
    .orderBy('r.uuid')
    .limit(limit)
    .execute() as Promise<ReversalEvent[]>;
}
