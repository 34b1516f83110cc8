import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isLateRedemptionAllowed, type PolicyType } from '../../access/learner-credit/can-redeem';
import { policyAggregates } from '../../access/learner-credit/policy-aggregates';
import { ACCESS_METHODS, nonUpdatableFields, POLICY_TYPES } from '../../access/learner-credit/policy-rules';
import {
  activeSpendLimitTotal,
  countPolicies,
  findPolicy,
  listPolicies,
  type Policy,
  policyFacts,
} from '../../access/learner-credit/policy-store';
import {
  createPolicy,
  deleteGroupAssociations,
  type PolicyChanges,
  PolicyValidationError,
  softDeletePolicy,
  updatePolicy,
} from '../../access/learner-credit/policy-writes';
import type { AccessDB } from '../../access/schema';
import { type ServiceClients, ServiceError } from '../../clients';
import { fetchAllPages } from '../../clients/pagination';
import type { SubsidyRecord } from '../../clients/subsidy';
import { accessTo } from '../../lib/customer-access';
import {
  booleanField,
  choiceField,
  dateTimeField,
  integerField,
  invalidPk,
  MAX_INT,
  maxLength,
  presence,
  pythonType,
  queryFlag,
  unlessMissing,
  uuidField,
  uuidParam,
} from '../../lib/drf/fields';
import { pageQuery, paginate } from '../../lib/drf/pagination';
import type { ZodApp } from '../../lib/fastify/app';
import { requirePrincipal, requireRoles } from '../../lib/fastify/auth';
import { badRequest, detail, forbidden, notFound } from '../../lib/http-errors';
import { OPERATOR_ROLES } from '../../lib/jwt';

export interface PolicyRouteDeps {
  db: Kysely<AccessDB>;
  clients: ServiceClients;
}

const BASE = '/api/v1/subsidy-access-policies';
const tags = ['learner-credit'];
/** Upstream's SubsidyAccessPolicyPagination.max_page_size; also the default here. */
const POLICY_PAGE_SIZE = 10;
/** Upstream's GROUP_MEMBERS_WITH_AGGREGATES_DEFAULT_PAGE_SIZE. */
const MEMBER_PAGE_SIZE = 10;
/** Largest amount in cents a limit may hold ($10 billion, as the subsidy service's amounts). */
const MAX_CENTS = 1_000_000_000_000;
const MAX_GROUPS = 100;

const CANNOT_DEACTIVATE_WITH_SPEND = 'Cannot deactivate this policy while it has existing spend.';
const SPEND_UNKNOWN = 'Cannot deactivate this policy because spend could not be determined.';

// ---- request schemas --------------------------------------------------------------------------

/** A CharField as upstream's serializers declare them: trimmed, NUL-free, at most `max` characters. */
const trimmedText = (max: number) =>
  z
    .string({ error: unlessMissing('Not a valid string.') })
    .trim()
    .refine((s) => !s.includes('\0'), { error: 'Null characters are not allowed.' })
    .refine((s) => s.length <= max, { error: maxLength(max) });

const policyType = choiceField(POLICY_TYPES as unknown as readonly [PolicyType, ...PolicyType[]]);
const accessMethod = choiceField(ACCESS_METHODS);
const cents = () => integerField(0, MAX_CENTS).nullable();
const groupAssociations = z
  .array(uuidField(), {
    error: (iss) => presence(iss) ?? `Expected a list of items but got type "${pythonType(iss.input)}".`,
  })
  .max(MAX_GROUPS, `Ensure this field has no more than ${MAX_GROUPS} elements.`)
  .describe(
    'Extension (not upstream): enterprise group uuids this policy is restricted to (ADR 0018); replaces the set. ' +
      'Empty: open to all learners of the customer.',
  );

