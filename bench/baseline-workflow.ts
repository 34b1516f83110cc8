import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import { RETRY } from '../src/workflows/retry-policies';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({
  startToCloseTimeout: '30 seconds',
  retry: RETRY.transient,
});

/**
 * A workflow of `steps` no-op activities, one after another, with `parallel` more at once in the
 * middle: the shape of provisioning without its I/O. Benchmarks run it beside the real thing on
 * the same server and worker, so the ratio shows what our own code costs.
 */
export async function baselineSteps(steps: number, parallel = 0): Promise<number> {
  let done = 0;
  for (let i = 0; i < steps; i++) {
    await noop();
    done += 1;
    if (i === 1 && parallel > 0) {
      await Promise.all(Array.from({ length: parallel }, () => noop()));
      done += parallel;
    }
  }
  return done;
}

const { noop: localNoop } = proxyLocalActivities<{ noop(): Promise<void> }>({
  startToCloseTimeout: '30 seconds',
  retry: RETRY.transient,
});

/** The same shape with local activities (run by the worker in the workflow task, no task round trips). */
export async function baselineLocalSteps(steps: number): Promise<number> {
  for (let i = 0; i < steps; i++) await localNoop();
  return steps;
}
