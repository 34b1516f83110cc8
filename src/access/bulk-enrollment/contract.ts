/**
 * The shapes of a bulk enrollment job's records and of the messages between its workflow and its
 * activities. The activities ask the services (license-manager, catalog, lms) over HTTP and keep
 * the job and every pair's outcome in the orchestrator's own tables. Every message stays small
 * whatever the job's size: a chunk is named by its index ranges, and its pairs are read from (and
 * written back to) the job record, so nothing large passes through Temporal's history.
 */

/** A pair's outcome as the results CSV writes it; `queued` until its chunk has run. */
export const PAIR_STATUSES = ['queued', 'success', 'pending', 'failed'] as const;
export type PairStatus = (typeof PAIR_STATUSES)[number];
export type PairOutcomeStatus = Exclude<PairStatus, 'queued'>;

export const JOB_STATES = ['queued', 'running', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** The request as a job holds it (the HTTP query and body, normalised). */
export interface BulkEnrollmentRequest {
  enterprise_customer_uuid: string;
  subscription_uuid: string | null;
  enroll_all: boolean;
  /** Lower-cased, each once, in request order. */
  emails: string[];
  /** Each once, in request order. */
  course_run_keys: string[];
  notify: boolean;
}

/** Pair counts by outcome. */
export interface OutcomeCounts {
  success: number;
  pending: number;
  failed: number;
}

/** What the workflow needs to know of its job: small, carried across continue-as-new. */
export interface JobPlan {
  job_uuid: string;
  enterprise_customer_uuid: string;
  subscription_uuid: string | null;
  notify: boolean;
  email_count: number;
  course_count: number;
  emails_per_chunk: number;
  courses_per_chunk: number;
}

export interface JobSnapshot {
  job_uuid: string;
  enterprise_customer_uuid: string;
  subscription_uuid: string | null;
  enroll_all: boolean;
  notify: boolean;
  state: JobState;
  /** Whether its emails and course keys are numbered yet (once, by `prepare`). */
  prepared: boolean;
  emails_per_chunk: number;
  courses_per_chunk: number;
}

/** One chunk: emails [email_from, email_to) × courses [course_from, course_to) of the job. */
export interface ChunkRange {
  index: number;
  email_from: number;
  email_to: number;
  course_from: number;
  course_to: number;
}

/** A chunk's emails (from `email_from` on) and course keys (from `course_from` on). */
export interface ChunkLists {
  emails: string[];
  course_run_keys: string[];
}

export interface JobPair {
  email_index: number;
  course_index: number;
  email: string;
  course_run_key: string;
}

export interface PairOutcome {
  email_index: number;
  course_index: number;
  status: PairOutcomeStatus;
  notes: string;
  license_uuid: string | null;
}

/**
 * A chunk's outcomes as they travel to the api: the pairs with the same outcome in one group,
 * each pair by its position in the chunk (emails outside, courses inside), so a chunk of 625
 * pairs is a few kilobytes rather than 625 objects.
 */
export interface OutcomeGroup {
  status: PairOutcomeStatus;
  notes: string;
  license_uuid: string | null;
  pairs: number[];
}

export interface RecordOutcomesInput {
  chunk: ChunkRange;
  groups: OutcomeGroup[];
}

export interface FinishJobInput {
  state: 'completed' | 'failed';
  error?: string | null;
}

export interface JobCounts extends OutcomeCounts {
  total: number;
  queued: number;
}

export interface FinishJobResult {
  job_uuid: string;
  state: JobState;
  counts: JobCounts;
}
