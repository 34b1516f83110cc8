/**
 * The one way the api starts, joins, waits for and reports on workflows, for every feature:
 *
 * - `startAndWait`: start a workflow under its business id, or join the run that has that id
 *   (conflict policy USE_EXISTING; a completed run that may not run again is returned for its
 *   result), with the operator's summary for the Web UI, and wait up to a limit. The answer is
 *   the result, the failure, or `running` (the route answers 202 with a status URL).
 * - `status`: the one status view (ADR 0025 shape) of a workflow of a given type: overall state,
 *   current step, per step its status, attempts, input, output and last error, the feature's
 *   progress, and the result or error. Read from the workflow's `status` query, or rebuilt from
 *   its history when no worker answers, so a status page never depends on a worker being up.
 *
 * Temporal faults are answered honestly: an unreachable Temporal (or a namespace without the
 * search attributes the code uses) is a 503 naming it, within seconds; a wait cut short (Temporal
 * lost mid-wait, or the api shutting down) is `running`, never "failed", because the workflow may
 * still complete, and repeating the request joins it.
 */
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { SearchAttributePair, TypedSearchAttributes } from '@temporalio/common';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { NotFound, Unavailable } from '../lib/http-errors';
import { statusQuery } from '../workflows/definitions';
import type { StepView, WorkflowState, WorkflowStatusView } from '../workflows/step-log';

/** How long a call to Temporal (start, describe, query) may take before the answer is a 503. */
const TEMPORAL_CALL_MS = 5_000;

export interface StartSpec {
  /** The workflow type, e.g. `provisionNewCustomer`. */
  type: string;
  /** The business id: the same request gets the same id, so a repeat joins the first run. */
  workflowId: string;
  args: unknown[];
  searchAttributes: SearchAttributePair[];
  /** One line an operator reads in the Web UI's list, e.g. "Provision acme (Acme Inc.)". */
  summary: string;
  /** Markdown an operator reads on the workflow's page: who asked, what for. */
  details?: string;
}

export type RunOutcome<T> =
  /** `repeat`: the run had completed before this request (a repeat of a finished request). */
  | { state: 'completed'; workflowId: string; runId: string; value: T; repeat: boolean }
  | { state: 'failed'; workflowId: string; runId: string; error: unknown; message: string }
  | { state: 'running'; workflowId: string; runId: string };

/** The body of a 202: where to follow a workflow still running. */
export interface Accepted {
  workflow_id: string;
  run_id: string;
  status_url: string;
}

export interface RunStatus {
  workflow_id: string;
  run_id: string;
  type: string;
  status: WorkflowState;
  current_step: string | null;
  started_at: string;
  closed_at: string | null;
  steps: StepView[];
  progress: unknown;
  result: unknown;
  error: string | null;
}

