import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessDB } from '../../src/access/schema';
import type { SubsidyDB } from '../../src/services/subsidy/schema';
import { type Json, request } from '../helpers/http';
import {
  canRedeem,
  createBudget,
  DEMO_PRICE,
  DEMO_RUN,
  importRuns,
  learnerToken,
  newLearner,
  PAST_DEADLINE_RUN,
  redeem,
} from '../helpers/learner-credit';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let operator: string;
beforeAll(async () => {
  stack = await startTestStack();
  operator = await stack.operatorToken();
});
afterAll(async () => {
  await stack?.close();
});

const access = () => stack.db.database.forSchema<AccessDB>('access');
const ledger = () => stack.db.database.forSchema<SubsidyDB>('subsidy');
const ENROLL_ROUTE = '/enterprise/api/v1/enterprise-course-enrollment/';

async function transactionsOf(policy: string) {
  return ledger()
    .selectFrom('transactions')
    .select(['uuid', 'state', 'quantity', 'lms_user_id', 'content_key', 'fulfillment_identifier'])
    .where('subsidy_access_policy_uuid', '=', policy)
    .execute();
}

async function attemptsOf(policy: string) {
  return access().selectFrom('redemption_attempts').selectAll().where('policy_uuid', '=', policy).execute();
}

async function spendOf(policy: string) {
  const row = await access()
    .selectFrom('policy_spend')
    .selectAll()
    .where('policy_uuid', '=', policy)
    .executeTakeFirst();
  return { spent: Number(row?.spent_cents ?? 0), redemptions: row?.redemptions ?? 0 };
}

async function enrollmentsOf(userId: number) {
  const res = await request<{ results: Json[] }>(
    'GET',
    `${stack.urls.lms}${ENROLL_ROUTE}?lms_user_id=${userId}`,
    undefined,
    operator,
  );
  return res.body.results;
}

