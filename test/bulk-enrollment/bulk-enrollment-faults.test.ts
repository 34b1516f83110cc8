import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import {
  api,
  assignLicenses,
  courseRuns,
  jobEnded,
  type LicensedCustomer,
  licensedCustomer,
  lmsEnrollments,
  newEmail,
  newLmsUser,
  newPlan,
  resultsOf,
} from './setup';

/**
 * A 2,500-pair job (1,250 learners × 2 courses: 50 lms calls of 25 × 2) while the lms answers
 * 20% of its bulk-enrollment calls with 503: every chunk is retried until it goes through, every
 * pair ends `success` or `pending`, and the lms holds each enrollment once.
 */
let stack: TestStack;
let c: LicensedCustomer;
beforeAll(async () => {
  stack = await startTestStack();
  c = await licensedCustomer(stack);
});
afterAll(async () => {
  await stack?.close();
});

describe('bulk enrollment under a flaky lms', () => {
  it('finishes a 2,500-pair job with every pair enrolled once while 20% of lms calls fail with 503', async () => {
    const LEARNERS = 1250;
    const REGISTERED = 50;
    const runs = await courseRuns(stack, 2);
    const plan = await newPlan(stack, c, LEARNERS);
    const emails = Array.from({ length: LEARNERS }, (_, i) => newEmail(`flaky${i}`));
    await assignLicenses(stack, c, plan, emails);
    await Promise.all(emails.slice(0, REGISTERED).map((e) => newLmsUser(stack, e)));

    const route = `/enterprise/api/v1/enterprise-customer/${c.customer}/enroll_learners_in_courses/`;
    await stack.faults('lms').add({ method: 'POST', route, status: 503, count: 0, probability: 0.2 });
    const started = await api(stack).start(c.admin, `enterprise_customer_uuid=${c.customer}`, {
      emails,
      course_run_keys: runs,
      notify: false,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const job = started.body.job_id as string;
    const view = await jobEnded(stack, c.admin, c.customer, job, 240_000);
    const [rule] = await stack.faults('lms').list();
    await stack.faults('lms').clear();

    expect(view.state).toBe('completed');
    expect(view.counts).toEqual({
      total: 2500,
      queued: 0,
      success: REGISTERED * 2,
      pending: (LEARNERS - REGISTERED) * 2,
      failed: 0,
    });
    // About 20% of the calls (first tries and retries) failed, and every chunk still went through.
    expect(rule?.hits).toBeGreaterThan(0);
    expect(rule?.seen).toBeGreaterThanOrEqual(50 + (rule?.hits ?? 0));

    const rows = await resultsOf(stack, job);
    expect(rows).toHaveLength(2500);
    expect(new Set(rows.map((r) => `${r.email}|${r.course_run_key}`)).size).toBe(2500);
    expect(rows.every((r) => r.status === 'success' || r.status === 'pending')).toBe(true);
    expect(rows.every((r) => r.license_uuid !== null)).toBe(true);

    // The lms: each pair once, enrolled (registered learners) or pending (the rest).
    const { enrolled, pending } = await lmsEnrollments(stack, c.customer, emails);
    expect(enrolled).toHaveLength(REGISTERED * 2);
    expect(pending).toHaveLength((LEARNERS - REGISTERED) * 2);
    const pairs = [...enrolled, ...pending].map((e) => `${e.email}|${e.course_id}`);
    expect(new Set(pairs).size).toBe(2500);
    const licenseOf = new Map(rows.map((r) => [`${r.email}|${r.course_run_key}`, r.license_uuid]));
    expect([...enrolled, ...pending].every((e) => licenseOf.get(`${e.email}|${e.course_id}`) === e.license_uuid)).toBe(
      true,
    );
  }, 300_000);
});