/** Every field a write may set; an update takes any of them (PUT and PATCH are both partial, as upstream). */
const writableFields = {
  display_name: trimmedText(512)
    .nullable()
    .transform((s) => s ?? ''),
  description: trimmedText(200),
  active: booleanField(),
  retired: booleanField(),
  retired_at: dateTimeField().nullable(),
  catalog_uuid: uuidField(),
  subsidy_uuid: uuidField(),
  access_method: accessMethod,
  spend_limit: cents(),
  per_learner_enrollment_limit: integerField(0, MAX_INT).nullable(),
  per_learner_spend_limit: cents(),
  late_redemption_allowed_until: dateTimeField().nullable(),
};

const updateBody = z.object(writableFields).partial().extend({ group_associations: groupAssociations.optional() });

/** Create: the identity fields are required, the rest optional (defaults as upstream's model). */
const createBody = updateBody.extend({
  policy_type: policyType,
  enterprise_customer_uuid: uuidField(),
  catalog_uuid: uuidField(),
  subsidy_uuid: uuidField(),
  access_method: accessMethod,
});

const deleteBody = z
  .object({
    reason: z
      .string({ error: unlessMissing('Not a valid string.') })
      .nullable()
      .optional(),
  })
  .describe('Optional reason for the soft delete, stored with the policy.');

/** A query filter where an empty value means "no filter", as django-filter does. */
const optionalQuery = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const listQuery = z.object({
  enterprise_customer_uuid: uuidField(),
  active: optionalQuery(booleanField()),
  policy_type: optionalQuery(policyType),
  ...pageQuery,
});

const MEMBER_SORTS = ['member_details', 'status', 'recent_action', 'enrollment_count'] as const;
const groupMembersQuery = z.object({
  group_uuid: optionalQuery(uuidField()),
  user_query: optionalQuery(z.string()),
  sort_by: optionalQuery(choiceField(MEMBER_SORTS)),
  is_reversed: queryFlag(false),
  traverse_pagination: queryFlag(false),
  show_removed: queryFlag(false),
  ...pageQuery,
});

const params = z.object({ uuid: z.string() });

// ---- response schemas -------------------------------------------------------------------------

const aggregatesSchema = z.object({
  amount_redeemed_usd_cents: z.number().int(),
  amount_redeemed_usd: z.number(),
  amount_allocated_usd_cents: z.number().int(),
  amount_allocated_usd: z.number(),
  spend_available_usd_cents: z.number().int(),
  spend_available_usd: z.number(),
});

const policySchema = z.object({
  uuid: z.string(),
  policy_type: z.string(),
  display_name: z.string(),
  description: z.string(),
  active: z.boolean(),
  retired: z.boolean(),
  retired_at: z.string().nullable(),
  enterprise_customer_uuid: z.string(),
  catalog_uuid: z.string(),
  subsidy_uuid: z.string(),
  access_method: z.string(),
  per_learner_enrollment_limit: z.number().int().nullable(),
  per_learner_spend_limit: z.number().int().nullable(),
  spend_limit: z.number().int().nullable(),
  subsidy_active_datetime: z.string().nullable(),
  subsidy_expiration_datetime: z.string().nullable(),
  is_subsidy_active: z.boolean().nullable(),
  aggregates: aggregatesSchema.nullable().describe('From the subsidy service; null when it cannot be reached.'),
  assignment_configuration: z.string().nullable(),
  group_associations: z.array(z.string()),
  late_redemption_allowed_until: z.string().nullable(),
  is_late_redemption_allowed: z.boolean(),
  created: z.string(),
  bnr_enabled: z.boolean(),
  total_spend_limits_for_subsidy: z.number().int(),
  total_deposits_for_subsidy: z.number().int().nullable(),
});
type PolicyJson = z.infer<typeof policySchema>;

const policyPageSchema = z.object({
  next: z.string().nullable(),
  previous: z.string().nullable(),
  count: z.number().int(),
  num_pages: z.number().int(),
  current_page: z.number().int(),
  start: z.number().int(),
  results: z.array(policySchema),
});

