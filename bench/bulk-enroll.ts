/**
 * `npm run bench:bulk-enroll [-- --learners 400 --courses 25 --rounds 3]`
 *
 * One bulk license enrollment job of learners × courses pairs (default 400 × 25 = 10,000)
 * through POST /api/v1/bulk-license-enrollment, timed from the request until its workflow has
 * ended (license and catalog checks, chunks of BULK_ENROLLMENT_EMAILS_PER_CHUNK ×
 * BULK_ENROLLMENT_COURSES_PER_CHUNK with BULK_ENROLLMENT_CONCURRENT_CHUNKS in flight, every
 * outcome recorded). Baselines in the same run: as many other licensed learners enrolled by
 * calling the lms endpoint directly with the same chunks (license uuids looked up beforehand,
 * nothing recorded), one call at a time as license-manager's task made them, and with as many
 * calls in flight as the job. 10% of each group have an lms account (success), the rest are
 * pending. Rounds on fresh learners, medians; written to docs/benchmarks.md. Target: the job
 * ≥ 0.5× the rate of the direct calls.
 */
import { randomBytes } from 'node:crypto';
import { chunkCount, chunkRange, chunkSizes } from '../src/access/bulk-enrollment/chunks';
import { argNumber, call, machine, must, recordSection, runConcurrent, startBenchStack } from './lib';

const learners = argNumber('learners', 400);
const rounds = argNumber('rounds', 3);
const courseCount = argNumber('courses', 25);
const REGISTERED_SHARE = 0.1;
const stack = await startBenchStack();
const settings = stack.orchestrator.settings.bulkEnrollment;
const sizes = chunkSizes(settings.emailsPerChunk, settings.coursesPerChunk);

