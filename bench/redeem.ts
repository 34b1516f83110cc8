/**
 * `npm run bench:redeem [-- --count 500 --concurrency 50 --fits 400]`
 *
 * 1. A storm on one budget: `count` learners redeem at once (at most `concurrency` in flight)
 *    through POST .../redeem/ on a policy whose spend limit fits `fits` of them; checks that
 *    exactly `fits` are committed and the ledger, policy and learner totals match (no
 *    overspend), and that every other answer is a 422 (no 429, no 5xx). Baseline in the same
 *    run: a workflow of the same shape (six no-op activities) on the same server and worker.
 * 2. can-redeem for 10 content keys against GET /api/v1/me (a trivial authenticated route),
 *    p50/p99 at the same concurrency.
 * Records both in docs/benchmarks.md. Targets: redeem throughput ≥ 0.5× the baseline;
 * can-redeem p99 ≤ 3× the trivial route's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AccessDB } from '../src/access/schema';
import type { SubsidyDB } from '../src/services/subsidy/schema';
import { baselineSteps } from '../src/workflows';
import { REDEEM_STEPS } from '../src/workflows/redeem';
import { argNumber, call, machine, must, percentile, recordSection, runConcurrent, startBenchStack } from './lib';

const count = argNumber('count', 500);
const concurrency = argNumber('concurrency', 50);
const fits = Math.min(argNumber('fits', Math.round(count * 0.8)), count);
const readCount = argNumber('reads', 2000);
const readConcurrency = argNumber('read-concurrency', 10);
const RUN = 'course-v1:edX+DemoX+2026';
const PRICE = 19_900;

const stack = await startBenchStack();

try {
  const op = await stack.token(['enterprise_openedx_operator:*']);
  const lms = stack.urls.lms as string;
  const customer = await must(
    'customer',
    call('POST', `${lms}/enterprise/api/v1/enterprise-customer/`, op, {
      name: 'Bench',
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
      title: 'Bench credit',
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
      display_name: 'Bench budget',
      active: true,
      spend_limit: fits * PRICE,
    }),
  );
  const learners: number[] = [];
  await runConcurrent(count + 1, 20, async () => {
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

  // Warm-up of the baseline path (JIT, pools, worker cache); the redeem path warms on the reader.
  const baselineRun = (i: number) =>
    stack.client.workflow.execute(baselineSteps, {
      taskQueue: stack.taskQueue,
      workflowId: `baseline-${Date.now()}-${i}`,
      args: [REDEEM_STEPS.length, 0],
    });
  await runConcurrent(20, 10, async (i) => {
    await baselineRun(i);
  });
  const base = await runConcurrent(count, concurrency, async (i) => {
    await baselineRun(i);
  });

  const statuses = new Map<number, number>();
  const storm = await runConcurrent(count, concurrency, async (i) => {
    const res = await call(
      'POST',
      `${stack.apiUrl}/api/v1/policy-redemption/${policy.uuid}/redeem/`,
      tokens[i] as string,
      {
        lms_user_id: learners[i],
        content_key: RUN,
      },
    );
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  });

  const ledger = stack.database.forSchema<SubsidyDB>('subsidy');
  const committed = await ledger
    .selectFrom('transactions')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('quantity').as('total')])
    .where('subsidy_access_policy_uuid', '=', policy.uuid as string)
    .where('state', '=', 'committed')
    .executeTakeFirstOrThrow();
  const spend = await stack.database
    .forSchema<AccessDB>('access')
    .selectFrom('policy_spend')
    .selectAll()
    .where('policy_uuid', '=', policy.uuid as string)
    .executeTakeFirstOrThrow();
  const okCount = statuses.get(200) ?? 0;
  const overspend = -Number(committed.total) > fits * PRICE;
  const exact =
    Number(committed.n) === fits && okCount === fits && Number(spend.spent_cents) === fits * PRICE && !overspend;
  const bad = [...statuses.entries()].filter(([s]) => s === 429 || s >= 500);

  // can-redeem for 10 keys (the last learner has not redeemed) against the trivial route.
  const keys = [RUN, ...(await seedRuns(9))];
  const reader = learners[count] as number;
  const readerToken = tokens[count] as string;
  const q = keys.map((k) => `content_key=${encodeURIComponent(k)}`).join('&');
  const canRedeemUrl = `${stack.apiUrl}/api/v1/policy-redemption/enterprise-customer/${customer.uuid}/can-redeem/?${q}`;
  const check = await call('GET', canRedeemUrl, readerToken);
  if (check.status !== 200) throw new Error(`can-redeem: HTTP ${check.status} ${JSON.stringify(check.body)}`);
  const get = (url: string) => async () => {
    const r = await call('GET', url, readerToken);
    if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status}`);
  };
  const meUrl = `${stack.apiUrl}/api/v1/me`;
  await runConcurrent(200, readConcurrency, get(canRedeemUrl));
  await runConcurrent(200, readConcurrency, get(meUrl));
  const me = await runConcurrent(readCount, readConcurrency, get(meUrl));
  const reads = await runConcurrent(readCount, readConcurrency, get(canRedeemUrl));
  // The same for a learner who redeemed one of the keys in the storm: its transactions are read
  // fresh from the ledger (one more call), to show reversals at once.
  const holder = await firstRedeemer();
  const holderToken = tokens[learners.indexOf(holder)] as string;
  const getAs = (url: string, token: string) => async () => {
    const r = await call('GET', url, token);
    if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status}`);
  };
  await runConcurrent(200, readConcurrency, getAs(canRedeemUrl, holderToken));
  const held = await runConcurrent(readCount, readConcurrency, getAs(canRedeemUrl, holderToken));

  const ms = (v: number) => v.toFixed(1);
  const throughputRatio = storm.throughput / base.throughput;
  const p99Ratio = percentile(reads.latencies, 99) / percentile(me.latencies, 99);
  const md = `## Learner-credit redemption (\`npm run bench:redeem\`)

${new Date().toISOString().slice(0, 10)}; ${machine()}.

Storm: ${count} learners redeem one course at once on one budget (concurrency ${concurrency}); the spend limit fits ${fits}.

| run | throughput (/s) | p50 (ms) | p99 (ms) |
| --- | ---: | ---: | ---: |
| redeem via POST .../redeem/ (workflow: ${REDEEM_STEPS.length} activities) | ${storm.throughput.toFixed(1)} | ${ms(percentile(storm.latencies, 50))} | ${ms(percentile(storm.latencies, 99))} |
| baseline: ${REDEEM_STEPS.length} no-op activities via the client | ${base.throughput.toFixed(1)} | ${ms(percentile(base.latencies, 50))} | ${ms(percentile(base.latencies, 99))} |

Answers: ${[...statuses.entries()]
    .sort()
    .map(([s, n]) => `${n} × ${s}`)
    .join(
      ', ',
    )}. Committed ${committed.n} transactions, ${-Number(committed.total)} cents of a ${fits * PRICE} limit; local policy aggregate ${spend.spent_cents} cents / ${spend.redemptions} redemptions: ${exact && bad.length === 0 ? 'exact, no overspend, no 429/5xx' : '**MISMATCH**'}.
Throughput ratio ${throughputRatio.toFixed(2)} (target ≥ 0.5).

can-redeem for 10 content keys (learner ${reader}), ${readCount} requests at concurrency ${readConcurrency}:

| route | p50 (ms) | p99 (ms) |
| --- | ---: | ---: |
| GET .../can-redeem/ (10 keys) | ${ms(percentile(reads.latencies, 50))} | ${ms(percentile(reads.latencies, 99))} |
| GET /api/v1/me (trivial, authenticated) | ${ms(percentile(me.latencies, 50))} | ${ms(percentile(me.latencies, 99))} |
| GET .../can-redeem/ (10 keys), learner holding one of them | ${ms(percentile(held.latencies, 50))} | ${ms(percentile(held.latencies, 99))} |

p99 ratio ${p99Ratio.toFixed(2)} (target ≤ 3), for a learner who holds none of the keys (the catalog-browsing case). A learner who holds one of them costs one more call, to the ledger, so that a reversal shows at once: p99 ratio ${(percentile(held.latencies, 99) / percentile(me.latencies, 99)).toFixed(2)}.`;
  process.stdout.write(`${md}\n`);
  recordSection('redeem', md);
  if (!exact || bad.length > 0) process.exitCode = 1;
} finally {
  await stack.close();
}

/** A learner whose redemption in the storm was committed. */
async function firstRedeemer(): Promise<number> {
  const row = await stack.database
    .forSchema<SubsidyDB>('subsidy')
    .selectFrom('transactions')
    .select('lms_user_id')
    .where('state', '=', 'committed')
    .where('content_key', '=', RUN)
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
