import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Json, request } from '../helpers/http';
import {
  type BudgetOptions,
  canRedeem,
  createBudget,
  DEMO_PRICE,
  DEMO_RUN,
  learnerToken,
  NO_PRICE_RUN,
  newLearner,
  PAST_DEADLINE_RUN,
  redeem,
} from '../helpers/learner-credit';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let operator: string;
beforeAll(async () => {
  // Memberships and catalog answers fresh on every call: the cases change them between calls.
  stack = await startTestStack({ env: { LEARNER_CREDIT_CACHE_SECONDS: '0' } });
  operator = await stack.operatorToken();
});
afterAll(async () => {
  await stack?.close();
});

type Reason = { reason: string; user_message: string | null; policy_uuids: string[]; metadata: Json };
type Item = {
  content_key: string;
  list_price: { usd: number; usd_cents: number } | null;
  redemptions: Json[];
  has_successful_redemption: boolean;
  redeemable_subsidy_access_policy: Json | null;
  can_redeem: boolean;
  reasons: Reason[];
  display_reason: Reason | null;
};

const lms = (path: string, body: unknown) => request<Json>('POST', `${stack.urls.lms}${path}`, body, operator);

interface Case {
  reason: string;
  budget?: BudgetOptions;
  content?: string;
  /** Changes the world after the budget and learner exist. */
  arrange?: (ctx: { policy: string; customer: string; learner: { id: number; email: string } }) => Promise<void>;
  linked?: boolean;
}

