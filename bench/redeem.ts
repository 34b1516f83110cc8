/**
 * `npm run bench:redeem [-- --count 500 --concurrency 50 --fits 400 --single 50 --label before]`
 *
 * Every redemption run is measured twice in the same run: through POST .../redeem/ (the api
 * starts the redeem workflow and waits for it) and through the direct pipeline
 * (bench/direct-redeem.ts: the same steps in-process, one after another, without Temporal, as a
 * synchronous service runs them). Each run has its own customer, subsidy and budget and its own
 * fresh learners.
 *
 * 1. One redemption, no contention: `single` redemptions one after another, each by another
 *    learner, alternating the workflow and the direct pipeline (and, as an extra row, the no-op
 *    workflow below) after a few of each to warm up; p50/p99 of each.
 * 2. A storm on one budget: `count` learners redeem at once (at most `concurrency` in flight) on a
 *    policy whose spend limit fits `fits` of them; checks that exactly `fits` are committed and
 *    the ledger, policy and learner totals match (no overspend), and that every other answer is a
 *    422 (no 429, no 5xx). Then the same storm through the direct pipeline on a fresh budget.
 *    Extra row: a workflow of the same shape (six no-op activities) on the same server and worker.
 * 3. can-redeem for 10 content keys against GET /api/v1/me (a trivial authenticated route),
 *    p50/p99, for a learner who holds none of the keys and for one who holds one.
 * Records them in docs/benchmarks.md. Targets: single p50 ≤ 1.5× the direct p50; storm
 * throughput ≥ 0.5× the direct pipeline's, no overspend, no 429/5xx; can-redeem p99 ≤ 3× the
 * trivial route's, for both learners.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AccessDB } from '../src/access/schema';
import type { SubsidyDB } from '../src/services/subsidy/schema';
import { REDEEM_STEPS } from '../src/workflows/redeem';
import { baselineSteps } from './baseline-workflow';
import { type DirectRedeemResult, directRedeemer } from './direct-redeem';
import {
  argNumber,
  argString,
  call,
  machine,
  must,
  percentile,
  recordSection,
  runConcurrent,
  startBenchStack,
} from './lib';

const count = argNumber('count', 500);
const concurrency = argNumber('concurrency', 50);
const fits = Math.min(argNumber('fits', Math.round(count * 0.8)), count);
const single = argNumber('single', 50);
const readCount = argNumber('reads', 2000);
const readConcurrency = argNumber('read-concurrency', 10);
const label = argString('label', 'none');
const WARM = 5;
const RUN = 'course-v1:edX+DemoX+2026';
const PRICE = 19_900;

const stack = await startBenchStack();

try {
  const op = await stack.token(['enterprise_openedx_operator:*']);
  const lms = stack.urls.lms as string;
  const directRedeem = directRedeemer(stack.orchestrator);

  /** A customer with a catalog, a subsidy and one budget that fits `fitting` redemptions, and `learnerCount` of its learners. */
  const budget = async (name: string, fitting: number, learnerCount: number) => {
    const customer = await must(
      'customer',
      call('POST', `${lms}/enterprise/api/v1/enterprise-customer/`, op, {
        name,
        slug: `bench-${randomBytes(4).toString('hex')}`,
        country: 'US',
      }),
    );
    const catalog = await must(
      'catalog',
      call('POST', `${lms}/enterprise/api/v1/enterprise_customer_catalog/`, op, {
        enterprise_customer: customer.uuid,
        title: 'All',
        enterprise_catalog_query: 1,
      }),
    );
    const subsidy = await must(
      'subsidy',
      call('POST', `${stack.urls.subsidy}/api/v1/subsidies/`, op, {
        title: `${name} credit`,
        enterprise_customer_uuid: customer.uuid,
        active_datetime: new Date(Date.now() - 86_400_000).toISOString(),
        expiration_datetime: new Date(Date.now() + 365 * 86_400_000).toISOString(),
        unit: 'usd_cents',
        starting_balance: 1_000_000_000,
        reference_id: `00k${randomUUID().replaceAll('-', '').slice(0, 15)}`,
        reference_type: 'salesforce_opportunity_line_item',
      }),
    );
    const policy = await must(
      'policy',
      call('POST', `${stack.apiUrl}/api/v1/subsidy-access-policies/`, op, {
        policy_type: 'PerLearnerSpendCreditAccessPolicy',
        enterprise_customer_uuid: customer.uuid,
        catalog_uuid: catalog.uuid,
        subsidy_uuid: subsidy.uuid,
        access_method: 'direct',
        display_name: `${name} budget`,
        active: true,
        spend_limit: fitting * PRICE,
      }),
    );
    const learners: number[] = [];
    await runConcurrent(learnerCount, 20, async () => {
      const user = await must(
        'user',
        call('POST', `${lms}/api/user/v1/accounts`, op, { email: `b-${randomBytes(6).toString('hex')}@example.com` }),
      );
      await must(
        'link',
        call('POST', `${lms}/enterprise/api/v1/enterprise-learner/`, op, {
          enterprise_customer: customer.uuid,
          user_id: user.id,
        }),
      );
      learners.push(user.id as number);
    });
    const tokens = await Promise.all(learners.map((id) => stack.token([`enterprise_learner:${customer.uuid}`], id)));
    const policyUuid = policy.uuid as string;
    return {
      customerUuid: customer.uuid as string,
      policyUuid,
      learners,
      tokens,
      /** One redemption through the api (the redeem workflow); its HTTP status. */
      viaApi: async (i: number) =>
        (
          await call('POST', `${stack.apiUrl}/api/v1/policy-redemption/${policyUuid}/redeem/`, tokens[i] as string, {
            lms_user_id: learners[i],
            content_key: RUN,
          })
        ).status,
      /** One redemption through the direct pipeline; its outcome (`error` when it threw). */
      viaDirect: async (i: number): Promise<DirectRedeemResult['outcome'] | 'error'> => {
        try {
          const r = await directRedeem({
            policy_uuid: policyUuid,
            lms_user_id: learners[i] as number,
            content_key: RUN,
            requested_by: String(learners[i]),
          });
          return r.outcome;
        } catch {
          return 'error';
        }
      },
    };
  };
  const tally = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  const listed = <K>(m: Map<K, number>) =>
    [...m.entries()]
      .sort()
      .map(([s, n]) => `${n} × ${s}`)
      .join(', ');

  const singleApi = await budget('Bench single (workflow)', WARM + single, WARM + single);
  const singleDirect = await budget('Bench single (direct)', WARM + single, WARM + single);
  const stormApi = await budget('Bench storm (workflow)', fits, count + 1);
  const stormDirect = await budget('Bench storm (direct)', fits, count);

  // The no-op workflow of the same shape (extra rows), started through the client.
  const baselineRun = (i: number) =>
    stack.client.workflow.execute(baselineSteps, {
      taskQueue: stack.taskQueue,
      workflowId: `baseline-${Date.now()}-${i}`,
      args: [REDEEM_STEPS.length, 0],
    });

  // 1. One redemption at a time, alternating the two paths (and the no-op workflow); the first
  //    WARM of each are not counted.
  const one = { api: [] as number[], direct: [] as number[], noop: [] as number[] };
  const oneApiStatuses = new Map<number, number>();
  const oneDirectOutcomes = new Map<string, number>();
  for (let i = 0; i < WARM + single; i++) {
    const t0 = performance.now();
    const status = await singleApi.viaApi(i);
    const t1 = performance.now();
    const outcome = await singleDirect.viaDirect(i);
    const t2 = performance.now();
    await baselineRun(i);
    const t3 = performance.now();
    if (i < WARM) continue;
    one.api.push(t1 - t0);
    one.direct.push(t2 - t1);
    one.noop.push(t3 - t2);
    tally(oneApiStatuses, status);
    tally(oneDirectOutcomes, outcome);
  }
  const oneExact = oneApiStatuses.get(200) === single && oneDirectOutcomes.get('redeemed') === single;

  await runConcurrent(20, 10, async (i) => {
    await baselineRun(i);
  });
  const base = await runConcurrent(count, concurrency, async (i) => {
    await baselineRun(i);
  });

  // 2. The storm: through the api, then through the direct pipeline on its own budget.
  const statuses = new Map<number, number>();
  const storm = await runConcurrent(count, concurrency, async (i) => {
    tally(statuses, await stormApi.viaApi(i));
  });
  const directOutcomes = new Map<string, number>();
  const directStorm = await runConcurrent(count, concurrency, async (i) => {
    tally(directOutcomes, await stormDirect.viaDirect(i));
  });

  const totals = async (policyUuid: string) => {
    const committed = await stack.database
      .forSchema<SubsidyDB>('subsidy')
      .selectFrom('transactions')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('quantity').as('total')])
      .where('subsidy_access_policy_uuid', '=', policyUuid)
      .where('state', '=', 'committed')
      .executeTakeFirstOrThrow();
    const spend = await stack.database
      .forSchema<AccessDB>('access')
      .selectFrom('policy_spend')
      .selectAll()
      .where('policy_uuid', '=', policyUuid)
      .executeTakeFirstOrThrow();
    const n = Number(committed.n);
    const cents = -Number(committed.total);
    const overspend = cents > fits * PRICE;
    const exact =
      n === fits && Number(spend.spent_cents) === fits * PRICE && Number(spend.redemptions) === fits && !overspend;
    return {
      exact,
      text: `committed ${n} transactions, ${cents} cents of a ${fits * PRICE} limit; local policy aggregate ${spend.spent_cents} cents / ${spend.redemptions} redemptions`,
    };
  };
  const apiTotals = await totals(stormApi.policyUuid);
  const directTotals = await totals(stormDirect.policyUuid);
  const bad = [...statuses.entries()].filter(([s]) => s === 429 || s >= 500);
  const apiExact =
    apiTotals.exact && statuses.get(200) === fits && (statuses.get(422) ?? 0) === count - fits && bad.length === 0;
  const directExact =
    directTotals.exact &&
    directOutcomes.get('redeemed') === fits &&
    (directOutcomes.get('rejected') ?? 0) === count - fits;

  // 3. can-redeem for 10 keys (the storm budget's last learner has not redeemed) against the trivial route.
  const keys = [RUN, ...(await seedRuns(9))];
  const reader = stormApi.learners[count] as number;
  const readerToken = stormApi.tokens[count] as string;
  const q = keys.map((k) => `content_key=${encodeURIComponent(k)}`).join('&');
  const canRedeemUrl = `${stack.apiUrl}/api/v1/policy-redemption/enterprise-customer/${stormApi.customerUuid}/can-redeem/?${q}`;
  const check = await call('GET', canRedeemUrl, readerToken);
  if (check.status !== 200) throw new Error(`can-redeem: HTTP ${check.status} ${JSON.stringify(check.body)}`);
  const getAs = (url: string, token: string) => async () => {
    const r = await call('GET', url, token);
    if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status}`);
  };
  const meUrl = `${stack.apiUrl}/api/v1/me`;
  await runConcurrent(200, readConcurrency, getAs(canRedeemUrl, readerToken));
  await runConcurrent(200, readConcurrency, getAs(meUrl, readerToken));
  const me = await runConcurrent(readCount, readConcurrency, getAs(meUrl, readerToken));
  const reads = await runConcurrent(readCount, readConcurrency, getAs(canRedeemUrl, readerToken));
  // The same for a learner who redeemed one of the keys in the storm: its transactions are read
  // fresh from the ledger (one more call), to show reversals at once.
  const holder = await firstRedeemer(stormApi.policyUuid);
  const holderToken = stormApi.tokens[stormApi.learners.indexOf(holder)] as string;
  await runConcurrent(200, readConcurrency, getAs(canRedeemUrl, holderToken));
  const held = await runConcurrent(readCount, readConcurrency, getAs(canRedeemUrl, holderToken));

  const ms = (v: number) => v.toFixed(1);
  const p = percentile;
  const singleRatio = p(one.api, 50) / p(one.direct, 50);
  const stormRatio = storm.throughput / directStorm.throughput;
  const noopRatio = storm.throughput / base.throughput;
  const readRatio = p(reads.latencies, 99) / p(me.latencies, 99);
  const heldRatio = p(held.latencies, 99) / p(me.latencies, 99);
  const met = (ok: boolean) => (ok ? 'met' : '**not met**');
  const md = `## Learner-credit redemption (\`npm run bench:redeem\`)

