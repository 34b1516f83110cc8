import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { chunkSizes } from '../../access/bulk-enrollment/chunks';
import { PAIR_STATUSES, type PairStatus } from '../../access/bulk-enrollment/contract';
import { csvFileName, resultsCsv } from '../../access/bulk-enrollment/csv';
import {
  bulkEnrollmentBodySchema,
  parseBulkEnrollmentQuery,
  TOO_MANY_PAIRS,
  tooManyPairs,
} from '../../access/bulk-enrollment/request';
import { createJob, failUnstartedJob, findJob, jobCounts, resultRows } from '../../access/bulk-enrollment/store';
import type { AccessDB } from '../../access/schema';
import { noAgreement, planOfAgreement } from '../../activities/bulk-enrollment';
import type { ServiceClients } from '../../clients';
import { envSchema } from '../../lib/config';
import { accessTo } from '../../lib/customer-access';
import { invalidPk, parseBody, uuidParam } from '../../lib/drf/fields';
import { pageQuery, paginate } from '../../lib/drf/pagination';
import type { ZodApp } from '../../lib/fastify/app';
import { requirePrincipal } from '../../lib/fastify/auth';
import { ServiceError } from '../../lib/http-client';
import { badRequest, detail, forbidden, HttpError, notFound } from '../../lib/http-errors';
import type { Principal } from '../../lib/jwt';
import type { BulkLicenseEnrollmentInput, bulkLicenseEnrollment } from '../../workflows/bulk-license-enrollment';
import { searchAttributes } from '../../workflows/definitions';

export interface BulkEnrollmentSettings {
  emailsPerChunk: number;
  coursesPerChunk: number;
  concurrentChunks: number;
  maxPairs: number;
  retryWindowSeconds: number;
}

const settingsEnv = envSchema.pick({
  BULK_ENROLLMENT_EMAILS_PER_CHUNK: true,
  BULK_ENROLLMENT_COURSES_PER_CHUNK: true,
  BULK_ENROLLMENT_CONCURRENT_CHUNKS: true,
  BULK_ENROLLMENT_MAX_PAIRS: true,
  BULK_ENROLLMENT_RETRY_WINDOW_SECONDS: true,
});

/** The BULK_ENROLLMENT_* variables (of `env`, default the process's own). */
export function bulkEnrollmentSettings(env: Record<string, unknown> = process.env): BulkEnrollmentSettings {
  const e = settingsEnv.parse(env);
  return {
    emailsPerChunk: e.BULK_ENROLLMENT_EMAILS_PER_CHUNK,
    coursesPerChunk: e.BULK_ENROLLMENT_COURSES_PER_CHUNK,
    concurrentChunks: e.BULK_ENROLLMENT_CONCURRENT_CHUNKS,
    maxPairs: e.BULK_ENROLLMENT_MAX_PAIRS,
    retryWindowSeconds: e.BULK_ENROLLMENT_RETRY_WINDOW_SECONDS,
  };
}

export interface BulkLicenseEnrollmentDeps {
  db: Kysely<AccessDB>;
  clients: ServiceClients;
  temporal: Client;
  taskQueue: string;
  /** Default: read from the process environment. */
  bulkEnrollment?: BulkEnrollmentSettings;
}

const PATH = '/api/v1/bulk-license-enrollment';
export const bulkEnrollmentWorkflowId = (jobUuid: string) => `bulk-license-enrollment-${jobUuid}`;

/** Serializes as a bare JSON string, as upstream's `Response("message", status=400)`. */
class JsonString {
  constructor(private readonly value: string) {}
  toJSON() {
    return this.value;
  }
}

/** A license-manager that cannot answer makes the request fail as unavailable, not as a server error. */
async function licenseManager<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ServiceError) throw detail(503, `Could not check the customer's licenses: ${err.message}`);
    throw err;
  }
}

/** Learners and admins of the customer, and operators (upstream's `has_learner_or_admin_access`). */
function requireAccess(p: Principal, customerUuid: string) {
  if (accessTo(p, customerUuid) === 'none') throw forbidden();
}

const queryText = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0]) : undefined);

