/**
 * `npm run bench:provisioning [-- --count 200 --concurrency 20]`
 *
 * N provisionings through the HTTP API on the local stack, and in the same run the baseline: a
 * workflow of the same number of no-op activities, in the same shape, on the same server and
 * worker. Prints p50/p95 latency and throughput of both and their ratios, and records them in
 * docs/benchmarks.md. Targets: throughput ≥ 0.5× baseline, p50 ≤ 2× baseline p50.
 */
import { request } from 'undici';
import { exampleProvisioningRequest } from '../src/access/provisioning/example';
import { baselineSteps } from '../src/workflows';
import { argNumber, machine, percentile, recordSection, runConcurrent, startBenchStack } from './lib';

const count = argNumber('count', 200);
const concurrency = argNumber('concurrency', 20);
const ADMINS = 2;

const withLicenses = <T extends { trial_subscription_plan: { desired_num_licenses: number } }>(body: T, n: number) => {
  body.trial_subscription_plan.desired_num_licenses = n;
  return body;
};

const stack = await startBenchStack();
try {
  const token = await stack.token(['enterprise_provisioning_admin:*']);
  const post = async (i: number, prefix: string) => {
    const res = await request(`${stack.apiUrl}/api/v1/provisioning`, {
      method: 'POST',
      headers: { authorization: `JWT ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(withLicenses(exampleProvisioningRequest(`${prefix}${i}`, ADMINS), 10)),
    });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`provisioning ${i}: HTTP ${res.statusCode} ${text}`);
  };
  // Warm-up: JIT, connection pools, the worker's workflow cache.
  await runConcurrent(10, 5, (i) => post(i, 'warm'));
  const baselineRun = (i: number) =>
    stack.client.workflow.execute(baselineSteps, {
      taskQueue: stack.taskQueue,
      workflowId: `baseline-${Date.now()}-${i}`,
      // customer, admin list, catalog, agreement, trial, paid, renewal + one activity per admin
      args: [7, ADMINS],
    });
  await runConcurrent(10, 5, async (i) => {
    await baselineRun(i);
  });

  const base = await runConcurrent(count, concurrency, async (i) => {
    await baselineRun(i);
  });
  const prov = await runConcurrent(count, concurrency, (i) => post(i, 'bench'));

  const row = (name: string, r: typeof base) =>
    `| ${name} | ${r.throughput.toFixed(1)} | ${percentile(r.latencies, 50).toFixed(0)} | ${percentile(r.latencies, 95).toFixed(0)} |`;
  const throughputRatio = prov.throughput / base.throughput;
  const p50Ratio = percentile(prov.latencies, 50) / percentile(base.latencies, 50);
  const md = `## Provisioning (\`npm run bench:provisioning\`)

${new Date().toISOString().slice(0, 10)}; ${count} requests at concurrency ${concurrency}; ${machine()}.

| run | throughput (/s) | p50 (ms) | p95 (ms) |
| --- | ---: | ---: | ---: |
${row('provisioning via POST /api/v1/provisioning', prov)}
${row(`baseline: ${7 + ADMINS} no-op activities via the client`, base)}

Throughput ratio ${throughputRatio.toFixed(2)} (target ≥ 0.5); p50 ratio ${p50Ratio.toFixed(2)} (target ≤ 2).`;
  process.stdout.write(`${md}\n`);
  recordSection('provisioning', md);
} finally {
  await stack.close();
}
