import { createHash } from 'node:crypto';
import { type Client, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { findPolicy } from '../../access/learner-credit/policy-store';
import { type ReasonCode, reasonObjects } from '../../access/learner-credit/reasons';
import { policySnapshot } from '../../access/learner-credit/redemption-store';
import type { AccessDB } from '../../access/schema';
import { nextIdempotencyKey } from '../../activities/redemption';
import type { ServiceClients } from '../../clients';
import { accessTo } from '../../lib/customer-access';
import type { ZodApp } from '../../lib/fastify/app';
import { requirePrincipal } from '../../lib/fastify/auth';
import { detail, forbidden, HttpError, notFound } from '../../lib/http-errors';
import type { Principal } from '../../lib/jwt';
import { searchAttributes } from '../../workflows/definitions';
import { REDEEM_FAILURES, type RedeemInput, type redeem } from '../../workflows/redeem';
import { type CanRedeemReader, subsidyApiError } from '../learner-credit/can-redeem';
import { creditsAvailable } from '../learner-credit/credits-available';
import { failureMessage, startOrJoin, waitFor } from '../workflow-start';

export interface PolicyRedemptionDeps {
  db: Kysely<AccessDB>;
  clients: ServiceClients;
  temporal: Client;
  taskQueue: string;
  canRedeem: CanRedeemReader;
  waitSeconds: number;
  retryWindowSeconds: number;
  attemptTimeoutSeconds: number;
}

/** opaque-keys CourseKey: `course-v1:org+course+run` or the old `org/course/run`. */
const COURSE_RUN_KEY = /^(course-v1:[\w\-~.:]+\+[\w\-~.:]+\+[\w\-~.:]+|[\w\-~.:]+\/[\w\-~.:]+\/[\w\-~.:]+)$/u;
const contentKey = z
  .string({ error: (i) => (i.input === undefined ? 'This field is required.' : 'Not a valid string.') })
  .refine((k) => COURSE_RUN_KEY.test(k), { error: 'Invalid course run key.' });
const uuidParam = z.string().transform((v, ctx) => {
  if (!/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(v)) {
    ctx.addIssue({ code: 'custom', message: 'Not found.' });
    return z.NEVER;
  }
  const hex = v.replaceAll('-', '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
});

const redeemBody = z.object({
  lms_user_id: z
    .number({ error: (i) => (i.input === undefined ? 'This field is required.' : 'A valid integer is required.') })
    .int('A valid integer is required.')
    .positive('Ensure this value is greater than or equal to 1.')
    .max(2 ** 31 - 1, 'Ensure this value is less than or equal to 2147483647.'),
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
  lms_user_id: z.coerce.number().int().positive().optional(),
});

/** Who may redeem (or ask can-redeem) in a customer: its learners, its admins, operators. */
function redemptionAccess(p: Principal, customerUuid: string) {
  const access = accessTo(p, customerUuid);
  if (access === 'none') throw forbidden();
  return access;
}

/**
 * The redemption workflow's id: one per (policy, learner, content, generation), where the
 * generation is the ledger idempotency key (it changes after a failed or reversed redemption).
 * A double submit joins the running workflow; a repeat after success finds the completed one.
 */
export function redemptionWorkflowId(policyUuid: string, lmsUserId: number, idempotencyKey: string): string {
  const generation = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 20);
  return `redeem-${policyUuid}-${lmsUserId}-${generation}`;
}

export function policyRedemptionRoutes(app: ZodApp, deps: PolicyRedemptionDeps) {
  app.get(
    '/api/v1/policy-redemption/enterprise-customer/:customer_uuid/can-redeem',
    {
      schema: {
        summary: 'For each content key: existing redemptions and the policy that would pay, or why none would',
        tags: ['learner-credit'],
        params: z.object({ customer_uuid: z.string() }),
        querystring: canRedeemQuery,
      },
      preValidation: async (req) => {
        const { customer_uuid } = req.params as { customer_uuid: string };
        redemptionAccess(requirePrincipal(req), customer_uuid);
      },
    },
    async (req) => {
      const principal = requirePrincipal(req);
      const customerUuid = uuidParam.safeParse(req.params.customer_uuid);
      if (!customerUuid.success) throw notFound();
      const access = redemptionAccess(principal, customerUuid.data);
      // Only staff may ask on behalf of someone else; a learner's override is ignored (upstream).
      const staff = access === 'operator' || access === 'admin';
      const lmsUserId = (staff ? req.query.lms_user_id : undefined) ?? principal.userId;
      if (lmsUserId === undefined) throw notFound('Could not determine a value for lms_user_id');
      return deps.canRedeem({ customerUuid: customerUuid.data, lmsUserId, contentKeys: req.query.content_key });
    },
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
        tags: ['learner-credit'],
        querystring: z.object({
          enterprise_customer_uuid: z.uuid({
            error: (i) => (i.input === undefined ? 'This field is required.' : 'Must be a valid UUID.'),
          }),
          lms_user_id: z.coerce
            .number({
              error: (i) => (i.input === undefined ? 'This field is required.' : 'A valid integer is required.'),
            })
            .int('A valid integer is required.')
            .positive('A valid integer is required.'),
        }),
      },
    },
    async (req) => {
      const principal = requirePrincipal(req);
      const customerUuid = req.query.enterprise_customer_uuid.toLowerCase();
      const access = redemptionAccess(principal, customerUuid);
      // Upstream answers for any lms_user_id; a learner may only ask about itself.
      if (access === 'learner' && principal.userId !== req.query.lms_user_id) {
        throw forbidden('A learner may only see its own credits.');
      }
      return creditsAvailable(deps, customerUuid, req.query.lms_user_id);
    },
  );

  app.post(
    '/api/v1/policy-redemption/:policy_uuid/redeem',
    {
      schema: {
        summary: 'Redeem learner credit: reserve, charge the ledger, enroll, commit (a durable workflow)',
        description:
          '200 with the committed ledger transaction; 422 with the reasons (as can-redeem) or the downstream error; ' +
          '202 with a status URL when the redemption is still running after the wait time. Repeating a request ' +
          'returns the same transaction; it never charges twice. A learner may redeem only for itself.',
        tags: ['learner-credit'],
        params: z.object({ policy_uuid: z.string() }),
        body: redeemBody,
      },
      // Permission before the body (403 before 400), as upstream.
      preValidation: async (req) => {
        const policy = await policyFor(deps.db, (req.params as { policy_uuid: string }).policy_uuid);
        redemptionAccess(requirePrincipal(req), policy.enterprise_customer_uuid);
      },
    },
    async (req, reply) => {
      const principal = requirePrincipal(req);
      const policy = await policyFor(deps.db, req.params.policy_uuid);
      const access = redemptionAccess(principal, policy.enterprise_customer_uuid);
      const body = req.body;
      // Upstream trusts the body's lms_user_id; a learner may only redeem for itself.
      if (access === 'learner' && principal.userId !== body.lms_user_id) {
        throw forbidden('A learner may only redeem for its own lms_user_id.');
      }
      let idempotencyKey: string;
      try {
        const history = await deps.clients.subsidyApi.learnerContentTransactions(
          policy.subsidy_uuid,
          body.lms_user_id,
          body.content_key,
        );
        idempotencyKey = nextIdempotencyKey(policySnapshot(policy), body.lms_user_id, body.content_key, history);
      } catch (err) {
        throw subsidyApiError(err);
      }
      const workflowId = redemptionWorkflowId(policy.uuid, body.lms_user_id, idempotencyKey);
      const input: RedeemInput = {
        policy_uuid: policy.uuid,
        lms_user_id: body.lms_user_id,
        content_key: body.content_key,
        metadata: body.metadata ?? null,
        requested_by: principal.username ?? (principal.userId === undefined ? null : String(principal.userId)),
        retry_window_seconds: deps.retryWindowSeconds,
        attempt_timeout_seconds: deps.attemptTimeoutSeconds,
      };
      const handle = await startOrJoin<typeof redeem>(deps.temporal, 'redeem', {
        taskQueue: deps.taskQueue,
        workflowId,
        args: [input],
        typedSearchAttributes: [
          { key: searchAttributes.PolicyUuid, value: policy.uuid },
          { key: searchAttributes.LmsUserId, value: body.lms_user_id },
        ],
      });
      const outcome = await waitFor(handle.result(), deps.waitSeconds * 1000);
      if (outcome.state === 'done') return reply.code(200).send(outcome.value);
      if (outcome.state === 'failed') throw await redemptionError(deps, policy.enterprise_customer_uuid, outcome.error);
      const description = await handle.describe();
      return reply.code(202).send({
        workflow_id: workflowId,
        run_id: description.runId,
        status_url: `/api/v1/policy-redemption/redemptions/${encodeURIComponent(workflowId)}`,
      });
    },
  );

  app.get(
    '/api/v1/policy-redemption/redemptions/:workflow_id',
    {
      schema: {
        summary: 'A redemption workflow: its state, current step, and result or error',
        tags: ['learner-credit'],
        params: z.object({ workflow_id: z.string().min(1).max(400) }),
      },
    },
    async (req) => {
      const principal = requirePrincipal(req);
      const handle = deps.temporal.workflow.getHandle(req.params.workflow_id);
      let description: Awaited<ReturnType<typeof handle.describe>>;
      try {
        description = await handle.describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw notFound();
        throw err;
      }
      if (description.type !== 'redeem') throw notFound();
      const policyUuid = description.typedSearchAttributes.get(searchAttributes.PolicyUuid);
      const policy = policyUuid ? await findPolicy(deps.db, policyUuid) : undefined;
      if (!policy) throw notFound();
      const access = redemptionAccess(principal, policy.enterprise_customer_uuid);
      const learner = description.typedSearchAttributes.get(searchAttributes.LmsUserId);
      if (access === 'learner' && principal.userId !== learner) throw forbidden();
      const status = description.status.name;
      const base = { workflow_id: req.params.workflow_id, run_id: description.runId, status: status.toLowerCase() };
      if (status === 'COMPLETED') return { ...base, transaction: await handle.result() };
      if (status === 'FAILED') {
        const error = await handle.result().then(
          () => null,
          (e: unknown) => failureMessage(e),
        );
        return { ...base, error };
      }
      return base;
    },
  );
}

