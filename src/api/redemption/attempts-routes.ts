import { z } from 'zod';
import { ATTEMPT_OUTCOMES } from '../../access/learner-credit/redemption-store';
import { CUSTOMER_ROLES } from '../../lib/customer-access';
import { intQuery, queryText } from '../../lib/drf/fields';
import { pageQuery, pageSchema } from '../../lib/drf/pagination';
import type { ZodApp } from '../../lib/fastify/app';
import { requirePrincipal, requireRoleSomewhere } from '../../lib/fastify/auth';
import type { RedemptionService } from './service';

const uuid = z.uuid('Must be a valid UUID.').transform((u) => u.toLowerCase());
const time = z.iso.datetime({ offset: true, error: 'Enter a valid date/time (ISO-8601).' });

const query = z.object({
  enterprise_customer_uuid: uuid.optional(),
  policy_uuid: uuid.optional(),
  lms_user_id: intQuery('integer', { min: 1 }),
  content_key: queryText().pipe(z.string().max(255)).optional(),
  outcome: z.enum(ATTEMPT_OUTCOMES, { error: `Select one of: ${ATTEMPT_OUTCOMES.join(', ')}.` }).optional(),
  started_after: time.optional(),
  started_before: time.optional(),
  ...pageQuery,
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
  outcome: z.enum(ATTEMPT_OUTCOMES),
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
 * with its inputs, the policy as it was, the can-redeem verdict and the outcome.
 */
export function redemptionAttemptRoutes(app: ZodApp, service: RedemptionService) {
  app.get(
    '/api/v1/redemption-attempts',
    {
      // Some role of some customer before the query is read (403, not 400, for a caller with none).
      onRequest: requireRoleSomewhere(CUSTOMER_ROLES),
      schema: {
        summary: 'Redemption attempts (audit log), newest first, filtered and paginated',
        description:
          "Operators see all; a customer's admins see that customer's (they must name it); learners see their own.",
        tags: ['learner-credit'],
        querystring: query,
        response: { 200: pageSchema(attemptSchema) },
      },
    },
    async (req) => {
      const q = req.query;
      const filter = {
        customerUuid: q.enterprise_customer_uuid,
        policyUuid: q.policy_uuid,
        lmsUserId: q.lms_user_id,
        contentKey: q.content_key,
        outcome: q.outcome,
        startedAfter: q.started_after ? new Date(q.started_after) : undefined,
        startedBefore: q.started_before ? new Date(q.started_before) : undefined,
      };
      return service.attempts(requirePrincipal(req), filter, req);
    },
  );
}
