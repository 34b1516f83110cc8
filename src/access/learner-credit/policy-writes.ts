/**
 * Writes of subsidy access policies and their group associations (spec learner-credit §2.1,
 * §2.2, §13). The rules that read other rows run here, inside the transaction that writes:
 * per-type field constraints, the ADR 0023 spend-limit check (under a lock on the customer's
 * subsidy, so two concurrent writes cannot both pass it), and idempotent create (a partial
 * unique index allows one active policy per identity; a create that loses the race returns the
 * winner). Facts from other services (the subsidy's deposits, the policy's spend) are fetched by
 * the caller beforehand: no network call happens while a transaction is open.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { InvalidInput } from '../../lib/http-errors';
import { isUniqueViolation } from '../../lib/pg-errors';
import type { AccessDB } from '../schema';
import type { PolicyType } from './can-redeem';
import { type AccessMethod, policyTypeErrors, spendLimitMessage, spendLimitsExceedDeposits } from './policy-rules';
import { activeSpendLimitTotal, findActivePolicy, findPolicy, type Policy, type PolicyRow } from './policy-store';

/** A rule refused the write: DRF field errors (a 400 at the HTTP edge). */
class PolicyValidationError extends InvalidInput {
  constructor(readonly fields: Record<string, string[]>) {
    super(fields);
  }
}

const DUPLICATE_ACTIVE_POLICY =
  'An active policy of this type already exists for this customer, subsidy, catalog and access method.';

/** The fields a write may set (the response adds the derived ones). */
export interface PolicyFields {
  display_name: string;
  description: string;
  active: boolean;
  retired: boolean;
  retired_at: Date | null;
  catalog_uuid: string;
  subsidy_uuid: string;
  access_method: AccessMethod;
  spend_limit: number | null;
  per_learner_enrollment_limit: number | null;
  per_learner_spend_limit: number | null;
  late_redemption_allowed_until: Date | null;
}

export interface NewPolicy extends PolicyFields {
  policy_type: PolicyType;
  enterprise_customer_uuid: string;
  /** Group associations (ADR 0018); empty: open to all the customer's learners. */
  group_uuids: readonly string[];
}

/** A partial update; `group_uuids`, when present, replaces the policy's group associations. */
export type PolicyChanges = Partial<PolicyFields> & { group_uuids?: readonly string[] };

export interface WriteContext {
  /**
   * Loads the `total_deposits` of the subsidy the policy ends up on (and checks that subsidy),
   * before any transaction opens. Create always calls it; update calls it once and must get a
   * number whenever the write makes or keeps the policy active while changing `active`,
   * `spend_limit` or the subsidy (null otherwise).
   */
  totalDeposits: () => Promise<number | null>;
  now?: Date;
}

/** Does writing `changes` over `current` call for the ADR 0023 check (upstream `clean_spend_limit`)? */
export function needsSpendLimitCheck(current: PolicyFields | null, next: PolicyFields): boolean {
  if (!next.active) return false;
  if (current === null) return true;
  return (
    current.active !== next.active ||
    current.spend_limit !== next.spend_limit ||
    current.subsidy_uuid !== next.subsidy_uuid
  );
}

/**
 * Creates a policy, or returns the active one with the same (type, customer, subsidy, catalog,
 * access method) unchanged (`created: false`), as upstream's idempotent create does.
 */
export async function createPolicy(
  db: Kysely<AccessDB>,
  input: NewPolicy,
  ctx: WriteContext,
): Promise<{ policy: Policy; created: boolean }> {
  const now = ctx.now ?? new Date();
  const values: NewPolicy = {
    ...input,
    access_method: forcedAccessMethod(input.policy_type, input.access_method),
    retired_at: input.retired && input.retired_at === null ? now : input.retired_at,
  };
  assertTypeConstraints(values);
  const identity = { ...values };
  const existing = await findActivePolicy(db, identity);
  if (existing) return { policy: existing, created: false };
  const totalDeposits = await ctx.totalDeposits();
  try {
    const outcome = await db.transaction().execute(async (trx) => {
      await lockSubsidyPolicies(trx, values.enterprise_customer_uuid, values.subsidy_uuid);
      const twin = await findActivePolicy(trx, identity);
      if (twin) return { uuid: twin.uuid, created: false };
      if (needsSpendLimitCheck(null, values)) await assertWithinDeposits(trx, null, values, totalDeposits);
      const { group_uuids, ...row } = values;
      const uuid = randomUUID();
      await trx
        .insertInto('subsidy_access_policies')
        .values({ ...row, uuid, created: now, modified: now })
        .execute();
      await replaceGroups(trx, uuid, group_uuids);
      return { uuid, created: true };
    });
    return { policy: (await findPolicy(db, outcome.uuid)) as Policy, created: outcome.created };
  } catch (err) {
    // A concurrent identical create won (different subsidies do not share the lock).
    if (!isUniqueViolation(err)) throw err;
    const twin = await findActivePolicy(db, identity);
    if (!twin) throw err;
    return { policy: twin, created: false };
  }
}

/**
 * Applies a partial update to the current row (read under a row lock). `retired` flipping sets
 * `retired_at` to now (true) or clears it (false), as upstream's `save`. Undefined: no such policy.
 */
