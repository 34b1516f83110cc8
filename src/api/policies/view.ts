/**
 * The policy as upstream's SubsidyAccessPolicyResponseSerializer renders it: its own fields, the
 * subsidy's dates and state, and the admin dashboard's `aggregates` (from the subsidy service's
 * records, read once per request).
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { isLateRedemptionAllowed } from '../../access/learner-credit/can-redeem';
import { policyAggregates } from '../../access/learner-credit/policy-aggregates';
import { activeSpendLimitTotal, type Policy, policyFacts } from '../../access/learner-credit/policy-store';
import type { AccessDB } from '../../access/schema';
import type { ServiceClients } from '../../clients';
import type { SubsidyRecord } from '../../clients/subsidy';
import type { PolicyJson } from './schemas';

/** The subsidy service's records and per-policy spend, fetched at most once per request. */
export class SubsidyFacts {
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
export async function render(db: Kysely<AccessDB>, facts: SubsidyFacts, policies: Policy[]): Promise<PolicyJson[]> {
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
