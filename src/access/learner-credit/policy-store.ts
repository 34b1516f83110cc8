import { type Kysely, type Selectable, sql } from 'kysely';
import type { AccessDB } from '../schema';
import type { PolicyFacts, PolicyType } from './can-redeem';

export type PolicyRow = Selectable<AccessDB['subsidy_access_policies']>;

/** A policy with its group associations (uuids), as every reader needs them. */
export interface Policy extends PolicyRow {
  group_uuids: string[];
}

const num = (v: string | number | null) => (v === null ? null : Number(v));

async function withGroups(db: Kysely<AccessDB>, rows: PolicyRow[]): Promise<Policy[]> {
  if (rows.length === 0) return [];
  const groups = await db
    .selectFrom('policy_group_associations')
    .select(['policy_uuid', 'enterprise_group_uuid'])
    .where(
      'policy_uuid',
      'in',
      rows.map((r) => r.uuid),
    )
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    ...r,
    spend_limit: num(r.spend_limit),
    per_learner_spend_limit: num(r.per_learner_spend_limit),
    group_uuids: groups.filter((g) => g.policy_uuid === r.uuid).map((g) => g.enterprise_group_uuid),
  }));
}

export async function findPolicy(db: Kysely<AccessDB>, uuid: string): Promise<Policy | undefined> {
  const row = await db.selectFrom('subsidy_access_policies').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  return row ? (await withGroups(db, [row]))[0] : undefined;
}

/** The policy fields the can_redeem rules read. */
export function policyFacts(p: Policy): PolicyFacts {
  return {
    type: p.policy_type,
    active: p.active,
    retired: p.retired,
    spendLimit: num(p.spend_limit),
    perLearnerSpendLimit: num(p.per_learner_spend_limit),
    perLearnerEnrollmentLimit: p.per_learner_enrollment_limit,
    groupUuids: p.group_uuids,
    lateRedemptionAllowedUntil: p.late_redemption_allowed_until,
  };
}

// ---- reads for the policy CRUD api ----------------------------------------------------------

export interface PolicyListFilter {
  customerUuid: string;
  active?: boolean;
  policyType?: PolicyType;
}

function filteredPolicies(db: Kysely<AccessDB>, f: PolicyListFilter) {
  let q = db.selectFrom('subsidy_access_policies').where('enterprise_customer_uuid', '=', f.customerUuid);
  if (f.active !== undefined) q = q.where('active', '=', f.active);
  if (f.policyType !== undefined) q = q.where('policy_type', '=', f.policyType);
  return q;
}

export async function countPolicies(db: Kysely<AccessDB>, f: PolicyListFilter): Promise<number> {
  const row = await filteredPolicies(db, f).select(sql<number>`count(*)::integer`.as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** One page of a customer's policies, newest first. */
export async function listPolicies(
  db: Kysely<AccessDB>,
  f: PolicyListFilter,
  limit: number,
  offset: number,
): Promise<Policy[]> {
  const rows = await filteredPolicies(db, f)
    .selectAll()
    .orderBy('created', 'desc')
    .orderBy('uuid')
    .limit(limit)
    .offset(offset)
    .execute();
  return withGroups(db, rows);
}

/** What makes two policies the same for idempotent create (one active per identity, DB-enforced). */
export interface PolicyIdentity {
  policy_type: PolicyType;
  enterprise_customer_uuid: string;
  subsidy_uuid: string;
  catalog_uuid: string;
  access_method: string;
}

/** The active policy with this identity, if any. */
export async function findActivePolicy(db: Kysely<AccessDB>, id: PolicyIdentity): Promise<Policy | undefined> {
  const row = await db
    .selectFrom('subsidy_access_policies')
    .selectAll()
    .where('active', '=', true)
    .where('policy_type', '=', id.policy_type)
    .where('enterprise_customer_uuid', '=', id.enterprise_customer_uuid)
    .where('subsidy_uuid', '=', id.subsidy_uuid)
    .where('catalog_uuid', '=', id.catalog_uuid)
    .where('access_method', '=', id.access_method)
    .executeTakeFirst();
  return row ? (await withGroups(db, [row]))[0] : undefined;
}

/**
 * Σ spend_limit (null counts as 0) of a customer's active policies on one subsidy, leaving out
 * `excludeUuid` (the policy being written, whose new value the caller adds itself).
 */
export async function activeSpendLimitTotal(
  db: Kysely<AccessDB>,
  customerUuid: string,
  subsidyUuid: string,
  excludeUuid?: string,
): Promise<number> {
  let q = db
    .selectFrom('subsidy_access_policies')
    .select(sql<string>`coalesce(sum(spend_limit), 0)`.as('total'))
    .where('enterprise_customer_uuid', '=', customerUuid)
    .where('subsidy_uuid', '=', subsidyUuid)
    .where('active', '=', true);
  if (excludeUuid !== undefined) q = q.where('uuid', '!=', excludeUuid);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.total);
}
