import type { Generated, Selectable } from 'kysely';

export const UNITS = ['usd_cents'] as const;
export type Unit = (typeof UNITS)[number];

/** Upstream SubsidyReferenceChoices: what `reference_id` names (the deal that created the subsidy). */
export const REFERENCE_TYPES = ['salesforce_opportunity_line_item'] as const;

/** Upstream RevenueCategoryChoices (analytics only; no business logic depends on it). */
export const REVENUE_CATEGORIES = ['bulk-enrollment-prepay', 'partner-no-rev-prepay'] as const;

export const TRANSACTION_STATES = ['created', 'pending', 'committed', 'failed'] as const;
export type TransactionState = (typeof TRANSACTION_STATES)[number];

/** What a transaction records: a learner's redemption, or value added (deposit) or corrected (adjustment). */
export const TRANSACTION_KINDS = ['redemption', 'deposit', 'adjustment'] as const;
export type TransactionKind = (typeof TRANSACTION_KINDS)[number];

/** openedx-ledger AdjustmentReasonChoices. */
export const ADJUSTMENT_REASONS = [
  'unauthorized_enrollment',
  'poor_content_fit',
  'technical_challenges',
  'missed_refund_or_date',
  'good_faith',
] as const;

/** Upstream SalesContractReferenceProvider slugs. */
export const SALES_CONTRACT_PROVIDERS = ['salesforce_opportunity_line_item'] as const;

export interface SubsidyTable {
  uuid: Generated<string>;
  title: string;
  enterprise_customer_uuid: string;
  active_datetime: Date;
  expiration_datetime: Date;
  unit: Unit;
  reference_id: string | null;
  reference_type: string;
  internal_only: Generated<boolean>;
  revenue_category: string;
  is_soft_deleted: Generated<boolean>;
  starting_balance: number;
  created: Generated<Date>;
  modified: Generated<Date>;
}

export interface LedgerTable {
  uuid: Generated<string>;
  subsidy_uuid: string;
  idempotency_key: string;
  unit: Unit;
  /** Σ over non-failed transactions of quantity + reversal quantity; kept by every write, CHECK ≥ 0. */
  balance: number;
  created: Generated<Date>;
  modified: Generated<Date>;
}

export interface TransactionTable {
  uuid: Generated<string>;
  ledger: string;
  idempotency_key: string;
  quantity: number;
  state: TransactionState;
  kind: TransactionKind;
  lms_user_id: number | null;
  lms_user_email: string | null;
  content_key: string | null;
  parent_content_key: string | null;
  content_title: string | null;
  fulfillment_identifier: string | null;
  subsidy_access_policy_uuid: string | null;
  metadata: unknown;
  created: Generated<Date>;
  modified: Generated<Date>;
}

export interface ReversalTable {
  uuid: Generated<string>;
  transaction: string;
  idempotency_key: string;
  quantity: number;
  state: 'committed';
  created: Generated<Date>;
}

export interface DepositTable {
  uuid: Generated<string>;
  transaction: string;
  sales_contract_reference_id: string | null;
  sales_contract_reference_provider: string | null;
  created: Generated<Date>;
}

export interface AdjustmentTable {
  uuid: Generated<string>;
  transaction: string;
  reason: string;
  notes: string | null;
  created: Generated<Date>;
}

/** Tables of the subsidy schema (enterprise-subsidy + openedx-ledger). */
export interface SubsidyDB {
  subsidies: SubsidyTable;
  ledgers: LedgerTable;
  transactions: TransactionTable;
  reversals: ReversalTable;
  deposits: DepositTable;
  adjustments: AdjustmentTable;
}

export type SubsidyRow = Selectable<SubsidyTable>;
export type LedgerRow = Selectable<LedgerTable>;
export type TransactionRow = Selectable<TransactionTable>;
export type ReversalRow = Selectable<ReversalTable>;
export type DepositRow = Selectable<DepositTable>;
export type AdjustmentRow = Selectable<AdjustmentTable>;
