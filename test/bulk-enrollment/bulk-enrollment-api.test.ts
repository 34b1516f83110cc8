import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MISSING } from '../../src/access/bulk-enrollment/licensing';
import { LMS_NOTES } from '../../src/access/bulk-enrollment/lms-outcomes';
import { SUBSCRIPTION_REQUIRED, TOO_MANY_PAIRS } from '../../src/access/bulk-enrollment/request';
import type { BulkEnrollmentProgress } from '../../src/workflows/bulk-license-enrollment';
import { statusQuery } from '../../src/workflows/definitions';
import type { WorkflowStatusView } from '../../src/workflows/step-log';
import { startTestStack, type TestStack, uniqueId } from '../helpers/stack';
import { temporalCli } from '../helpers/temporal-cli';
import {
  activateLicense,
  api,
  assignLicenses,
  courseRuns,
  daysFromNow,
  type JobView,
  jobEnded,
  type LicensedCustomer,
  licensedCustomer,
  lmsEnrollments,
  newEmail,
  newLmsUser,
  newPlan,
  resultsOf,
  revokeLicenses,
} from './setup';

/**
 * POST/GET /api/v1/bulk-license-enrollment and the `bulkLicenseEnrollment` workflow against a
 * real Temporal server, database and services (licenses-and-enrollment §6, §9 items 35-42).
 */
let stack: TestStack;
let c: LicensedCustomer;
let runs: string[];
let operator: string;
beforeAll(async () => {
  stack = await startTestStack();
  operator = await stack.operatorToken();
  c = await licensedCustomer(stack);
  runs = await courseRuns(stack, 3);
});
afterAll(async () => {
  await stack?.close();
});

const q = (extra = '') => `enterprise_customer_uuid=${c.customer}${extra}`;
const jobQuery = (job: string, extra = '') =>
  `enterprise_customer_uuid=${c.customer}&bulk_enrollment_job_uuid=${job}${extra}`;
const learner = (customer: string, userId = 4242) => stack.token({ roles: [`enterprise_learner:${customer}`], userId });
const validBody = () => ({ emails: [newEmail()], course_run_keys: [runs[0]], notify: false });

