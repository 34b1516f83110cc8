/**
 * Learner-credit redemption (spec learner-credit §4–7, §13): can-redeem, credits_available, the
 * redeem workflow and its status, and the redemption-attempts audit log. Who may do what:
 * learners of the customer for themselves, its admins and operators for anyone of it.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Kysely } from 'kysely';
import type { LearnerCreditFacts } from '../../access/learner-credit/facts';
import { findPolicy, type Policy } from '../../access/learner-credit/policy-store';
import { type ReasonCode, reasonObjects } from '../../access/learner-credit/reasons';
import {
  type AttemptFilter,
  countAttempts,
  listAttempts,
  reconcileReversals,
  redemptionGeneration,
} from '../../access/learner-credit/redemption-store';
import type { AccessDB } from '../../access/schema';
import type { LedgerTransaction, SubsidyClient } from '../../clients/subsidy';
import { accessTo, type CustomerAccess, isOperator } from '../../lib/customer-access';
import type { RedemptionSettings } from '../../lib/defaults';
import { normalizeUuid, uuidParam } from '../../lib/drf/fields';
import { type PageRequest, paginate } from '../../lib/drf/pagination';
import { ServiceError } from '../../lib/http-client';
import { InvalidInput, NotFound, PermissionDenied, Refused } from '../../lib/http-errors';
import type { Principal } from '../../lib/jwt';
import { searchAttributes } from '../../workflows/definitions';
import { REDEEM_FAILURES, REDEEM_STEP_OF_ACTIVITY, REDEEM_STEPS, type RedeemInput } from '../../workflows/redeem';
import { type Accepted, accepted, type RunStatus, type WorkflowRuns } from '../workflow-runs';
import { type CanRedeemItem, canRedeem } from './can-redeem';
import { creditsAvailable } from './credits-available';

const REDEEM_WORKFLOW = 'redeem';

/**
 * The redemption workflow's id: one per (policy, learner, content, generation), where the
 * generation counts the learner's earlier redemptions of it that failed or were refunded
 * (`redemptionGeneration`). A double submit joins the running workflow; a repeat after success
 * finds the completed one; after a failure or a refund a new one runs.
 */
function redemptionWorkflowId(policyUuid: string, lmsUserId: number, contentKey: string, generation: number): string {
  const content = createHash('sha256').update(contentKey).digest('hex').slice(0, 16);
  return `redeem-${policyUuid}-${lmsUserId}-${content}-g${generation}`;
}

const redemptionStatusUrl = (workflowId: string) =>
  `/api/v1/policy-redemption/redemptions/${encodeURIComponent(workflowId)}`;

/** A subsidy failure as upstream answers it on these endpoints: 422 with the subsidy's words and status. */
function subsidyApiError(err: unknown): unknown {
  if (!(err instanceof ServiceError) || err.service !== 'subsidy') return err;
  const body = typeof err.body === 'object' && err.body !== null ? (err.body as Record<string, unknown>) : {};
  const words = typeof body.detail === 'string' ? body.detail : typeof err.body === 'string' ? err.body : err.message;
  return new Refused({
    ...body,
    detail: `Subsidy Transaction API error: ${words}`,
    subsidy_status_code: String(err.status ?? 503),
  });
}

async function orSubsidyError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw subsidyApiError(err);
  }
}

/** Who may redeem (or ask can-redeem) in a customer: its learners, its admins, operators. */
function redemptionAccess(p: Principal, customerUuid: string): Exclude<CustomerAccess, 'none'> {
  const access = accessTo(p, customerUuid);
  if (access === 'none') throw new PermissionDenied();
  return access;
}

export interface RedemptionServiceDeps {
  db: Kysely<AccessDB>;
  subsidyApi: SubsidyClient;
  runs: WorkflowRuns;
  facts: LearnerCreditFacts;
  settings: RedemptionSettings;
  lmsBaseUrl: string;
}

export type RedeemAnswer = { redeemed: LedgerTransaction } | { accepted: Accepted };