export class WorkflowRuns {
  /** Aborted when the api stops: waiting requests are answered at once with their 202. */
  private readonly stopping = new AbortController();

  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    /**
     * Ask the server to hand a new workflow's first task straight back to this process's worker
     * (eager start): only when the client shares a NativeConnection with a worker of the task
     * queue, as in `npm start`; the server falls back to the task queue when no worker takes it.
     */
    private readonly eagerStart = false,
  ) {}

  /** Answers every request still waiting on a workflow (their 202), e.g. when the api stops. */
  releaseWaits(): void {
    this.stopping.abort();
  }

  /** Starts the workflow, or joins the run with its id; returns that run's id, and whether it had completed. */
  async start(spec: StartSpec): Promise<WorkflowHandle & { runId: string; closed: boolean }> {
    try {
      const handle = await this.temporal(() =>
        this.client.workflow.start(spec.type, {
          taskQueue: this.taskQueue,
          workflowId: spec.workflowId,
          args: spec.args,
          typedSearchAttributes: spec.searchAttributes,
          staticSummary: spec.summary,
          staticDetails: spec.details,
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
          requestEagerStart: this.eagerStart,
        }),
      );
      return Object.assign(handle, { runId: handle.firstExecutionRunId, closed: false });
    } catch (err) {
      // A completed run with this id may not run again: it is the answer.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const handle = this.client.workflow.getHandle(spec.workflowId);
      const description = await this.temporal(() => handle.describe());
      return Object.assign(handle, { runId: description.runId, closed: true });
    }
  }

  /** Starts or joins, then waits up to `waitSeconds` for the outcome. */
  async startAndWait<T>(spec: StartSpec, waitSeconds: number): Promise<RunOutcome<T>> {
    const handle = await this.start(spec);
    const ids = { workflowId: spec.workflowId, runId: handle.runId };
    // A controller and a timer held here, not AbortSignal.timeout/any: those may be collected
    // before they fire, and the wait would then last as long as the workflow.
    const wait = new AbortController();
    const stop = () => wait.abort();
    const timer = setTimeout(stop, Math.max(1, waitSeconds * 1000));
    this.stopping.signal.addEventListener('abort', stop);
    try {
      const value = (await this.client.withAbortSignal(wait.signal, () => handle.result())) as T;
      return { state: 'completed', ...ids, value, repeat: handle.closed };
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        return { state: 'failed', ...ids, error: err, message: failureMessage(err) };
      }
      // Timed out, aborted, or Temporal lost while waiting: the outcome is not known yet.
      return { state: 'running', ...ids };
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', stop);
    }
  }

  /**
   * The status view of `workflowId` if it is a workflow of `type` (404 with `notFound` otherwise);
   * `authorize` sees its search attributes first and throws to refuse the caller.
   */
  async status(
    workflowId: string,
    type: string,
    opts: {
      steps: readonly string[];
      /** Steps run as local activities: activity type → its step(s) (their history holds markers, not tasks). */
      localSteps?: Readonly<Record<string, string | readonly string[]>>;
      notFound?: string;
      authorize?: (attributes: TypedSearchAttributes) => Promise<void>;
    },
  ): Promise<RunStatus> {
    const stepNames = opts.steps;
    const handle = this.client.workflow.getHandle(workflowId);
    const description = await this.temporal(() => handle.describe()).catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new NotFound(opts.notFound);
      throw err;
    });
    if (description.type !== type) throw new NotFound(opts.notFound);
    await opts.authorize?.(description.typedSearchAttributes);
    const status = workflowState(description.status.name);
    const history = await this.temporal(() => handle.fetchHistory());
    // The workflow's own `status` query (a closed one is answered by a worker replaying its
    // history). With no worker to answer in time, the same view is rebuilt from the history.
    const view = await this.client
      .withDeadline(Date.now() + 3000, () => handle.query(statusQuery))
      .then((v) => v as WorkflowStatusView)
      .catch((): WorkflowStatusView => {
        const steps = stepsFromHistory(history, stepNames, opts.localSteps);
        return { status, current_step: steps.find((s) => s.status === 'running')?.name ?? null, steps };
      });
    const attempts = activityAttempts(history, description.raw.pendingActivities ?? []);
    let result: unknown = null;
    let error: string | null = null;
    if (status === 'completed') result = await handle.result();
    if (status === 'failed') error = await handle.result().then(() => null, failureMessage);
    return {
      workflow_id: workflowId,
      run_id: description.runId,
      type: description.type,
      status,
      current_step: status === 'running' ? view.current_step : null,
      started_at: description.startTime.toISOString(),
      closed_at: description.closeTime?.toISOString() ?? null,
      steps: view.steps.map((s) => ({
        ...s,
        attempts: attempts.attempts.get(s.name) ?? s.attempts,
        last_error: s.last_error ?? attempts.lastErrors.get(s.name) ?? null,
      })),
      progress: view.progress ?? null,
      result,
      error,
    };
  }

  /** A call to Temporal that answers within seconds, or a 503 that says why. */
  private async temporal<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await this.client.withDeadline(Date.now() + TEMPORAL_CALL_MS, fn);
    } catch (err) {
      throw temporalFault(err) ?? err;
    }
  }
}

/** The 202 body of a run still going, with where to follow it. */
export const accepted = (outcome: { workflowId: string; runId: string }, statusUrl: string): Accepted => ({
  workflow_id: outcome.workflowId,
  run_id: outcome.runId,
  status_url: statusUrl,
});

