/**
 * The one status view of every workflow (ADR 0025's step record, kept in workflow state instead
 * of extra tables): overall state, current step, and per step its status, input, output, last
 * error and timestamps, plus a feature's own `progress` (e.g. a bulk job's counts). Workflows
 * expose it through the `status` query; the api adds attempt counts from Temporal's own records
 * (describe / history) and rebuilds it from the history when no worker can answer.
 * Every change is also written to the workflow's current details, so the Web UI says which step
 * runs now. Deterministic: `Date.now()` inside workflow code is the workflow task's time.
 */
import { ActivityFailure, ApplicationFailure, setCurrentDetails, TimeoutFailure } from '@temporalio/workflow';

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface StepView {
  name: string;
  status: StepStatus;
  /** How many times the step's activities were tried (filled in by the api). */
  attempts: number;
  input: unknown;
  output: unknown;
  last_error: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export type WorkflowState =
  | 'running'
  | 'completed'
  | 'failed'
  | 'canceled'
  | 'terminated'
  | 'timed_out'
  | 'continued_as_new'
  | 'unknown';

export interface WorkflowStatusView {
  status: WorkflowState;
  current_step: string | null;
  steps: StepView[];
  /** Feature-specific progress (counts, ids found so far), or null. */
  progress?: unknown;
}

const STEP_FAILED = 'StepFailed';

export class StepLog {
  private readonly steps: StepView[];
  private ended: 'completed' | 'failed' | null = null;
  private progress: () => unknown = () => null;

  constructor(
    names: readonly string[],
    /** One line for the Web UI's header, e.g. "Provision acme (Acme Inc.)". */
    private readonly title: string,
  ) {
    this.steps = names.map((name) => ({
      name,
      status: 'pending',
      attempts: 0,
      input: null,
      output: null,
      last_error: null,
      started_at: null,
      finished_at: null,
    }));
  }

  /** Adds the feature's own progress to the view (and to the current details). */
  withProgress(read: () => unknown): this {
    this.progress = read;
    return this;
  }

  /**
   * Runs one step, recording it; a failure is rethrown as a non-retryable `StepFailed` failure
   * whose message names the step and carries the downstream's own words.
   */
  async run<T>(name: string, input: unknown, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.track(name, input, fn);
    } catch {
      const step = this.step(name);
      throw ApplicationFailure.create({
        type: STEP_FAILED,
        message: `${name}: ${step.last_error}`,
        nonRetryable: true,
        details: [{ step: name }],
      });
    }
  }

  /** Runs one step, recording it; a failure is recorded and rethrown as it is (the caller decides). */
  async track<T>(name: string, input: unknown, fn: () => Promise<T>): Promise<T> {
    const step = this.step(name);
    step.status = 'running';
    step.input = input;
    step.started_at = now();
    step.finished_at = null;
    this.publish();
    try {
      const output = await fn();
      step.status = 'succeeded';
      step.output = output ?? null;
      return output;
    } catch (err) {
      step.status = 'failed';
      step.last_error = describeFailure(err);
      throw err;
    } finally {
      step.finished_at = now();
      this.publish();
    }
  }

  /** A step another step's activity did as well (e.g. the attempt row, written with the check). */
  done(name: string, input: unknown, output: unknown = null): void {
    const step = this.step(name);
    step.status = 'succeeded';
    step.input = input;
    step.output = output;
    step.started_at ??= now();
    step.finished_at = now();
    this.publish();
  }

  /** A step the workflow did not need (e.g. enrollment when the ledger already held the content). */
  skip(name: string, reason: string): void {
    const step = this.step(name);
    step.status = 'skipped';
    step.output = { skipped: reason };
    this.publish();
  }

  /** The workflow's end, as its view should tell it. */
  end(state: 'completed' | 'failed'): void {
    this.ended = state;
    this.publish();
  }

  view(): WorkflowStatusView {
    const running = this.steps.find((s) => s.status === 'running');
    const failed = this.steps.some((s) => s.status === 'failed');
    const done = this.steps.every((s) => s.status === 'succeeded' || s.status === 'skipped');
    return {
      status: this.ended ?? (failed ? 'failed' : done ? 'completed' : 'running'),
      current_step: running?.name ?? null,
      steps: this.steps.map((s) => ({ ...s })),
      progress: this.progress() ?? null,
    };
  }

  private step(name: string): StepView {
    const step = this.steps.find((s) => s.name === name);
    if (!step) throw ApplicationFailure.nonRetryable(`unknown step ${name}`);
    return step;
  }

  /** The Web UI's "current details": the title, then each step with a mark, as Markdown. */
  private publish(): void {
    const mark: Record<StepStatus, string> = {
      pending: '·',
      running: '▶',
      succeeded: '✓',
      failed: '✗',
      skipped: '–',
    };
    const lines = this.steps.map(
      (s) => `${mark[s.status]} ${s.name}${s.status === 'failed' && s.last_error ? `: ${s.last_error}` : ''}`,
    );
    const progress = this.progress();
    setCurrentDetails(
      [`**${this.title}**`, ...lines, ...(progress ? [`progress: ${JSON.stringify(progress)}`] : [])].join('\n'),
    );
  }
}

const now = () => new Date(Date.now()).toISOString();

/** The downstream's own words, not Temporal's wrapper text ("Activity task failed"). */
export function describeFailure(err: unknown): string {
  // An activity's failure arrives wrapped in an ActivityFailure; a local activity's, as it was thrown.
  const wrapped = err instanceof ActivityFailure;
  const cause = wrapped ? err.cause : err;
  // The retry window (schedule-to-close) ran out: the server ends the activity either with the
  // last attempt's own failure (retry state TIMEOUT) or with a timeout failure wrapping it.
  if (cause instanceof TimeoutFailure) {
    const last = cause.cause?.message;
    const what =
      cause.timeoutType === 'SCHEDULE_TO_CLOSE' ? 'still failing at the end of the retry window' : 'timed out';
    return `${what}${last ? `; last error: ${last}` : ''}`;
  }
  if (err instanceof ActivityFailure) {
    if (err.retryState === 'TIMEOUT' && err.cause) {
      return `still failing at the end of the retry window; last error: ${err.cause.message}`;
    }
    return err.cause?.message ?? err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
