import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { AccessDB } from '../../access/schema';
import { accessTo, isOperator } from '../../lib/customer-access';
import { countRows, paginate } from '../../lib/drf/pagination';
import type { ZodApp } from '../../lib/fastify/app';
import { requirePrincipal } from '../../lib/fastify/auth';
import { badRequest, forbidden } from '../../lib/http-errors';

const OUTCOMES = ['started', 'redeemed', 'rejected', 'failed'] as const;
const uuid = z.uuid('Must be a valid UUID.').transform((u) => u.toLowerCase());
const time = z.iso.datetime({ offset: true, error: 'Enter a valid date/time (ISO-8601).' });

const query = z.object({
  enterprise_customer_uuid: uuid.optional(),
  policy_uuid: uuid.optional(),
  lms_user_id: z.coerce.number({ error: 'A valid integer is required.' }).int().positive().optional(),
  content_key: z.string().max(255).optional(),
  outcome: z.enum(OUTCOMES, { error: `Select one of: ${OUTCOMES.join(', ')}.` }).optional(),
  started_after: time.optional(),
  started_before: time.optional(),
  page: z.string().optional(),
  page_size: z.string().optional(),
});

const attemptSchema = z.object({
  uuid: z.string(),
  workflow_id: z.string(),
  run_id: z.string(),
  policy_uuid: z.string(),
  enterprise_customer_uuid: z.string().nullable(),
  lms_user_id: z.number(),
  content_key: z.string(),
  assignment_uuid: z.string().nullable(),
  request_uuid: z.string().nullable(),
  requested_by: z.string().nullable(),
  policy_state: z.unknown(),
  outcome: z.enum(OUTCOMES),
  can_redeem: z.boolean().nullable(),
  reason: z.string().nullable(),
  idempotency_key: z.string().nullable(),
  transaction_uuid: z.string().nullable(),
  fulfillment_identifier: z.string().nullable(),
  price_cents: z.number().nullable(),
  error_code: z.string().nullable(),
  error_message: z.string().nullable(),
  started_at: z.string(),
  completed_at: z.string().nullable(),
});

/**
 * `GET /api/v1/redemption-attempts` (ADR 0020, never built upstream): every redemption attempt
 * with its inputs, the policy as it was, the can-redeem verdict and the outcome. Operators see
 * all; a customer's admins see that customer's (they must name it); learners see their own.
 */
export function redemptionAttemptRoutes(app: ZodApp, { db }: { db: Kysely<AccessDB> }) {
  app.get(
    '/api/v1/redemption-attempts',
    {
      schema: {
        summary: 'Redemption attempts (audit log), newest first, filtered and paginated',
        tags: ['learner-credit'],
        querystring: query,
      },
    },
    async (req) => {
      const principal = requirePrincipal(req);
      const f = req.query;
      if (f.started_after && f.started_before && f.started_after > f.started_before) {
        throw badRequest({ started_before: ['Must not be earlier than started_after.'] });
      }
      let learnerOnly: number | undefined;
      if (!isOperator(principal)) {
        if (!f.enterprise_customer_uuid) {
          throw badRequest({ enterprise_customer_uuid: ['This field is required unless you are an operator.'] });
        }
        const access = accessTo(principal, f.enterprise_customer_uuid);
        if (access === 'none') throw forbidden();
        if (access === 'learner') {
          if (principal.userId === undefined) throw forbidden();
          learnerOnly = principal.userId;
        }
      }
      let q = db.selectFrom('redemption_attempts');
      if (f.enterprise_customer_uuid) q = q.where('enterprise_customer_uuid', '=', f.enterprise_customer_uuid);
      if (f.policy_uuid) q = q.where('policy_uuid', '=', f.policy_uuid);
      if (learnerOnly !== undefined) q = q.where('lms_user_id', '=', learnerOnly);
      if (f.lms_user_id !== undefined) q = q.where('lms_user_id', '=', f.lms_user_id);
      if (f.content_key) q = q.where('content_key', '=', f.content_key);
      if (f.outcome) q = q.where('outcome', '=', f.outcome);
      if (f.started_after) q = q.where('started_at', '>=', new Date(f.started_after));
      if (f.started_before) q = q.where('started_at', '<', new Date(f.started_before));
      return paginate(
        req,
        () => countRows(q),
        async (limit, offset) =>
          (await q.selectAll().orderBy('started_at', 'desc').orderBy('uuid').limit(limit).offset(offset).execute()).map(
            (r) =>
              attemptSchema.parse({
                ...r,
                lms_user_id: Number(r.lms_user_id),
                price_cents: r.price_cents === null ? null : Number(r.price_cents),
                started_at: r.started_at.toISOString(),
                completed_at: r.completed_at?.toISOString() ?? null,
              }),
          ),
      );
    },
  );
}
