import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkStack } from '../../src/workflows';
import { startTestStack, type TestStack, uniqueId } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('checkStack: a workflow on a real worker whose activities call real services over HTTP', () => {
  it('reaches every service', async () => {
    const result = await stack.client.workflow.execute(checkStack, {
      taskQueue: stack.taskQueue,
      workflowId: uniqueId('check-stack'),
    });
    expect(result.map((r) => r.service).sort()).toEqual(['catalog', 'license-manager', 'lms', 'subsidy']);
    expect(result.every((r) => r.status === 'ok' && r.attempt === 1)).toBe(true);
  });

  it('retries transient faults injected at the service (503, dropped connection) and then succeeds', async () => {
    await stack.faults('lms').add({ method: 'GET', route: '/healthz', status: 503, count: 2 });
    await stack.faults('subsidy').add({ method: 'GET', route: '/healthz', reset: true, count: 1 });
    const workflowId = uniqueId('check-stack');
    const result = await stack.client.workflow.execute(checkStack, { taskQueue: stack.taskQueue, workflowId });
    expect(result.find((r) => r.service === 'lms')?.attempt).toBe(3);
    expect(result.find((r) => r.service === 'subsidy')?.attempt).toBe(2);
    expect(result.find((r) => r.service === 'catalog')?.attempt).toBe(1);
    const [rule] = await stack.faults('lms').list();
    expect(rule?.hits).toBe(2);

    // The workflow history tells the same story: the lms activity failed twice before it completed.
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const completed = history.events?.filter((e) => e.activityTaskStartedEventAttributes?.attempt === 3) ?? [];
    expect(completed.length).toBe(1);
  });

  it('fails at once, without retrying, when a service refuses the call with a 4xx', async () => {
    await stack
      .faults('catalog')
      .add({ method: 'GET', route: '/healthz', status: 400, count: 5, body: { detail: 'nope' } });
    const err = await stack.client.workflow
      .execute(checkStack, { taskQueue: stack.taskQueue, workflowId: uniqueId('check-stack') })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause?.cause as Error & { type?: string; nonRetryable?: boolean };
    expect(cause.message).toContain('catalog health check: HTTP 400 nope');
    expect(cause.type).toBe('ServiceRejected');
    const [rule] = await stack.faults('catalog').list();
    expect(rule?.hits).toBe(1);
    await stack.faults('catalog').clear();
  });
});
