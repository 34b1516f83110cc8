import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validBody } from '../helpers/provisioning';
import { provision, provisionedRows } from '../helpers/provisioning-db';
import { startTestStack, type TestStack, uniqueId } from '../helpers/stack';
import { temporalCli } from '../helpers/temporal-cli';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';

/**
 * Durability with real processes: the worker runs as its own process (the `start:worker`
 * entry), is SIGKILLed mid-workflow and replaced; the CLI starts workflows like an operator.
 */
let stack: TestStack;
const workers: WorkerProcess[] = [];
beforeAll(async () => {
  stack = await startTestStack({
    worker: false,
    workerProcesses: true,
    env: {
      PROVISIONING_WAIT_SECONDS: '1',
      PROVISIONING_ATTEMPT_TIMEOUT_SECONDS: '3',
      PROVISIONING_RETRY_WINDOW_SECONDS: '120',
    },
  });
});
afterAll(async () => {
  for (const w of workers) await w.kill().catch(() => {});
  await stack?.close();
});

const slugOf = (prefix: string) => uniqueId(prefix).slice(0, 30);
let crashedRunUrl = '';
type StatusView = {
  status: string;
  current_step: string | null;
  steps: Array<{ name: string; status: string; attempts: number; last_error: string | null }>;
  result: Record<string, unknown> | null;
};

async function status(url: string): Promise<StatusView> {
  const t = await stack.token({ roles: ['enterprise_provisioning_admin:*'] });
  const res = await stack.api.inject({ url, headers: { authorization: `JWT ${t}` } });
  expect(res.statusCode).toBe(200);
  return res.json() as StatusView;
}

async function until(url: string, done: (v: StatusView) => boolean, ms = 90_000): Promise<StatusView> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await status(url);
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out; last view ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('provisioning survives a worker crash', () => {
  it('completes with no duplicate when the worker is SIGKILLed after the catalog step and restarted', async () => {
    const first = await startWorkerProcess(stack);
    workers.push(first);
    const slug = slugOf('crash');
    // Hold the agreement lookup long enough to kill the worker while that step is in flight.
    await stack.faults('license-manager').add({
      method: 'GET',
      route: '/api/v1/customer-agreement/',
      delayOnly: true,
      delayMs: 2500,
      count: 1,
    });

    const accepted = await provision(stack, validBody(slug));
    expect(accepted.status).toBe(202);
    expect(Object.keys(accepted.body).sort()).toEqual(['run_id', 'status_url', 'workflow_id']);
    const url = accepted.body.status_url as string;

    const running = await until(url, (v) => v.current_step === 'create_customer_agreement');
    expect(running.status).toBe('running');
    expect(running.steps.slice(0, 3).map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(running.steps.slice(4).every((s) => s.status === 'pending')).toBe(true);

    await first.kill();
    const second = await startWorkerProcess(stack);
    workers.push(second);

    const done = await until(url, (v) => v.status !== 'running');
    expect(done.status).toBe('completed');
    const agreementStep = done.steps.find((s) => s.name === 'create_customer_agreement');
    expect(agreementStep?.attempts).toBeGreaterThanOrEqual(2);
    expect(await provisionedRows(stack, slug)).toMatchObject({
      customers: 1,
      pendingAdmins: 1,
      catalogs: 1,
      agreements: 1,
      plans: 2,
      licenses: 10,
      renewals: 1,
    });
    const again = await provision(stack, validBody(slug));
    expect(again.status).toBe(201);
    expect(again.body).toEqual(done.result);
    crashedRunUrl = url;
  });

  it('still shows the closed run step by step with no worker running (rebuilt from its history)', async () => {
    for (const w of workers) await w.stop();
    const view = await status(crashedRunUrl);
    expect(view.status).toBe('completed');
    expect(view.steps.map((s) => s.status)).toEqual(Array(7).fill('succeeded'));
    expect(view.steps.find((s) => s.name === 'create_customer_agreement')?.attempts).toBeGreaterThanOrEqual(2);
    expect(view.result).toMatchObject({ enterprise_customer: { slug: expect.any(String) } });
  });
});

describe('the temporal CLI', () => {
  const run = temporalCli(() => stack);

  /** `temporal workflow execute --type provisionNewCustomer` with the given workflow inputs. */
  const executeProvisioning = (workflowId: string, ...inputs: unknown[]) =>
    run([
      'workflow',
      'execute',
      '--type',
      'provisionNewCustomer',
      '--task-queue',
      stack.taskQueue,
      '--workflow-id',
      workflowId,
      ...inputs.flatMap((i) => ['--input', JSON.stringify(i)]),
    ]);

  it('starts a provisioning with the HTTP body as input, which completes and answers the status query', async () => {
    if (workers.every((w) => w.child.exitCode !== null || w.child.signalCode !== null)) {
      workers.push(await startWorkerProcess(stack));
    }
    const slug = slugOf('cli');
    const workflowId = `cli-${slug}`;
    const exec = await executeProvisioning(workflowId, validBody(slug));
    expect(exec.stdout, `${exec.stdout}${exec.stderr}\n${workers.map((w) => w.output()).join('\n')}`).toContain(
      'COMPLETED',
    );
    const query = await run(['workflow', 'query', '--workflow-id', workflowId, '--name', 'status']);
    expect(query.status).toBe(0);
    expect(query.stdout).toContain('"status":"completed"');
    const list = await run(['workflow', 'list', '--query', `CustomerSlug='${slug}'`]);
    expect(list.stdout).toContain(workflowId);
    expect(await provisionedRows(stack, slug)).toMatchObject({ customers: 1, agreements: 1, plans: 2, renewals: 1 });
  });

  it('gives up on a step that keeps failing transiently at the end of the retry window, with the last error', async () => {
    await stack
      .faults('lms')
      .add({ method: 'GET', route: '/enterprise/api/v1/enterprise-customer/', status: 503, count: 0 });
    const slug = slugOf('down');
    const exec = await executeProvisioning(`cli-${slug}`, validBody(slug), { retryWindowSeconds: 3 });
    const [rule] = await stack.faults('lms').list();
    await stack.faults('lms').clear();
    expect(exec.status).not.toBe(0);
    expect(`${exec.stdout}${exec.stderr}`).toContain(
      'create_customer: still failing at the end of the retry window; last error: lms get enterprise customer: HTTP 503',
    );
    expect(rule?.hits).toBeGreaterThan(2);
  });

  it('fails at once, naming the field, when the CLI input is invalid', async () => {
    const body = validBody('bad') as unknown as { enterprise_customer: { slug?: string } };
    delete body.enterprise_customer.slug;
    const exec = await executeProvisioning(uniqueId('cli-bad'), body);
    expect(exec.status).not.toBe(0);
    expect(`${exec.stdout}${exec.stderr}`).toContain(
      'Invalid provisioning request: enterprise_customer.slug: This field is required.',
    );
  });
});
