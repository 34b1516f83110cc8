/**
 * license-manager's bulk license enrollment (licenses-and-enrollment §6.1-6.2), run by the
 * `bulkLicenseEnrollment` workflow instead of a Celery task, without upstream's 500-pair cap,
 * with every pair's outcome kept in the job record and readable as JSON or as upstream's CSV.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { chunkSizes } from '../../access/bulk-enrollment/chunks';
import { PAIR_STATUSES, type PairStatus } from '../../access/bulk-enrollment/contract';
import { csvFileName, resultsCsv } from '../../access/bulk-enrollment/csv';
import {
  bulkEnrollmentBodySchema,
  noAgreement,
  parseBulkEnrollmentQuery,
  TOO_MANY_PAIRS,
  tooManyPairs,
} from '../../access/bulk-enrollment/request';
import { createJob, failUnstartedJob, findJob, jobCounts, resultRows } from '../../access/bulk-enrollment/store';
import type { AccessDB } from '../../access/schema';
import type { LicenseManagerClient } from '../../clients/license-manager';
import { accessTo } from '../../lib/customer-access';
import type { BulkEnrollmentSettings } from '../../lib/defaults';
import { invalidPk, parseBody, uuidParam } from '../../lib/drf/fields';
import { type PageRequest, paginate } from '../../lib/drf/pagination';
import { HttpError, InvalidInput, NotFound, PermissionDenied, Unavailable } from '../../lib/http-errors';
import type { Principal } from '../../lib/jwt';
import type { BulkLicenseEnrollmentInput } from '../../workflows/bulk-license-enrollment';
import { searchAttributes } from '../../workflows/definitions';
import { temporalFault, type WorkflowRuns } from '../workflow-runs';

const BULK_ENROLLMENT_WORKFLOW = 'bulkLicenseEnrollment';
const bulkEnrollmentWorkflowId = (jobUuid: string) => `bulk-license-enrollment-${jobUuid}`;

/** Serializes as a bare JSON string, as upstream's `Response("message", status=400)`. */
class JsonString {
  constructor(private readonly value: string) {}
  toJSON() {
    return this.value;
  }
}
const messageError = (message: string) => new HttpError(400, new JsonString(message));

/** Learners and admins of the customer, and operators (upstream's `has_learner_or_admin_access`). */
function requireAccess(p: Principal, customerUuid: string) {
  if (accessTo(p, customerUuid) === 'none') throw new PermissionDenied();
}

const first = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0]) : undefined);

export interface JobQuery {
  enterprise_customer_uuid?: string;
  bulk_enrollment_job_uuid?: string;
  status?: string;
}

export type JobAnswer =
  | { csv: { fileName: string; body: string } }
  | { json: Record<string, unknown> & { download_url: string | null } };