async function startJob(token: string, query: string, body: unknown): Promise<string> {
  const res = await api(stack).start(token, query, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(Object.keys(res.body)).toEqual(['job_id']);
  return res.body.job_id as string;
}

describe('POST: permissions and validation (§9.35, 9.38, 9.39)', () => {
  it('401 without a token; 404 without enterprise_customer_uuid or without a customer agreement', async () => {
    expect((await api(stack).start(null, q(), validBody())).status).toBe(401);
    expect((await api(stack).start(operator, '', validBody())).status).toBe(404);
    expect((await api(stack).start(operator, 'enterprise_customer_uuid=nope', validBody())).status).toBe(404);
    const none = await api(stack).start(operator, `enterprise_customer_uuid=${randomUUID()}`, validBody());
    expect(none.status).toBe(404);
    expect(String(none.body.detail)).toContain('No customer agreement');
  });

  it('403 for callers with no role on the customer (before the body is read)', async () => {
    const other = randomUUID();
    for (const roles of [[`enterprise_learner:${other}`], [`enterprise_admin:${other}`], []]) {
      const token = await stack.token({ roles, userId: 7 });
      const res = await api(stack).start(token, q(), {});
      expect(res.status, roles.join()).toBe(403);
    }
  });

  it('learners and admins of the customer and operators may start a job (upstream: learner or admin)', async () => {
    for (const token of [await learner(c.customer), c.admin, operator]) {
      await startJob(token, q(), validBody());
    }
  });

  it('400 naming each field', async () => {
    const cases: Array<[string, unknown, string, unknown]> = [
      [
        'no body',
        undefined,
        q(),
        {
          emails: ['This field is required.'],
          course_run_keys: ['This field is required.'],
          notify: ['This field is required.'],
        },
      ],
      ['empty emails', { ...validBody(), emails: [] }, q(), { emails: ['This list may not be empty.'] }],
      [
        'a bad email',
        { ...validBody(), emails: ['ok@example.com', 'not-an-email'] },
        q(),
        { emails: { '1': ['Enter a valid email address.'] } },
      ],
      [
        'empty course keys',
        { ...validBody(), course_run_keys: [] },
        q(),
        { course_run_keys: ['This list may not be empty.'] },
      ],
      [
        'notify missing',
        { emails: ['a@example.com'], course_run_keys: ['k'] },
        q(),
        { notify: ['This field is required.'] },
      ],
      ['enroll_all without a plan', validBody(), q('&enroll_all=true'), { subscription_id: [SUBSCRIPTION_REQUIRED] }],
      ['a malformed plan', validBody(), q('&subscription_uuid=nope'), { subscription_uuid: ['Must be a valid UUID.'] }],
    ];
    for (const [name, body, query, errors] of cases) {
      const res = await api(stack).start(c.admin, query, body);
      expect(res.status, name).toBe(400);
      expect(res.body, name).toEqual(errors);
    }
    const stranger = randomUUID();
    const res = await api(stack).start(c.admin, q(`&subscription_uuid=${stranger}`), validBody());
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ subscription_uuid: [`Invalid pk "${stranger}" - object does not exist.`] });
  });

  it('400 "Too many provided enrollments" above BULK_ENROLLMENT_MAX_PAIRS ((√100000 + 1)² pairs)', async () => {
    const n = 317; // 317² = 100,489 > 100,000
    const body = {
      emails: Array.from({ length: n }, (_, i) => `many-${i}@example.com`),
      course_run_keys: Array.from({ length: n }, (_, i) => `course-v1:edX+Many+${i}`),
      notify: false,
    };
    const res = await api(stack).start(c.admin, q(), body);
    expect(res.status).toBe(400);
    expect(res.body).toBe(TOO_MANY_PAIRS);
  });
});

