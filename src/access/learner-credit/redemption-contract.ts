/**
 * The inputs and outputs of the redemption records (`redemption-store.ts`), as the redeem
 * workflow's activities pass them: the facts are gathered from the services outside any lock
 * (`facts.ts`), then checked and recorded in one database transaction each.
 */
import type { ExternalFacts } from './can-redeem';
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

export interface ReserveInput extends AttemptRef {
  policy_uuid: string;
  lms_user_id: number;
  content_key: string;
  idempotency_key: string;
  facts: ExternalFacts;
  /** The learner's transactions of this content the ledger has reversed (refunds to give back). */
  reversed_transaction_uuids: readonly string[];
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
