import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { chunkSizes } from '../access/bulk-enrollment/chunks';
import type {
  BulkEnrollmentRequest,
  ChunkRange,
  FinishJobInput,
  FinishJobResult,
  JobPair,
  JobPlan,
  PairOutcome,
} from '../access/bulk-enrollment/contract';
import { catalogsToCheck, decideChunk, type LicenseFact } from '../access/bulk-enrollment/licensing';
import { countOutcomes, groupOutcomes, outcomesOf } from '../access/bulk-enrollment/lms-outcomes';
import { noAgreement, parseBulkEnrollmentRequest } from '../access/bulk-enrollment/request';
import {
  chunkLists,
  createJob,
  findJobSnapshot,
  finishJob,
  prepareJob,
  recordOutcomes,
} from '../access/bulk-enrollment/store';
import type { AccessDB } from '../access/schema';
import type { ServiceClients } from '../clients';
import { invalidPk } from '../lib/drf/fields';
import { ServiceError } from '../lib/http-client';
import { ReadThrough } from '../lib/read-through-cache';
import { FAILURE } from '../workflows/retry-policies';
import { callService, toActivityFailure } from './failures';

/** How long a worker reuses the catalog's answer to "does this plan's catalog hold this course". */
const CATALOG_CACHE_SECONDS = 60;

const invalid = (message: string, details?: unknown) =>
  ApplicationFailure.create({
    type: FAILURE.invalidBulkEnrollmentRequest,
    message: `Invalid bulk enrollment request: ${message}`,
    details: details === undefined ? undefined : [details],
    nonRetryable: true,
  });

/**
 * Runs `fn` while telling Temporal, every 2 s, that the activity is alive: a worker that dies
 * mid-chunk is noticed within the heartbeat timeout, not the whole attempt timeout.
 */
