import type { TransactionKind, TransactionState } from './schema';

/**
 * openedx-ledger's rules as plain functions (spec §12), so they can be read against the spec and
 * tested without a database. The store applies them inside the DB transaction that holds the
 * ledger row lock; the `ledgers.balance >= 0` CHECK is the backstop if a caller ever skipped one.
 *
 * Quantities are integer cents: redemptions are negative, deposits positive, adjustments either,
 * a reversal is the negation of its transaction.
 */

export interface LedgerEntry {
  quantity: number;
  state: TransactionState;
  kind: TransactionKind;
  /** Quantity of the transaction's reversal, if it has one. */
  reversalQuantity?: number | null;
}

const entryTotal = (e: LedgerEntry) => e.quantity + (e.reversalQuantity ?? 0);

/**
 * Ledger `balance()`: Σ over non-failed transactions of quantity + reversal quantity. Created
 * and pending redemptions count: a reservation holds its amount until it is committed or failed.
 */
export const balanceOf = (entries: readonly LedgerEntry[]): number =>
  entries.filter((e) => e.state !== 'failed').reduce((sum, e) => sum + entryTotal(e), 0);

/** Ledger `total_deposits()`: the same sum over committed deposits and adjustments only. */
export const totalDepositsOf = (entries: readonly LedgerEntry[]): number =>
  entries
    .filter((e) => e.state === 'committed' && (e.kind === 'deposit' || e.kind === 'adjustment'))
    .reduce((sum, e) => sum + entryTotal(e), 0);

/** A write may move the balance by `delta` only if the result stays at or above zero. */
export const fitsBalance = (balance: number, delta: number): boolean => balance + delta >= 0;

/**
 * State changes a transaction may make: created → pending → committed | failed (created may
 * also fail directly: a reservation abandoned before fulfilment began). Failed is terminal and
 * committed is immutable; asking for the state a transaction is already in is a no-op, so
 * retried commit/fail calls are idempotent.
 */
const ALLOWED: Record<TransactionState, readonly TransactionState[]> = {
  created: ['pending', 'failed'],
  pending: ['committed', 'failed'],
  committed: [],
  failed: [],
};

export type TransitionCheck = { kind: 'apply' } | { kind: 'noop' } | { kind: 'refuse'; reason: string };

export function checkTransition(from: TransactionState, to: TransactionState): TransitionCheck {
  if (from === to && (to === 'committed' || to === 'failed')) return { kind: 'noop' };
  if (ALLOWED[from].includes(to)) return { kind: 'apply' };
  return { kind: 'refuse', reason: `A ${from} transaction cannot become ${to}.` };
}

/**
 * How much a state change moves the ledger balance. Only failing does: the amount a created or
 * pending transaction held is released (a redemption of -4900 gives back +4900).
 */
export function transitionDelta(quantity: number, from: TransactionState, to: TransactionState): number {
  // `0 - q`, not `-q`: a free redemption must release 0, not -0.
  return to === 'failed' && from !== 'failed' ? 0 - quantity : 0;
}

export interface ReversibleTransaction {
  state: TransactionState;
  kind: TransactionKind;
  quantity: number;
  hasReversal: boolean;
}

export type ReversalCheck = { kind: 'apply'; quantity: number } | { kind: 'noop' } | { kind: 'refuse'; reason: string };

/**
 * Reversal: full amount only (-quantity), of committed transactions only, never of adjustments
 * (an adjustment is itself the correction), at most one per transaction (a repeat finds it).
 */
export function checkReversal(tx: ReversibleTransaction): ReversalCheck {
  if (tx.hasReversal) return { kind: 'noop' };
  if (tx.kind === 'adjustment') return { kind: 'refuse', reason: 'Adjustment transactions cannot be reversed.' };
  if (tx.state !== 'committed') {
    return { kind: 'refuse', reason: `Only committed transactions can be reversed; this one is ${tx.state}.` };
  }
  return { kind: 'apply', quantity: 0 - tx.quantity };
}

/** Upstream ALLOCATION_PRICE_VALIDATION_{LOWER,UPPER}_BOUND_RATIO, in percent (integer math, no float drift). */
export const PRICE_LOWER_PERCENT = 95;
export const PRICE_UPPER_PERCENT = 105;

/** A caller-requested price (e.g. one locked in at assignment time) must be ≥ 0 and within ±5% of the catalog's. */
export function isRequestedPriceAcceptable(requested: number, canonical: number): boolean {
  if (requested < 0) return false;
  return requested * 100 >= canonical * PRICE_LOWER_PERCENT && requested * 100 <= canonical * PRICE_UPPER_PERCENT;
}

/** Upstream `Subsidy.is_active`: active_datetime ≤ now ≤ expiration_datetime, both ends inclusive. */
export const isSubsidyActive = (s: { active_datetime: Date; expiration_datetime: Date }, now: Date): boolean =>
  s.active_datetime.getTime() <= now.getTime() && now.getTime() <= s.expiration_datetime.getTime();

export const isSubsidyExpired = (s: { expiration_datetime: Date }, now: Date): boolean =>
  now.getTime() > s.expiration_datetime.getTime();

/** Python's `repr` of a str, as `str(dict)` writes it: single quotes unless the text holds one and no double quote. */
export function pyStrRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${quote}${out}${quote}`;
}

/**
 * openedx-ledger `create_idempotency_key_for_transaction` for a redemption created without a key:
 * `<ledger key>-<quantity>-<md5 of str({'lms_user_id': …, 'content_key': …, 'subsidy_access_policy_uuid': UUID(…)})>`,
 * so a repeat of the same request finds the first transaction, as upstream. `md5` is injected
 * to keep this module free of I/O imports.
 */
export function redemptionKey(
  ledgerIdempotencyKey: string,
  quantity: number,
  r: { lms_user_id: number; content_key: string; subsidy_access_policy_uuid: string },
  md5: (text: string) => string,
): string {
  const metadata = `{'lms_user_id': ${r.lms_user_id}, 'content_key': ${pyStrRepr(r.content_key)}, 'subsidy_access_policy_uuid': UUID('${r.subsidy_access_policy_uuid}')}`;
  return `${ledgerIdempotencyKey}-${quantity}-${md5(metadata)}`;
}

/** Ledger idempotency keys (enterprise-subsidy ADR 0008). */
export const ledgerKey = (subsidyUuid: string) => `ledger-for-subsidy-${subsidyUuid}`;
export const initialDepositKey = (ledgerIdempotencyKey: string, quantity: number) =>
  `${ledgerIdempotencyKey}-${quantity}-initial-deposit`;
export const adminReversalKey = (transactionUuid: string) => `admin-invoked-reverse-${transactionUuid}`;
