import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessDB } from '../../src/access/schema';
import type { SubsidyDB } from '../../src/services/subsidy/schema';
import { type Json, request } from '../helpers/http';
import { createBudget, DEMO_PRICE, DEMO_RUN, learnerToken, newLearner, redeem } from '../helpers/learner-credit';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

/** The worker as a real process, SIGKILLed in the middle of a redemption and replaced. */
let stack: TestStack;
const workers: WorkerProcess[] = [];
beforeAll(async () => {
  stack = await startTestStack({
    worker: false,
    workerProcesses: true,
    env: { REDEMPTION_WAIT_SECONDS: '1', REDEMPTION_ATTEMPT_TIMEOUT_SECONDS: '3' },
  });
});
afterAll(async () => {
  for (const w of workers) await w.kill().catch(() => {});
  await stack?.close();
});

const ENROLL_ROUTE = '/enterprise/api/v1/enterprise-course-enrollment/';

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a redemption survives a worker crash', () => {
  it('commits exactly one transaction when the worker is SIGKILLed during enrollment and restarted', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const first = await startWorkerProcess(stack);
    workers.push(first);
    // Hold the enrollment call long enough to kill the worker while that step is in flight.
    await stack.faults('lms').add({ method: 'POST', route: ENROLL_ROUTE, delayOnly: true, delayMs: 2500, count: 1 });

    const accepted = await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const statusUrl = `${stack.apiUrl}${accepted.body.status_url as string}`;
    await until('the enrollment call to arrive', async () => {
      const [rule] = await stack.faults('lms').list();
      return rule && rule.seen > 0 ? true : undefined;
    });
    await first.kill();
    await stack.faults('lms').clear();

    const second = await startWorkerProcess(stack);
    workers.push(second);
    const done = await until('the redemption to finish', async () => {
      const res = await request<Json>('GET', statusUrl, undefined, token);
      return res.body.status === 'completed' || res.body.status === 'failed' ? res.body : undefined;
    });
    expect(done).toMatchObject({ status: 'completed', transaction: { state: 'committed', quantity: -DEMO_PRICE } });

    const txs = await stack.db.database
      .forSchema<SubsidyDB>('subsidy')
      .selectFrom('transactions')
      .select(['uuid', 'state'])
      .where('subsidy_access_policy_uuid', '=', budget.policy)
      .execute();
    expect(txs).toEqual([{ uuid: (done.transaction as Json).uuid, state: 'committed' }]);
    const enrollments = await request<{ results: Json[] }>(
      'GET',
      `${stack.urls.lms}${ENROLL_ROUTE}?lms_user_id=${learner.id}`,
      undefined,
      await stack.operatorToken(),
    );
    expect(enrollments.body.results).toHaveLength(1);
    const access = stack.db.database.forSchema<AccessDB>('access');
    const attempts = await access
      .selectFrom('redemption_attempts')
      .select(['outcome'])
      .where('policy_uuid', '=', budget.policy)
      .execute();
    expect(attempts).toEqual([{ outcome: 'redeemed' }]);
    const spend = await access
      .selectFrom('policy_spend')
      .selectAll()
      .where('policy_uuid', '=', budget.policy)
      .executeTakeFirstOrThrow();
    expect([Number(spend.spent_cents), spend.redemptions]).toEqual([DEMO_PRICE, 1]);
    // The repeat after success answers 200 with the same transaction, even with the worker gone.
    await second.stop();
    const again = await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN });
    expect(again.status).toBe(200);
    expect(again.body.uuid).toBe((done.transaction as Json).uuid);
  });
});