export async function updatePolicy(
  db: Kysely<AccessDB>,
  uuid: string,
  changes: PolicyChanges,
  ctx: WriteContext,
): Promise<Policy | undefined> {
  const now = ctx.now ?? new Date();
  const totalDeposits = await ctx.totalDeposits();
  try {
    const found = await db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('subsidy_access_policies')
        .selectAll()
        .where('uuid', '=', uuid)
        .forUpdate()
        .executeTakeFirst();
      if (!row) return false;
      const current = fieldsOf(row);
      const { group_uuids, ...fields } = changes;
      const next: PolicyFields = { ...current };
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) Object.assign(next, { [k]: v });
      next.access_method = forcedAccessMethod(row.policy_type, next.access_method);
      if (next.retired !== current.retired) next.retired_at = next.retired ? now : null;
      assertTypeConstraints({ ...next, policy_type: row.policy_type });
      if (needsSpendLimitCheck(current, next)) {
        await lockSubsidyPolicies(trx, row.enterprise_customer_uuid, next.subsidy_uuid);
        await assertWithinDeposits(
          trx,
          uuid,
          { ...next, enterprise_customer_uuid: row.enterprise_customer_uuid },
          totalDeposits,
        );
      }
      await trx
        .updateTable('subsidy_access_policies')
        .set({ ...next, modified: now })
        .where('uuid', '=', uuid)
        .execute();
      if (group_uuids !== undefined) await replaceGroups(trx, uuid, group_uuids);
      return true;
    });
    return found ? findPolicy(db, uuid) : undefined;
  } catch (err) {
    // Activating, or moving onto, the identity of another active policy.
    if (isUniqueViolation(err)) throw new PolicyValidationError({ non_field_errors: [DUPLICATE_ACTIVE_POLICY] });
    throw err;
  }
}

/**
 * Soft delete: `active=false` with the reason. A policy already inactive is left as it is
 * (upstream's delete is a no-op then). Undefined: no such policy.
 */
export async function softDeletePolicy(
  db: Kysely<AccessDB>,
  uuid: string,
  reason: string | null,
  now = new Date(),
): Promise<Policy | undefined> {
  await db
    .updateTable('subsidy_access_policies')
    .set({ active: false, deleted_reason: reason, modified: now })
    .where('uuid', '=', uuid)
    .where('active', '=', true)
    .execute();
  return findPolicy(db, uuid);
}

/** Removes a group from every policy of the customer (the group was deleted in the LMS). */
export async function deleteGroupAssociations(
  db: Kysely<AccessDB>,
  customerUuid: string,
  groupUuid: string,
): Promise<number> {
  const result = await db
    .deleteFrom('policy_group_associations')
    .where('enterprise_group_uuid', '=', groupUuid)
    .where('policy_uuid', 'in', (eb) =>
      eb.selectFrom('subsidy_access_policies').select('uuid').where('enterprise_customer_uuid', '=', customerUuid),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

// ---- rules ------------------------------------------------------------------------------------

/** Assigned learner credit always uses the `assigned` access method (upstream forces it on save). */
const forcedAccessMethod = (type: PolicyType, method: AccessMethod): AccessMethod =>
  type === 'AssignedLearnerCreditAccessPolicy' ? 'assigned' : method;

function assertTypeConstraints(p: PolicyFields & { policy_type: PolicyType }) {
  const errors = policyTypeErrors(p);
  if (Object.keys(errors).length > 0) throw new PolicyValidationError(errors);
}

/**
 * ADR 0023: the policy's spend limit plus those of the customer's other active policies on the
 * subsidy may not exceed the subsidy's deposits. Call under `lockSubsidyPolicies`.
 */
async function assertWithinDeposits(
  trx: Kysely<AccessDB>,
  uuid: string | null,
  p: Pick<NewPolicy, 'enterprise_customer_uuid' | 'subsidy_uuid' | 'active' | 'spend_limit'>,
  totalDeposits: number | null,
) {
  if (totalDeposits === null) throw new Error('the subsidy deposits are needed to check the spend limits');
  const others = await activeSpendLimitTotal(trx, p.enterprise_customer_uuid, p.subsidy_uuid, uuid ?? undefined);
  const { exceeds, total } = spendLimitsExceedDeposits(
    [
      { active: true, spend_limit: others },
      { active: p.active, spend_limit: p.spend_limit },
    ],
    totalDeposits,
  );
  if (exceeds) throw new PolicyValidationError({ spend_limit: [spendLimitMessage(total, totalDeposits)] });
}

/** Serializes the writes that read the sum of a customer's spend limits on one subsidy. */
const lockSubsidyPolicies = (trx: Kysely<AccessDB>, customerUuid: string, subsidyUuid: string) =>
  sql`select pg_advisory_xact_lock(hashtext(${`policy-limits:${customerUuid}:${subsidyUuid}`}))`.execute(trx);

async function replaceGroups(trx: Kysely<AccessDB>, policyUuid: string, groups: readonly string[]) {
  await trx.deleteFrom('policy_group_associations').where('policy_uuid', '=', policyUuid).execute();
  const unique = [...new Set(groups)];
  if (unique.length === 0) return;
  await trx
    .insertInto('policy_group_associations')
    .values(unique.map((g) => ({ policy_uuid: policyUuid, enterprise_group_uuid: g })))
    .execute();
}

function fieldsOf(row: PolicyRow): PolicyFields {
  const cents = (v: string | number | null) => (v === null ? null : Number(v));
  return {
    display_name: row.display_name,
    description: row.description,
    active: row.active,
    retired: row.retired,
    retired_at: row.retired_at,
    catalog_uuid: row.catalog_uuid,
    subsidy_uuid: row.subsidy_uuid,
    access_method: row.access_method as AccessMethod,
    spend_limit: cents(row.spend_limit),
    per_learner_enrollment_limit: row.per_learner_enrollment_limit,
    per_learner_spend_limit: cents(row.per_learner_spend_limit),
    late_redemption_allowed_until: row.late_redemption_allowed_until,
  };
}