const memberPageSchema = z.object({
  count: z.number().int(),
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(z.record(z.string(), z.unknown()).describe('LMS group membership + enrollment_count')),
});

// ---- subsidy facts (read once per request) --------------------------------------------------

/** The subsidy service's records and per-policy spend, fetched at most once per request. */
class SubsidyFacts {
  private readonly records = new Map<string, Promise<SubsidyRecord | null>>();
  private readonly spent = new Map<string, Promise<number | null>>();

  constructor(
    private readonly clients: ServiceClients,
    private readonly log: Pick<Logger, 'warn'>,
  ) {}

  /** The subsidy, or null when it cannot be read (upstream renders the policy without it). */
  record(subsidyUuid: string): Promise<SubsidyRecord | null> {
    return memo(this.records, subsidyUuid, () =>
      this.clients.subsidyApi.get(subsidyUuid).catch((err: unknown) => {
        this.log.warn({ err, subsidyUuid }, 'subsidy record unavailable');
        return null;
      }),
    );
  }

  /** Σ quantity (≤ 0) of the policy's non-failed transactions, or null when it cannot be read. */
  policySpent(subsidyUuid: string, policyUuid: string): Promise<number | null> {
    return memo(this.spent, `${subsidyUuid}/${policyUuid}`, () =>
      this.clients.subsidyApi.policySpent(subsidyUuid, policyUuid).catch((err: unknown) => {
        this.log.warn({ err, subsidyUuid, policyUuid }, 'policy spend unavailable');
        return null;
      }),
    );
  }
}

function memo<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let hit = cache.get(key);
  if (!hit) {
    hit = load();
    cache.set(key, hit);
  }
  return hit;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** The policy response (upstream SubsidyAccessPolicyResponseSerializer), in the given order. */
async function render(db: Kysely<AccessDB>, facts: SubsidyFacts, policies: Policy[]): Promise<PolicyJson[]> {
  const now = new Date();
  const totals = new Map<string, Promise<number>>();
  return Promise.all(
    policies.map(async (p) => {
      const [record, spent, totalLimits] = await Promise.all([
        facts.record(p.subsidy_uuid),
        facts.policySpent(p.subsidy_uuid, p.uuid),
        memo(totals, `${p.enterprise_customer_uuid}/${p.subsidy_uuid}`, () =>
          activeSpendLimitTotal(db, p.enterprise_customer_uuid, p.subsidy_uuid),
        ),
      ]);
      const limits = policyFacts(p);
      const aggregates =
        record && spent !== null
          ? policyAggregates({
              policyType: p.policy_type,
              spendLimit: limits.spendLimit,
              totalRedeemed: spent,
              totalAllocated: 0,
              subsidyBalance: record.current_balance,
            })
          : null;
      return {
        uuid: p.uuid,
        policy_type: p.policy_type,
        display_name: p.display_name,
        description: p.description,
        active: p.active,
        retired: p.retired,
        retired_at: iso(p.retired_at),
        enterprise_customer_uuid: p.enterprise_customer_uuid,
        catalog_uuid: p.catalog_uuid,
        subsidy_uuid: p.subsidy_uuid,
        access_method: p.access_method,
        per_learner_enrollment_limit: limits.perLearnerEnrollmentLimit,
        per_learner_spend_limit: limits.perLearnerSpendLimit,
        spend_limit: limits.spendLimit,
        subsidy_active_datetime: record ? iso(record.active_datetime) : null,
        subsidy_expiration_datetime: record ? iso(record.expiration_datetime) : null,
        is_subsidy_active: record ? record.is_active : null,
        aggregates,
        // Assignments (and their configurations) are not implemented yet.
        assignment_configuration: null,
        group_associations: p.group_uuids,
        late_redemption_allowed_until: iso(p.late_redemption_allowed_until),
        is_late_redemption_allowed: isLateRedemptionAllowed(limits, now),
        created: iso(p.created) as string,
        bnr_enabled: false,
        total_spend_limits_for_subsidy: totalLimits,
        total_deposits_for_subsidy: record ? record.total_deposits : null,
      };
    }),
  );
}

