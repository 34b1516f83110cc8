/**
 * Subsidy access policies (budgets; spec learner-credit §2.1, §9, §13): CRUD and the group
 * endpoints. Operators read and write; the customer's admins and learners read; the member list
 * (members' emails) is for operators and admins. Facts from the subsidy service are read before
 * any write's transaction opens.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  countPolicies,
  findPolicy,
  listPolicies,
  type Policy,
  type PolicyListFilter,
} from '../../access/learner-credit/policy-store';
import {
  createPolicy,
  deleteGroupAssociations,
  type PolicyChanges,
  softDeletePolicy,
  updatePolicy,
} from '../../access/learner-credit/policy-writes';
import type { AccessDB } from '../../access/schema';
import type { ServiceClients } from '../../clients';
import type { SubsidyRecord } from '../../clients/subsidy';
import { accessTo, type CustomerAccess } from '../../lib/customer-access';
import { invalidPk, uuidParam } from '../../lib/drf/fields';
import { type PageRequest, paginate, paginateEdx } from '../../lib/drf/pagination';
import { ServiceError } from '../../lib/http-client';
import { InvalidInput, NotFound, PermissionDenied, Unavailable } from '../../lib/http-errors';
import type { Principal } from '../../lib/jwt';
import { type GroupMemberQuery, memberRows } from './group-members';
import { type createBody, MEMBER_PAGE_SIZE, POLICY_PAGE_SIZE, type PolicyJson, type updateBody } from './schemas';
import { render, SubsidyFacts } from './view';

const CANNOT_DEACTIVATE_WITH_SPEND = 'Cannot deactivate this policy while it has existing spend.';
const SPEND_UNKNOWN = 'Cannot deactivate this policy because spend could not be determined.';

/** What a caller must be to act on a policy of a customer. */
export type PolicyNeed = 'read' | 'administer' | 'operate';

const ALLOWED: Record<PolicyNeed, readonly CustomerAccess[]> = {
  read: ['operator', 'admin', 'learner'],
  // Members' emails are for the customer's staff (upstream also lets learners read them).
  administer: ['operator', 'admin'],
  operate: ['operator'],
};