/** The failing step's message (it names the step and carries the downstream's own error). */
function failureMessage(err: unknown): string {
  if (err instanceof WorkflowFailedError) return err.cause?.message ?? err.message;
  return err instanceof Error ? err.message : String(err);
}

/** gRPC status codes that mean "Temporal cannot answer now". */
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;
const INVALID_ARGUMENT = 3;

function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** Temporal faults as the client should see them (503 naming the fix), or undefined. */
export function temporalFault(err: unknown): Unavailable | undefined {
  const code = grpcCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === UNAVAILABLE || code === DEADLINE_EXCEEDED) {
    return new Unavailable(
      `Temporal cannot be reached (${message.slice(0, 200)}). Nothing was lost; repeat the same request.`,
    );
  }
  const attribute = /search attribute (\w+)/i.exec(message);
  if (code === INVALID_ARGUMENT && attribute) {
    return new Unavailable(
      `The Temporal namespace has no search attribute ${attribute[1]}; register it with ` +
        `\`temporal operator search-attribute create --name ${attribute[1]} --type <Keyword|Int>\` (see the README).`,
      60,
    );
  }
  return undefined;
}

function workflowState(name: string): WorkflowState {
  const known: Record<string, WorkflowState> = {
    RUNNING: 'running',
    COMPLETED: 'completed',
    FAILED: 'failed',
    CANCELLED: 'canceled',
    TERMINATED: 'terminated',
    TIMED_OUT: 'timed_out',
    CONTINUED_AS_NEW: 'continued_as_new',
  };
  return known[name] ?? 'unknown';
}

type History = temporal.api.history.v1.IHistory;
type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

/** Steps are found by activity id: `<step>` or `<step>/<part>` (several activities of one step). */
const stepOf = (activityId: string) => activityId.split('/')[0] as string;

/** Temporal's own records of each step's attempts and the last error of one still retrying. */
function activityAttempts(history: History, pending: PendingActivity[]) {
  const attempts = new Map<string, number>();
  const lastErrors = new Map<string, string>();
  const bump = (activityId: string, attempt: number) => {
    const step = stepOf(activityId);
    attempts.set(step, Math.max(attempts.get(step) ?? 0, attempt));
  };
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
  for (const p of pending) {
    if (!p.activityId) continue;
    bump(p.activityId, p.attempt ?? 1);
    const message = p.lastFailure?.message;
    if (message) lastErrors.set(stepOf(p.activityId), message);
  }
  return { attempts, lastErrors };
}

const decode = (payloads: Payload[] | null | undefined): unknown =>
  payloads?.[0] ? defaultPayloadConverter.fromPayload(payloads[0]) : null;

type HistoryEvent = NonNullable<History['events']>[number];

/** A local activity's marker: its type, attempt, result or failure (local activities have no task events). */
function localActivityOf(e: HistoryEvent) {
  const m = e.markerRecordedEventAttributes;
  if (m?.markerName !== 'core_local_activity') return undefined;
  const data = decode(m.details?.data?.payloads as Payload[] | undefined) as {
    activity_type?: string;
    attempt?: number;
  } | null;
  return {
    type: data?.activity_type ?? '',
    attempt: data?.attempt ?? 1,
    result: decode(m.details?.result?.payloads as Payload[] | undefined),
    failure: m.failure ? (m.failure.cause?.message ?? m.failure.message ?? 'failed') : null,
  };
}

/**
 * The step view rebuilt from a workflow's history alone (no worker needed): each step's
 * activities' inputs, outputs, failures, attempts and times. A step with several activities (one
 * per admin) lists their inputs and outputs in order.
 */
export function stepsFromHistory(
  history: History,
  stepNames: readonly string[],
  localSteps: Readonly<Record<string, string | readonly string[]>> = {},
): StepView[] {
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
    const local = localActivityOf(e);
    if (local) {
      for (const name of [localSteps[local.type] ?? []].flat()) {
        const step = acc.get(name);
        if (!step) continue;
        step.inputs.push(null);
        step.outputs.push(local.result);
        step.view.attempts = Math.max(step.view.attempts, local.attempt);
        step.view.started_at ??= at;
        step.view.finished_at = at;
        if (local.failure) {
          step.failed = true;
          step.view.last_error = local.failure;
        }
      }
      continue;
    }
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