export function createRedemptionService(deps: RedemptionServiceDeps) {
  const { db, runs, facts, settings, subsidyApi } = deps;

  /** The policy of a path parameter (any uuid spelling), or 404. */
  async function policyOf(raw: string): Promise<Policy> {
    const uuid = uuidParam(raw);
    const policy = uuid ? await findPolicy(db, uuid) : undefined;
    if (!policy) throw new NotFound();
    return policy;
  }

  /** A redemption refused or failed, as upstream answers it: 422 with reasons, or with the downstream's error. */
  async function redemptionError(customerUuid: string, error: unknown, message: string): Promise<Error> {
    const cause = (error as { cause?: unknown }).cause;
    if (!(cause instanceof ApplicationFailure)) return new Refused(`Redemption failed: ${message}`);
    const d = (cause.details?.[0] ?? {}) as {
      reason?: ReasonCode;
      policy_uuid?: string;
      status?: number;
      body?: unknown;
    };
    switch (cause.type) {
      case REDEEM_FAILURES.cannotRedeem: {
        const admins = await facts.admins(customerUuid).catch(() => []);
        return new Refused({
          detail: reasonObjects([{ policyUuid: d.policy_uuid ?? '', reason: d.reason as ReasonCode }], admins),
        });
      }
      case REDEEM_FAILURES.ledgerRefused:
      case REDEEM_FAILURES.enrollmentFailed: {
        const body = typeof d.body === 'object' && d.body !== null ? (d.body as Record<string, unknown>) : {};
        const words = typeof body.detail === 'string' ? body.detail : cause.message;
        const enrollment = cause.type === REDEEM_FAILURES.enrollmentFailed;
        return new Refused({
          ...body,
          detail: `Subsidy Transaction API error: ${words}`,
          ...(enrollment ? { code: 'enrollment_error' } : {}),
          subsidy_status_code: String(enrollment ? 422 : (d.status ?? 422)),
        });
      }
      case REDEEM_FAILURES.policyNotFound:
        return new NotFound();
      default:
        return new Refused(`Redemption failed: ${cause.message}`);
    }
  }

  /**
   * Has the ledger reversed this transaction of a completed redemption? If so, the policy's
   * aggregates are given the amount back (as the reversal feed would a moment later). Read only
   * for a repeat of a completed redemption.
   */
  async function refundedSince(policy: Policy, tx: LedgerTransaction): Promise<boolean> {
    if (!tx.content_key || tx.lms_user_id === null) return false;
    const history = await orSubsidyError(
      subsidyApi.learnerContentTransactions(policy.subsidy_uuid, tx.lms_user_id, tx.content_key),
    );
    if (history.find((t) => t.uuid === tx.uuid)?.reversal?.state !== 'committed') return false;
    await reconcileReversals(db, { policy_uuid: policy.uuid, reversed_transaction_uuids: [tx.uuid] });
    return true;
  }

  return {
    /**
     * The policy of the path: 404 when unknown, 403 unless the caller may redeem in its customer
     * (checked before the body is read, as upstream).
     */
    async redeemablePolicy(principal: Principal, policyRaw: string): Promise<Policy> {
      const policy = await policyOf(policyRaw);
      redemptionAccess(principal, policy.enterprise_customer_uuid);
      return policy;
    },

    /** 403 unless the caller is of the customer (before the query is read). */
    authorizeCustomer(principal: Principal, customerRaw: string): void {
      redemptionAccess(principal, customerRaw);
    },

    async canRedeem(
      principal: Principal,
      customerRaw: string,
      query: { content_key: string[]; lms_user_id?: number },
    ): Promise<CanRedeemItem[]> {
      const customerUuid = uuidParam(customerRaw);
      if (!customerUuid) throw new NotFound();
      const access = redemptionAccess(principal, customerUuid);
      // Only staff may ask on behalf of someone else; a learner's override is ignored (upstream).
      const staff = access === 'operator' || access === 'admin';
      const lmsUserId = (staff ? query.lms_user_id : undefined) ?? principal.userId;
      if (lmsUserId === undefined) throw new NotFound('Could not determine a value for lms_user_id');
      return orSubsidyError(
        canRedeem(
          { db, facts, lmsBaseUrl: deps.lmsBaseUrl },
          { customerUuid, lmsUserId, contentKeys: query.content_key },
        ),
      );
    },

    async creditsAvailable(principal: Principal, customerRaw: string, lmsUserId: number) {
      const customerUuid = customerRaw.toLowerCase();
      // Upstream answers for any lms_user_id; a learner may only ask about itself.
      if (redemptionAccess(principal, customerUuid) === 'learner' && principal.userId !== lmsUserId) {
        throw new PermissionDenied('A learner may only see its own credits.');
      }
      return creditsAvailable({ db, facts }, customerUuid, lmsUserId);
    },

    /** Runs (or joins) the redemption: the committed transaction, or where to follow it; 422 when refused. */
    async redeem(
      principal: Principal,
      policy: Policy,
      body: { lms_user_id: number; content_key: string; metadata?: Record<string, unknown> | null },
      requestedBy: string,
    ): Promise<RedeemAnswer> {
      // Upstream trusts the body's lms_user_id; a learner may only redeem for itself.
      if (redemptionAccess(principal, policy.enterprise_customer_uuid) === 'learner') {
        if (principal.userId !== body.lms_user_id) {
          throw new PermissionDenied('A learner may only redeem for its own lms_user_id.');
        }
      }
      const input: RedeemInput = {
        policy_uuid: policy.uuid,
        lms_user_id: body.lms_user_id,
        content_key: body.content_key,
        metadata: body.metadata ?? null,
        requested_by: requestedBy,
        retry_window_seconds: settings.retryWindowSeconds,
        attempt_timeout_seconds: settings.attemptTimeoutSeconds,
      };
      const run = async (generation: number) =>
        runs.startAndWait<LedgerTransaction>(
          {
            type: REDEEM_WORKFLOW,
            workflowId: redemptionWorkflowId(policy.uuid, body.lms_user_id, body.content_key, generation),
            args: [input],
            searchAttributes: [
              { key: searchAttributes.PolicyUuid, value: policy.uuid },
              { key: searchAttributes.LmsUserId, value: body.lms_user_id },
              { key: searchAttributes.CustomerUuid, value: policy.enterprise_customer_uuid },
            ],
            summary: `Redeem ${body.content_key} for learner ${body.lms_user_id}, policy ${policy.display_name || policy.uuid}`,
            details: [
              `Requested by ${requestedBy}.`,
              `Policy \`${policy.uuid}\` (${policy.policy_type}) of customer \`${policy.enterprise_customer_uuid}\`, ` +
                `subsidy \`${policy.subsidy_uuid}\`; attempt ${generation + 1} of this learner for this content.`,
            ].join('\n\n'),
          },
          settings.waitSeconds,
        );
      const generation = () => redemptionGeneration(db, policy.uuid, body.lms_user_id, body.content_key);
      let outcome = await run(await generation());
      if (outcome.state === 'completed' && outcome.repeat && (await refundedSince(policy, outcome.value))) {
        // The ledger refunded it after it completed and the reversal feed has not told us yet:
        // the refund is given back now, which opens the next generation.
        outcome = await run(await generation());
      }
      if (outcome.state === 'completed') return { redeemed: outcome.value };
      if (outcome.state === 'failed') {
        throw await redemptionError(policy.enterprise_customer_uuid, outcome.error, outcome.message);
      }
      return { accepted: accepted(outcome, redemptionStatusUrl(outcome.workflowId)) };
    },

    /** The status view of one redemption, for the customer's staff or the learner it is for. */
    async status(principal: Principal, workflowId: string): Promise<RunStatus & { transaction?: unknown }> {
      const view = await runs.status(workflowId, REDEEM_WORKFLOW, {
        steps: REDEEM_STEPS,
        localSteps: REDEEM_STEP_OF_ACTIVITY,
        authorize: async (attributes) => {
          const policyUuid = attributes.get(searchAttributes.PolicyUuid);
          const policy = policyUuid ? await findPolicy(db, policyUuid) : undefined;
          if (!policy) throw new NotFound();
          const access = redemptionAccess(principal, policy.enterprise_customer_uuid);
          const learner = attributes.get(searchAttributes.LmsUserId);
          if (access === 'learner' && principal.userId !== learner) throw new PermissionDenied();
        },
      });
      return view.status === 'completed' ? { ...view, transaction: view.result } : view;
    },

    /**
     * The audit log (ADR 0020): operators see all; a customer's admins see that customer's (they
     * must name it); learners see their own.
     */
    async attempts(principal: Principal, filter: AttemptFilter, page: PageRequest) {
      if (filter.startedAfter && filter.startedBefore && filter.startedAfter > filter.startedBefore) {
        throw new InvalidInput({ started_before: ['Must not be earlier than started_after.'] });
      }
      const f = { ...filter };
      if (!isOperator(principal)) {
        if (!f.customerUuid) {
          throw new InvalidInput({ enterprise_customer_uuid: ['This field is required unless you are an operator.'] });
        }
        const access = redemptionAccess(principal, f.customerUuid);
        if (access === 'learner') {
          if (principal.userId === undefined) throw new PermissionDenied();
          if (f.lmsUserId !== undefined && f.lmsUserId !== principal.userId) return emptyPage();
          f.lmsUserId = principal.userId;
        }
      }
      if (f.customerUuid) f.customerUuid = normalizeUuid(f.customerUuid);
      return paginate(
        page,
        () => countAttempts(db, f),
        (limit, offset) => listAttempts(db, f, limit, offset),
      );
    },
  };
}

const emptyPage = () => ({ count: 0, next: null, previous: null, results: [] });

export type RedemptionService = ReturnType<typeof createRedemptionService>;