// ---- checks against the subsidy service ------------------------------------------------------

/** The subsidy a write puts the policy on: 400 on `subsidy_uuid` if missing or another customer's, 503 if unreachable. */
async function subsidyForWrite(clients: ServiceClients, subsidyUuid: string, customerUuid: string) {
  let record: SubsidyRecord;
  try {
    record = await clients.subsidyApi.get(subsidyUuid);
  } catch (err) {
    if (err instanceof ServiceError && err.status === 404) throw badRequest({ subsidy_uuid: [invalidPk(subsidyUuid)] });
    throw detail(503, `The subsidy service could not be reached: ${(err as Error).message}`);
  }
  if (record.enterprise_customer_uuid.toLowerCase() !== customerUuid.toLowerCase()) {
    throw badRequest({ subsidy_uuid: [`Subsidy ${subsidyUuid} belongs to another enterprise customer.`] });
  }
  return record;
}

/**
 * Upstream's `validate_budget_deactivation_with_spend`: a policy that has spent may be retired,
 * not deactivated (its spend would vanish from the admin's view). Upstream's
 * ALLOW_BUDGET_DEACTIVATION_WITH_SPEND bypass is not offered.
 */
async function assertNoSpend(clients: ServiceClients, policy: Policy) {
  let spent: number;
  try {
    spent = await clients.subsidyApi.policySpent(policy.subsidy_uuid, policy.uuid);
  } catch (err) {
    if (err instanceof ServiceError && !err.retryable) throw badRequest({ active: [SPEND_UNKNOWN] });
    throw detail(503, SPEND_UNKNOWN);
  }
  if (spent < 0) throw badRequest({ active: [CANNOT_DEACTIVATE_WITH_SPEND] });
}

async function orBadRequest<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (err instanceof PolicyValidationError) throw badRequest(err.fields);
    throw err;
  }
}

// ---- pagination -------------------------------------------------------------------------------

/** The request as `paginate` should see it: `page_size` defaults to, and is capped at, `size`. */
function withPageSize(req: FastifyRequest, size: number): FastifyRequest {
  const query = req.query as Record<string, unknown>;
  const asked = Number(query.page_size);
  const pageSize = Number.isInteger(asked) && asked > 0 ? Math.min(asked, size) : size;
  return Object.create(req, { query: { value: { ...query, page_size: String(pageSize) } } });
}

/** edx DefaultPagination's envelope: DRF's page plus `num_pages`, `current_page` and `start`. */
async function policyPage<T>(
  req: FastifyRequest,
  count: () => Promise<number>,
  fetchPage: (limit: number, offset: number) => Promise<T[]>,
) {
  const sized = withPageSize(req, POLICY_PAGE_SIZE);
  const page = await paginate(sized, count, fetchPage);
  const size = Number((sized.query as { page_size: string }).page_size);
  const numPages = Math.max(1, Math.ceil(page.count / size));
  const raw = (req.query as { page?: string }).page;
  const current = raw === 'last' ? numPages : raw ? Number(raw) : 1;
  return {
    next: page.next,
    previous: page.previous,
    count: page.count,
    num_pages: numPages,
    current_page: current,
    start: (current - 1) * size,
    results: page.results,
  };
}

// ---- routes -----------------------------------------------------------------------------------

/**
 * `/api/v1/subsidy-access-policies/` (spec learner-credit §2.1, §9, §13): policy CRUD and the
 * group endpoints. Operators read and write; the customer's admins and learners read. Writes
 * check the role in `onRequest`, so a forbidden caller gets 403 before its body is validated.
 */