export function createPolicyService(deps: { db: Kysely<AccessDB>; clients: ServiceClients; logger: Logger }) {
  const { db, clients } = deps;
  const subsidyApi = clients.subsidyApi;
  const facts = () => new SubsidyFacts(clients, deps.logger);
  const renderOne = async (p: Policy) => (await render(db, facts(), [p]))[0] as PolicyJson;

  /** The subsidy a write puts the policy on: 400 on `subsidy_uuid` if missing or another customer's. */
  async function subsidyForWrite(subsidyUuid: string, customerUuid: string): Promise<SubsidyRecord> {
    let record: SubsidyRecord;
    try {
      record = await subsidyApi.get(subsidyUuid);
    } catch (err) {
      if (err instanceof ServiceError && err.status === 404) {
        throw new InvalidInput({ subsidy_uuid: [invalidPk(subsidyUuid)] });
      }
      throw err;
    }
    if (record.enterprise_customer_uuid.toLowerCase() !== customerUuid.toLowerCase()) {
      throw new InvalidInput({ subsidy_uuid: [`Subsidy ${subsidyUuid} belongs to another enterprise customer.`] });
    }
    return record;
  }

  /**
   * Upstream's `validate_budget_deactivation_with_spend`: a policy that has spent may be retired,
   * not deactivated (its spend would vanish from the admin's view). Upstream's
   * ALLOW_BUDGET_DEACTIVATION_WITH_SPEND bypass is not offered.
   */
  async function assertNoSpend(policy: Policy) {
    let spent: number;
    try {
      spent = await subsidyApi.policySpent(policy.subsidy_uuid, policy.uuid);
    } catch (err) {
      if (err instanceof ServiceError && !err.retryable) throw new InvalidInput({ active: [SPEND_UNKNOWN] });
      throw new Unavailable(SPEND_UNKNOWN);
    }
    if (spent < 0) throw new InvalidInput({ active: [CANNOT_DEACTIVATE_WITH_SPEND] });
  }

  return {
    /** 404 for a malformed or unknown uuid, then 403 unless the caller has `need` on its customer. */
    async policyFor(principal: Principal, raw: string, need: PolicyNeed): Promise<Policy> {
      const uuid = uuidParam(raw);
      const policy = uuid ? await findPolicy(db, uuid) : undefined;
      if (!policy) throw new NotFound();
      if (!ALLOWED[need].includes(accessTo(principal, policy.enterprise_customer_uuid))) {
        throw new PermissionDenied();
      }
      return policy;
    },

    async list(principal: Principal, filter: PolicyListFilter, page: PageRequest) {
      if (accessTo(principal, filter.customerUuid) === 'none') throw new PermissionDenied();
      const reader = facts();
      return paginateEdx(
        page,
        () => countPolicies(db, filter),
        async (limit, offset) => render(db, reader, await listPolicies(db, filter, limit, offset)),
        { pageSize: POLICY_PAGE_SIZE, maxPageSize: POLICY_PAGE_SIZE },
      );
    },

    /** 201 with a new policy, or 200 with the existing active one of the same identity. */
    async create(principal: Principal, b: z.output<typeof createBody>) {
      if (accessTo(principal, b.enterprise_customer_uuid) !== 'operator') throw new PermissionDenied();
      const { policy, created } = await createPolicy(
        db,
        {
          policy_type: b.policy_type,
          enterprise_customer_uuid: b.enterprise_customer_uuid,
          display_name: b.display_name ?? '',
          description: b.description ?? '',
          active: b.active ?? false,
          retired: b.retired ?? false,
          retired_at: b.retired_at ?? null,
          catalog_uuid: b.catalog_uuid,
          subsidy_uuid: b.subsidy_uuid,
          access_method: b.access_method,
          spend_limit: b.spend_limit ?? null,
          per_learner_enrollment_limit: b.per_learner_enrollment_limit ?? null,
          per_learner_spend_limit: b.per_learner_spend_limit ?? null,
          late_redemption_allowed_until: b.late_redemption_allowed_until ?? null,
          group_uuids: b.group_associations ?? [],
        },
        {
          totalDeposits: async () => (await subsidyForWrite(b.subsidy_uuid, b.enterprise_customer_uuid)).total_deposits,
        },
      );
      return { created, policy: await renderOne(policy) };
    },

    get: renderOne,

    async update(policy: Policy, body: z.output<typeof updateBody>) {
      const { group_associations, ...fields } = body;
      const changes: PolicyChanges = { ...fields, group_uuids: group_associations };
      if (policy.active && changes.active === false) await assertNoSpend(policy);
      const touchesLimits =
        changes.active !== undefined || changes.spend_limit !== undefined || changes.subsidy_uuid !== undefined;
      const subsidyUuid = changes.subsidy_uuid ?? policy.subsidy_uuid;
      const updated = await updatePolicy(db, policy.uuid, changes, {
        totalDeposits: async () =>
          touchesLimits ? (await subsidyForWrite(subsidyUuid, policy.enterprise_customer_uuid)).total_deposits : null,
      });
      if (!updated) throw new NotFound();
      return renderOne(updated);
    },

    /** Soft delete (active=false) with an optional reason; a policy with spend cannot be deleted. */
    async remove(policy: Policy, reason: string | null) {
      if (policy.active) await assertNoSpend(policy);
      const deleted = await softDeletePolicy(db, policy.uuid, reason);
      if (!deleted) throw new NotFound();
      return renderOne(deleted);
    },

    /** Removes an enterprise group from all of the customer's policies. */
    async deleteGroupAssociation(principal: Principal, customerRaw: string, groupRaw: string) {
      const customer = uuidParam(customerRaw);
      const group = uuidParam(groupRaw);
      if (!customer || !group) throw new NotFound();
      if (accessTo(principal, customer) !== 'operator') throw new PermissionDenied();
      await deleteGroupAssociations(db, customer, group);
    },

    /** Members of one of the policy's groups, with their enrollment counts in the policy. */
    async groupMembers(policy: Policy, q: GroupMemberQuery, page: PageRequest) {
      const group = q.group_uuid ?? policy.group_uuids[0];
      if (!group || !policy.group_uuids.includes(group)) {
        throw new NotFound('Policy group not found associated with subsidy');
      }
      const [members, counts] = await Promise.all([
        clients.lmsApi.groupMembers(group),
        subsidyApi.enrollmentCountsByLearner(policy.subsidy_uuid, policy.uuid),
      ]);
      if (!members) throw new NotFound('Group not found.');
      const rows = memberRows(members, counts, q);
      if (q.traverse_pagination) return { count: rows.length, next: null, previous: null, results: rows };
      return paginate(
        page,
        async () => rows.length,
        async (limit, offset) => rows.slice(offset, offset + limit),
        { pageSize: MEMBER_PAGE_SIZE, maxPageSize: MEMBER_PAGE_SIZE },
      );
    },
  };
}

export type PolicyService = ReturnType<typeof createPolicyService>;
