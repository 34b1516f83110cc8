import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';

/**
 * Starts a workflow under a business id, or joins it: a running run with that id is joined
 * (conflict policy USE_EXISTING) and a closed one that may not run again (reuse policy
 * ALLOW_DUPLICATE_FAILED_ONLY: completed runs) is returned for its result.
 */
export async function startOrJoin<W extends Workflow>(
  client: Client,
  type: string,
  options: WorkflowStartOptions<W>,
): Promise<WorkflowHandle<W>> {
  try {
    return await client.workflow.start<W>(type, {
      ...options,
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    } as WorkflowStartOptions<W>);
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle<W>(options.workflowId);
    throw err;
  }
}

export type Waited<T> = { state: 'done'; value: T } | { state: 'failed'; error: unknown } | { state: 'running' };

/** The workflow's outcome if it ends within `ms`, else `running` (the caller answers 202). */
export async function waitFor<T>(promise: Promise<T>, ms: number): Promise<Waited<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Waited<T>>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'running' }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value): Waited<T> => ({ state: 'done', value }),
        (error: unknown): Waited<T> => ({ state: 'failed', error }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The failing step's message (it names the step and carries the downstream's own error). */
export function failureMessage(err: unknown): string {
  if (err instanceof WorkflowFailedError) return err.cause?.message ?? err.message;
  return err instanceof Error ? err.message : String(err);
}