export function subsidyAccessPolicyRoutes(app: ZodApp, deps: PolicyRouteDeps) {
  const { db, clients } = deps;
  const requireCaller = async (req: FastifyRequest) => {
    requirePrincipal(req);
  };
  const requireOperator = requireRoles(OPERATOR_ROLES);
  const facts = (req: FastifyRequest) => new SubsidyFacts(clients, req.log);
  const loaded = new WeakMap<FastifyRequest, Policy>();
  const policyOf = (req: FastifyRequest) => loaded.get(req) as Policy;
  const renderOne = async (req: FastifyRequest, p: Policy) => (await render(db, facts(req), [p]))[0] as PolicyJson;

  /** `preValidation`: 404 for a malformed or unknown uuid, then 403 unless the caller may read the policy. */
  async function loadReadable(req: FastifyRequest) {
    const policy = await loadPolicy(req);
    if (accessTo(requirePrincipal(req), policy.enterprise_customer_uuid) === 'none') throw forbidden();
  }
  /** The same for the member list: operators and the customer's admins (members' emails are not for learners). */
  async function loadAdministered(req: FastifyRequest) {
    const policy = await loadPolicy(req);
    const access = accessTo(requirePrincipal(req), policy.enterprise_customer_uuid);
    if (access !== 'operator' && access !== 'admin') throw forbidden();
  }
  async function loadPolicy(req: FastifyRequest) {
    const uuid = uuidParam((req.params as { uuid: string }).uuid);
    const policy = uuid ? await findPolicy(db, uuid) : undefined;
    if (!policy) throw notFound();
    loaded.set(req, policy);
    return policy;
  }
  /** A body left out counts as `{}`, so each required field is named. */
  const bodyOrEmpty = async (req: FastifyRequest) => {
    if (req.body === undefined || req.body === null) req.body = {};
  };

  app.get(
    BASE,
    {
      onRequest: requireCaller,
      schema: {
        summary: "List a customer's subsidy access policies (budgets)",
        description:
          'Filters `active` and `policy_type`; newest first; at most 10 per page. Readable by operators and by ' +
          "the customer's admins and learners.",
        tags,
        querystring: listQuery,
        response: { 200: policyPageSchema },
      },
    },
    async (req) => {
      const { enterprise_customer_uuid: customer, active, policy_type } = req.query;
      if (accessTo(requirePrincipal(req), customer) === 'none') throw forbidden();
      const filter = { customerUuid: customer, active, policyType: policy_type };
      const reader = facts(req);
      return policyPage(
        req,
        () => countPolicies(db, filter),
        async (limit, offset) => render(db, reader, await listPolicies(db, filter, limit, offset)),
      );
    },
  );

  app.post(
    BASE,
    {
      onRequest: requireOperator,
      preValidation: bodyOrEmpty,
      schema: {
        summary: 'Create a subsidy access policy (idempotent)',
        description:
          '201 with the new policy; 200 with the existing one when an active policy of the type already exists ' +
          'for the same customer, subsidy, catalog and access method. 400 for per-type field constraints and when ' +
          "the customer's active spend limits on the subsidy would exceed its deposits (ADR 0023); 503 when the " +
          'subsidy service cannot be reached. Operators only.',
        tags,
        body: createBody,
        response: { 200: policySchema, 201: policySchema },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const { policy, created } = await orBadRequest(
        createPolicy(
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
            totalDeposits: async () =>
              (await subsidyForWrite(clients, b.subsidy_uuid, b.enterprise_customer_uuid)).total_deposits,
          },
        ),
      );
      return reply.code(created ? 201 : 200).send(await renderOne(req, policy));
    },
  );

  app.get(
    `${BASE}/:uuid`,
    {
      onRequest: requireCaller,
      preValidation: loadReadable,
      schema: { summary: 'Retrieve a subsidy access policy', tags, params, response: { 200: policySchema } },
    },
    async (req) => renderOne(req, policyOf(req)),
  );

  const update = {
    onRequest: requireOperator,
    // 404 for an unknown policy, then 400 for fields no update may touch, then the fields' own 400s.
    preValidation: async (req: FastifyRequest) => {
      await loadPolicy(req);
      await bodyOrEmpty(req);
      const body = req.body;
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
        const { group_associations: _extension, ...fields } = body as Record<string, unknown>;
        const refused = nonUpdatableFields(fields);
        if (refused.length > 0) {
          throw badRequest({ non_field_errors: [`Field(s) are not updatable: ${refused.join(', ')}`] });
        }
      }
    },
    schema: {
      summary: 'Update a subsidy access policy (PUT and PATCH are both partial)',
      description:
        'Updatable: display_name, description, active, retired, retired_at, catalog_uuid, subsidy_uuid, ' +
        'access_method, spend_limit, per_learner_spend_limit, per_learner_enrollment_limit, ' +
        'late_redemption_allowed_until, and the extension `group_associations`; anything else is a 400 ' +
        '"Field(s) are not updatable: ...". `retired: true` sets retired_at to now, `false` clears it. ' +
        'A policy with spend cannot be deactivated (retire it instead). Operators only.',
      tags,
      params,
      body: updateBody,
      response: { 200: policySchema },
    },
  };
  const updateHandler = async (req: FastifyRequest) => {
    const policy = policyOf(req);
    const { group_associations, ...fields } = req.body as z.output<typeof updateBody>;
    const changes: PolicyChanges = { ...fields, group_uuids: group_associations };
    if (policy.active && changes.active === false) await assertNoSpend(clients, policy);
    const touchesLimits =
      changes.active !== undefined || changes.spend_limit !== undefined || changes.subsidy_uuid !== undefined;
    const subsidyUuid = changes.subsidy_uuid ?? policy.subsidy_uuid;
    const updated = await orBadRequest(
      updatePolicy(db, policy.uuid, changes, {
        totalDeposits: async () =>
          touchesLimits
            ? (await subsidyForWrite(clients, subsidyUuid, policy.enterprise_customer_uuid)).total_deposits
            : null,
      }),
    );
    if (!updated) throw notFound();
    return renderOne(req, updated);
  };
  app.put(`${BASE}/:uuid`, update, updateHandler);
  app.patch(`${BASE}/:uuid`, update, updateHandler);

  app.delete(
    `${BASE}/:uuid`,
    {
      onRequest: requireOperator,
      preValidation: async (req) => {
        await loadPolicy(req);
        await bodyOrEmpty(req);
      },
      schema: {
        summary: 'Soft-delete a subsidy access policy (active=false, with an optional reason)',
        description: 'A policy with spend cannot be deleted (retire it instead). Operators only.',
        tags,
        params,
        body: deleteBody,
        response: { 200: policySchema },
      },
    },
    async (req) => {
      const policy = policyOf(req);
      if (policy.active) await assertNoSpend(clients, policy);
      const deleted = await softDeletePolicy(db, policy.uuid, req.body.reason ?? null);
      if (!deleted) throw notFound();
      return renderOne(req, deleted);
    },
  );

  app.delete(
    '/api/v1/:enterprise_uuid/delete-group-association/:group_uuid',
    {
      onRequest: requireOperator,
      schema: {
        summary: "Remove an enterprise group from all of the customer's policies",
        tags,
        params: z.object({ enterprise_uuid: z.string(), group_uuid: z.string() }),
      },
    },
    async (req, reply) => {
      const customer = uuidParam(req.params.enterprise_uuid);
      const group = uuidParam(req.params.group_uuid);
      if (!customer || !group) throw notFound();
      await deleteGroupAssociations(db, customer, group);
      return reply.code(204).send();
    },
  );

  app.get(
    `${BASE}/:uuid/group-members`,
    {
      onRequest: requireCaller,
      preValidation: loadAdministered,
      schema: {
        summary: "Members of a policy's group with their enrollment counts in the policy",
        description:
          'Group members from the LMS, each with `enrollment_count` (committed, un-reversed redemptions in this ' +
          "policy, from the subsidy service). `group_uuid` defaults to the policy's first group and must be one " +
          'of its groups. `sort_by` (member_details, status, recent_action, enrollment_count), `is_reversed`, ' +
          '`user_query` (email substring), `traverse_pagination` (every member on one page); 10 per page. ' +
          "Operators and the customer's admins (upstream also lets learners read it).",
        tags,
        params,
        querystring: groupMembersQuery,
        response: { 200: memberPageSchema },
      },
    },
    async (req) => {
      const policy = policyOf(req);
      const q = req.query;
      const group = q.group_uuid ?? policy.group_uuids[0];
      if (!group || !policy.group_uuids.includes(group)) {
        throw notFound('Policy group not found associated with subsidy');
      }
      const [members, counts] = await Promise.all([
        groupMembers(clients, group),
        enrollmentCounts(clients, policy.subsidy_uuid, policy.uuid),
      ]);
      const needle = q.user_query?.toLowerCase();
      const rows = members
        .map((m) => ({ ...m, enrollment_count: (m.lms_user_id !== null && counts.get(m.lms_user_id)) || 0 }))
        .filter((m) => !needle || m.member_details.user_email.toLowerCase().includes(needle));
      sortMembers(rows, q.sort_by, q.is_reversed);
      if (q.traverse_pagination) return { count: rows.length, next: null, previous: null, results: rows };
      return paginate(
        withPageSize(req, MEMBER_PAGE_SIZE),
        async () => rows.length,
        async (limit, offset) => rows.slice(offset, offset + limit),
      );
    },
  );
}

