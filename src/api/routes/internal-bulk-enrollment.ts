import type { Kysely } from 'kysely';
import { z } from 'zod';
import { chunkSizes } from '../../access/bulk-enrollment/chunks';
import { INTERNAL_BULK_ENROLLMENT, PAIR_STATUSES } from '../../access/bulk-enrollment/contract';
import { parseBulkEnrollmentRequest } from '../../access/bulk-enrollment/request';
import {
  chunkLists,
  createJob,
  findJobSnapshot,
  finishJob,
  prepareJob,
  recordOutcomes,
} from '../../access/bulk-enrollment/store';
import type { AccessDB } from '../../access/schema';
import type { ZodApp } from '../../lib/fastify/app';
import { requireRoles } from '../../lib/fastify/auth';
import { badRequest, notFound } from '../../lib/http-errors';
import { OPERATOR_ROLES } from '../../lib/jwt';

const uuid = z.uuid().transform((u) => u.toLowerCase());
const index = z.number().int().min(0).max(10_000_000);
const jobParams = z.object({ job_uuid: uuid });

const ensureBody = z.object({
  job_uuid: uuid,
  workflow_id: z.string().min(1).max(400),
  /** The whole request (checked here with the HTTP edge's schema), for a job not made yet. */
  request: z.unknown().optional(),
  emails_per_chunk: z.number().int().min(1).max(1000).optional(),
  courses_per_chunk: z.number().int().min(1).max(1000).optional(),
  requested_by: z.string().max(255).nullish(),
});
const prepareBody = z.object({ emails: z.array(z.string().min(1).max(254)).max(1_000_000).optional() });
const chunkBody = z.object({ index, email_from: index, email_to: index, course_from: index, course_to: index });
const outcomesBody = z
  .object({
    chunk: chunkBody,
    groups: z
      .array(
        z.object({
          status: z.enum(PAIR_STATUSES).exclude(['queued']),
          notes: z.string().max(1000),
          license_uuid: uuid.nullable(),
          pairs: z.array(z.number().int().min(0)).max(1000),
        }),
      )
      .max(1000),
  })
  .superRefine(({ chunk, groups }, ctx) => {
    // Every position inside the chunk, each once (one statement cannot write a pair twice).
    const size = (chunk.email_to - chunk.email_from) * (chunk.course_to - chunk.course_from);
    const seen = new Set<number>();
    for (const g of groups) {
      for (const p of g.pairs) {
        if (p >= size || seen.has(p)) {
          ctx.addIssue({ code: 'custom', path: ['groups'], message: `Pair ${p} is outside the chunk or given twice.` });
          return;
        }
        seen.add(p);
      }
    }
  });
const finishBody = z.object({ state: z.enum(['completed', 'failed']), error: z.string().max(4000).nullish() });

/**
 * The worker's way to the orchestrator's bulk-enrollment records (operator/service token only).
 * Each call is one statement or one database transaction and safe to repeat: the worker retries
 * them as activities.
 */
export function internalBulkEnrollmentRoutes(app: ZodApp, { db }: { db: Kysely<AccessDB> }) {
  const common = { onRequest: requireRoles(OPERATOR_ROLES) };
  const tags = ['internal'];
  const jobs = `${INTERNAL_BULK_ENROLLMENT}/jobs`;

  app.post(
    jobs,
    {
      ...common,
      schema: { tags, summary: 'Get a bulk enrollment job, or make it from its request', body: ensureBody },
    },
    async (req) => {
      const existing = await findJobSnapshot(db, req.body.job_uuid);
      if (existing) return existing;
      if (req.body.request === undefined) throw notFound(`No bulk enrollment job ${req.body.job_uuid}.`);
      const parsed = parseBulkEnrollmentRequest(req.body.request);
      if (!parsed.ok) throw badRequest(parsed.errors);
      return createJob(db, {
        job_uuid: req.body.job_uuid,
        workflow_id: req.body.workflow_id,
        request: parsed.request,
        ...chunkSizes(req.body.emails_per_chunk, req.body.courses_per_chunk),
        requested_by: req.body.requested_by ?? null,
      });
    },
  );

  app.post(
    `${jobs}/:job_uuid/prepare`,
    {
      ...common,
      schema: { tags, summary: "Number a job's emails and course keys, once", params: jobParams, body: prepareBody },
    },
    async (req) => {
      const plan = await prepareJob(db, req.params.job_uuid, req.body.emails);
      if (!plan) throw notFound();
      return plan;
    },
  );

  app.post(
    `${jobs}/:job_uuid/pairs`,
    {
      ...common,
      schema: { tags, summary: "The emails and course keys of one chunk's pairs", params: jobParams, body: chunkBody },
    },
    async (req) => chunkLists(db, req.params.job_uuid, req.body),
  );

  app.post(
    `${jobs}/:job_uuid/outcomes`,
    { ...common, schema: { tags, summary: "Record pairs' outcomes", params: jobParams, body: outcomesBody } },
    async (req) => ({ updated: await recordOutcomes(db, req.params.job_uuid, req.body) }),
  );

  app.post(
    `${jobs}/:job_uuid/finish`,
    {
      ...common,
      schema: { tags, summary: 'End a job (pairs never tried become failed)', params: jobParams, body: finishBody },
    },
    async (req) => {
      const result = await finishJob(db, req.params.job_uuid, req.body);
      if (!result) throw notFound();
      return result;
    },
  );
}
