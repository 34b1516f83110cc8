/**
 * The ADR 0025 step record, kept in workflow state instead of extra tables: per step its
 * status, input, output, last error and timestamps. Workflows expose it through the `status`
 * query; the api adds attempt counts from Temporal's own records (describe / history).
 * Deterministic: `Date.now()` inside workflow code is the workflow task's time.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed';

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

export interface WorkflowStatusView {
  status: 'running' | 'completed' | 'failed' | 'canceled' | 'terminated' | 'timed_out' | 'continued_as_new' | 'unknown';
  current_step: string | null;
  steps: StepView[];
}

export class StepLog {
  private readonly steps: StepView[];

  constructor(names: readonly string[]) {
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

  /** Runs one step, recording it; a failure is rethrown as a non-retryable failure naming the step. */
  async run<T>(name: string, input: unknown, fn: () => Promise<T>): Promise<T> {
    const step = this.steps.find((s) => s.name === name);
    if (!step) throw ApplicationFailure.nonRetryable(`unknown step ${name}`);
    step.status = 'running';
    step.input = input;
    step.started_at = new Date(Date.now()).toISOString();
    try {
      const output = await fn();
      step.status = 'succeeded';
      step.output = output ?? null;
      return output;
    } catch (err) {
      step.status = 'failed';
      step.last_error = describeFailure(err);
      throw ApplicationFailure.create({
        type: 'StepFailed',
        message: `${name}: ${step.last_error}`,
        nonRetryable: true,
        details: [{ step: name }],
      });
    } finally {
      step.finished_at = new Date(Date.now()).toISOString();
    }
  }

  view(): WorkflowStatusView {
    const running = this.steps.find((s) => s.status === 'running');
    const failed = this.steps.some((s) => s.status === 'failed');
    const done = this.steps.every((s) => s.status === 'succeeded');
    return {
      status: failed ? 'failed' : done ? 'completed' : 'running',
      current_step: running?.name ?? null,
      steps: this.steps.map((s) => ({ ...s })),
    };
  }
}

/** The downstream's own words, not Temporal's wrapper text ("Activity task failed"). */
export function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure) {
    const cause = err.cause;
    // The retry window (schedule-to-close) ran out: the server ends the activity either with the
    // last attempt's own failure (retry state TIMEOUT) or with a timeout failure wrapping it.
    if (cause instanceof TimeoutFailure) {
      const last = cause.cause?.message;
      const what =
        cause.timeoutType === 'SCHEDULE_TO_CLOSE' ? 'still failing at the end of the retry window' : 'timed out';
      return `${what}${last ? `; last error: ${last}` : ''}`;
    }
    if (err.retryState === 'TIMEOUT' && cause) {
      return `still failing at the end of the retry window; last error: ${cause.message}`;
    }
    return cause?.message ?? err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
