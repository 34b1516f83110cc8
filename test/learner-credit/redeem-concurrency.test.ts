import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessDB } from '../../src/access/schema';
import type { SubsidyDB } from '../../src/services/subsidy/schema';
import { type Json, type Res, request } from '../helpers/http';
import {
  createBudget,
  DEMO_PRICE,
  DEMO_RUN,
  importRuns,
  learnerToken,
  newLearner,
  redeem,
} from '../helpers/learner-credit';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * The budget under a storm: 200 redemptions at once on one policy whose limit fits exactly 50.
 * Upstream serialized redemptions with a cache lock around the whole network call and answered
 * 429 to everyone else; here only the check-and-reserve step is serialized (a row lock held for
 * one database transaction), so every request gets a real answer: 200 or 422 with the reason.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ env: { REDEMPTION_WAIT_SECONDS: '240' } });
});
afterAll(async () => {
  await stack?.close();
});

const access = () => stack.db.database.forSchema<AccessDB>('access');
const ledger = () => stack.db.database.forSchema<SubsidyDB>('subsidy');
const STORM = 200;
const FITS = 50;

const reasonOf = (res: Res<Json>) => (res.body.detail as Array<{ reason: string }> | undefined)?.[0]?.reason;

async function committedOf(policy: string) {
  return ledger()
    .selectFrom('transactions')
    .select(['lms_user_id', 'quantity', 'content_key'])
    .where('subsidy_access_policy_uuid', '=', policy)
    .where('state', '=', 'committed')
    .execute();
}

function expectStormOutcome(results: Array<Res<Json>>, reason: string) {
  const statuses = results.map((r) => r.status);
  expect(statuses.filter((s) => s === 429 || s >= 500)).toEqual([]);
  expect(statuses.filter((s) => s === 200)).toHaveLength(FITS);
  const refused = results.filter((r) => r.status !== 200);
  expect(refused).toHaveLength(STORM - FITS);
  expect(new Set(refused.map((r) => r.status))).toEqual(new Set([422]));
  expect(new Set(refused.map(reasonOf))).toEqual(new Set([reason]));
}

// A storm of 200 workflows on two cores (PGlite runs every query on one connection): minutes.
describe('never overspend, never 429', { timeout: 300_000 }, () => {
  it(`${STORM} learners at once on a policy whose spend limit fits ${FITS}: exactly ${FITS} committed`, async () => {
    const budget = await createBudget(stack, { spendLimit: FITS * DEMO_PRICE, startingBalance: 100_000_000 });
    const learners = await Promise.all(Array.from({ length: STORM }, () => newLearner(stack, budget.customer)));
    const tokens = await Promise.all(learners.map((l) => learnerToken(stack, budget.customer, l.id)));
    const results = await Promise.all(
      learners.map((l, i) =>
        redeem(stack, tokens[i] as string, budget.policy, { lms_user_id: l.id, content_key: DEMO_RUN }),
      ),
    );
    expectStormOutcome(results, 'policy_spend_limit_reached');

    const committed = await committedOf(budget.policy);
    expect(committed).toHaveLength(FITS);
    expect(committed.reduce((sum, t) => sum + Number(t.quantity), 0)).toBe(-FITS * DEMO_PRICE);
    expect(new Set(committed.map((t) => t.lms_user_id)).size).toBe(FITS);
    const spend = await access()
      .selectFrom('policy_spend')
      .selectAll()
      .where('policy_uuid', '=', budget.policy)
      .executeTakeFirstOrThrow();
    expect({ spent: Number(spend.spent_cents), redemptions: spend.redemptions }).toEqual({
      spent: FITS * DEMO_PRICE,
      redemptions: FITS,
    });
    const perLearner = await access()
      .selectFrom('policy_learner_spend')
      .select(['spent_cents', 'redemptions'])
      .where('policy_uuid', '=', budget.policy)
      .where('redemptions', '>', 0)
      .execute();
    expect(perLearner).toHaveLength(FITS);
    expect(perLearner.every((r) => Number(r.spent_cents) === DEMO_PRICE && r.redemptions === 1)).toBe(true);
    const subsidy = await request<{ current_balance: number }>(
      'GET',
      `${stack.urls.subsidy}/api/v1/subsidies/${budget.subsidy}/`,
      undefined,
      await stack.operatorToken(),
    );
    expect(subsidy.body.current_balance).toBe(100_000_000 - FITS * DEMO_PRICE);
    const attempts = await access()
      .selectFrom('redemption_attempts')
      .select(['outcome', 'reason'])
      .where('policy_uuid', '=', budget.policy)
      .execute();
    expect(attempts).toHaveLength(STORM);
    expect(attempts.filter((a) => a.outcome === 'redeemed')).toHaveLength(FITS);
    expect(attempts.filter((a) => a.outcome === 'rejected' && a.reason === 'policy_spend_limit_reached')).toHaveLength(
      STORM - FITS,
    );
  });

  it(`one learner, ${STORM} different courses at once, per-learner spend cap fits ${FITS}: exactly ${FITS}`, async () => {
    const price = 1_000;
    const runs = await importRuns(stack, STORM, price);
    const budget = await createBudget(stack, {
      policyType: 'PerLearnerSpendCreditAccessPolicy',
      spendLimit: null,
      perLearnerSpendLimit: FITS * price,
      startingBalance: 100_000_000,
    });
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const results = await Promise.all(
      runs.map((run) => redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: run })),
    );
    expectStormOutcome(results, 'learner_max_spend_reached');
    const committed = await committedOf(budget.policy);
    expect(committed).toHaveLength(FITS);
    expect(new Set(committed.map((t) => t.content_key)).size).toBe(FITS);
    const row = await access()
      .selectFrom('policy_learner_spend')
      .selectAll()
      .where('policy_uuid', '=', budget.policy)
      .where('lms_user_id', '=', learner.id)
      .executeTakeFirstOrThrow();
    expect({ spent: Number(row.spent_cents), redemptions: row.redemptions }).toEqual({
      spent: FITS * price,
      redemptions: FITS,
    });
  });
});
