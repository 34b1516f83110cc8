import type { ColumnType, Generated } from 'kysely';
import type {
  JobState as BulkEnrollmentJobState,
  PairStatus as BulkEnrollmentPairStatus,
} from './bulk-enrollment/contract';
import type { PolicyType } from './learner-credit/can-redeem';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<unknown, string, string>;
/** bigint cents: Postgres returns int8 as a string; callers convert with Number(). */
type Cents = ColumnType<string | number, number, number>;

/** Tables of the orchestrator's own schema (`access`): only the api touches them. */
export interface AccessDB {
  stack_info: {
    id: number;
    created_at: Generated<Date>;
    start_count: number;
    last_started_at: Date;
  };
  subsidy_access_policies: {
    uuid: Generated<string>;
    policy_type: PolicyType;
    enterprise_customer_uuid: string;
    display_name: string;
    description: string;
    active: boolean;
    retired: boolean;
    retired_at: Date | null;
    catalog_uuid: string;
    subsidy_uuid: string;
    access_method: string;
    spend_limit: Cents | null;
    per_learner_enrollment_limit: number | null;
    per_learner_spend_limit: Cents | null;
    late_redemption_allowed_until: Date | null;
    assignment_configuration: string | null;
    deleted_reason: string | null;
    created: Generated<Date>;
    modified: Generated<Date>;
  };
  policy_group_associations: {
    id: Generated<number>;
    policy_uuid: string;
    enterprise_group_uuid: string;
  };
  /**
   * ADR 0021's local aggregates, one row per policy: what the policy has spent or reserved, net
   * of releases and reversals. The redeem check locks this row, so the spend limit is enforced
   * here, in one database transaction, instead of behind a cache lock around network calls.
   */
  policy_spend: {
    policy_uuid: string;
    spent_cents: Cents;
    redemptions: number;
    modified: Timestamp;
  };
  /** The same per (policy, learner), for the per-learner caps. */
  policy_learner_spend: {
    policy_uuid: string;
    lms_user_id: number;
    spent_cents: Cents;
    redemptions: number;
    modified: Timestamp;
  };
  /**
   * One row per ledger idempotency key: the amount this redemption holds against the local
   * aggregates. `reserved` and `committed` count; `released` (failed before or during
   * fulfilment) and `reversed` (refunded) do not.
   */
  redemption_reservations: {
    uuid: string;
    idempotency_key: string;
    policy_uuid: string;
    lms_user_id: number;
    content_key: string;
    price_cents: Cents;
    state: 'reserved' | 'committed' | 'released' | 'reversed';
    transaction_uuid: string | null;
    created: Generated<Date>;
    modified: Timestamp;
  };
  /** ADR 0020: one audit row per redemption attempt; never changed by later reversals. */
  redemption_attempts: {
    uuid: string;
    workflow_id: string;
    run_id: string;
    policy_uuid: string;
    enterprise_customer_uuid: string | null;
    lms_user_id: number;
    content_key: string;
    assignment_uuid: string | null;
    request_uuid: string | null;
    requested_by: string | null;
    policy_state: Json | null;
    outcome: 'started' | 'redeemed' | 'rejected' | 'failed';
    can_redeem: boolean | null;
    reason: string | null;
    idempotency_key: string | null;
    transaction_uuid: string | null;
    fulfillment_identifier: string | null;
    price_cents: Cents | null;
    error_code: string | null;
    error_message: string | null;
    started_at: Generated<Date>;
    completed_at: Date | null;
  };
  /**
   * A bulk license enrollment job (license-manager's BulkEnrollmentJob): the request as made; its
   * workflow numbers its emails and course keys (`prepare`) and records each pair's outcome.
   */
  bulk_enrollment_jobs: {
    uuid: string;
    workflow_id: string;
    enterprise_customer_uuid: string;
    subscription_uuid: string | null;
    enroll_all: boolean;
    notify: boolean;
    /** The submitted emails (lower-cased, each once) and course keys, as JSON arrays. */
    requested_emails: Json;
    course_run_keys: Json;
    emails_per_chunk: number;
    courses_per_chunk: number;
    /** Set when the job is prepared (after an enroll-all substitution): how many emails it has. */
    email_count: number | null;
    course_count: number;
    state: BulkEnrollmentJobState;
    error: string | null;
    requested_by: string | null;
    created: Generated<Date>;
    started_at: Date | null;
    completed_at: Date | null;
    modified: Timestamp;
  };
  /** A job's emails, numbered (its pairs: every email × every course key). */
  bulk_enrollment_job_emails: {
    job_uuid: string;
    email_index: number;
    email: string;
  };
  /** A job's course keys, numbered. */
  bulk_enrollment_job_courses: {
    job_uuid: string;
    course_index: number;
    course_run_key: string;
  };
  /** The outcome of one (email, course) pair of a job, upstream's CSV row; no row: still queued. */
  bulk_enrollment_results: {
    job_uuid: string;
    email_index: number;
    course_index: number;
    status: Exclude<BulkEnrollmentPairStatus, 'queued'>;
    notes: string;
    license_uuid: string | null;
    modified: Timestamp;
  };
}

export const ACCESS_SCHEMA = 'access';
