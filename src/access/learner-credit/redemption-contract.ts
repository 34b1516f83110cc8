/**
 * What the worker and the api's internal redemption routes exchange. The worker gathers the
 * facts from the services over HTTP; the api decides and records them against its own tables
 * in one database transaction each.
 */
import type { ReasonCode } from './reasons';

export interface AttemptRef {
  workflow_id: string;
  run_id: string;
}

export interface StartAttemptInput extends AttemptRef {
  policy_uuid: string;
  lms_user_id: number;
  content_key: string;
  assignment_uuid?: string | null;
  request_uuid?: string | null;
  requested_by?: string | null;
}

/** The policy as the attempt saw it (recorded on the attempt row: ADR 0020's "policy state"). */
export interface PolicySnapshot {
  uuid: string;
  policy_type: string;
  enterprise_customer_uuid: string;
  subsidy_uuid: string;
  catalog_uuid: string;
  active: boolean;
  retired: boolean;
  spend_limit: number | null;
  per_learner_spend_limit: number | null;
  per_learner_enrollment_limit: number | null;
  late_redemption_allowed_until: string | null;
  group_uuids: string[];
  modified: string;
}

export interface StartAttemptResult {
  attempt_uuid: string;
  /** Null when no policy has that uuid. */
  policy: PolicySnapshot | null;
}

/** Facts from the services, gathered outside any lock. */
export interface GatheredFacts {
  /** Null when the learner is not linked to the customer. */
  learner_group_uuids: string[] | null;
  content_in_catalog: boolean;
  /** Null: no metadata (treated as not in the catalog). */
  content: { price_cents: number | null; enroll_by: string | null } | null;
  subsidy_active: boolean;
  subsidy_can_redeem: boolean;
  /** Ledger transactions of this learner and content that were reversed (refunds). */
  reversed_transaction_uuids: string[];
}

export interface ReserveInput extends AttemptRef {
  policy_uuid: string;
  lms_user_id: number;
  content_key: string;
  idempotency_key: string;
  facts: GatheredFacts;
}

export type ReserveResult =
  | {
      outcome: 'reserved';
      price_cents: number;
      /** True when this key already held a reservation (a retried step or a repeated request). */
      existing: boolean;
      state: 'reserved' | 'committed';
      transaction_uuid: string | null;
    }
  | { outcome: 'rejected'; reason: ReasonCode };

export interface FinishInput extends AttemptRef {
  /** `rejected`: can-redeem said no (the reason is already on the row). */
  outcome: 'redeemed' | 'failed' | 'rejected';
  idempotency_key?: string | null;
  transaction_uuid?: string | null;
  fulfillment_identifier?: string | null;
  /** What the ledger charged (cents); the reservation is corrected to it if it differs. */
  price_cents?: number | null;
  /**
   * The ledger returned a transaction this redemption did not create (the learner already held
   * the content): the reservation is released, the attempt still counts as redeemed.
   */
  already_redeemed?: boolean;
  error_code?: string | null;
  error_message?: string | null;
}

export interface ReconcileInput {
  policy_uuid: string;
  reversed_transaction_uuids: string[];
}