try {
  const op = await stack.token(['enterprise_openedx_operator:*']);
  const lms = stack.urls.lms as string;
  const lm = stack.urls['license-manager'] as string;
  const slug = `bulk-bench-${randomBytes(4).toString('hex')}`;
  const customer = (await must(
    'customer',
    call('POST', `${lms}/enterprise/api/v1/enterprise-customer/`, op, { name: 'Bulk bench', slug, country: 'US' }),
  )) as { uuid: string };
  const catalog = (await must(
    'catalog',
    call('POST', `${lms}/enterprise/api/v1/enterprise_customer_catalog/`, op, {
      enterprise_customer: customer.uuid,
      title: 'All',
      enterprise_catalog_query: 1,
    }),
  )) as { uuid: string };
  const agreement = (await must(
    'agreement',
    call('POST', `${lm}/api/v1/provisioning-admins/customer-agreement/`, op, {
      enterprise_customer_uuid: customer.uuid,
      enterprise_customer_slug: slug,
      default_enterprise_catalog_uuid: catalog.uuid,
    }),
  )) as { uuid: string };
  const WARM = 10;
  const groups: Record<string, number> = { warm: WARM };
  for (let r = 0; r < rounds; r++) {
    for (const g of ['job', 'direct', 'sequential']) groups[`${g}${r}`] = learners;
  }
  const total = Object.values(groups).reduce((a, b) => a + b, 0);
  const plan = (await must(
    'plan',
    call('POST', `${lm}/api/v1/provisioning-admins/subscriptions/`, op, {
      title: 'Bench plan',
      start_date: new Date(Date.now() - 86_400_000).toISOString(),
      expiration_date: new Date(Date.now() + 365 * 86_400_000).toISOString(),
      customer_agreement: agreement.uuid,
      enterprise_catalog_uuid: catalog.uuid,
      desired_num_licenses: total,
      product: 2,
      salesforce_opportunity_line_item: null,
      change_reason: 'new',
      is_active: true,
    }),
  )) as { uuid: string };

  const tag = randomBytes(3).toString('hex');
  const course = `edX+BulkBench${tag}`;
  const runs = Array.from({ length: courseCount }, (_, i) => `course-v1:edX+BulkBench${tag}+R${i}`);
  const future = new Date(Date.now() + 365 * 86_400_000).toISOString();
  const item = (content_key: string, content_type: string, parent: string | null) => ({
    content_key,
    content_type,
    parent_content_key: parent,
    title: content_key,
    org: 'edX',
    content_price_cents: 10_000,
    enroll_by_date: future,
    start_date: future,
    end_date: future,
    is_active: true,
  });
  await must(
    'import',
    call('POST', `${stack.urls.catalog}/api/v1/content-items/import/`, op, {
      items: [item(course, 'course', null), ...runs.map((r) => item(r, 'courserun', course))],
    }),
  );

  const emailsOf = (group: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${group}-${i}-${randomBytes(4).toString('hex')}@example.com`);
  const sets: Record<string, string[]> = Object.fromEntries(
    Object.entries(groups).map(([g, n]) => [g, emailsOf(g, n)]),
  );
  const set = (name: string) => sets[name] as string[];
  const all = Object.values(sets).flat();
  for (let i = 0; i < all.length; i += 1000) {
    await must(
      'assign',
      call('POST', `${lm}/api/v1/subscriptions/${plan.uuid}/licenses/assign/`, op, {
        user_emails: all.slice(i, i + 1000),
        notify_users: false,
      }),
    );
  }
  const registered = Object.values(sets).flatMap((s) => s.slice(0, Math.round(s.length * REGISTERED_SHARE)));
  await runConcurrent(registered.length, 10, async (i) => {
    await must('user', call('POST', `${lms}/api/user/v1/accounts`, op, { email: registered[i] }));
  });

  /** Chunks of the direct baseline: the same shape and chunk sizes as the job's. */
  async function directChunks(emails: string[]) {
    const licenseOf = new Map<string, string>();
    for (let i = 0; i < emails.length; i += 1000) {
      const found = (await must(
        'licenses',
        call('POST', `${lm}/api/v1/licenses-for-emails/`, op, {
          enterprise_customer_uuid: customer.uuid,
          emails: emails.slice(i, i + 1000),
        }),
      )) as { results: Array<{ email: string; licenses: Array<{ license_uuid: string }> }> };
      for (const r of found.results) if (r.licenses[0]) licenseOf.set(r.email, r.licenses[0].license_uuid);
    }
    const shape = { email_count: emails.length, course_count: runs.length, ...sizes };
    return Array.from({ length: chunkCount(shape) }, (_, k) => {
      const r = chunkRange(shape, k);
      return emails.slice(r.email_from, r.email_to).flatMap((email) =>
        runs.slice(r.course_from, r.course_to).map((run) => ({
          email,
          course_run_key: run,
          license_uuid: licenseOf.get(email) as string,
        })),
      );
    });
  }
  const enrollUrl = `${lms}/enterprise/api/v1/enterprise-customer/${customer.uuid}/enroll_learners_in_courses/`;
  async function direct(emails: string[], concurrency: number) {
    const chunks = await directChunks(emails);
    const tally = { success: 0, pending: 0, failed: 0 };
    const run = await runConcurrent(chunks.length, concurrency, async (i) => {
      const body = (await must(
        'enroll',
        call('POST', enrollUrl, op, { licenses_info: chunks[i], notify: false }),
        [201, 202, 409],
      )) as { successes: unknown[]; pending: unknown[]; failures: unknown[] };
      tally.success += body.successes.length;
      tally.pending += body.pending.length;
      tally.failed += body.failures.length;
    });
    return { seconds: run.seconds, chunks: chunks.length, ...tally };
  }

  const admin = await stack.token([`enterprise_admin:${customer.uuid}`], 1);
  async function job(emails: string[]) {
    const t0 = performance.now();
    const started = (await must(
      'job',
      call('POST', `${stack.apiUrl}/api/v1/bulk-license-enrollment?enterprise_customer_uuid=${customer.uuid}`, admin, {
        emails,
        course_run_keys: runs,
        notify: false,
      }),
    )) as { job_id: string };
    // The workflow's own result (its record's counts) marks the end; no polling load on the api.
    const result = (await stack.client.workflow.getHandle(`bulk-license-enrollment-${started.job_id}`).result()) as {
      state: string;
      counts: { total: number; success: number; pending: number; failed: number };
    };
    return { seconds: (performance.now() - t0) / 1000, state: result.state, ...result.counts };
  }

  // Warm-up of both paths (JIT, pools, the worker's workflow cache).
  await job(set('warm').slice(0, WARM / 2));
  await direct(set('warm').slice(WARM / 2), settings.concurrentChunks);

  // Rounds on fresh learners each, the order of the three runs rotating; medians are reported.
  const pairs = learners * runs.length;
  const results = {
    job: [] as Awaited<ReturnType<typeof job>>[],
    direct: [] as Awaited<ReturnType<typeof direct>>[],
    sequential: [] as Awaited<ReturnType<typeof direct>>[],
  };
  for (let r = 0; r < rounds; r++) {
    const order = ['direct', 'job', 'sequential'];
    for (let i = 0; i < r % order.length; i++) order.push(order.shift() as string);
    for (const which of order) {
      if (which === 'job') results.job.push(await job(set(`job${r}`)));
      if (which === 'direct') results.direct.push(await direct(set(`direct${r}`), settings.concurrentChunks));
      if (which === 'sequential') results.sequential.push(await direct(set(`sequential${r}`), 1));
    }
  }
  const median = <T extends { seconds: number }>(xs: T[]) =>
    [...xs].sort((a, b) => a.seconds - b.seconds)[Math.floor(xs.length / 2)] as T;
  const viaJob = median(results.job);
  const viaDirect = median(results.direct);
  const viaSequential = median(results.sequential);
  const rate = (s: number) => pairs / s;
  // The target is against the lms calls as license-manager's task made them: the same chunks, one
  // after the other. The same chunks with as many in flight as the job is shown too.
  const ratio = rate(viaJob.seconds) / rate(viaSequential.seconds);
  const expected = { success: Math.round(learners * REGISTERED_SHARE) * runs.length };
  const exact =
    results.job.every(
      (j) => j.state === 'completed' && j.total === pairs && j.failed === 0 && j.success === expected.success,
    ) &&
    [...results.direct, ...results.sequential].every(
      (d) => d.success + d.pending === pairs && d.success === expected.success,
    );

  const row = (name: string, xs: Array<{ seconds: number }>) => {
    const m = median(xs).seconds;
    return `| ${name} | ${m.toFixed(2)} | ${rate(m).toFixed(0)} | ${xs.map((x) => x.seconds.toFixed(2)).join(' · ')} |`;
  };
  const md = `## Bulk license enrollment (\`npm run bench:bulk-enroll\`)

${new Date().toISOString().slice(0, 10)}; ${machine()}.

${rounds} rounds, each on fresh learners: one job of ${learners} learners × ${runs.length} courses = ${pairs.toLocaleString(
    'en-US',
  )} pairs (${Math.round(REGISTERED_SHARE * 100)}% with an lms account, the rest pending), and the same pairs of other
learners sent to the lms directly; ${sizes.emails_per_chunk} × ${sizes.courses_per_chunk} pairs per lms call (${
    viaDirect.chunks
  } calls). Medians:

| run | total (s) | pairs/s | each round (s) |
| --- | ---: | ---: | --- |
${row(`job via POST /api/v1/bulk-license-enrollment until its workflow ends (license + catalog checks, every outcome recorded; ${settings.concurrentChunks} chunks in flight)`, results.job)}
${row('baseline: the lms endpoint called directly, same chunks, one at a time', results.sequential)}
${row(`baseline: the lms endpoint called directly, same chunks, ${settings.concurrentChunks} in flight`, results.direct)}

Jobs: ${results.job.map((j) => `${j.state} ${j.success} success + ${j.pending} pending + ${j.failed} failed`).join('; ')} (${
    exact ? 'exact' : 'NOT EXACT'
  }).
Job rate ${ratio.toFixed(2)}× the direct calls made one at a time, as license-manager's task made them (target ≥ 0.5); ${(
    rate(viaJob.seconds) / rate(viaDirect.seconds)
  ).toFixed(2)}× the direct calls with ${settings.concurrentChunks} in flight.
Every process shares the machine's cores (the services, the api and the worker are one Node process here), so the
job's extra work (a license-manager lookup and two job-record calls per chunk, and Temporal's own) counts in full.`;
  process.stdout.write(`${md}\n`);
  recordSection('bulk-enroll', md);
  if (!exact || ratio < 0.5) process.exitCode = 1;
} finally {
  await stack.close();
}
