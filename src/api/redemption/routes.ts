import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Policy } from '../../access/learner-credit/policy-store';
import { intField, intQuery, requiredIntQuery } from '../../lib/drf/fields';
import type { ZodApp } from '../../lib/fastify/app';
import { callerName, requirePrincipal } from '../../lib/fastify/auth';
import { DetailError } from '../../lib/fastify/error-schemas';
import { acceptedSchema, refusalSchema, runStatusSchema } from '../schemas';
import type { RedemptionService } from './service';

/** opaque-keys CourseKey: `course-v1:org+course+run` or the old `org/course/run`. */
const COURSE_RUN_KEY = /^(course-v1:[\w\-~.:]+\+[\w\-~.:]+\+[\w\-~.:]+|[\w\-~.:]+\/[\w\-~.:]+\/[\w\-~.:]+)$/u;
const contentKey = z
  .string({ error: (i) => (i.input === undefined ? 'This field is required.' : 'Not a valid string.') })
  .refine((k) => COURSE_RUN_KEY.test(k), { error: 'Invalid course run key.' });

const redeemBody = z.object({
  lms_user_id: intField('integer', { min: 1 }),
  content_key: contentKey,
  metadata: z.record(z.string(), z.unknown()).nullish(),
});

const canRedeemQuery = z.object({
  content_key: z
    .union([z.string(), z.array(z.string())], { error: 'This field is required.' })
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .pipe(
      z
        .array(contentKey)
        .min(1, 'This field is required.')
        .max(100, 'Ensure this field has no more than 100 elements.'),
    ),
  lms_user_id: intQuery('integer', { min: 1 }),
});

const creditsQuery = z.object({
  enterprise_customer_uuid: z.uuid({
    error: (i) => (i.input === undefined ? 'This field is required.' : 'Must be a valid UUID.'),
  }),
  lms_user_id: requiredIntQuery('integer', { min: 1 }),
});

const tags = ['learner-credit'];

/** `/api/v1/policy-redemption/...` (spec learner-credit §13). */
export function redemptionRoutes(app: ZodApp, service: RedemptionService) {
  /** The policy a redeem request names, loaded (and authorized) once, before its body is read. */
  const policies = new WeakMap<FastifyRequest, Policy>();
  app.get(
    '/api/v1/policy-redemption/enterprise-customer/:customer_uuid/can-redeem',
    {
      schema: {
        summary: 'For each content key: existing redemptions and the policy that would pay, or why none would',
        tags,
        params: z.object({ customer_uuid: z.string() }),
        querystring: canRedeemQuery,
        errors: { 403: DetailError, 404: DetailError, 422: refusalSchema, 503: DetailError },
      },
      // Permission before the query (403 before 400), as upstream.
      preValidation: async (req) => {
        service.authorizeCustomer(requirePrincipal(req), (req.params as { customer_uuid: string }).customer_uuid);
      },
    },
    async (req) => service.canRedeem(requirePrincipal(req), req.params.customer_uuid, req.query),
  );

  app.get(
    '/api/v1/policy-redemption/credits_available',
    {
      // 401 before 400.
      preValidation: async (req) => {
        requirePrincipal(req);
      },
      schema: {
        summary: "The customer's policies the learner can still spend from, with what is left",
        tags,
        querystring: creditsQuery,
        errors: { 403: DetailError, 404: DetailError, 503: DetailError },
      },
    },
    async (req) =>
      service.creditsAvailable(requirePrincipal(req), req.query.enterprise_customer_uuid, req.query.lms_user_id),
  );

  app.post(
    '/api/v1/policy-redemption/:policy_uuid/redeem',
    {
      schema: {
        summary: 'Redeem learner credit: reserve, charge the ledger, enroll, commit (a durable workflow)',
        description:
          '200 with the committed ledger transaction; 422 with the reasons (as can-redeem) or the downstream error; ' +
          '202 with a status URL when the redemption is still running after the wait time; 503 when Temporal ' +
          'cannot be reached (repeating the request is safe). Repeating a request returns the same transaction; ' +
          'it never charges twice. A learner may redeem only for itself.',
        tags,
        params: z.object({ policy_uuid: z.string() }),
        body: redeemBody,
        response: {
          200: z.record(z.string(), z.unknown()).describe('The committed ledger transaction'),
          202: acceptedSchema,
        },
        errors: { 403: DetailError, 404: DetailError, 422: refusalSchema, 503: DetailError },
      },
      // Permission before the body (403 before 400), as upstream.
      preValidation: async (req) => {
        const raw = (req.params as { policy_uuid: string }).policy_uuid;
        policies.set(req, await service.redeemablePolicy(requirePrincipal(req), raw));
      },
    },
    async (req, reply) => {
      const policy = policies.get(req) as Policy;
      const answer = await service.redeem(requirePrincipal(req), policy, req.body, callerName(req));
      if ('redeemed' in answer) return reply.code(200).send({ ...answer.redeemed });
      return reply.code(202).send(answer.accepted);
    },
  );

  app.get(
    '/api/v1/policy-redemption/redemptions/:workflow_id',
    {
      schema: {
        summary: 'A redemption workflow: its state, each step, and the transaction or error',
        tags,
        params: z.object({ workflow_id: z.string().min(1).max(400) }),
        response: { 200: runStatusSchema.extend({ transaction: z.unknown().optional() }) },
        errors: { 403: DetailError, 404: DetailError, 503: DetailError },
      },
    },
    async (req) => service.status(requirePrincipal(req), req.params.workflow_id),
  );
}
