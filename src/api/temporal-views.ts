import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
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

type History = temporal.api.history.v1.IHistory;

const decode = (payloads: Payload[] | null | undefined): unknown =>
  payloads?.[0] ? defaultPayloadConverter.fromPayload(payloads[0]) : null;

/**
 * The step view rebuilt from a workflow's history alone (no worker needed): each step's
 * activities' inputs, outputs, failures, attempts and times. Used for closed workflows when the
 * `status` query cannot be answered (no worker polls the task queue). A step with several
 * activities (one per admin) lists their inputs and outputs in order.
 */
export function stepsFromHistory(history: History, stepNames: readonly string[]): StepView[] {
  interface Acc {
    view: StepView;
    inputs: unknown[];
    outputs: unknown[];
    open: number;
    failed: boolean;
  }
  const acc = new Map<string, Acc>(
    stepNames.map((name) => [
      name,
      {
        view: {
          name,
          status: 'pending',
          attempts: 0,
          input: null,
          output: null,
          last_error: null,
          started_at: null,
          finished_at: null,
        },
        inputs: [],
        outputs: [],
        open: 0,
        failed: false,
      },
    ]),
  );
  const scheduled = new Map<string, { step: Acc; index: number }>();
  const iso = (ts: { seconds?: unknown; nanos?: number | null } | null | undefined) => {
    if (!ts) return null;
    // Seconds come as a Long from gRPC and as a number or string from a JSON history.
    const s = ts.seconds as { toNumber?: () => number } | number | string | null | undefined;
    const seconds = typeof s === 'object' && s?.toNumber ? s.toNumber() : Number(s ?? 0);
    return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
  };
  for (const e of history.events ?? []) {
    const at = iso(e.eventTime);
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityId) {
      const step = acc.get(stepOf(s.activityId));
      if (!step) continue;
      scheduled.set(String(e.eventId), { step, index: step.inputs.length });
      step.inputs.push(decode(s.input?.payloads as Payload[] | undefined));
      step.outputs.push(null);
      step.open += 1;
      step.view.started_at ??= at;
      continue;
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const ref = scheduled.get(String(started.scheduledEventId));
      if (ref) ref.step.view.attempts = Math.max(ref.step.view.attempts, started.attempt ?? 1);
      continue;
    }
    const completed = e.activityTaskCompletedEventAttributes;
    const failed = e.activityTaskFailedEventAttributes;
    const timedOut = e.activityTaskTimedOutEventAttributes;
    const ref = scheduled.get(
      String(completed?.scheduledEventId ?? failed?.scheduledEventId ?? timedOut?.scheduledEventId),
    );
    if (!ref) continue;
    ref.step.open -= 1;
    ref.step.view.finished_at = at;
    if (completed) ref.step.outputs[ref.index] = decode(completed.result?.payloads as Payload[] | undefined);
    const failure = failed?.failure ?? timedOut?.failure;
    if (failure) {
      ref.step.failed = true;
      ref.step.view.last_error = failure.cause?.message ?? failure.message ?? null;
    }
  }
  return [...acc.values()].map(({ view, inputs, outputs, open, failed }) => ({
    ...view,
    status: failed ? 'failed' : open > 0 ? 'running' : inputs.length > 0 ? 'succeeded' : 'pending',
    input: inputs.length > 1 ? inputs : (inputs[0] ?? null),
    output: outputs.length > 1 ? outputs : (outputs[0] ?? null),
  }));
}
