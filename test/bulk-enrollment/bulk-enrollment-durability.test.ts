import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import {
  api,
  assignLicenses,
  courseRuns,
  type JobView,
  jobEnded,
  licensedCustomer,
  lmsEnrollments,
  newEmail,
  newLmsUser,
  newPlan,
  resultsOf,
} from './setup';

/** The worker as a real process, SIGKILLed in the middle of a bulk enrollment job and replaced. */
let stack: TestStack;
const workers: WorkerProcess[] = [];
beforeAll(async () => {
  stack = await startTestStack({ worker: false, workerProcesses: true });
});
afterAll(async () => {
  for (const w of workers) await w.kill().catch(() => {});
  await stack?.close();
});

describe('a bulk enrollment job survives a worker crash', () => {
  it('finishes with exact counts and no duplicate enrollment when the worker is SIGKILLed mid-job and restarted', async () => {
    const LEARNERS = 300;
    const REGISTERED = 20;
    const c = await licensedCustomer(stack);
    const runs = await courseRuns(stack, 5);
    const plan = await newPlan(stack, c, LEARNERS);
    const emails = Array.from({ length: LEARNERS }, (_, i) => newEmail(`crash${i}`));
    await assignLicenses(stack, c, plan, emails);
    await Promise.all(emails.slice(0, REGISTERED).map((e) => newLmsUser(stack, e)));
    workers.push(await startWorkerProcess(stack));

    // Every lms call slowed down, and the 6th held for 4 s: the worker is killed while that call
    // is in flight (the lms goes on and commits it), with other chunks done and others under way.
    const route = `/enterprise/api/v1/enterprise-customer/${c.customer}/enroll_learners_in_courses/`;
    await stack.faults('lms').add({ method: 'POST', route, delayOnly: true, delayMs: 4000, count: 1, skip: 5 });
    await stack.faults('lms').add({ method: 'POST', route, delayOnly: true, delayMs: 300, count: 0 });
    const started = await api(stack).start(c.admin, `enterprise_customer_uuid=${c.customer}`, {
      emails,
      course_run_keys: runs,
      notify: false,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const job = started.body.job_id as string;
    const query = `enterprise_customer_uuid=${c.customer}&bulk_enrollment_job_uuid=${job}`;

    // 12 chunks of 25 learners × 5 courses.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [held] = await stack.faults('lms').list();
      if ((held?.hits ?? 0) > 0) break;
      if (Date.now() > deadline) throw new Error('the held lms call never came');
      await new Promise((r) => setTimeout(r, 20));
    }
    await workers[0]?.kill();
    const before = (await api(stack).job(c.admin, query)).body as unknown as JobView;
    expect(before.state).toBe('running');
    expect(before.progress.pairs_done).toBeGreaterThan(0);
    expect(before.progress.pairs_done).toBeLessThan(1500);

    workers.push(await startWorkerProcess(stack));
    const view = await jobEnded(stack, c.admin, c.customer, job, 150_000);
    await stack.faults('lms').clear();
    expect(view.state).toBe('completed');
    expect(view.counts).toEqual({
      total: 1500,
      queued: 0,
      success: REGISTERED * 5,
      pending: (LEARNERS - REGISTERED) * 5,
      failed: 0,
    });

    const rows = await resultsOf(stack, job);
    expect(rows).toHaveLength(1500);
    expect(rows.every((r) => r.status === 'success' || r.status === 'pending')).toBe(true);
    const { enrolled, pending } = await lmsEnrollments(stack, c.customer, emails);
    expect(enrolled).toHaveLength(REGISTERED * 5);
    expect(pending).toHaveLength((LEARNERS - REGISTERED) * 5);
    expect(new Set([...enrolled, ...pending].map((e) => `${e.email}|${e.course_id}`)).size).toBe(1500);

    // The workflow's own counts (summed from chunk results across the crash) match the records.
    const handle = stack.client.workflow.getHandle(`bulk-license-enrollment-${job}`);
    expect(await handle.result()).toMatchObject({ state: 'completed', counts: view.counts });
    // Chunks in flight at the kill were retried by the new worker (after their heartbeat timeout).
    const history = await handle.fetchHistory();
    const retried = (history.events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 0) >= 2);
    expect(retried.length).toBeGreaterThan(0);
  }, 240_000);
});
