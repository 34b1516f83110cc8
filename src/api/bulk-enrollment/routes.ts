import { z } from 'zod';
import { pageQuery } from '../../lib/drf/pagination';
import type { ZodApp } from '../../lib/fastify/app';
import { callerName, requirePrincipal } from '../../lib/fastify/auth';
import { DetailError, FieldErrorMap, MessageError, mediaTypes } from '../../lib/fastify/error-schemas';
import { BULK_ENROLLMENT_PATH, type BulkEnrollmentService } from './service';

const getQuery = z
  .object({
    enterprise_customer_uuid: z.string().optional(),
    bulk_enrollment_job_uuid: z.string().optional(),
    status: z.string().optional(),
    format: z.string().optional(),
    ...pageQuery,
  })
  .describe('`status` filters the results (queued, success, pending, failed); `format=csv` downloads them');

const startQuery = z.object({
  enterprise_customer_uuid: z.string(),
  subscription_uuid: z.string().optional(),
  enroll_all: z.string().optional(),
});

const tags = ['bulk-enrollment'];

/** `/api/v1/bulk-license-enrollment` (licenses-and-enrollment §6.1-6.2). */
export function bulkEnrollmentRoutes(app: ZodApp, service: BulkEnrollmentService) {
  app.post(
    BULK_ENROLLMENT_PATH,
    {
      schema: {
        summary: 'Enroll learners in courses under their subscription licenses (a durable workflow)',
        description:
          'Query: `enterprise_customer_uuid` (required), `subscription_uuid`, `enroll_all`. Body: `emails` (list), ' +
          '`course_run_keys` (list), `notify` (boolean). 201 `{"job_id"}`; the `bulkLicenseEnrollment` workflow checks ' +
          "each (email, course) pair against the learner's licenses and the plan's catalog and enrolls the licensed " +
          'ones through the lms in chunks. 401 / 404 (no such customer or no customer agreement) / 403 (not a ' +
          'learner or admin of the customer, nor an operator) / 400 field errors / 503 (Temporal or ' +
          "license-manager cannot be reached). `enroll_all=true` (with `subscription_uuid`) replaces the emails by those of the plan's " +
          'assigned and activated licenses.',
        tags,
        body: z.unknown().describe('{"emails": [...], "course_run_keys": [...], "notify": true}'),
        documentedQuery: startQuery,
        response: { 201: z.object({ job_id: z.string() }) },
        errors: {
          400: [FieldErrorMap, MessageError],
          403: DetailError,
          404: DetailError,
          503: DetailError,
        },
      },
    },
    async (req, reply) => {
      const started = await service.start(
        requirePrincipal(req),
        req.query as Record<string, unknown>,
        req.body,
        callerName(req),
      );
      req.log.info(started, 'bulk enrollment started');
      return reply.code(201).send({ job_id: started.job_id });
    },
  );

  app.get(
    BULK_ENROLLMENT_PATH,
    {
      schema: {
        summary: 'A bulk enrollment job: state, counts, progress and every pair’s outcome (JSON, or CSV)',
        description:
          '`enterprise_customer_uuid` and `bulk_enrollment_job_uuid` are required (400 naming the missing ones). ' +
          'JSON: the job, `download_url` (this CSV, once the job has ended) and a page of `results` ' +
          '(`?status=` filters, `page`/`page_size` paginate). `format=csv` (or `Accept: text/csv`): every pair ' +
          "as upstream's CSV, columns `email address,course key,enrollment status,notes`.",
        tags,
        querystring: getQuery,
        documentedResponses: { 200: mediaTypes({ 'application/json': z.unknown(), 'text/csv': z.string() }) },
        errors: { 400: [FieldErrorMap, MessageError], 403: DetailError, 404: DetailError },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const asCsv = q.format === 'csv' || (q.format === undefined && /\btext\/csv\b/.test(req.headers.accept ?? ''));
      const answer = await service.job(requirePrincipal(req), q, asCsv, req);
      if ('json' in answer) return answer.json;
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${answer.csv.fileName}"`)
        .send(answer.csv.body);
    },
  );
}
