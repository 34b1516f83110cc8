import { type Kysely, sql } from 'kysely';
import { ACCESS_SCHEMA, type AccessDB } from '../schema';
import type { Policy, PolicyRow } from './policy-store';

export interface PolicyWithSpend extends Policy {
  /** Local aggregates (ADR 0021), as sums of ledger quantities (≤ 0) and a count. */
  policySpent: number;
  learnerSpent: number;
  learnerRedemptions: number;
}

export interface LearnerRedemptionState {
  policies: PolicyWithSpend[];
  /**
   * Per subsidy: a fingerprint of the learner's redemption records for the asked keys (any
   * state), or absent when there are none. It changes whenever one of them changes (a
   * redemption, a release, a reversal learnt from the ledger), so a cached copy of the learner's
   * ledger transactions is reused exactly while it still matches.
   */
  ledgerVersions: Map<string, string>;
}

type Row = PolicyRow & {
  group_uuids: string[];
  policy_spent_cents: string | number;
  learner_spent_cents: string | number;
  learner_redemption_count: number;
  /** `<uuid> <state> <modified µs>` per redemption record of the asked keys. */
  records: string[];
};

const t = (name: string) => sql.id(ACCESS_SCHEMA, name);

/**
 * Everything can-redeem needs from the orchestrator's own records in one statement (it is on
 * the learner portal's hot path): the customer's redeemable policies with their groups, both
 * aggregates for this learner, and the fingerprint of its records of the asked keys.
 */
export async function learnerRedemptionState(
  db: Kysely<AccessDB>,
  customerUuid: string,
  lmsUserId: number,
  contentKeys: readonly string[],
): Promise<LearnerRedemptionState> {
  const { rows } = await sql<Row>`
    select p.*,
      coalesce((select array_agg(g.enterprise_group_uuid::text order by g.id)
        from ${t('policy_group_associations')} g where g.policy_uuid = p.uuid), '{}') as group_uuids,
      coalesce(s.spent_cents, 0) as policy_spent_cents,
      coalesce(l.spent_cents, 0) as learner_spent_cents,
      coalesce(l.redemptions, 0) as learner_redemption_count,
      coalesce((select array_agg(r.uuid::text || ' ' || r.state || ' ' ||
          (extract(epoch from r.modified) * 1e6)::bigint order by r.uuid)
        from ${t('redemption_reservations')} r
        where r.policy_uuid = p.uuid and r.lms_user_id = ${lmsUserId}
          and r.content_key = any(${[...contentKeys]}::text[])), '{}') as records
    from ${t('subsidy_access_policies')} p
    left join ${t('policy_spend')} s on s.policy_uuid = p.uuid
    left join ${t('policy_learner_spend')} l on l.policy_uuid = p.uuid and l.lms_user_id = ${lmsUserId}
    where p.enterprise_customer_uuid = ${customerUuid} and p.active and not p.retired
    order by p.created desc`.execute(db);
  const records = new Map<string, string[]>();
  const policies = rows.map(
    ({ policy_spent_cents, learner_spent_cents, learner_redemption_count, records: own, ...p }) => {
      if (own.length > 0) records.set(p.subsidy_uuid, [...(records.get(p.subsidy_uuid) ?? []), ...own]);
      return {
        ...p,
        spend_limit: p.spend_limit === null ? null : Number(p.spend_limit),
        per_learner_spend_limit: p.per_learner_spend_limit === null ? null : Number(p.per_learner_spend_limit),
        policySpent: -Number(policy_spent_cents),
        learnerSpent: -Number(learner_spent_cents),
        learnerRedemptions: Number(learner_redemption_count),
      };
    },
  );
  const ledgerVersions = new Map([...records].map(([subsidy, list]) => [subsidy, list.sort().join(',')]));
  return { policies, ledgerVersions };
}
