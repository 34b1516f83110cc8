/**
 * How every workflow retries its activities, by name, and the failure types that decide it.
 * Activities classify a downstream's answer once (`activities/failures.ts`): network faults,
 * timeouts, 5xx, 408 and 429 are transient (`ServiceUnavailable`, retried with backoff); any other
 * 4xx is the downstream refusing the request (`ServiceRejected`, never retried: the workflow fails
 * at once with the downstream's words). Workflow-safe: no Node APIs.
 */
import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/common';

export const FAILURE = {
  /** A downstream could not be reached or answered 5xx / 408 / 429: retry. */
  serviceUnavailable: 'ServiceUnavailable',
  /** A downstream refused the request (4xx): do not retry. */
  serviceRejected: 'ServiceRejected',
  /** A workflow's input failed its schema (e.g. a CLI start with a bad body): do not retry. */
  invalidProvisioningRequest: 'InvalidProvisioningRequest',
  invalidBulkEnrollmentRequest: 'InvalidBulkEnrollmentRequest',
  /** A record exists downstream that the request cannot reuse (e.g. a slug of an inactive customer). */
  provisioningConflict: 'ProvisioningConflict',
} as const;

const NON_RETRYABLE = [
  FAILURE.serviceRejected,
  FAILURE.invalidProvisioningRequest,
  FAILURE.invalidBulkEnrollmentRequest,
  FAILURE.provisioningConflict,
];

export const RETRY = {
  /** Calls to other services and to the orchestrator's own records: backoff from 250 ms to 30 s. */
  transient: {
    initialInterval: '250 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
  /** In-process checks (local activities): a few quick tries. */
  quick: { initialInterval: '100 milliseconds', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
} as const satisfies Record<string, RetryPolicy>;

export interface StepTimeouts {
  /** How long transient faults of one step are retried before the step fails. */
  retryWindowSeconds: number;
  /** How long one attempt may run before it counts as lost (e.g. its worker crashed). */
  attemptTimeoutSeconds: number;
}

/**
 * Options of one step's activity: its id (the step's name, so the status view finds its attempts
 * in the history), the summary the Web UI shows, the transient retry policy within the step's
 * retry window. `window: false` retries without a window: bookkeeping that must land even after
 * the business step failed.
 */
export function stepOptions(
  activityId: string,
  summary: string,
  t: StepTimeouts,
  extra: { window?: boolean; heartbeatSeconds?: number } = {},
): ActivityOptions {
  return {
    activityId,
    summary,
    startToCloseTimeout: `${t.attemptTimeoutSeconds} seconds`,
    ...(extra.window === false ? {} : { scheduleToCloseTimeout: `${t.retryWindowSeconds} seconds` }),
    ...(extra.heartbeatSeconds ? { heartbeatTimeout: `${extra.heartbeatSeconds} seconds` } : {}),
    retry: RETRY.transient,
  };
}

/**
 * The same step as a local activity: the worker runs it inside the workflow task, with no task
 * of its own to schedule, dispatch and record, so a chain of short steps costs one round trip to
 * the server instead of two per step. Only for steps that are idempotent (a crashed worker's
 * workflow task is retried elsewhere and runs the step again) and short (seconds).
 */
export function localStepOptions(
  summary: string,
  t: StepTimeouts,
  extra: { window?: boolean } = {},
): LocalActivityOptions {
  return {
    summary,
    startToCloseTimeout: `${t.attemptTimeoutSeconds} seconds`,
    ...(extra.window === false ? {} : { scheduleToCloseTimeout: `${t.retryWindowSeconds} seconds` }),
    retry: RETRY.transient,
  };
}
