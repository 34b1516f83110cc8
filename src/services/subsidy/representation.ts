import { isSubsidyActive } from './ledger-rules';
import type { AdjustmentView, DepositView, SubsidyView, TransactionView } from './store';

/**
 * The upstream serializers as pure functions of rows. Times are ISO-8601 UTC strings, uuids
 * lower-case strings (Postgres returns them so), quantities integer cents.
 */

const iso = (d: Date | string) => new Date(d).toISOString();

/** `GET /api/v1/subsidies/{uuid}/`. */
export function subsidyRepresentation(s: SubsidyView, totalDeposits: number, now: Date) {
  return {
    uuid: s.uuid,
    title: s.title,
    enterprise_customer_uuid: s.enterprise_customer_uuid,
    active_datetime: iso(s.active_datetime),
    expiration_datetime: iso(s.expiration_datetime),
    unit: s.unit,
    reference_id: s.reference_id,
    reference_type: s.reference_type,
    current_balance: Number(s.balance),
    starting_balance: Number(s.starting_balance),
    internal_only: s.internal_only,
    revenue_category: s.revenue_category,
    is_active: isSubsidyActive(s, now),
    total_deposits: totalDeposits,
    created: iso(s.created),
    modified: iso(s.modified),
  };
}

export type TransactionJson = ReturnType<typeof transactionRepresentation>;

/**
 * A ledger transaction with its reversal. `transaction_status_api_url` is absolute, built from
 * the request's own origin, as the orchestrator hands it to clients as a status link.
 */
export function transactionRepresentation(tx: TransactionView, unit: string, origin: string) {
  return {
    uuid: tx.uuid,
    state: tx.state,
    idempotency_key: tx.idempotency_key,
    lms_user_id: tx.lms_user_id,
    lms_user_email: tx.lms_user_email,
    content_key: tx.content_key,
    parent_content_key: tx.parent_content_key,
    content_title: tx.content_title,
    // Not recorded here (upstream reads it from the catalog for course runs).
    course_run_start_date: null,
    quantity: Number(tx.quantity),
    unit,
    fulfillment_identifier: tx.fulfillment_identifier,
    subsidy_access_policy_uuid: tx.subsidy_access_policy_uuid,
    metadata: tx.metadata ?? null,
    created: iso(tx.created),
    modified: iso(tx.modified),
    reversal:
      tx.reversal_uuid === null
        ? null
        : {
            uuid: tx.reversal_uuid,
            state: tx.reversal_state,
            quantity: Number(tx.reversal_quantity),
            idempotency_key: tx.reversal_idempotency_key,
            metadata: null,
            created: tx.reversal_created === null ? null : iso(tx.reversal_created),
            modified: tx.reversal_created === null ? null : iso(tx.reversal_created),
          },
    // External fulfilment (GetSmarter) is not part of this system: never any reference.
    external_reference: [],
    transaction_status_api_url: `${origin}/api/v1/transactions/${tx.uuid}/`,
  };
}

/** Upstream DepositSerializer (+ `created`). */
export function depositRepresentation(d: DepositView) {
  return {
    uuid: d.uuid,
    ledger: d.ledger,
    desired_deposit_quantity: Number(d.quantity),
    transaction: d.transaction,
    sales_contract_reference_id: d.sales_contract_reference_id,
    sales_contract_reference_provider: d.sales_contract_reference_provider,
    created: iso(d.created),
  };
}

/** openedx-ledger Adjustment (no upstream API serializer; the model's fields). */
export function adjustmentRepresentation(a: AdjustmentView) {
  return {
    uuid: a.uuid,
    ledger: a.ledger,
    adjustment_quantity: Number(a.quantity),
    transaction: a.transaction,
    reason: a.reason,
    notes: a.notes,
    created: iso(a.created),
  };
}
