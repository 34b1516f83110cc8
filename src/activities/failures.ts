import { ApplicationFailure } from '@temporalio/common';
import { ServiceError } from '../lib/http-client';
import { FAILURE } from '../workflows/retry-policies';

/**
 * Turns a downstream failure into what Temporal should do with it: a retryable failure for
 * transient faults (the activity's retry policy takes over), a non-retryable one for a 4xx, so
 * the workflow fails at once with the downstream's own message.
 */
export function toActivityFailure(err: unknown): unknown {
  if (!(err instanceof ServiceError)) return err;
  const details = [
    { service: err.service, operation: err.operation, status: err.status ?? null, body: err.body ?? null },
  ];
  if (err.retryable) {
    return ApplicationFailure.create({ type: FAILURE.serviceUnavailable, message: err.message, details });
  }
  return ApplicationFailure.create({
    type: FAILURE.serviceRejected,
    message: err.message,
    details,
    nonRetryable: true,
  });
}

/** Runs `fn`, translating service errors as `toActivityFailure` describes. */
export async function callService<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toActivityFailure(err);
  }
}