const getQuery = z
  .object({
    enterprise_customer_uuid: z.string().optional(),
    bulk_enrollment_job_uuid: z.string().optional(),
    status: z.string().optional(),
    format: z.string().optional(),
    ...pageQuery,
  })
  .describe('`status` filters the results (queued, success, pending, failed); `format=csv` downloads them');

/**
 * license-manager's bulk license enrollment (licenses-and-enrollment §6.1-6.2), run by the
 * `bulkLicenseEnrollment` workflow instead of a Celery task, without upstream's 500-pair cap
 * (BULK_ENROLLMENT_MAX_PAIRS, default 100,000), with every pair's outcome kept in the job record
 * and readable as JSON or as upstream's CSV.
 */
export function bulkLicenseEnrollmentRoutes(app: ZodApp, deps: BulkLicenseEnrollmentDeps) {
  const settings = deps.bulkEnrollment ?? bulkEnrollmentSettings();
  const lm = deps.clients.licenseManagerApi;

  app.post(
    PATH,
    {
      schema: {
        summary: 'Enroll learners in courses under their subscription licenses (a durable workflow)',
        description:
          'Query: `enterprise_customer_uuid` (required), `subscription_uuid`, `enroll_all`. Body: `emails` (list), ' +
          '`course_run_keys` (list), `notify` (boolean). 201 `{"job_id"}`; the `bulkLicenseEnrollment` workflow checks ' +
          "each (email, course) pair against the learner's licenses and the plan's catalog and enrolls the licensed " +
          'ones through the lms in chunks. 401 / 404 (no such customer or no customer agreement) / 403 (not a ' +
          'learner or admin of the customer, nor an operator) / 400 field errors. `enroll_all=true` (with ' +
          "`subscription_uuid`) replaces the emails by those of the plan's assigned and activated licenses.",
        tags: ['bulk-enrollment'],
        body: z.unknown().describe('{"emails": [...], "course_run_keys": [...], "notify": true}'),
        response: { 201: z.object({ job_id: z.string() }) },
      },
    },
    async (req, reply) => {
      const principal = requirePrincipal(req);
      const query = req.query as Record<string, unknown>;
      const customer = uuidParam(queryText(query.enterprise_customer_uuid) ?? '');
      if (!customer) throw notFound();
      requireAccess(principal, customer);
      const agreement = await licenseManager(() => lm.findAgreement(customer));
      if (!agreement) throw notFound(noAgreement(customer));
      const { subscription_uuid: plan, enroll_all: enrollAll } = parseBulkEnrollmentQuery(query);
      const body = parseBody(bulkEnrollmentBodySchema, req.body);
      if (tooManyPairs(body, settings.maxPairs)) throw new HttpError(400, new JsonString(TOO_MANY_PAIRS));
      if (plan && !(await licenseManager(() => planOfAgreement(lm, agreement.uuid, plan)))) {
        throw badRequest({ subscription_uuid: [invalidPk(plan)] });
      }

      const jobUuid = randomUUID();
      const workflowId = bulkEnrollmentWorkflowId(jobUuid);
      await createJob(deps.db, {
        job_uuid: jobUuid,
        workflow_id: workflowId,
        request: { enterprise_customer_uuid: customer, subscription_uuid: plan, enroll_all: enrollAll, ...body },
        ...chunkSizes(settings.emailsPerChunk, settings.coursesPerChunk),
        requested_by:
          principal.username ?? principal.email ?? (principal.userId === undefined ? null : String(principal.userId)),
      });
      const input: BulkLicenseEnrollmentInput = {
        job_uuid: jobUuid,
        concurrent_chunks: settings.concurrentChunks,
        retry_window_seconds: settings.retryWindowSeconds,
      };
      try {
        await deps.temporal.workflow.start<typeof bulkLicenseEnrollment>('bulkLicenseEnrollment', {
          taskQueue: deps.taskQueue,
          workflowId,
          args: [input],
          typedSearchAttributes: [
            { key: searchAttributes.BulkEnrollmentJobUuid, value: jobUuid },
            { key: searchAttributes.CustomerUuid, value: customer },
          ],
        });
      } catch (err) {
        const message = `Could not start the bulk enrollment workflow: ${(err as Error).message}`;
        await failUnstartedJob(deps.db, jobUuid, message);
        req.log.error({ err, jobUuid }, 'bulk enrollment workflow not started');
        throw detail(503, message);
      }
      req.log.info(
        { workflowId, jobUuid, emails: body.emails.length, courses: body.course_run_keys.length },
        'bulk enrollment started',
      );
      return reply.code(201).send({ job_id: jobUuid });
    },
  );

  app.get(
    PATH,
    {
      schema: {
        summary: 'A bulk enrollment job: state, counts, progress and every pair’s outcome (JSON, or CSV)',
        description:
          '`enterprise_customer_uuid` and `bulk_enrollment_job_uuid` are required (400 naming the missing ones). ' +
          'JSON: the job, `download_url` (this CSV, once the job has ended) and a page of `results` ' +
          '(`?status=` filters, `page`/`page_size` paginate). `format=csv` (or `Accept: text/csv`): every pair ' +
          "as upstream's CSV, columns `email address,course key,enrollment status,notes`.",
        tags: ['bulk-enrollment'],
        querystring: getQuery,
      },
    },
    async (req, reply) => {
      const principal = requirePrincipal(req);
      const q = req.query;
      const missing = (['enterprise_customer_uuid', 'bulk_enrollment_job_uuid'] as const).filter((k) => !q[k]);
      if (missing.length > 0) {
        const list = missing.map((m) => `'${m}'`).join(', ');
        throw new HttpError(400, new JsonString(`Missing the following required request data: [${list}]`));
      }
      const customer = uuidParam(q.enterprise_customer_uuid ?? '');
      if (!customer) throw notFound();
      requireAccess(principal, customer);
      const jobUuid = uuidParam(q.bulk_enrollment_job_uuid ?? '');
      const job = jobUuid ? await findJob(deps.db, jobUuid) : undefined;
      // Unlike upstream, a job is found only under its own customer.
      if (!job || job.enterprise_customer_uuid !== customer) throw notFound();
      let status: PairStatus | undefined;
      if (q.status) {
        if (!(PAIR_STATUSES as readonly string[]).includes(q.status)) {
          throw badRequest({ status: [`"${q.status}" is not a valid choice.`] });
        }
        status = q.status as PairStatus;
      }

      if (q.format === 'csv' || (q.format === undefined && /\btext\/csv\b/.test(req.headers.accept ?? ''))) {
        const rows = await resultRows(deps.db, job.uuid, { status });
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${csvFileName(job.uuid)}"`)
          .send(resultsCsv(rows));
      }

      const counts = await jobCounts(deps.db, job.uuid);
      const ended = job.state === 'completed' || job.state === 'failed';
      const pairsTotal = job.email_count === null ? null : job.email_count * job.course_count;
      const pairsDone = counts.success + counts.pending + counts.failed;
      const page = await paginate(
        req,
        async () => (status ? counts[status] : counts.total),
        (limit, offset) => resultRows(deps.db, job.uuid, { status, limit, offset }),
      );
      return {
        job_id: job.uuid,
        download_url: ended ? csvUrl(req, customer, job.uuid) : null,
        enterprise_customer_uuid: job.enterprise_customer_uuid,
        subscription_uuid: job.subscription_uuid,
        enroll_all: job.enroll_all,
        notify: job.notify,
        state: job.state,
        error: job.error,
        workflow_id: job.workflow_id,
        requested_by: job.requested_by,
        created: job.created.toISOString(),
        started_at: job.started_at?.toISOString() ?? null,
        completed_at: job.completed_at?.toISOString() ?? null,
        counts,
        progress: {
          pairs_total: pairsTotal,
          pairs_done: pairsDone,
          percent: pairsTotal ? Math.floor((1000 * pairsDone) / pairsTotal) / 10 : ended ? 100 : 0,
        },
        ...page,
      };
    },
  );
}

function csvUrl(req: FastifyRequest, customer: string, job: string): string {
  const url = new URL(PATH, `${req.protocol}://${req.host}`);
  url.searchParams.set('enterprise_customer_uuid', customer);
  url.searchParams.set('bulk_enrollment_job_uuid', job);
  url.searchParams.set('format', 'csv');
  return url.toString();
}
