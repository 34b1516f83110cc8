/** `GET .../policy-redemption/credits_available/` (spec learner-credit §13). */
import type { Kysely } from 'kysely';
import { creditAvailable, remainingBalancePerUser } from '../../access/learner-credit/credits-available';
import type { LearnerCreditFacts } from '../../access/learner-credit/facts';
import { learnerRedemptionState } from '../../access/learner-credit/learner-state';
import { policyFacts } from '../../access/learner-credit/policy-store';
import type { AccessDB } from '../../access/schema';
import type { SubsidyRecord } from '../../clients/subsidy';
import { redeemablePolicyView } from './can-redeem';

export async function creditsAvailable(
  deps: { db: Kysely<AccessDB>; facts: LearnerCreditFacts },
  customerUuid: string,
  lmsUserId: number,
  now = new Date(),
) {
  const { policies } = await learnerRedemptionState(deps.db, customerUuid, lmsUserId, []);
  if (policies.length === 0) return [];
  const subsidyUuids = [...new Set(policies.map((p) => p.subsidy_uuid))];
  const [learner, records] = await Promise.all([
    deps.facts.learner(customerUuid, lmsUserId, true),
    // A subsidy that cannot be read makes its policies unavailable (upstream), not the call fail.
    Promise.all(subsidyUuids.map((s) => deps.facts.subsidy(s, true).catch((): SubsidyRecord | null => null))),
  ]);
  const subsidyOf = new Map(subsidyUuids.map((s, i) => [s, records[i] ?? null]));
  return policies.flatMap((p) => {
    const subsidy = subsidyOf.get(p.subsidy_uuid) ?? null;
    const facts = {
      policy: policyFacts(p),
      learner: { inEnterprise: learner !== null, groupUuids: learner?.enterprise_group ?? [] },
      subsidy: subsidy ? { active: subsidy.is_active, balance: subsidy.current_balance } : null,
      policySpent: p.policySpent,
      learnerSpent: p.learnerSpent,
      learnerRedemptions: p.learnerRedemptions,
    };
    if (!creditAvailable(facts)) return [];
    return [
      {
        ...redeemablePolicyView(p, subsidy, now),
        remaining_balance_per_user: remainingBalancePerUser(facts),
        remaining_balance: subsidy?.current_balance ?? null,
        subsidy_expiration_date: subsidy?.expiration_datetime ?? null,
        learner_content_assignments: [],
        learner_requests: [],
      },
    ];
  });
}