const CASES: Case[] = [
  {
    reason: 'policy_expired',
    arrange: async ({ policy }) => {
      const res = await request(
        'PATCH',
        `${stack.apiUrl}/api/v1/subsidy-access-policies/${policy}/`,
        { retired: true },
        operator,
      );
      expect(res.status).toBe(200);
    },
  },
  { reason: 'learner_not_in_enterprise', linked: false },
  {
    reason: 'learner_not_in_enterprise_group',
    arrange: async ({ policy, customer }) => {
      const group = await lms('/enterprise/api/v1/enterprise-group/', {
        name: 'Cohort A',
        enterprise_customer: customer,
      });
      const res = await request(
        'PATCH',
        `${stack.apiUrl}/api/v1/subsidy-access-policies/${policy}/`,
        { group_associations: [group.body.uuid] },
        operator,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    },
  },
  { reason: 'content_not_in_catalog', content: 'course-v1:edX+NotInAnyCatalog+2030' },
  { reason: 'beyond_enrollment_deadline', content: PAST_DEADLINE_RUN },
  { reason: 'subsidy_expired', budget: { subsidyActive: false } },
  { reason: 'not_enough_value_in_subsidy', budget: { startingBalance: DEMO_PRICE - 1, spendLimit: null } },
  { reason: 'policy_spend_limit_reached', budget: { spendLimit: DEMO_PRICE - 1 } },
  { reason: 'learner_max_spend_reached', budget: { perLearnerSpendLimit: DEMO_PRICE - 1 } },
  {
    reason: 'learner_max_enrollments_reached',
    budget: { policyType: 'PerLearnerEnrollmentCreditAccessPolicy', perLearnerEnrollmentLimit: 0 },
  },
];

describe('every reason code end to end: redeem answers 422 with it, can-redeem reports it', () => {
  for (const c of CASES) {
    it(c.reason, async () => {
      const budget = await createBudget(stack, c.budget);
      const learner = await newLearner(stack, budget.customer, c.linked ?? true);
      await c.arrange?.({ policy: budget.policy, customer: budget.customer, learner });
      const content = c.content ?? DEMO_RUN;
      const admin = await stack.token({ roles: [`enterprise_admin:${budget.customer}`], userId: 424_242 });
      const res = await redeem(stack, admin, budget.policy, { lms_user_id: learner.id, content_key: content });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      const [reason] = res.body.detail as Reason[];
      expect(reason).toMatchObject({ reason: c.reason, policy_uuids: [budget.policy] });
      expect(reason?.metadata).toHaveProperty('enterprise_administrators');

      if (c.reason === 'policy_expired') return; // a retired policy is not offered by can-redeem at all
      const learnerView = await canRedeem(
        stack,
        await learnerToken(stack, budget.customer, learner.id),
        budget.customer,
        [content],
      );
      expect(learnerView.status, JSON.stringify(learnerView.body)).toBe(200);
      const item = learnerView.body[0] as unknown as Item;
      expect(item).toMatchObject({ content_key: content, can_redeem: false, redeemable_subsidy_access_policy: null });
      expect(item.display_reason?.reason).toBe(c.reason);
      expect(item.reasons.map((r) => r.reason)).toEqual([c.reason]);
    });
  }
});

describe('can-redeem', () => {
  it('answers per key: the policy that would pay, the list price; then the redemption once redeemed', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const before = await canRedeem(stack, token, budget.customer, [DEMO_RUN, 'course-v1:edX+NotInAnyCatalog+2030']);
    expect(before.status).toBe(200);
    const [demo, missing] = before.body as unknown as Item[];
    expect(demo).toMatchObject({
      content_key: DEMO_RUN,
      can_redeem: true,
      has_successful_redemption: false,
      redemptions: [],
      reasons: [],
      display_reason: null,
      list_price: { usd: DEMO_PRICE / 100, usd_cents: DEMO_PRICE },
    });
    expect(demo?.redeemable_subsidy_access_policy).toMatchObject({ uuid: budget.policy });
    expect(missing).toMatchObject({ can_redeem: false, list_price: null });
    expect(missing?.display_reason?.reason).toBe('content_not_in_catalog');

    const tx = await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN });
    expect(tx.status).toBe(200);
    const after = (await canRedeem(stack, token, budget.customer, [DEMO_RUN])).body[0] as unknown as Item;
    expect(after).toMatchObject({
      has_successful_redemption: true,
      can_redeem: false,
      redeemable_subsidy_access_policy: null,
    });
    expect(after.redemptions).toHaveLength(1);
    expect(after.redemptions[0]).toMatchObject({ uuid: tx.body.uuid, state: 'committed' });
    expect(after.redemptions[0]?.policy_redemption_status_url).toBe(tx.body.transaction_status_api_url);
    expect(String(after.redemptions[0]?.courseware_url)).toContain(`/courses/${DEMO_RUN}/courseware`);

    // After a reversal the content is evaluated again (and is redeemable).
    await request(
      'POST',
      `${stack.urls.subsidy}/api/v2/subsidies/${budget.subsidy}/admin/transactions/${tx.body.uuid}/reverse/`,
      {},
      operator,
    );
    const reversed = (await canRedeem(stack, token, budget.customer, [DEMO_RUN])).body[0] as unknown as Item;
    expect(reversed).toMatchObject({ has_successful_redemption: false, can_redeem: true });
  });

  it('uses the token user; lms_user_id is honoured for admins and operators only', async () => {
    const budget = await createBudget(stack);
    const linked = await newLearner(stack, budget.customer);
    const stranger = await newLearner(stack, budget.customer, false);
    const token = await learnerToken(stack, budget.customer, linked.id);
    const ignored = await canRedeem(stack, token, budget.customer, [DEMO_RUN], `&lms_user_id=${stranger.id}`);
    expect((ignored.body[0] as unknown as Item).can_redeem).toBe(true);
    const admin = await stack.token({ roles: [`enterprise_admin:${budget.customer}`] });
    const honoured = await canRedeem(stack, admin, budget.customer, [DEMO_RUN], `&lms_user_id=${stranger.id}`);
    expect((honoured.body[0] as unknown as Item).display_reason?.reason).toBe('learner_not_in_enterprise');
    const noUser = await canRedeem(stack, admin, budget.customer, [DEMO_RUN]);
    expect(noUser.status).toBe(404);
    expect(noUser.body).toEqual({ detail: 'Could not determine a value for lms_user_id' });
  });

  it('400 without content_key or with a bad key, 403 for another customer, 404 without active policies', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const none = await request<Json>(
      'GET',
      `${stack.apiUrl}/api/v1/policy-redemption/enterprise-customer/${budget.customer}/can-redeem/`,
      undefined,
      token,
    );
    expect(none.status).toBe(400);
    expect(none.body).toHaveProperty('content_key');
    expect((await canRedeem(stack, token, budget.customer, ['not a key'])).status).toBe(400);
    const other = await createBudget(stack);
    expect((await canRedeem(stack, token, other.customer, [DEMO_RUN])).status).toBe(403);
    const empty = '00000000-0000-4000-8000-0000000000ee';
    const res = await canRedeem(stack, operator, empty, [DEMO_RUN], '&lms_user_id=5');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: 'No active policies for this customer' });
  });

  it('422 when the content has no price; 422 with the subsidy status when the subsidy fails', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const noPrice = await canRedeem(stack, token, budget.customer, [NO_PRICE_RUN]);
    expect(noPrice.status).toBe(422);
    await stack.faults('subsidy').add({
      method: 'GET',
      route: `/api/v1/subsidies/${budget.subsidy}/`,
      status: 503,
      count: 1,
    });
    const down = await canRedeem(stack, token, budget.customer, [DEMO_RUN]);
    await stack.faults('subsidy').clear();
    expect(down.status).toBe(422);
    expect(down.body).toMatchObject({ subsidy_status_code: '503' });
    expect(String((down.body as unknown as Json).detail)).toMatch(/^Subsidy Transaction API error: /);

    // A learner holding the content: its transactions come fresh from the ledger, whose failure is a 422 too.
    expect((await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN })).status).toBe(
      200,
    );
    await stack.faults('subsidy').add({
      method: 'GET',
      route: `/api/v2/subsidies/${budget.subsidy}/admin/transactions/`,
      status: 503,
      count: 1,
    });
    const listDown = await canRedeem(stack, token, budget.customer, [DEMO_RUN]);
    await stack.faults('subsidy').clear();
    expect(listDown.status).toBe(422);
    expect(listDown.body).toMatchObject({ subsidy_status_code: '503' });
  });
});

