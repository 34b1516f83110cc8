import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { chunkCount, chunkRange, pairsIn } from '../access/bulk-enrollment/chunks';
import type { ChunkRange, FinishJobResult, JobPlan, OutcomeCounts } from '../access/bulk-enrollment/contract';
import type { Activities } from '../activities';
import { DEFAULTS } from '../lib/defaults';
import { searchAttributes, statusQuery } from './definitions';
import { FAILURE, RETRY } from './retry-policies';
import { describeFailure, StepLog } from './step-log';

/** The request fields of a CLI start (the HTTP query and body in one object). */
const REQUEST_KEYS = [
  'enterprise_customer_uuid',
  'subscription_uuid',
  'enroll_all',
  'emails',
  'course_run_keys',
  'notify',
] as const;

export interface BulkLicenseEnrollmentInput {
  /** The job the api made. A CLI start leaves it out and gives the request fields instead. */
  job_uuid?: string;
  enterprise_customer_uuid?: string;
  subscription_uuid?: string | null;
  enroll_all?: boolean;
  emails?: string[];
  course_run_keys?: string[];
  notify?: boolean;
  /** Chunk sizes of a job made here (the api fixes them on the job it makes); default 25 × 25. */
  emails_per_chunk?: number;
  courses_per_chunk?: number;
  /** How many chunks are in flight at once (default 4). */
  concurrent_chunks?: number;
  /** How long one chunk retries transient faults before the job fails (default 900 s). */
  retry_window_seconds?: number;
  /** Chunks per workflow run before continuing as new (default 500), to keep each history small. */
  chunks_per_run?: number;
  /** Carried over by continue-as-new: where the previous run stopped. */
  resume?: BulkEnrollmentResume;
}

export interface BulkEnrollmentResume {
  plan: JobPlan;
  next_chunk: number;
  counts: OutcomeCounts;
  run: number;
}

const BULK_ENROLLMENT_STEPS = ['prepare', 'enroll_chunks', 'finish'] as const;

/** The `progress` of the `status` query's view. */
export interface BulkEnrollmentProgress {
  job_uuid: string;
  state: 'preparing' | 'running' | 'finishing' | 'completed' | 'failed';
  run: number;
  chunks_total: number | null;
  chunks_done: number;
  chunks_in_flight: number;
  pairs_total: number | null;
  pairs_done: number;
  success: number;
  pending: number;
  failed: number;
  percent: number;
  error: string | null;
}

const BULK_ENROLLMENT_FAILED = 'BulkEnrollmentFailed';

/** Changes of this workflow's commands, by `patched()` id (runs started before keep their history). */
const PATCHES = { namedActivities: 'bulk-enrollment-named-activities' } as const;

/**
 * A bulk license enrollment job (licenses-and-enrollment §6, reshaped for durability and size):
 * prepare the job (make it, for a CLI start; read an enroll-all plan's licensees; number its
 * emails and course keys), then one activity per chunk of 25 emails × 25 courses (upstream's batching), a few
 * at a time, each checking its pairs' licenses and catalogs, enrolling the licensed ones in one
 * idempotent lms call and recording every outcome in the job record. Activity inputs and outputs
 * are a chunk's index ranges and its counts, so a job of any size keeps small payloads; after
 * `chunks_per_run` chunks the workflow continues as new with its counts, so no history grows
 * large. A chunk still failing at the end of its retry window fails the job: pairs never tried
 * are recorded as failed with the reason. The `status` query shows the progress.
 */