async function policyFor(db: Kysely<AccessDB>, raw: string) {
  const uuid = uuidParam.safeParse(raw);
  const policy = uuid.success ? await findPolicy(db, uuid.data) : undefined;
  if (!policy) throw notFound();
  return policy;
}

/** A failed redemption as upstream answers it: 422 with reasons, or with the downstream's error. */
async function redemptionError(deps: PolicyRedemptionDeps, customerUuid: string, err: unknown): Promise<HttpError> {
  const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure)) return detail(503, `Redemption failed: ${failureMessage(err)}`);
  const d = (cause.details?.[0] ?? {}) as {
    reason?: ReasonCode;
    policy_uuid?: string;
    status?: number;
    body?: unknown;
  };
  switch (cause.type) {
    case REDEEM_FAILURES.cannotRedeem: {
      const c = await deps.clients.lmsApi.getCustomer(customerUuid).catch(() => undefined);
      const admins = (c?.admin_users ?? []).map((a) => ({ email: a.email, lms_user_id: a.lms_user_id }));
      return new HttpError(422, {
        detail: reasonObjects([{ policyUuid: d.policy_uuid ?? '', reason: d.reason as ReasonCode }], admins),
      });
    }
    case REDEEM_FAILURES.ledgerRefused:
    case REDEEM_FAILURES.enrollmentFailed: {
      const body = typeof d.body === 'object' && d.body !== null ? (d.body as Record<string, unknown>) : {};
      const words = typeof body.detail === 'string' ? body.detail : cause.message;
      return new HttpError(422, {
        ...body,
        detail: `Subsidy Transaction API error: ${words}`,
        ...(cause.type === REDEEM_FAILURES.enrollmentFailed ? { code: 'enrollment_error' } : {}),
        subsidy_status_code: String(cause.type === REDEEM_FAILURES.enrollmentFailed ? 422 : (d.status ?? 422)),
      });
    }
    case REDEEM_FAILURES.policyNotFound:
      return notFound();
    default:
      return new HttpError(422, { detail: `Redemption failed: ${cause.message}` });
  }
}
