import { describe, expect, it } from 'vitest';
import {
  adminReversalKey,
  balanceOf,
  checkReversal,
  checkTransition,
  fitsBalance,
  initialDepositKey,
  isRequestedPriceAcceptable,
  isSubsidyActive,
  isSubsidyExpired,
  type LedgerEntry,
  ledgerKey,
  totalDepositsOf,
  transitionDelta,
} from '../../src/services/subsidy/ledger-rules';
import type { TransactionState } from '../../src/services/subsidy/schema';

const deposit = (quantity: number, extra: Partial<LedgerEntry> = {}): LedgerEntry => ({
  quantity,
  state: 'committed',
  kind: 'deposit',
  ...extra,
});
const redemption = (price: number, state: TransactionState, reversed = false): LedgerEntry => ({
  quantity: -price,
  state,
  kind: 'redemption',
  reversalQuantity: reversed ? price : null,
});
const adjustment = (quantity: number, extra: Partial<LedgerEntry> = {}): LedgerEntry => ({
  quantity,
  state: 'committed',
  kind: 'adjustment',
  ...extra,
});

describe('balanceOf (ledger balance: non-failed transactions plus their reversals)', () => {
  it.each<[string, LedgerEntry[], number]>([
    ['empty ledger', [], 0],
    ['starting deposit only', [deposit(10_000)], 10_000],
    ['committed redemption spends', [deposit(10_000), redemption(4_900, 'committed')], 5_100],
    ['pending redemption holds its amount', [deposit(10_000), redemption(4_900, 'pending')], 5_100],
    ['created redemption holds its amount', [deposit(10_000), redemption(4_900, 'created')], 5_100],
    ['failed redemption releases its amount', [deposit(10_000), redemption(4_900, 'failed')], 10_000],
    ['reversed redemption is refunded', [deposit(10_000), redemption(4_900, 'committed', true)], 10_000],
    ['negative adjustment lowers it', [deposit(10_000), adjustment(-1_000)], 9_000],
    ['positive adjustment raises it', [deposit(10_000), adjustment(2_500)], 12_500],
    ['reversed deposit is taken back', [deposit(10_000), deposit(3_000, { reversalQuantity: -3_000 })], 10_000],
    [
      'mixed history',
      [
        deposit(20_000),
        redemption(4_900, 'committed'),
        redemption(4_900, 'failed'),
        redemption(3_000, 'pending'),
        redemption(1_000, 'committed', true),
        adjustment(500),
      ],
      12_600,
    ],
  ])('%s', (_name, entries, expected) => {
    expect(balanceOf(entries)).toBe(expected);
  });
});

describe('totalDepositsOf (committed deposits and adjustments, with their reversals)', () => {
  it.each<[string, LedgerEntry[], number]>([
    ['no deposits', [], 0],
    ['initial deposit', [deposit(10_000)], 10_000],
    ['redemptions do not count', [deposit(10_000), redemption(4_900, 'committed')], 10_000],
    ['top-up and adjustments count', [deposit(10_000), deposit(5_000), adjustment(-700), adjustment(200)], 14_500],
    ['a reversed deposit nets to zero', [deposit(10_000), deposit(5_000, { reversalQuantity: -5_000 })], 10_000],
    ['uncommitted deposits do not count', [deposit(10_000), deposit(5_000, { state: 'pending' })], 10_000],
  ])('%s', (_name, entries, expected) => {
    expect(totalDepositsOf(entries)).toBe(expected);
  });
});

describe('fitsBalance', () => {
  it.each([
    [100, -100, true],
    [100, -101, false],
    [0, 0, true],
    [0, -1, false],
    [0, 500, true],
    [50, -49, true],
  ])('balance %i moved by %i fits: %s', (balance, delta, expected) => {
    expect(fitsBalance(balance, delta)).toBe(expected);
  });
});

describe('checkTransition (created → pending → committed | failed)', () => {
  it.each<[TransactionState, TransactionState, 'apply' | 'noop' | 'refuse']>([
    ['created', 'pending', 'apply'],
    ['created', 'failed', 'apply'],
    ['created', 'committed', 'refuse'],
    ['created', 'created', 'refuse'],
    ['pending', 'committed', 'apply'],
    ['pending', 'failed', 'apply'],
    ['pending', 'created', 'refuse'],
    ['pending', 'pending', 'refuse'],
    ['committed', 'committed', 'noop'],
    ['committed', 'failed', 'refuse'],
    ['committed', 'pending', 'refuse'],
    ['committed', 'created', 'refuse'],
    ['failed', 'failed', 'noop'],
    ['failed', 'committed', 'refuse'],
    ['failed', 'pending', 'refuse'],
    ['failed', 'created', 'refuse'],
  ])('%s → %s: %s', (from, to, expected) => {
    expect(checkTransition(from, to).kind).toBe(expected);
  });

  it('names both states when it refuses', () => {
    expect(checkTransition('committed', 'failed')).toEqual({
      kind: 'refuse',
      reason: 'A committed transaction cannot become failed.',
    });
  });
});

