import type { Kysely } from 'kysely';
import { z } from 'zod';
import { finishAttempt, reconcileReversals, reserve, startAttempt } from '../../access/learner-credit/redemption-store';
import type { AccessDB } from '../../access/schema';
import { INTERNAL_REDEMPTIONS } from '../../clients/access';
import type { ZodApp } from '../../lib/fastify/app';
import { requireRoles } from '../../lib/fastify/auth';
import { OPERATOR_ROLES } from '../../lib/jwt';

const uuid = z.uuid().transform((u) => u.toLowerCase());
const ref = { workflow_id: z.string().min(1).max(400), run_id: z.string().min(1).max(100) };
const learnerContent = {
  policy_uuid: uuid,
  lms_user_id: z.number().int().positive(),
  content_key: z.string().min(1).max(255),
};

const startBody = z.object({
  ...ref,
  ...learnerContent,
  assignment_uuid: uuid.nullish(),
  request_uuid: uuid.nullish(),
  requested_by: z.string().max(255).nullish(),
});

const reserveBody = z.object({
  ...ref,
  ...learnerContent,
  idempotency_key: z.string().min(1).max(255),
  facts: z.object({
    learner_group_uuids: z.array(z.string()).nullable(),
    content_in_catalog: z.boolean(),
    content: z.object({ price_cents: z.number().int().min(0).nullable(), enroll_by: z.string().nullable() }).nullable(),
    subsidy_active: z.boolean(),
    subsidy_can_redeem: z.boolean(),
    reversed_transaction_uuids: z.array(uuid),
  }),
});

const finishBody = z.object({
  ...ref,
  outcome: z.enum(['redeemed', 'failed', 'rejected']),
  idempotency_key: z.string().max(255).nullish(),
  transaction_uuid: uuid.nullish(),
  fulfillment_identifier: z.string().max(255).nullish(),
  price_cents: z.number().int().min(0).nullish(),
  already_redeemed: z.boolean().optional(),
  error_code: z.string().max(100).nullish(),
  error_message: z.string().max(4000).nullish(),
});

const reconcileBody = z.object({ policy_uuid: uuid, reversed_transaction_uuids: z.array(uuid).max(10_000) });

/**
 * The worker's way to the orchestrator's own redemption records (operator/service token only).
 * Each call is one database transaction and safe to repeat: the worker retries them as
 * activities.
 */
export function internalRedemptionRoutes(app: ZodApp, { db }: { db: Kysely<AccessDB> }) {
  const common = { onRequest: requireRoles(OPERATOR_ROLES) };
  const tags = ['internal'];
  app.post(
    `${INTERNAL_REDEMPTIONS}/attempts`,
    { ...common, schema: { tags, summary: 'Record that a redemption attempt started', body: startBody } },
    async (req) => startAttempt(db, req.body),
  );
  app.post(
    `${INTERNAL_REDEMPTIONS}/reservations`,
    {
      ...common,
      schema: { tags, summary: 'Check a redemption against the policy and reserve its price', body: reserveBody },
    },
    async (req) => reserve(db, req.body),
  );
  app.post(
    `${INTERNAL_REDEMPTIONS}/attempts/finish`,
    {
      ...common,
      schema: { tags, summary: 'End a redemption attempt: commit or release its reservation', body: finishBody },
    },
    async (req) => {
      await finishAttempt(db, req.body);
      return { ok: true as const };
    },
  );
  app.post(
    `${INTERNAL_REDEMPTIONS}/reversals`,
    {
      ...common,
      schema: { tags, summary: "Give reversed transactions' amounts back to a policy", body: reconcileBody },
    },
    async (req) => ({ reversed: await reconcileReversals(db, req.body) }),
  );
}
