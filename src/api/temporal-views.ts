import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { StepView, WorkflowStatusView } from '../workflows/step-log';

/**
 * Temporal's own records about a workflow's activities, folded into the ADR 0025 step view:
 * how many attempts each step took and the last error of the one running now. Steps are found
 * by activity id: `<step>` or `<step>/<part>` (see `provisionNewCustomer`).
 */
export interface ActivityAttempts {
  attempts: Map<string, number>;
  lastErrors: Map<string, string>;
}

const stepOf = (activityId: string) => activityId.split('/')[0] as string;

export async function activityAttempts(client: Client, workflowId: string, description: WorkflowExecutionDescription) {
  const attempts = new Map<string, number>();
  const lastErrors = new Map<string, string>();
  const bump = (activityId: string, attempt: number) => {
    const step = stepOf(activityId);
    attempts.set(step, Math.max(attempts.get(step) ?? 0, attempt));
  };
  const history = await client.workflow.getHandle(workflowId, description.runId).fetchHistory();
  const scheduled = new Map<string, string>();
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityId && e.eventId != null) scheduled.set(String(e.eventId), s.activityId);
    const started = e.activityTaskStartedEventAttributes;
    if (started?.scheduledEventId != null) {
      const id = scheduled.get(String(started.scheduledEventId));
      if (id) bump(id, started.attempt ?? 1);
    }
    const failed = e.activityTaskFailedEventAttributes;
    if (failed?.scheduledEventId != null) {
      const id = scheduled.get(String(failed.scheduledEventId));
      if (id && failed.failure?.message)
        lastErrors.set(stepOf(id), failed.failure.cause?.message ?? failed.failure.message);
    }
  }
  for (const p of description.raw.pendingActivities ?? []) {
    if (!p.activityId) continue;
    bump(p.activityId, p.attempt ?? 1);
    const message = p.lastFailure?.message;
    if (message) lastErrors.set(stepOf(p.activityId), message);
  }
  return { attempts, lastErrors } satisfies ActivityAttempts;
}

export function withAttempts(view: WorkflowStatusView, a: ActivityAttempts): StepView[] {
  return view.steps.map((s) => ({
    ...s,
    attempts: a.attempts.get(s.name) ?? s.attempts,
    last_error: s.last_error ?? a.lastErrors.get(s.name) ?? null,
  }));
}

export function workflowStatusName(d: WorkflowExecutionDescription): WorkflowStatusView['status'] {
  switch (d.status.name) {
    case 'RUNNING':
      return 'running';
    case 'COMPLETED':
      return 'completed';
    case 'FAILED':
      return 'failed';
    case 'CANCELLED':
      return 'canceled';
    case 'TERMINATED':
      return 'terminated';
    case 'TIMED_OUT':
      return 'timed_out';
    case 'CONTINUED_AS_NEW':
      return 'continued_as_new';
    default:
      return 'unknown';
  }
}