async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return fn();
  }
  const timer = setInterval(() => ctx.heartbeat(), 2000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** A downstream's refusal (a 4xx) as a note; a transient fault is rethrown for Temporal to retry. */
function refusal(err: unknown): string {
  if (err instanceof ServiceError && !err.retryable) return `not enrolled: ${err.message}`.slice(0, 1000);
  throw toActivityFailure(err);
}

const failAll = (
  pairs: readonly { email_index: number; course_index: number; license_uuid?: string }[],
  notes: string,
): PairOutcome[] =>
  pairs.map((p) => ({
    email_index: p.email_index,
    course_index: p.course_index,
    status: 'failed',
    notes,
    license_uuid: p.license_uuid ?? null,
  }));

export interface PrepareBulkEnrollmentInput {
  job_uuid: string;
  workflow_id: string;
  /** The whole request, when the workflow was started without a job (from the CLI). */
  request?: unknown;
  emails_per_chunk?: number;
  courses_per_chunk?: number;
}

export interface BulkEnrollmentChunkInput {
  job_uuid: string;
  enterprise_customer_uuid: string;
  subscription_uuid: string | null;
  notify: boolean;
  chunk: ChunkRange;
}

export interface BulkEnrollmentChunkResult {
  index: number;
  pairs: number;
  success: number;
  pending: number;
  failed: number;
}

/**
 * The steps of a bulk license enrollment (licenses-and-enrollment §6.3-6.4, reshaped): make and
 * prepare the job, then one activity per chunk that reads its pairs from the job record, checks
 * them against the learners' licenses and the plans' catalogs, enrolls the licensed ones in one
 * lms call and writes every pair's outcome back, returning only counts. Every step is safe to
 * repeat: the lms call is idempotent and outcomes are written by pair key.
 */
export function createBulkEnrollmentActivities({ db, clients }: { db: Kysely<AccessDB>; clients: ServiceClients }) {
  // Whether a plan's catalog holds a course, per worker process for a minute (upstream cached it
  // for an hour): the chunks of a job ask about the same course keys again and again.
  const catalogAnswers = new ReadThrough<boolean>(CATALOG_CACHE_SECONDS);
  const lm = clients.licenseManagerApi;

  /** Which pairs a license pays for, with the license; the rest failed with the reason. */
  async function decide(job: BulkEnrollmentChunkInput, pairs: JobPair[]) {
    const emails = [...new Set(pairs.map((p) => p.email.toLowerCase()))];
    const courses = [...new Set(pairs.map((p) => p.course_run_key))];
    const found = await lm.licensesForEmails({
      enterprise_customer_uuid: job.enterprise_customer_uuid,
      emails,
      subscription_uuid: job.subscription_uuid,
    });
    const byEmail = new Map<string, LicenseFact[]>(found.results.map((r) => [r.email.toLowerCase(), r.licenses]));
    const contained = new Map<string, boolean>();
    await Promise.all(
      catalogsToCheck(byEmail.values()).map(async (catalog) => {
        const keyOf = (course: string) => `${catalog}\u0000${course}`;
        const answers = await catalogAnswers.getMany(
          courses.map(keyOf),
          async (missing) => {
            const asked = missing.map((k) => k.slice(catalog.length + 1));
            const found = await clients.catalogApi.contentInCatalog(catalog, asked);
            return new Map(found.map((item) => [keyOf(item.content_key), true]));
          },
          false,
        );
        for (const [k, v] of answers) contained.set(k, v);
      }),
    );
    return decideChunk(
      pairs,
      (email) => byEmail.get(email) ?? [],
      (catalog, course) => contained.get(`${catalog}\u0000${course}`) === true,
    );
  }

  /**
   * Every pair's outcome: failed with the reason where no license pays for it, else as the lms
   * answered. A refusal (4xx) of a lookup fails the chunk's pairs, one of the lms call fails the
   * pairs it carried; both are written down rather than retried. Transient faults are thrown.
   */
  async function chunkOutcomes(job: BulkEnrollmentChunkInput, pairs: JobPair[]): Promise<PairOutcome[]> {
    let decided: Awaited<ReturnType<typeof decide>>;
    try {
      decided = await decide(job, pairs);
    } catch (err) {
      return failAll(pairs, refusal(err));
    }
    const { licensed, missing } = decided;
    if (licensed.length === 0) return missing;
    try {
      const answer = await clients.lmsApi.enrollLearnersInCourses(job.enterprise_customer_uuid, {
        licenses_info: licensed.map((p) => ({
          email: p.email,
          course_run_key: p.course_run_key,
          license_uuid: p.license_uuid,
        })),
        notify: job.notify,
      });
      return [...missing, ...outcomesOf(licensed, answer.body)];
    } catch (err) {
      return [...missing, ...failAll(licensed, refusal(err))];
    }
  }

  /** A CLI start's request, checked with the HTTP edge's schema and the same customer/plan checks. */
  async function checkedRequest(raw: unknown): Promise<BulkEnrollmentRequest> {
    const parsed = parseBulkEnrollmentRequest(raw);
    if (!parsed.ok) throw invalid(parsed.message, parsed.errors);
    const { enterprise_customer_uuid: customer, subscription_uuid: plan } = parsed.request;
    const agreement = await callService(() => lm.findAgreement(customer));
    if (!agreement) throw invalid(noAgreement(customer));
    if (plan && !(await callService(() => lm.hasPlan(agreement.uuid, plan)))) {
      throw invalid(`subscription_uuid: ${invalidPk(plan)}`, { subscription_uuid: [invalidPk(plan)] });
    }
    return parsed.request;
  }

  return {
    /**
     * Makes the job if the workflow was started without one (its request checked with the HTTP
     * edge's own schema and the same customer/plan checks), then its pairs: for an enroll-all
     * job, with the emails of the plan's assigned and activated licenses, read now.
     */
    async prepareBulkEnrollmentJob(input: PrepareBulkEnrollmentInput): Promise<JobPlan> {
      return heartbeating(async () => {
        let job = await findJobSnapshot(db, input.job_uuid);
        if (!job) {
          if (input.request === undefined) throw invalid(`No bulk enrollment job ${input.job_uuid}.`);
          const request = await checkedRequest(input.request);
          job = await createJob(db, {
            job_uuid: input.job_uuid,
            workflow_id: input.workflow_id,
            request,
            ...chunkSizes(input.emails_per_chunk, input.courses_per_chunk),
            requested_by: null,
          });
        }
        let emails: string[] | undefined;
        if (!job.prepared && job.enroll_all && job.subscription_uuid) {
          const plan = job.subscription_uuid;
          emails = await callService(() => lm.planLicenseeEmails(plan));
        }
        const plan = await prepareJob(db, job.job_uuid, emails);
        if (!plan) throw invalid(`No bulk enrollment job ${input.job_uuid}.`);
        return plan;
      });
    },

    async enrollBulkEnrollmentChunk(input: BulkEnrollmentChunkInput): Promise<BulkEnrollmentChunkResult> {
      return heartbeating(async () => {
        const { chunk } = input;
        const lists = await chunkLists(db, input.job_uuid, chunk);
        const pairs: JobPair[] = lists.emails.flatMap((email, i) =>
          lists.course_run_keys.map((course_run_key, j) => ({
            email_index: chunk.email_from + i,
            course_index: chunk.course_from + j,
            email,
            course_run_key,
          })),
        );
        const outcomes = await chunkOutcomes(input, pairs);
        await recordOutcomes(db, input.job_uuid, { chunk, groups: groupOutcomes(chunk, outcomes) });
        return { index: chunk.index, pairs: pairs.length, ...countOutcomes(outcomes) };
      });
    },

    async finishBulkEnrollmentJob(input: { job_uuid: string } & FinishJobInput): Promise<FinishJobResult> {
      const result = await finishJob(db, input.job_uuid, { state: input.state, error: input.error ?? null });
      if (!result) throw invalid(`No bulk enrollment job ${input.job_uuid}.`);
      return result;
    },
  };
}