export function createBulkEnrollmentService(deps: {
  db: Kysely<AccessDB>;
  runs: WorkflowRuns;
  licenseManager: LicenseManagerClient;
  settings: BulkEnrollmentSettings;
}) {
  const { db, runs, licenseManager: lm, settings } = deps;

  return {
    /** Makes the job and starts its workflow: the job's uuid. */
    async start(principal: Principal, query: Record<string, unknown>, rawBody: unknown, requestedBy: string) {
      const customer = uuidParam(first(query.enterprise_customer_uuid) ?? '');
      if (!customer) throw new NotFound();
      requireAccess(principal, customer);
      const agreement = await lm.findAgreement(customer);
      if (!agreement) throw new NotFound(noAgreement(customer));
      const { subscription_uuid: plan, enroll_all: enrollAll } = parseBulkEnrollmentQuery(query);
      const body = parseBody(bulkEnrollmentBodySchema, rawBody);
      if (tooManyPairs(body, settings.maxPairs)) throw messageError(TOO_MANY_PAIRS);
      if (plan && !(await lm.hasPlan(agreement.uuid, plan))) {
        throw new InvalidInput({ subscription_uuid: [invalidPk(plan)] });
      }

      const jobUuid = randomUUID();
      const workflowId = bulkEnrollmentWorkflowId(jobUuid);
      await createJob(db, {
        job_uuid: jobUuid,
        workflow_id: workflowId,
        request: { enterprise_customer_uuid: customer, subscription_uuid: plan, enroll_all: enrollAll, ...body },
        ...chunkSizes(settings.emailsPerChunk, settings.coursesPerChunk),
        requested_by: requestedBy,
      });
      const input: BulkLicenseEnrollmentInput = {
        job_uuid: jobUuid,
        concurrent_chunks: settings.concurrentChunks,
        retry_window_seconds: settings.retryWindowSeconds,
        chunks_per_run: settings.chunksPerRun,
      };
      const who = enrollAll ? `every licensee of plan ${plan}` : `${body.emails.length} learners`;
      try {
        await runs.start({
          type: BULK_ENROLLMENT_WORKFLOW,
          workflowId,
          args: [input],
          searchAttributes: [
            { key: searchAttributes.BulkEnrollmentJobUuid, value: jobUuid },
            { key: searchAttributes.CustomerUuid, value: customer },
          ],
          summary: `Bulk enrollment ${enrollAll ? 'all' : body.emails.length} × ${body.course_run_keys.length} for ${customer}`,
          details: [
            `Requested by ${requestedBy}: ${who} in ${body.course_run_keys.length} courses.`,
            `Job \`${jobUuid}\`, plan ${plan ? `\`${plan}\`` : 'any of the customer'}, notify: ${body.notify}.`,
          ].join('\n\n'),
        });
      } catch (err) {
        const message = `Could not start the bulk enrollment workflow: ${(err as Error).message}`;
        await failUnstartedJob(db, jobUuid, message);
        throw temporalFault(err) ?? new Unavailable(message);
      }
      return {
        job_id: jobUuid,
        workflow_id: workflowId,
        emails: body.emails.length,
        courses: body.course_run_keys.length,
      };
    },

    /** The job: state, counts, progress and a page of pairs; or every pair as upstream's CSV. */
    async job(principal: Principal, q: JobQuery, asCsv: boolean, page: PageRequest): Promise<JobAnswer> {
      const missing = (['enterprise_customer_uuid', 'bulk_enrollment_job_uuid'] as const).filter((k) => !q[k]);
      if (missing.length > 0) {
        const list = missing.map((m) => `'${m}'`).join(', ');
        throw messageError(`Missing the following required request data: [${list}]`);
      }
      const customer = uuidParam(q.enterprise_customer_uuid ?? '');
      if (!customer) throw new NotFound();
      requireAccess(principal, customer);
      const jobUuid = uuidParam(q.bulk_enrollment_job_uuid ?? '');
      const job = jobUuid ? await findJob(db, jobUuid) : undefined;
      // Unlike upstream, a job is found only under its own customer.
      if (!job || job.enterprise_customer_uuid !== customer) throw new NotFound();
      let status: PairStatus | undefined;
      if (q.status) {
        if (!(PAIR_STATUSES as readonly string[]).includes(q.status)) {
          throw new InvalidInput({ status: [`"${q.status}" is not a valid choice.`] });
        }
        status = q.status as PairStatus;
      }
      if (asCsv) {
        return {
          csv: { fileName: csvFileName(job.uuid), body: resultsCsv(await resultRows(db, job.uuid, { status })) },
        };
      }
      const counts = await jobCounts(db, job.uuid);
      const ended = job.state === 'completed' || job.state === 'failed';
      const pairsTotal = job.email_count === null ? null : job.email_count * job.course_count;
      const pairsDone = counts.success + counts.pending + counts.failed;
      const results = await paginate(
        page,
        async () => (status ? counts[status] : counts.total),
        (limit, offset) => resultRows(db, job.uuid, { status, limit, offset }),
      );
      return {
        json: {
          job_id: job.uuid,
          download_url: ended ? csvUrl(page, customer, job.uuid) : null,
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
          ...results,
        },
      };
    },
  };
}

export type BulkEnrollmentService = ReturnType<typeof createBulkEnrollmentService>;

export const BULK_ENROLLMENT_PATH = '/api/v1/bulk-license-enrollment';

function csvUrl(req: PageRequest, customer: string, job: string): string {
  const url = new URL(BULK_ENROLLMENT_PATH, `${req.protocol}://${req.host}`);
  url.searchParams.set('enterprise_customer_uuid', customer);
  url.searchParams.set('bulk_enrollment_job_uuid', job);
  url.searchParams.set('format', 'csv');
  return url.toString();
}