Label: ${label}

${new Date().toISOString().slice(0, 10)}; ${machine()}.

The direct pipeline (\`bench/direct-redeem.ts\`) calls the redeem workflow's own activity functions in-process, one
after another, without Temporal, as a synchronous service would: attempt row, facts from the services and
check-and-reserve under the policy's row lock, ledger transaction, lms enrollment, commit, attempt finished. It has no
HTTP edge of its own: the workflow path's figures also carry the api's request (JWT, body, policy lookup, the
generation read that names the workflow). The redeem workflow runs its steps as local activities (four of them: the
attempt row with the check, the ledger transaction, the enrollment, the commit with the attempt's end), so a
redemption is one or two workflow tasks; the no-op row is the first shape (six activities, each its own task).

### One redemption, no contention

${single} redemptions one after another, each by another learner, alternating the two paths and the no-op workflow (after ${WARM} of each to warm up).

| run | p50 (ms) | p99 (ms) |
| --- | ---: | ---: |
| redeem via POST .../redeem/ (workflow: 4 local activities) | ${ms(p(one.api, 50))} | ${ms(p(one.api, 99))} |
| direct: the same steps in-process, no Temporal | ${ms(p(one.direct, 50))} | ${ms(p(one.direct, 99))} |
| extra: the first shape's ${REDEEM_STEPS.length} no-op activities via the client | ${ms(p(one.noop, 50))} | ${ms(p(one.noop, 99))} |

Answers: workflow ${listed(oneApiStatuses)}; direct ${listed(oneDirectOutcomes)}${oneExact ? '' : ' **MISMATCH**'}.
p50 ratio ${singleRatio.toFixed(2)} (target ≤ 1.5).

### Storm on one budget

${count} learners redeem one course at once on one budget (concurrency ${concurrency}); the spend limit fits ${fits}. Each run has its own budget and learners.

| run | throughput (/s) | p50 (ms) | p99 (ms) |
| --- | ---: | ---: | ---: |
| redeem via POST .../redeem/ (workflow: 4 local activities) | ${storm.throughput.toFixed(1)} | ${ms(p(storm.latencies, 50))} | ${ms(p(storm.latencies, 99))} |
| direct: the same steps in-process, no Temporal | ${directStorm.throughput.toFixed(1)} | ${ms(p(directStorm.latencies, 50))} | ${ms(p(directStorm.latencies, 99))} |
| extra: the first shape's ${REDEEM_STEPS.length} no-op activities via the client | ${base.throughput.toFixed(1)} | ${ms(p(base.latencies, 50))} | ${ms(p(base.latencies, 99))} |

Workflow: ${listed(statuses)}; ${apiTotals.text}: ${apiExact ? 'exact, no overspend, no 429/5xx' : '**MISMATCH**'}.
Direct: ${listed(directOutcomes)}; ${directTotals.text}: ${directExact ? 'exact, no overspend' : '**MISMATCH**'}.
Throughput ratio ${stormRatio.toFixed(2)} against the direct pipeline (target ≥ 0.5); ${noopRatio.toFixed(2)} against the no-op workflow.

### can-redeem

10 content keys, ${readCount} requests at concurrency ${readConcurrency}; learner ${reader} holds none of the keys, learner ${holder} redeemed one of them in the storm.

| route | p50 (ms) | p99 (ms) |
| --- | ---: | ---: |
| GET .../can-redeem/ (10 keys) | ${ms(p(reads.latencies, 50))} | ${ms(p(reads.latencies, 99))} |
| GET .../can-redeem/ (10 keys), learner holding one of them | ${ms(p(held.latencies, 50))} | ${ms(p(held.latencies, 99))} |
| GET /api/v1/me (trivial, authenticated) | ${ms(p(me.latencies, 50))} | ${ms(p(me.latencies, 99))} |

p99 ratio ${readRatio.toFixed(2)} for the learner holding none (target ≤ 3); ${heldRatio.toFixed(2)} for the learner holding one (target ≤ 3; it costs one more call, to the ledger, so that a reversal shows at once).

### Targets

| target | measured | |
| --- | ---: | --- |
| one redemption, no contention: p50 ≤ 1.5× the direct p50 | ${singleRatio.toFixed(2)}× | ${met(singleRatio <= 1.5 && oneExact)} |
| storm: throughput ≥ 0.5× the direct pipeline's, no overspend, no 429/5xx | ${stormRatio.toFixed(2)}× | ${met(stormRatio >= 0.5 && apiExact && directExact)} |
| can-redeem, 10 keys: p99 ≤ 3× the trivial route | ${readRatio.toFixed(2)}× | ${met(readRatio <= 3)} |
| the same, learner holding one of the keys | ${heldRatio.toFixed(2)}× | ${met(heldRatio <= 3)} |`;
  process.stdout.write(`${md}\n`);
  recordSection('redeem', md);
  if (!oneExact || !apiExact || !directExact) process.exitCode = 1;
} finally {
  await stack.close();
}

/** A learner whose redemption on the policy was committed. */
async function firstRedeemer(policyUuid: string): Promise<number> {
  const row = await stack.database
    .forSchema<SubsidyDB>('subsidy')
    .selectFrom('transactions')
    .select('lms_user_id')
    .where('state', '=', 'committed')
    .where('content_key', '=', RUN)
    .where('subsidy_access_policy_uuid', '=', policyUuid)
    .orderBy('created')
    .executeTakeFirstOrThrow();
  return Number(row.lms_user_id);
}

/** Run keys from the seed catalog with a price, other than the storm's. */
async function seedRuns(n: number): Promise<string[]> {
  const rows = await stack.database
    .forSchema<{ content_items: { content_key: string; content_type: string } }>('catalog')
    .selectFrom('content_items')
    .select('content_key')
    .where('content_type', '=', 'courserun')
    .where('content_key', '<>', RUN)
    .where('content_key', 'like', 'course-v1:%')
    .orderBy('content_key')
    .limit(n)
    .execute();
  return rows.map((r) => r.content_key);
}
