import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Json, type Page, request } from '../helpers/http';
import {
  type Budget,
  createBudget,
  DEMO_RUN,
  learnerToken,
  newLearner,
  PAST_DEADLINE_RUN,
  redeem,
} from '../helpers/learner-credit';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let operator: string;
let budget: Budget;
let alice: { id: number };
let bob: { id: number };
let startedAt: string;
beforeAll(async () => {
  stack = await startTestStack();
  operator = await stack.operatorToken();
  budget = await createBudget(stack);
  alice = await newLearner(stack, budget.customer);
  bob = await newLearner(stack, budget.customer);
  startedAt = new Date().toISOString();
  const as = async (id: number) => learnerToken(stack, budget.customer, id);
  expect(
    (await redeem(stack, await as(alice.id), budget.policy, { lms_user_id: alice.id, content_key: DEMO_RUN })).status,
  ).toBe(200);
  expect(
    (await redeem(stack, await as(alice.id), budget.policy, { lms_user_id: alice.id, content_key: PAST_DEADLINE_RUN }))
      .status,
  ).toBe(422);
  expect(
    (await redeem(stack, await as(bob.id), budget.policy, { lms_user_id: bob.id, content_key: DEMO_RUN })).status,
  ).toBe(200);
});
afterAll(async () => {
  await stack?.close();
});

const list = (query: string, token = operator) =>
  request<Page<Json>>('GET', `${stack.apiUrl}/api/v1/redemption-attempts?${query}`, undefined, token);

describe('GET /api/v1/redemption-attempts', () => {
  it('lists every attempt with its inputs, verdict, outcome and workflow, newest first', async () => {
    const res = await list(`policy_uuid=${budget.policy}`);
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(3);
    const [newest, , oldest] = res.body.results;
    expect(newest).toMatchObject({ lms_user_id: bob.id, outcome: 'redeemed', can_redeem: true });
    expect(oldest).toMatchObject({ lms_user_id: alice.id, outcome: 'redeemed', content_key: DEMO_RUN });
    const rejected = res.body.results.find((a) => a.outcome === 'rejected');
    expect(rejected).toMatchObject({
      can_redeem: false,
      reason: 'beyond_enrollment_deadline',
      transaction_uuid: null,
      enterprise_customer_uuid: budget.customer,
    });
    expect(String(rejected?.workflow_id)).toMatch(/^redeem-/);
    expect(rejected?.completed_at).not.toBeNull();
    expect(rejected?.policy_state).toMatchObject({ uuid: budget.policy, subsidy_uuid: budget.subsidy });
  });

  it('filters by learner, content, outcome and time range, and paginates', async () => {
    expect((await list(`policy_uuid=${budget.policy}&lms_user_id=${alice.id}`)).body.count).toBe(2);
    expect((await list(`policy_uuid=${budget.policy}&content_key=${encodeURIComponent(DEMO_RUN)}`)).body.count).toBe(2);
    expect((await list(`policy_uuid=${budget.policy}&outcome=rejected`)).body.count).toBe(1);
    expect((await list(`policy_uuid=${budget.policy}&started_after=${startedAt}`)).body.count).toBe(3);
    expect((await list(`policy_uuid=${budget.policy}&started_before=${startedAt}`)).body.count).toBe(0);
    const page = await list(`policy_uuid=${budget.policy}&page_size=2`);
    expect(page.body.results).toHaveLength(2);
    expect(page.body.next).toContain('page=2');
    const second = await list(`policy_uuid=${budget.policy}&page_size=2&page=2`);
    expect(second.body.results).toHaveLength(1);
  });

  it('admins see their customer (and must name it); learners only themselves; others 403', async () => {
    const admin = await stack.token({ roles: [`enterprise_admin:${budget.customer}`] });
    expect((await list(`enterprise_customer_uuid=${budget.customer}`, admin)).body.count).toBe(3);
    const unnamed = await list('', admin);
    expect(unnamed.status).toBe(400);
    expect(unnamed.body).toHaveProperty('enterprise_customer_uuid');
    const asAlice = await learnerToken(stack, budget.customer, alice.id);
    const own = await list(`enterprise_customer_uuid=${budget.customer}`, asAlice);
    expect(own.body.count).toBe(2);
    expect(own.body.results.every((a) => a.lms_user_id === alice.id)).toBe(true);
    const other = await stack.token({ roles: ['enterprise_admin:00000000-0000-4000-8000-000000000009'] });
    expect((await list(`enterprise_customer_uuid=${budget.customer}`, other)).status).toBe(403);
    expect((await request('GET', `${stack.apiUrl}/api/v1/redemption-attempts`)).status).toBe(401);
  });

  it('400 naming the field for bad filters', async () => {
    const res = await list('outcome=maybe&lms_user_id=x&started_after=yesterday&policy_uuid=nope');
    expect(res.status).toBe(400);
    expect(Object.keys(res.body).sort()).toEqual(['lms_user_id', 'outcome', 'policy_uuid', 'started_after']);
  });
});
