import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { noop } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
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