export async function bulkLicenseEnrollment(input: BulkLicenseEnrollmentInput): Promise<FinishJobResult> {
  const { workflowId } = workflowInfo();
  const resume = input.resume;
  const jobUuid = resume?.plan.job_uuid ?? input.job_uuid ?? uuid4();
  const counts: OutcomeCounts = { ...(resume?.counts ?? { success: 0, pending: 0, failed: 0 }) };
  let plan: JobPlan | undefined = resume?.plan;
  let state: BulkEnrollmentProgress['state'] = plan ? 'running' : 'preparing';
  let next = resume?.next_chunk ?? 0;
  let done = next;
  let inFlight = 0;
  let error: string | null = null;
  const total = () => (plan ? chunkCount(plan) : null);
  const progress = (): BulkEnrollmentProgress => {
    const pairsTotal = plan ? plan.email_count * plan.course_count : null;
    const pairsDone = counts.success + counts.pending + counts.failed;
    return {
      job_uuid: jobUuid,
      state,
      run: resume?.run ?? 1,
      chunks_total: total(),
      chunks_done: done,
      chunks_in_flight: inFlight,
      pairs_total: pairsTotal,
      pairs_done: pairsDone,
      ...counts,
      percent: pairsTotal ? Math.floor((1000 * pairsDone) / pairsTotal) / 10 : state === 'completed' ? 100 : 0,
      error,
    };
  };
  const steps = new StepLog(BULK_ENROLLMENT_STEPS, `Bulk enrollment job ${jobUuid}`).withProgress(progress);
  setHandler(statusQuery, () => steps.view());
  const named = patched(PATCHES.namedActivities);
  if (resume) steps.skip('prepare', 'prepared by the first run of this job');

  const window = `${input.retry_window_seconds ?? DEFAULTS.bulkEnrollment.retryWindowSeconds} seconds`;
  const prepareStep = proxyActivities<Activities>({
    activityId: 'prepare',
    summary: `job ${jobUuid}: read the request, number its emails and course keys`,
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '30 seconds',
    scheduleToCloseTimeout: window,
    retry: RETRY.transient,
  });
  const chunkStep = (chunk: ChunkRange) =>
    proxyActivities<Activities>({
      ...(named ? { activityId: `enroll_chunks/${chunk.index}` } : {}),
      summary:
        `chunk ${chunk.index}: emails ${chunk.email_from}–${chunk.email_to - 1} × ` +
        `courses ${chunk.course_from}–${chunk.course_to - 1}`,
      startToCloseTimeout: '5 minutes',
      heartbeatTimeout: '15 seconds',
      scheduleToCloseTimeout: window,
      retry: RETRY.transient,
    });
  // Bookkeeping must land even after a failure: retried without a window.
  const book = (summary: string) =>
    proxyActivities<Activities>({
      ...(named ? { activityId: 'finish' } : {}),
      summary,
      startToCloseTimeout: '1 minute',
      retry: RETRY.transient,
    });

  const fail = async (message: string, type = BULK_ENROLLMENT_FAILED): Promise<never> => {
    state = 'failed';
    error = message;
    const result = await steps
      .track('finish', { state: 'failed' }, () =>
        book(`job ${jobUuid}: failed; pairs never tried become failed`).finishBulkEnrollmentJob({
          job_uuid: jobUuid,
          state: 'failed',
          error: message,
        }),
      )
      .catch(() => null);
    steps.end('failed');
    throw ApplicationFailure.create({ type, message, details: [result], nonRetryable: true });
  };

  if (!plan) {
    const hasRequest = REQUEST_KEYS.some((k) => input[k] !== undefined);
    try {
      plan = await steps.track('prepare', { job_uuid: jobUuid, from_cli: hasRequest }, () =>
        prepareStep.prepareBulkEnrollmentJob({
          job_uuid: jobUuid,
          workflow_id: workflowId,
          request: hasRequest ? Object.fromEntries(REQUEST_KEYS.map((k) => [k, input[k]])) : undefined,
          emails_per_chunk: input.emails_per_chunk,
          courses_per_chunk: input.courses_per_chunk,
        }),
      );
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === FAILURE.invalidBulkEnrollmentRequest) {
        state = 'failed';
        error = cause.message;
        steps.end('failed');
        throw ApplicationFailure.create({
          type: cause.type,
          message: cause.message,
          details: cause.details ? [...cause.details] : undefined,
          nonRetryable: true,
        });
      }
      return fail(`prepare: ${describeFailure(err)}`);
    }
    state = 'running';
  }
  const job = plan;
  upsertSearchAttributes([
    { key: searchAttributes.BulkEnrollmentJobUuid, value: job.job_uuid },
    { key: searchAttributes.CustomerUuid, value: job.enterprise_customer_uuid },
  ]);

  const chunks = chunkCount(job);
  const perRun = Math.max(1, input.chunks_per_run ?? DEFAULTS.bulkEnrollment.chunksPerRun);
  const lanes = Math.max(1, Math.min(input.concurrent_chunks ?? DEFAULTS.bulkEnrollment.concurrentChunks, 64));
  let startedHere = 0;
  let failure: unknown;
  const more = () =>
    failure === undefined && next < chunks && startedHere < perRun && !workflowInfo().continueAsNewSuggested;
  const lane = async () => {
    while (more()) {
      const chunk = chunkRange(job, next);
      next += 1;
      startedHere += 1;
      inFlight += 1;
      try {
        const r = await chunkStep(chunk).enrollBulkEnrollmentChunk({
          job_uuid: job.job_uuid,
          enterprise_customer_uuid: job.enterprise_customer_uuid,
          subscription_uuid: job.subscription_uuid,
          notify: job.notify,
          chunk,
        });
        counts.success += r.success;
        counts.pending += r.pending;
        counts.failed += r.failed;
        done += 1;
      } catch (err) {
        failure ??= { err, chunk: chunk.index, pairs: pairsIn(chunk) };
      } finally {
        inFlight -= 1;
      }
    }
  };
  await steps
    .track('enroll_chunks', { chunks, concurrent_chunks: lanes, first_chunk: next }, async () => {
      await Promise.all(Array.from({ length: Math.min(lanes, Math.max(chunks - next, 0)) }, lane));
      if (failure !== undefined) throw (failure as { err: unknown }).err;
      return { chunks_done: done };
    })
    .catch(() => undefined);

  if (failure !== undefined) {
    const f = failure as { err: unknown; chunk: number };
    return fail(`chunk ${f.chunk}: ${describeFailure(f.err)}`);
  }
  if (next < chunks) {
    // Every chunk below `next` has finished (the lanes drained), so the next run starts there.
    // The request fields stay behind: the job record holds them.
    return continueAsNew<typeof bulkLicenseEnrollment>({
      job_uuid: job.job_uuid,
      concurrent_chunks: input.concurrent_chunks,
      retry_window_seconds: input.retry_window_seconds,
      chunks_per_run: input.chunks_per_run,
      resume: { plan: job, next_chunk: next, counts, run: (resume?.run ?? 1) + 1 },
    });
  }
  state = 'finishing';
  const result = await steps.track('finish', { state: 'completed' }, () =>
    book(`job ${job.job_uuid}: completed`).finishBulkEnrollmentJob({ job_uuid: job.job_uuid, state: 'completed' }),
  );
  state = 'completed';
  steps.end('completed');
  return result;
}