describe('credits_available', () => {
  const credits = (token: string, query: string) =>
    request<Json[]>('GET', `${stack.apiUrl}/api/v1/policy-redemption/credits_available/?${query}`, undefined, token);

  it('lists the policies the learner can still spend from, with what is left; a learner sees only itself', async () => {
    const budget = await createBudget(stack, { perLearnerSpendLimit: 3 * DEMO_PRICE });
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const q = `enterprise_customer_uuid=${budget.customer}&lms_user_id=${learner.id}`;
    const before = await credits(token, q);
    expect(before.status).toBe(200);
    expect(before.body).toHaveLength(1);
    expect(before.body[0]).toMatchObject({
      uuid: budget.policy,
      remaining_balance_per_user: 3 * DEMO_PRICE,
      remaining_balance: 1_000_000,
      learner_content_assignments: [],
      policy_redemption_url: `/api/v1/policy-redemption/${budget.policy}/redeem/`,
    });
    expect((await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN })).status).toBe(
      200,
    );
    const after = await credits(token, q);
    expect(after.body[0]).toMatchObject({
      remaining_balance_per_user: 2 * DEMO_PRICE,
      remaining_balance: 1_000_000 - DEMO_PRICE,
    });

    const other = await newLearner(stack, budget.customer, false);
    expect((await credits(token, `enterprise_customer_uuid=${budget.customer}&lms_user_id=${other.id}`)).status).toBe(
      403,
    );
    const admin = await stack.token({ roles: [`enterprise_admin:${budget.customer}`] });
    const notMember = await credits(admin, `enterprise_customer_uuid=${budget.customer}&lms_user_id=${other.id}`);
    expect(notMember.status).toBe(200);
    expect(notMember.body).toEqual([]);
    const bad = await credits(admin, 'enterprise_customer_uuid=nope');
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body).sort()).toEqual(['enterprise_customer_uuid', 'lms_user_id']);
    expect((await request('GET', `${stack.apiUrl}/api/v1/policy-redemption/credits_available/`)).status).toBe(401);
  });
});