// ---- group members ----------------------------------------------------------------------------

interface GroupMember {
  enterprise_group_membership_uuid: string;
  lms_user_id: number | null;
  member_details: { user_email: string; user_name: string | null };
  status: string;
  created: string;
  [key: string]: unknown;
}

async function groupMembers(clients: ServiceClients, group: string): Promise<GroupMember[]> {
  try {
    return await fetchAllPages<GroupMember>(
      clients.lms,
      'list group members',
      `/enterprise/api/v1/enterprise-group/${group}/learners/`,
      {},
    );
  } catch (err) {
    if (err instanceof ServiceError && err.status === 404) throw notFound('Group not found.');
    throw detail(503, `The LMS could not be reached: ${(err as Error).message}`);
  }
}

/** lms_user_id → committed, un-reversed redemptions in the policy. */
async function enrollmentCounts(clients: ServiceClients, subsidy: string, policy: string) {
  try {
    const { body } = await clients.subsidy.call<
      Array<{ lms_user_id: number; total?: number; enrollment_count?: number }>
    >({
      operation: 'aggregates by learner',
      method: 'GET',
      path: `/api/v1/subsidies/${subsidy}/aggregates-by-learner/`,
      query: { subsidy_access_policy_uuid: policy },
    });
    return new Map(body.map((r) => [r.lms_user_id, r.enrollment_count ?? r.total ?? 0]));
  } catch (err) {
    throw detail(503, `The subsidy service could not be reached: ${(err as Error).message}`);
  }
}

type MemberRow = GroupMember & { enrollment_count: number };
const MEMBER_ORDER: Record<(typeof MEMBER_SORTS)[number], (a: MemberRow, b: MemberRow) => number> = {
  member_details: (a, b) => a.member_details.user_email.localeCompare(b.member_details.user_email),
  status: (a, b) => a.status.localeCompare(b.status),
  recent_action: (a, b) => a.created.localeCompare(b.created),
  // Most enrollments first, as upstream.
  enrollment_count: (a, b) => b.enrollment_count - a.enrollment_count,
};

function sortMembers(rows: MemberRow[], sortBy: (typeof MEMBER_SORTS)[number] | undefined, reversed: boolean) {
  if (sortBy) rows.sort(MEMBER_ORDER[sortBy]);
  if (reversed) rows.reverse();
}