describe('redeem', () => {
  it('reserves, charges the ledger, enrolls, commits, and records the attempt (200 with the transaction)', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const res = await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({
      state: 'committed',
      lms_user_id: learner.id,
      content_key: DEMO_RUN,
      quantity: -DEMO_PRICE,
      subsidy_access_policy_uuid: budget.policy,
    });
    expect(String(res.body.idempotency_key)).toMatch(new RegExp(`^ledger-for-subsidy-${budget.subsidy}-[0-9a-f]{32}$`));
    const enrollments = await enrollmentsOf(learner.id);
    expect(enrollments).toHaveLength(1);
    expect(enrollments[0]).toMatchObject({ course_run_key: DEMO_RUN, transaction_id: res.body.uuid });
    expect(res.body.fulfillment_identifier).toBe(enrollments[0]?.uuid);
    expect(await spendOf(budget.policy)).toEqual({ spent: DEMO_PRICE, redemptions: 1 });
    const [attempt] = await attemptsOf(budget.policy);
    expect(attempt).toMatchObject({
      outcome: 'redeemed',
      can_redeem: true,
      reason: null,
      lms_user_id: learner.id,
      content_key: DEMO_RUN,
      transaction_uuid: res.body.uuid,
      fulfillment_identifier: res.body.fulfillment_identifier,
      idempotency_key: res.body.idempotency_key,
    });
    expect(Number(attempt?.price_cents)).toBe(DEMO_PRICE);
    expect(attempt?.completed_at).toBeInstanceOf(Date);
    expect(attempt?.policy_state).toMatchObject({ uuid: budget.policy, spend_limit: 500_000, active: true });
  });

  it('a double click (two identical requests at once) makes one transaction and both callers get it', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const body = { lms_user_id: learner.id, content_key: DEMO_RUN };
    const [a, b] = await Promise.all([
      redeem(stack, token, budget.policy, body),
      redeem(stack, token, budget.policy, body),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.uuid).toBe(b.body.uuid);
    expect(await transactionsOf(budget.policy)).toHaveLength(1);
    expect(await attemptsOf(budget.policy)).toHaveLength(1);
    // A repeat after success answers with the same transaction (upstream: 422 not_enough_value).
    const again = await redeem(stack, token, budget.policy, body);
    expect(again.status).toBe(200);
    expect(again.body.uuid).toBe(a.body.uuid);
    expect(await transactionsOf(budget.policy)).toHaveLength(1);
    expect(await spendOf(budget.policy)).toEqual({ spent: DEMO_PRICE, redemptions: 1 });
  });

  it('a learner redeeming for another learner gets 403; an admin may redeem for a learner', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const other = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const res = await redeem(stack, token, budget.policy, { lms_user_id: other.id, content_key: DEMO_RUN });
    expect(res.status).toBe(403);
    expect(await transactionsOf(budget.policy)).toHaveLength(0);
    const admin = await stack.token({ roles: [`enterprise_admin:${budget.customer}`], userId: 999_999 });
    const byAdmin = await redeem(stack, admin, budget.policy, { lms_user_id: other.id, content_key: DEMO_RUN });
    expect(byAdmin.status, JSON.stringify(byAdmin.body)).toBe(200);
    const stranger = await stack.token({
      roles: ['enterprise_learner:00000000-0000-4000-8000-000000000001'],
      userId: 1,
    });
    expect((await redeem(stack, stranger, budget.policy, { lms_user_id: 1, content_key: DEMO_RUN })).status).toBe(403);
  });

  it('validates the body (400 naming the field) after permissions; unknown policy 404', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const bad = await redeem(stack, token, budget.policy, { lms_user_id: 'x', content_key: 'not-a-key' });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body).sort()).toEqual(['content_key', 'lms_user_id']);
    const missing = await redeem(stack, token, budget.policy, {});
    expect(missing.body).toEqual({
      lms_user_id: ['This field is required.'],
      content_key: ['This field is required.'],
    });
    const none = await redeem(stack, operator, '00000000-0000-4000-8000-000000000000', {
      lms_user_id: 1,
      content_key: DEMO_RUN,
    });
    expect(none.status).toBe(404);
  });

  it('enrollment refused by the lms (400): transaction failed, reservation released, attempt row with the error', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    await stack.faults('lms').add({ method: 'POST', route: ENROLL_ROUTE, status: 400, count: 1 });
    const res = await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN });
    await stack.faults('lms').clear();
    expect(res.status).toBe(422);
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ code: 'enrollment_error', subsidy_status_code: '422' });
    expect(String(res.body.detail)).toMatch(/^Subsidy Transaction API error: /);
    const txs = await transactionsOf(budget.policy);
    expect(txs.map((t) => t.state)).toEqual(['failed']);
    expect(await spendOf(budget.policy)).toEqual({ spent: 0, redemptions: 0 });
    const [attempt] = await attemptsOf(budget.policy);
    expect(attempt).toMatchObject({
      outcome: 'failed',
      error_code: 'enrollment_error',
      transaction_uuid: txs[0]?.uuid,
    });
    expect(attempt?.error_message).toContain('HTTP 400');
    const reservation = await access()
      .selectFrom('redemption_reservations')
      .selectAll()
      .where('policy_uuid', '=', budget.policy)
      .executeTakeFirst();
    expect(reservation?.state).toBe('released');
    // The failure advanced the key: a new attempt is allowed and succeeds.
    const retry = await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body.uuid).not.toBe(txs[0]?.uuid);
    expect(await attemptsOf(budget.policy)).toHaveLength(2);
  });

  it('enrollment answering 503 for a while is retried and committed once', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    await stack.faults('lms').add({ method: 'POST', route: ENROLL_ROUTE, status: 503, count: 3 });
    const res = await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN });
    const [rule] = await stack.faults('lms').list();
    await stack.faults('lms').clear();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(rule?.hits).toBe(3);
    expect((await transactionsOf(budget.policy)).map((t) => t.state)).toEqual(['committed']);
    expect(await enrollmentsOf(learner.id)).toHaveLength(1);
  });

  it('after a reversal the learner can redeem the same content again: new transaction, new attempt row', async () => {
    const budget = await createBudget(stack, {
      policyType: 'PerLearnerEnrollmentCreditAccessPolicy',
      perLearnerEnrollmentLimit: 1,
    });
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const body = { lms_user_id: learner.id, content_key: DEMO_RUN };
    const first = await redeem(stack, token, budget.policy, body);
    expect(first.status).toBe(200);
    const reversed = await request(
      'POST',
      `${stack.urls.subsidy}/api/v2/subsidies/${budget.subsidy}/admin/transactions/${first.body.uuid}/reverse/`,
      {},
      operator,
    );
    expect(reversed.status).toBe(201);
    const second = await redeem(stack, token, budget.policy, body);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.uuid).not.toBe(first.body.uuid);
    expect(second.body.idempotency_key).not.toBe(first.body.idempotency_key);
    const attempts = await attemptsOf(budget.policy);
    expect(attempts.map((a) => a.outcome)).toEqual(['redeemed', 'redeemed']);
    // The first attempt's row is not changed by the reversal.
    expect(attempts.find((a) => a.transaction_uuid === first.body.uuid)?.outcome).toBe('redeemed');
    // Reversal netted: one live redemption counts against the per-learner cap of 1.
    expect(await spendOf(budget.policy)).toEqual({ spent: DEMO_PRICE, redemptions: 1 });
  });

  it('a reversal in the ledger reaches can-redeem and the aggregates within seconds, with no redemption in between', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const first = await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN });
    expect(first.status).toBe(200);
    const ask = async () => {
      const res = await canRedeem(stack, token, budget.customer, [DEMO_RUN]);
      expect(res.status).toBe(200);
      return (res.body as unknown as Array<{ has_successful_redemption: boolean; can_redeem: boolean }>)[0];
    };
    // GET can-redeem writes nothing: the learner's records are the same after three reads.
    const records = () =>
      Promise.all([
        access().selectFrom('redemption_reservations').selectAll().where('policy_uuid', '=', budget.policy).execute(),
        access().selectFrom('policy_spend').selectAll().where('policy_uuid', '=', budget.policy).execute(),
        access().selectFrom('policy_learner_spend').selectAll().where('policy_uuid', '=', budget.policy).execute(),
      ]);
    const before = await records();
    for (let i = 0; i < 3; i++)
      expect(await ask()).toMatchObject({ has_successful_redemption: true, can_redeem: false });
    expect(await records()).toEqual(before);
    expect(await spendOf(budget.policy)).toEqual({ spent: DEMO_PRICE, redemptions: 1 });

    const reversed = await request(
      'POST',
      `${stack.urls.subsidy}/api/v2/subsidies/${budget.subsidy}/admin/transactions/${first.body.uuid}/reverse/`,
      {},
      operator,
    );
    expect(reversed.status).toBe(201);
    // The ledger's reversal feed gives the amount back (no redemption, no can-redeem write needed).
    const deadline = Date.now() + 60_000;
    while ((await spendOf(budget.policy)).redemptions !== 0) {
      if (Date.now() > deadline) throw new Error('the reversal never reached the local aggregates');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await spendOf(budget.policy)).toEqual({ spent: 0, redemptions: 0 });
    expect(await ask()).toMatchObject({ has_successful_redemption: false, can_redeem: true });
  });

  it('a limit refusal first gives back reversed amounts it had not seen (no stale over-count)', async () => {
    const [run] = await importRuns(stack, 2, 10_000);
    const budget = await createBudget(stack, { spendLimit: 10_000 });
    const a = await newLearner(stack, budget.customer);
    const b = await newLearner(stack, budget.customer);
    const first = await redeem(stack, await learnerToken(stack, budget.customer, a.id), budget.policy, {
      lms_user_id: a.id,
      content_key: run,
    });
    expect(first.status).toBe(200);
    await request(
      'POST',
      `${stack.urls.subsidy}/api/v2/subsidies/${budget.subsidy}/admin/transactions/${first.body.uuid}/reverse/`,
      {},
      operator,
    );
    const second = await redeem(stack, await learnerToken(stack, budget.customer, b.id), budget.policy, {
      lms_user_id: b.id,
      content_key: run,
    });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(await spendOf(budget.policy)).toEqual({ spent: 10_000, redemptions: 1 });
  });

  it('while late redemption is allowed, a past deadline does not block and the ledger is told so', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const body = { lms_user_id: learner.id, content_key: PAST_DEADLINE_RUN, metadata: { note: 'late' } };
    const refused = await redeem(stack, token, budget.policy, body);
    expect(refused.status).toBe(422);
    const until = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const patched = await request(
      'PATCH',
      `${stack.apiUrl}/api/v1/subsidy-access-policies/${budget.policy}/`,
      { late_redemption_allowed_until: until },
      operator,
    );
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const res = await redeem(stack, token, budget.policy, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.metadata).toEqual({ note: 'late', allow_late_enrollment: true });
  });
});