describe('a job: the license check with upstream gaps closed, outcomes per pair (§6.3-6.4, §9.41-42)', () => {
  let plan: string;
  const who: Record<string, string> = {};
  let job: string;
  let view: JobView;

  beforeAll(async () => {
    plan = await newPlan(stack, c, 10);
    const expired = await newPlan(stack, c, 2, { start_date: daysFromNow(-400), expiration_date: daysFromNow(-35) });
    const inactive = await newPlan(stack, c, 2, { is_active: false });
    const elsewhere = await newPlan(stack, c, 2, { enterprise_catalog_uuid: randomUUID() });
    for (const k of [
      'assigned',
      'activated',
      'upper',
      'revoked',
      'unlicensed',
      'expired',
      'inactive',
      'notInCatalog',
    ]) {
      who[k] = newEmail(k.toLowerCase());
    }
    await assignLicenses(stack, c, plan, [who.assigned, who.activated, who.upper, who.revoked] as string[]);
    await activateLicense(stack, c, plan, who.activated as string);
    await revokeLicenses(stack, c, plan, [who.revoked as string]);
    await assignLicenses(stack, c, expired, [who.expired as string]);
    await assignLicenses(stack, c, inactive, [who.inactive as string]);
    await assignLicenses(stack, c, elsewhere, [who.notInCatalog as string]);

    const emails = Object.entries(who).map(([k, e]) => (k === 'upper' ? e.toUpperCase() : e));
    job = await startJob(c.admin, q(), { emails, course_run_keys: [runs[0], runs[1]], notify: true });
    view = await jobEnded(stack, c.admin, c.customer, job);
  });

  const outcome = (email: string | undefined, course = runs[0]) =>
    view.results.find((r) => r.email === email?.toLowerCase() && r.course_run_key === course);

  it('completes with one outcome per pair and exact counts', () => {
    expect(view.state).toBe('completed');
    expect(view.counts).toEqual({ total: 16, queued: 0, success: 2, pending: 4, failed: 10 });
    expect(view.progress).toEqual({ pairs_total: 16, pairs_done: 16, percent: 100 });
    expect(view.count).toBe(16);
    expect(view.download_url).toMatch(/\/api\/v1\/bulk-license-enrollment\?.*format=csv/);
  });

  it('enrolls activated licensees (success) and assigned ones without an account (pending), any email case', () => {
    expect(outcome(who.activated)).toMatchObject({ status: 'success', notes: '' });
    expect(outcome(who.assigned)).toMatchObject({ status: 'pending', notes: LMS_NOTES.pending });
    expect(outcome(who.upper)).toMatchObject({ status: 'pending', notes: LMS_NOTES.pending });
    expect(outcome(who.upper)?.email).toBe(who.upper?.toLowerCase());
  });

  it('does not enroll revoked licensees, expired or inactive plans, courses outside the plan catalog, the unlicensed', () => {
    expect(outcome(who.revoked)).toMatchObject({ status: 'failed', notes: MISSING.revoked, license_uuid: null });
    expect(outcome(who.expired)).toMatchObject({ status: 'failed', notes: MISSING.planNotCurrent });
    expect(outcome(who.inactive)).toMatchObject({ status: 'failed', notes: MISSING.planNotCurrent });
    expect(outcome(who.notInCatalog)).toMatchObject({ status: 'failed', notes: MISSING.notInCatalog });
    expect(outcome(who.unlicensed)).toMatchObject({ status: 'failed', notes: MISSING.none });
  });

  it('the lms holds exactly the licensed pairs, each once, under the license', async () => {
    const { enrolled, pending } = await lmsEnrollments(stack, c.customer, Object.values(who));
    expect(enrolled.map((e) => [e.email, e.course_id]).sort()).toEqual(
      [runs[0], runs[1]].map((r) => [who.activated, r]).sort(),
    );
    expect(pending.map((p) => [p.email, p.course_id]).sort()).toEqual(
      [who.assigned, who.upper].flatMap((e) => [runs[0], runs[1]].map((r) => [e?.toLowerCase(), r])).sort(),
    );
    const licenseOf = (email: string | undefined) => outcome(email)?.license_uuid;
    expect(enrolled.every((e) => e.license_uuid === licenseOf(who.activated))).toBe(true);
    expect(licenseOf(who.activated)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a repeated job enrolls nothing twice: same outcomes, no new lms rows', async () => {
    const before = await lmsEnrollments(stack, c.customer, Object.values(who));
    const again = await startJob(c.admin, q(), {
      emails: Object.values(who),
      course_run_keys: [runs[0], runs[1]],
      notify: true,
    });
    const second = await jobEnded(stack, c.admin, c.customer, again);
    expect(second.counts).toEqual(view.counts);
    const after = await lmsEnrollments(stack, c.customer, Object.values(who));
    expect(after.enrolled.length).toBe(before.enrolled.length);
    expect(after.pending.length).toBe(before.pending.length);
  });

  it('GET: 400 naming missing parameters, 403 without a role, 404 for an unknown job or another customer', async () => {
    const missing = await api(stack).job(c.admin, `enterprise_customer_uuid=${c.customer}`);
    expect(missing.status).toBe(400);
    expect(missing.body).toBe("Missing the following required request data: ['bulk_enrollment_job_uuid']");
    const both = await api(stack).job(c.admin, '');
    expect(both.body).toBe(
      "Missing the following required request data: ['enterprise_customer_uuid', 'bulk_enrollment_job_uuid']",
    );
    expect((await api(stack).job(null, jobQuery(job))).status).toBe(401);
    expect((await api(stack).job(await learner(randomUUID()), jobQuery(job))).status).toBe(403);
    expect((await api(stack).job(c.admin, jobQuery(randomUUID()))).status).toBe(404);
    const other = randomUUID();
    const otherAdmin = await stack.token({ roles: [`enterprise_admin:${other}`], userId: 2 });
    const res = await api(stack).job(otherAdmin, `enterprise_customer_uuid=${other}&bulk_enrollment_job_uuid=${job}`);
    expect(res.status).toBe(404);
    expect((await api(stack).job(await learner(c.customer), jobQuery(job))).status).toBe(200);
  });

  it('GET: filters results by status and paginates', async () => {
    const failed = await api(stack).job(c.admin, jobQuery(job, '&status=failed&page_size=4'));
    expect(failed.status).toBe(200);
    const body = failed.body as unknown as JobView;
    expect(body.count).toBe(10);
    expect(body.results).toHaveLength(4);
    expect(body.results.every((r) => r.status === 'failed')).toBe(true);
    expect(body.next).toContain('page=2');
    expect((await api(stack).job(c.admin, jobQuery(job, '&status=nope'))).status).toBe(400);
  });

  it("GET: the CSV with upstream's columns, one row per pair (§6.2)", async () => {
    const res = await fetch(view.download_url as string, { headers: { authorization: `JWT ${c.admin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toContain(`Bulk-Enrollment-Results-${job}.csv`);
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toBe('email address,course key,enrollment status,notes');
    expect(lines).toHaveLength(17);
    expect(lines).toContain(`${who.activated},${runs[0]},success,`);
    expect(lines).toContain(`${who.assigned},${runs[1]},pending,${LMS_NOTES.pending}`);
    expect(lines).toContain(`${who.revoked},${runs[0]},failed,${MISSING.revoked}`);
  });

  it('the workflow answers its status query and is found by its job uuid', async () => {
    const handle = stack.client.workflow.getHandle(`bulk-license-enrollment-${job}`);
    const status = (await handle.query(statusQuery)) as WorkflowStatusView;
    expect(status).toMatchObject({ status: 'completed', current_step: null });
    expect(status.steps.map((s) => [s.name, s.status])).toEqual([
      ['prepare', 'succeeded'],
      ['enroll_chunks', 'succeeded'],
      ['finish', 'succeeded'],
    ]);
    expect(status.progress as BulkEnrollmentProgress).toMatchObject({
      job_uuid: job,
      state: 'completed',
      chunks_total: 1,
      chunks_done: 1,
      pairs_total: 16,
      pairs_done: 16,
      success: 2,
      pending: 4,
      failed: 10,
      percent: 100,
    });
    expect(await handle.result()).toMatchObject({ job_uuid: job, state: 'completed', counts: view.counts });
  });
});

describe('enroll_all and subscription_uuid (§9.37)', () => {
  it("enroll_all=true replaces the emails with the plan's assigned and activated licensees (revoked excluded)", async () => {
    const plan = await newPlan(stack, c, 5);
    const licensees = [newEmail('all-a'), newEmail('all-b'), newEmail('all-c')];
    const gone = newEmail('all-revoked');
    await assignLicenses(stack, c, plan, [...licensees, gone]);
    await revokeLicenses(stack, c, plan, [gone]);
    await activateLicense(stack, c, plan, licensees[0] as string);
    const job = await startJob(c.admin, q(`&subscription_uuid=${plan}&enroll_all=true`), {
      emails: [newEmail('ignored')],
      course_run_keys: [runs[2]],
      notify: false,
    });
    const view = await jobEnded(stack, c.admin, c.customer, job);
    expect(view.results.map((r) => r.email).sort()).toEqual([...licensees].sort());
    expect(view.counts).toMatchObject({ total: 3, success: 1, pending: 2, failed: 0 });
  });

  it('subscription_uuid limits the check to that plan', async () => {
    const first = await newPlan(stack, c, 2);
    const second = await newPlan(stack, c, 2);
    const both = newEmail('both');
    const onlyFirst = newEmail('first');
    await assignLicenses(stack, c, first, [both, onlyFirst]);
    await assignLicenses(stack, c, second, [both]);
    const job = await startJob(c.admin, q(`&subscription_uuid=${second}`), {
      emails: [both, onlyFirst],
      course_run_keys: [runs[2]],
      notify: false,
    });
    await jobEnded(stack, c.admin, c.customer, job);
    const rows = await resultsOf(stack, job);
    expect(rows.length).toBe(2);
    const licenses = await stack.db.database
      .forSchema<{ licenses: { uuid: string; subscription_plan: string; user_email: string | null } }>(
        'license_manager',
      )
      .selectFrom('licenses')
      .select(['uuid', 'subscription_plan'])
      .where('user_email', '=', both)
      .execute();
    const inSecond = licenses.find((l) => l.subscription_plan === second)?.uuid;
    expect(rows.find((r) => r.email === both)).toMatchObject({ status: 'pending', license_uuid: inSecond });
    expect(rows.find((r) => r.email === onlyFirst)).toMatchObject({ status: 'failed', notes: MISSING.none });
  });

  it('learners with an lms account are enrolled (success), with their license', async () => {
    const plan = await newPlan(stack, c, 1);
    const email = newEmail('registered');
    await newLmsUser(stack, email);
    await assignLicenses(stack, c, plan, [email]);
    const job = await startJob(operator, q(), { emails: [email], course_run_keys: [runs[2]], notify: false });
    const view = await jobEnded(stack, operator, c.customer, job);
    expect(view.results).toEqual([
      expect.objectContaining({ email, course_run_key: runs[2], status: 'success', notes: '' }),
    ]);
  });
});

describe('the temporal CLI starts a job (README command)', () => {
  const run = temporalCli(() => stack);

  it('runs a job from the request JSON, continuing as new every few chunks, and answers the status query', async () => {
    const plan = await newPlan(stack, c, 6);
    const emails = Array.from({ length: 6 }, (_, i) => newEmail(`cli${i}`));
    await assignLicenses(stack, c, plan, emails);
    const workflowId = uniqueId('bulk-enroll-cli');
    const input = {
      enterprise_customer_uuid: c.customer,
      emails,
      course_run_keys: runs,
      notify: false,
      emails_per_chunk: 2,
      courses_per_chunk: 2,
      chunks_per_run: 2,
    };
    const started = await run([
      'workflow',
      'start',
      '--type',
      'bulkLicenseEnrollment',
      '--task-queue',
      stack.taskQueue,
      '--workflow-id',
      workflowId,
      '--input',
      JSON.stringify(input),
    ]);
    expect(started.status, started.stderr).toBe(0);
    const result = (await stack.client.workflow.getHandle(workflowId).result()) as {
      job_uuid: string;
      state: string;
      counts: Record<string, number>;
    };
    // 6 emails × 3 courses in chunks of 2 × 2: 6 chunks, 2 per run → 3 runs.
    expect(result).toMatchObject({ state: 'completed', counts: { total: 18, pending: 18, failed: 0, queued: 0 } });
    const query = await run(['workflow', 'query', '--workflow-id', workflowId, '--name', 'status']);
    expect(query.status, query.stderr).toBe(0);
    expect(query.stdout).toContain('"state":"completed"');
    expect(query.stdout).toContain('"run":3');
    const list = await run(['workflow', 'list', '--query', `BulkEnrollmentJobUuid='${result.job_uuid}'`]);
    expect(list.stdout).toContain(workflowId);
    const view = await jobEnded(stack, operator, c.customer, result.job_uuid);
    expect(view.counts).toEqual(result.counts);
    expect(view.state).toBe('completed');
  });

  it('fails at once, naming the field, when the CLI input is invalid', async () => {
    const exec = await run([
      'workflow',
      'execute',
      '--type',
      'bulkLicenseEnrollment',
      '--task-queue',
      stack.taskQueue,
      '--workflow-id',
      uniqueId('bulk-enroll-bad'),
      '--input',
      JSON.stringify({ enterprise_customer_uuid: c.customer, emails: [], course_run_keys: runs, notify: false }),
    ]);
    expect(exec.status).not.toBe(0);
    expect(`${exec.stdout}${exec.stderr}`).toContain(
      'Invalid bulk enrollment request: emails: This list may not be empty.',
    );
  });
});