describe('transitionDelta (only failing releases the reserved amount)', () => {
  it.each<[number, TransactionState, TransactionState, number]>([
    [-4_900, 'pending', 'failed', 4_900],
    [-4_900, 'created', 'failed', 4_900],
    [-4_900, 'pending', 'committed', 0],
    [-4_900, 'created', 'pending', 0],
    [-4_900, 'failed', 'failed', 0],
    [0, 'pending', 'failed', 0],
  ])('quantity %i, %s → %s moves the balance by %i', (quantity, from, to, expected) => {
    expect(transitionDelta(quantity, from, to)).toBe(expected);
  });
});

describe('checkReversal (full amount, committed only, never adjustments, at most once)', () => {
  it.each<[string, Parameters<typeof checkReversal>[0], ReturnType<typeof checkReversal>['kind'], number?]>([
    [
      'committed redemption',
      { state: 'committed', kind: 'redemption', quantity: -4_900, hasReversal: false },
      'apply',
      4_900,
    ],
    [
      'committed deposit',
      { state: 'committed', kind: 'deposit', quantity: 3_000, hasReversal: false },
      'apply',
      -3_000,
    ],
    ['already reversed', { state: 'committed', kind: 'redemption', quantity: -4_900, hasReversal: true }, 'noop'],
    ['pending redemption', { state: 'pending', kind: 'redemption', quantity: -4_900, hasReversal: false }, 'refuse'],
    ['created redemption', { state: 'created', kind: 'redemption', quantity: -4_900, hasReversal: false }, 'refuse'],
    ['failed redemption', { state: 'failed', kind: 'redemption', quantity: -4_900, hasReversal: false }, 'refuse'],
    ['adjustment', { state: 'committed', kind: 'adjustment', quantity: 500, hasReversal: false }, 'refuse'],
  ])('%s: %s', (_name, tx, expected, quantity) => {
    const check = checkReversal(tx);
    expect(check.kind).toBe(expected);
    if (check.kind === 'apply') expect(check.quantity).toBe(quantity);
  });
});

describe('isRequestedPriceAcceptable (within ±5% of the catalog price)', () => {
  it.each([
    [10_000, 10_000, true],
    [9_500, 10_000, true],
    [9_499, 10_000, false],
    [10_500, 10_000, true],
    [10_501, 10_000, false],
    [0, 0, true],
    [1, 0, false],
    [0, 100, false],
    [-1, 0, false],
    [4_655, 4_900, true],
    [4_654, 4_900, false],
    [5_145, 4_900, true],
    [5_146, 4_900, false],
  ])('requested %i against %i: %s', (requested, canonical, expected) => {
    expect(isRequestedPriceAcceptable(requested, canonical)).toBe(expected);
  });
});

describe('subsidy activity window (both ends inclusive)', () => {
  const s = {
    active_datetime: new Date('2026-01-01T00:00:00Z'),
    expiration_datetime: new Date('2026-12-31T00:00:00Z'),
  };
  it.each([
    ['2025-12-31T23:59:59.999Z', false, false],
    ['2026-01-01T00:00:00.000Z', true, false],
    ['2026-06-01T00:00:00.000Z', true, false],
    ['2026-12-31T00:00:00.000Z', true, false],
    ['2026-12-31T00:00:00.001Z', false, true],
  ])('at %s active=%s expired=%s', (now, active, expired) => {
    expect(isSubsidyActive(s, new Date(now))).toBe(active);
    expect(isSubsidyExpired(s, new Date(now))).toBe(expired);
  });
});

describe('idempotency keys (enterprise-subsidy ADR 0008)', () => {
  it('derives the ledger, initial deposit and admin reversal keys', () => {
    const ledger = ledgerKey('f492b063-42bb-40dd-8464-6b5668329f1d');
    expect(ledger).toBe('ledger-for-subsidy-f492b063-42bb-40dd-8464-6b5668329f1d');
    expect(initialDepositKey(ledger, 50_000)).toBe(
      'ledger-for-subsidy-f492b063-42bb-40dd-8464-6b5668329f1d-50000-initial-deposit',
    );
    expect(adminReversalKey('d459818c-0000-4000-8000-a0a060f8a7c4')).toBe(
      'admin-invoked-reverse-d459818c-0000-4000-8000-a0a060f8a7c4',
    );
  });
});
