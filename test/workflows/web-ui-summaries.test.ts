import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  assignLicenses,
  courseRuns,
  jobEnded,
  licensedCustomer,
  newEmail,
  newPlan,
} from '../bulk-enrollment/setup';
import { createBudget, DEMO_RUN, learnerToken, newLearner, redeem } from '../helpers/learner-credit';
import { validBody } from '../helpers/provisioning';
import { provision } from '../helpers/provisioning-db';
import { startTestStack, type TestStack, uniqueId } from '../helpers/stack';

/**
 * What an operator reads in the Temporal Web UI, read back through the client the UI uses: the
 * summary and details each workflow was started with, the summary of every activity in its
 * history, and the current details (the `__temporal_workflow_metadata` query the UI calls).
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

const decode = (p: Payload | null | undefined) => (p ? (defaultPayloadConverter.fromPayload(p) as string) : undefined);

async function webUi(handle: WorkflowHandle) {
  const description = await handle.describe();
  const history = await handle.fetchHistory();
  // Activities are scheduled events; local activities are markers whose data names their type.
  const activities = (history.events ?? []).flatMap((e) => {
    const summary = decode(e.userMetadata?.summary as Payload | undefined);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) return [{ type: scheduled.activityType?.name ?? '', summary }];
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return [];
    const data = marker.details?.data?.payloads?.[0]?.data;
    const type = data ? (JSON.parse(Buffer.from(data).toString()) as { activity_type: string }).activity_type : '';
    return [{ type, summary }];
  });
  const metadata = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
  return {
    summary: await description.staticSummary(),
    details: await description.staticDetails(),
    activities,
    currentDetails: metadata.currentDetails ?? '',
  };
}

/** The id of the one workflow `query` finds (visibility is eventually consistent: waits for it). */
async function findRun(query: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    for await (const run of stack.client.workflow.list({ query })) return run.workflowId;
    if (Date.now() > deadline) throw new Error(`no workflow found by ${query}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the Web UI reads like the business', () => {
  it('provisioning: "Provision <slug> (<name>)", who asked, and each step’s record', async () => {
    const slug = uniqueId('ui').slice(0, 24);
    const res = await provision(stack, validBody(slug));
    expect(res.status).toBe(201);
    const ui = await webUi(stack.client.workflow.getHandle(await findRun(`CustomerSlug = '${slug}'`)));
    expect(ui.summary).toBe(`Provision ${slug} (${validBody(slug).enterprise_customer.name})`);
    expect(ui.details).toContain('Requested by ');
    expect(ui.details).toContain('Trial plan:');
    expect(ui.activities.length).toBeGreaterThanOrEqual(7);
    for (const a of ui.activities) {
      expect(a.summary, a.type).toMatch(
        /^(lms: |license-manager: |lms \+ catalog: |check the request against the API schema$)/,
      );
    }
    expect(ui.activities.map((a) => a.summary)).toContain(`lms: enterprise customer ${slug}`);
    expect(ui.currentDetails).toContain(`Provision ${slug}`);
    expect(ui.currentDetails).toContain('✓ create_subscription_plan_renewal');
  });

  it('redemption: "Redeem <content> for learner <id>, policy <name>" and each step', async () => {
    const budget = await createBudget(stack);
    const learner = await newLearner(stack, budget.customer);
    const token = await learnerToken(stack, budget.customer, learner.id);
    const res = await redeem(stack, token, budget.policy, { lms_user_id: learner.id, content_key: DEMO_RUN });
    expect(res.status).toBe(200);
    const id = await findRun(`PolicyUuid = '${budget.policy}' AND LmsUserId = ${learner.id}`);
    const ui = await webUi(stack.client.workflow.getHandle(id));
    expect(ui.summary).toMatch(
      new RegExp(`^Redeem ${DEMO_RUN.replaceAll('+', '\\+')} for learner ${learner.id}, policy `),
    );
    expect(ui.details).toContain(`Policy \`${budget.policy}\``);
    // The steps run as local activities (markers in the history), two steps sharing one where they can.
    expect(ui.activities.map((a) => a.type)).toEqual([
      'beginRedemption',
      'createLedgerTransaction',
      'enrollLearner',
      'completeRedemption',
    ]);
    expect(ui.activities.map((a) => a.summary)).toEqual([
      `attempt row, then check can_redeem and reserve in policy ${budget.policy}`,
      expect.stringMatching(/^ledger: pending transaction in subsidy /),
      `lms: enroll learner ${learner.id} in ${DEMO_RUN}`,
      expect.stringMatching(/^ledger: commit transaction .+; attempt row: redeemed$/),
    ]);
    expect(ui.currentDetails).toContain('✓ commit_transaction');
  });

  it('bulk enrollment: "Bulk enrollment <emails> × <courses> for <customer>" and one summary per chunk', async () => {
    const c = await licensedCustomer(stack);
    const plan = await newPlan(stack, c, 5);
    const emails = [newEmail(), newEmail()];
    await assignLicenses(stack, c, plan, emails);
    const [course] = await courseRuns(stack, 1);
    const res = await api(stack).start(c.admin, `enterprise_customer_uuid=${c.customer}`, {
      emails,
      course_run_keys: [course],
      notify: false,
    });
    expect(res.status).toBe(201);
    const job = res.body.job_id as string;
    await jobEnded(stack, c.admin, c.customer, job);
    const ui = await webUi(stack.client.workflow.getHandle(`bulk-license-enrollment-${job}`));
    expect(ui.summary).toBe(`Bulk enrollment 2 × 1 for ${c.customer}`);
    expect(ui.details).toContain(`Job \`${job}\``);
    expect(ui.activities.map((a) => a.summary)).toEqual([
      `job ${job}: read the request, number its emails and course keys`,
      'chunk 0: emails 0–1 × courses 0–0',
      `job ${job}: completed`,
    ]);
    expect(ui.currentDetails).toContain('✓ enroll_chunks');
  });
});
