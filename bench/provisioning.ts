/**
 * `npm run bench:provisioning [-- --count 200 --concurrency 20 --label before]`
 *
 * N provisionings through the HTTP API on the local stack, and in the same run, the same number
 * at the same concurrency on fresh slugs through the direct pipeline (bench/direct-provisioning.ts:
 * the workflow's activity functions called in-process in its order, without Temporal, as a
 * synchronous service runs them). Extra row: a workflow of the same number of no-op activities,
 * in the same shape, on the same server and worker. Prints p50/p95 latency and throughput and
 * their ratios, and records them in docs/benchmarks.md. Target: p50 ≤ 1.5× the direct p50.
 */
import { request } from 'undici';
import { exampleProvisioningRequest } from '../src/access/provisioning/example';
import { createProvisioningActivities } from '../src/activities/provisioning';
import { baselineSteps } from './baseline-workflow';
import { directProvision } from './direct-provisioning';
import { argNumber, argString, machine, percentile, recordSection, runConcurrent, startBenchStack } from './lib';

const count = argNumber('count', 200);
const concurrency = argNumber('concurrency', 20);
const label = argString('label', 'none');
const single = argNumber('single', 20);
const ADMINS = 2;

const withLicenses = <T extends { trial_subscription_plan: { desired_num_licenses: number } }>(body: T, n: number) => {
  body.trial_subscription_plan.desired_num_licenses = n;
  return body;
};
const body = (slug: string) => withLicenses(exampleProvisioningRequest(slug, ADMINS), 10);

const stack = await startBenchStack();
try {
  const token = await stack.token(['enterprise_provisioning_admin:*']);
  const post = async (i: number, prefix: string) => {
    const res = await request(`${stack.apiUrl}/api/v1/provisioning`, {
      method: 'POST',
      headers: { authorization: `JWT ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body(`${prefix}${i}`)),
    });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`provisioning ${i}: HTTP ${res.statusCode} ${text}`);
  };
  const activities = createProvisioningActivities({
    clients: stack.orchestrator.clients,
    siteDomain: stack.orchestrator.settings.provisioning.siteDomain,
  });
  const provisionDirect = async (i: number, prefix: string) => {
    // The activities' input as the workflow receives it: the request body, as JSON.
    const res = await directProvision(activities, JSON.parse(JSON.stringify(body(`${prefix}${i}`))));
    if (res.enterprise_customer.slug !== `${prefix}${i}`) throw new Error(`direct provisioning ${i}: wrong customer`);
  };
  // Warm-up: JIT, connection pools, the worker's workflow cache.
  await runConcurrent(10, 5, (i) => post(i, 'warm'));
  await runConcurrent(10, 5, (i) => provisionDirect(i, 'dwarm'));
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

  // One provisioning at a time (no contention), alternating the two paths.
  const alone = { api: [] as number[], direct: [] as number[] };
  for (let i = 0; i < single; i++) {
    let t0 = performance.now();
    await post(i, 'alone');
    alone.api.push(performance.now() - t0);
    t0 = performance.now();
    await provisionDirect(i, 'dalone');
    alone.direct.push(performance.now() - t0);
  }
  const aloneRatio = percentile(alone.api, 50) / percentile(alone.direct, 50);

  const base = await runConcurrent(count, concurrency, async (i) => {
    await baselineRun(i);
  });
  const prov = await runConcurrent(count, concurrency, (i) => post(i, 'bench'));
  const direct = await runConcurrent(count, concurrency, (i) => provisionDirect(i, 'direct'));

  const row = (name: string, r: typeof base) =>
    `| ${name} | ${r.throughput.toFixed(1)} | ${percentile(r.latencies, 50).toFixed(0)} | ${percentile(r.latencies, 95).toFixed(0)} |`;
  const p50 = (r: typeof base) => percentile(r.latencies, 50);
  const directP50Ratio = p50(prov) / p50(direct);
  const directThroughputRatio = prov.throughput / direct.throughput;
  const throughputRatio = prov.throughput / base.throughput;
  const p50Ratio = p50(prov) / p50(base);
  const md = `## Provisioning (\`npm run bench:provisioning\`)

Label: ${label}

${new Date().toISOString().slice(0, 10)}; ${count} requests at concurrency ${concurrency}, each run on fresh slugs; ${machine()}.

The direct pipeline (\`bench/direct-provisioning.ts\`) calls the provisioning workflow's activity functions in-process,
in the workflow's order and with its inputs, without Temporal, as a synchronous service would. It has no HTTP edge of
its own: the workflow path's figures also carry the api's request (JWT, body validation, starting and awaiting the workflow).

| run | throughput (/s) | p50 (ms) | p95 (ms) |
| --- | ---: | ---: | ---: |
${row('provisioning via POST /api/v1/provisioning (workflow)', prov)}
${row('direct: the same get-or-create calls in-process, no Temporal', direct)}
${row(`extra: ${7 + ADMINS} no-op activities via the client`, base)}

Against the direct pipeline: p50 ratio ${directP50Ratio.toFixed(2)} (target ≤ 1.5: ${directP50Ratio <= 1.5 ? 'met' : '**not met**'}); throughput ratio ${directThroughputRatio.toFixed(2)}.
Against the no-op workflow: throughput ratio ${throughputRatio.toFixed(2)}; p50 ratio ${p50Ratio.toFixed(2)}.

One at a time (${single} each, no contention): the workflow p50 ${percentile(alone.api, 50).toFixed(0)} ms, the direct pipeline ${percentile(alone.direct, 50).toFixed(0)} ms: ratio ${aloneRatio.toFixed(2)} (${aloneRatio <= 1.5 ? 'met' : '**not met**'}).`;
  process.stdout.write(`${md}\n`);
  recordSection('provisioning', md);
} finally {
  await stack.close();
}
