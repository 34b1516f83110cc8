/**
 * `npm run bench:reserve [-- --count 2000 --concurrency 50]`
 *
 * How to serialize the check-and-reserve step of concurrent redemptions on one budget, measured
 * as the issue asks: (a) the database row lock the product uses (`reserve()`: lock the policy's
 * aggregate row, evaluate the rules, insert the reservation, one transaction) against (b) an
 * entity workflow per budget taking one Temporal update per reservation (in-memory counter, no
 * records written: a lower bound on that design's cost). Same budget size, same concurrency.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { reserve } from '../src/access/learner-credit/redemption-store';
import { ACCESS_SCHEMA, type AccessDB } from '../src/access/schema';
import { argNumber, machine, percentile, recordSection, runConcurrent, startBenchStack } from './lib';

const count = argNumber('count', 2000);
const concurrency = argNumber('concurrency', 50);
const PRICE = 100;
const fits = Math.round(count * 0.8);
// The entity workflow is far slower under contention; a smaller storm keeps the run short.
const entityCount = Math.min(count, argNumber('entity-count', 300));
const entityFits = Math.round(entityCount * 0.8);

const stack = await startBenchStack();
try {
  const db = stack.database.forSchema<AccessDB>(ACCESS_SCHEMA);
  const policy = randomUUID();
  await db
    .insertInto('subsidy_access_policies')
    .values({
      uuid: policy,
      policy_type: 'PerLearnerSpendCreditAccessPolicy',
      enterprise_customer_uuid: randomUUID(),
      display_name: 'bench',
      description: '',
      active: true,
      retired: false,
      catalog_uuid: randomUUID(),
      subsidy_uuid: randomUUID(),
      access_method: 'direct',
      spend_limit: fits * PRICE,
      per_learner_spend_limit: null,
      per_learner_enrollment_limit: null,
      late_redemption_allowed_until: null,
      assignment_configuration: null,
      deleted_reason: null,
      retired_at: null,
    })
    .execute();
  const facts = {
    learner: { groupUuids: [] },
    content: { priceCents: PRICE, enrollBy: null },
    subsidy: { active: true, balanceCents: Number.MAX_SAFE_INTEGER },
    heldInSubsidy: false,
  };
  let rowOk = 0;
  const rowLock = await runConcurrent(count, concurrency, async (i) => {
    const r = await reserve(db, {
      workflow_id: `bench-${i}`,
      run_id: 'r',
      policy_uuid: policy,
      lms_user_id: i + 1,
      content_key: 'course-v1:edX+Bench+1',
      idempotency_key: `bench-key-${i}`,
      facts,
      reversed_transaction_uuids: [],
    });
    if (r.outcome === 'reserved') rowOk += 1;
  });

  const connection = await NativeConnection.connect({ address: stack.temporalAddress });
  const worker = await Worker.create({
    connection,
    taskQueue: 'budget-entity',
    workflowsPath: fileURLToPath(new URL('./budget-entity-workflow.ts', import.meta.url)),
  });
  const running = worker.run();
  const { budgetEntity, reserveUpdate, closeSignal } = await import('./budget-entity-workflow');
  const handle = await stack.client.workflow.start(budgetEntity, {
    taskQueue: 'budget-entity',
    workflowId: `budget-${policy}`,
    args: [entityFits * PRICE],
  });
  process.stderr.write(
    `row lock: ${rowLock.throughput.toFixed(0)}/s; entity workflow running ${entityCount} updates…\n`,
  );
  let entityOk = 0;
  let entityErrors = 0;
  let firstError = '';
  const entity = await runConcurrent(entityCount, concurrency, async () => {
    try {
      const r = await handle.executeUpdate(reserveUpdate, { args: [PRICE] });
      if (r.ok) entityOk += 1;
    } catch (err) {
      entityErrors += 1;
      firstError ||= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
  });
  await handle.signal(closeSignal);
  await handle.result();
  worker.shutdown();
  await running;
  await connection.close();

  const ms = (v: number) => v.toFixed(1);
  const row = (name: string, r: typeof rowLock, ok: number, n: number, fit: number) =>
    `| ${name} | ${r.throughput.toFixed(0)} | ${ms(percentile(r.latencies, 50))} | ${ms(percentile(r.latencies, 99))} | ${ok} of ${n} (fits ${fit}) |`;
  const md = `## Serializing check-and-reserve on one budget (\`npm run bench:reserve\`)

${new Date().toISOString().slice(0, 10)}; concurrent reservations on one budget (80 % fit), concurrency ${concurrency}; ${machine()}.

| design | reservations/s | p50 (ms) | p99 (ms) | reserved |
| --- | ---: | ---: | ---: | ---: |
${row('row lock on the policy aggregate (the product)', rowLock, rowOk, count, fits)}
${row('entity workflow per budget, one update each (in memory only)', entity, entityOk, entityCount, entityFits)}

Entity-workflow updates that failed outright: ${entityErrors}${firstError ? ` (first: ${firstError.slice(0, 200)})` : ''}.

The row lock serves ${(rowLock.throughput / entity.throughput).toFixed(1)}× the entity workflow's rate while also writing the reservation and the attempt's verdict; the entity workflow would still have to persist both. Chosen: the row lock.`;
  process.stdout.write(`${md}\n`);
  recordSection('reserve', md);
  if (rowOk !== fits) process.exitCode = 1;
} finally {
  await stack.close();
}
