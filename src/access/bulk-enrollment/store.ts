/**
 * The orchestrator's bulk-enrollment records: jobs, their numbered emails and course keys (the
 * pairs are every email × every course key), and one result row per pair that has an outcome.
 * Only the api touches them (the worker goes through the internal routes). Each function is one
 * statement or one transaction and safe to repeat, because the worker's steps are retried: a
 * job is made once per uuid, prepared once, and an outcome is written by the pair's key, so a
 * chunk run twice leaves one row per pair with its last outcome.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { AccessDB } from '../schema';
import type {
  BulkEnrollmentRequest,
  ChunkLists,
  ChunkRange,
  FinishJobInput,
  FinishJobResult,
  JobCounts,
  JobPlan,
  JobSnapshot,
  PairOutcomeStatus,
  PairStatus,
  RecordOutcomesInput,
} from './contract';

type Db = Kysely<AccessDB>;
type Tx = Transaction<AccessDB>;

/** Note of pairs a failed job never got to. */
const notAttempted = (error: string) => `not attempted: ${error}`.slice(0, 1000);

export interface NewJob {
  job_uuid: string;
  workflow_id: string;
  request: BulkEnrollmentRequest;
  emails_per_chunk: number;
  courses_per_chunk: number;
  requested_by?: string | null;
}

/** Makes the job (state `queued`) unless one with this uuid exists; either way returns it. */
export async function createJob(db: Db, job: NewJob): Promise<JobSnapshot> {
  const r = job.request;
  await db
    .insertInto('bulk_enrollment_jobs')
    .values({
      uuid: job.job_uuid,
      workflow_id: job.workflow_id,
      enterprise_customer_uuid: r.enterprise_customer_uuid,
      subscription_uuid: r.subscription_uuid,
      enroll_all: r.enroll_all,
      notify: r.notify,
      requested_emails: JSON.stringify(r.emails),
      course_run_keys: JSON.stringify(r.course_run_keys),
      course_count: r.course_run_keys.length,
      emails_per_chunk: job.emails_per_chunk,
      courses_per_chunk: job.courses_per_chunk,
      state: 'queued',
      requested_by: job.requested_by ?? null,
    })
    .onConflict((oc) => oc.column('uuid').doNothing())
    .execute();
  return (await findJobSnapshot(db, job.job_uuid)) as JobSnapshot;
}

export async function findJob(db: Db | Tx, uuid: string) {
  return db.selectFrom('bulk_enrollment_jobs').selectAll().where('uuid', '=', uuid).executeTakeFirst();
}

export async function findJobSnapshot(db: Db, uuid: string): Promise<JobSnapshot | undefined> {
  const row = await findJob(db, uuid);
  return row ? snapshotOf(row) : undefined;
}

const snapshotOf = (row: NonNullable<Awaited<ReturnType<typeof findJob>>>): JobSnapshot => ({
  job_uuid: row.uuid,
  enterprise_customer_uuid: row.enterprise_customer_uuid,
  subscription_uuid: row.subscription_uuid,
  enroll_all: row.enroll_all,
  notify: row.notify,
  state: row.state,
  prepared: row.email_count !== null,
  emails_per_chunk: row.emails_per_chunk,
  courses_per_chunk: row.courses_per_chunk,
});

const planOf = (row: NonNullable<Awaited<ReturnType<typeof findJob>>>): JobPlan => ({
  job_uuid: row.uuid,
  enterprise_customer_uuid: row.enterprise_customer_uuid,
  subscription_uuid: row.subscription_uuid,
  notify: row.notify,
  email_count: row.email_count ?? 0,
  course_count: row.course_count,
  emails_per_chunk: row.emails_per_chunk,
  courses_per_chunk: row.courses_per_chunk,
});

const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : JSON.parse(String(v)));

/** `(job, index, value)` rows of `values` numbered from 0, made by the database from one JSON parameter. */
const numbered = (job: string, values: readonly string[]) =>
  sql`select ${job}::uuid, (v.ord - 1)::integer, v.value
    from jsonb_array_elements_text(${JSON.stringify(values)}::jsonb) with ordinality as v(value, ord)`;

/**
 * Prepares the job, once: numbers its emails (the requested ones, or `emails`, an enroll-all
 * job's licensees) and its course keys, and makes it `running`. Under the job's row lock, so two
 * concurrent calls prepare it once.
 */
export async function prepareJob(db: Db, uuid: string, emails?: readonly string[]): Promise<JobPlan | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('bulk_enrollment_jobs')
      .selectAll()
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return undefined;
    if (row.email_count !== null) return planOf(row);
    const list = emails ? [...new Set(emails.map((e) => e.toLowerCase()))] : asList(row.requested_emails);
    await trx
      .insertInto('bulk_enrollment_job_emails')
      .columns(['job_uuid', 'email_index', 'email'])
      .expression(numbered(uuid, list))
      .onConflict((oc) => oc.doNothing())
      .execute();
    await trx
      .insertInto('bulk_enrollment_job_courses')
      .columns(['job_uuid', 'course_index', 'course_run_key'])
      .expression(numbered(uuid, asList(row.course_run_keys)))
      .onConflict((oc) => oc.doNothing())
      .execute();
    const updated = await trx
      .updateTable('bulk_enrollment_jobs')
      .set({ email_count: list.length, state: 'running', started_at: sql<Date>`now()`, modified: sql<Date>`now()` })
      .where('uuid', '=', uuid)
      .returningAll()
      .executeTakeFirstOrThrow();
    return planOf(updated);
  });
}

/**
 * The emails and course keys of one chunk, in index order: its pairs are every email × every
 * course key (a chunk is a block of the job's grid), so the two short lists say it all.
 */
export async function chunkLists(db: Db, uuid: string, r: ChunkRange): Promise<ChunkLists> {
  const [emails, keys] = await Promise.all([
    db
      .selectFrom('bulk_enrollment_job_emails')
      .select('email')
      .where('job_uuid', '=', uuid)
      .where('email_index', '>=', r.email_from)
      .where('email_index', '<', r.email_to)
      .orderBy('email_index')
      .execute(),
    db
      .selectFrom('bulk_enrollment_job_courses')
      .select('course_run_key')
      .where('job_uuid', '=', uuid)
      .where('course_index', '>=', r.course_from)
      .where('course_index', '<', r.course_to)
      .orderBy('course_index')
      .execute(),
  ]);
  return { emails: emails.map((e) => e.email), course_run_keys: keys.map((k) => k.course_run_key) };
}

/**
 * Writes a chunk's outcomes by pair key, in one statement whatever the chunk's size (the groups
 * travel as one JSON parameter and are unfolded by the database, on Postgres and PGlite alike);
 * a pair recorded before (a retried chunk) gets the new outcome. Returns how many pairs it wrote.
 */
export async function recordOutcomes(db: Db, uuid: string, input: RecordOutcomesInput): Promise<number> {
  const { chunk, groups } = input;
  if (groups.length === 0) return 0;
  const width = chunk.course_to - chunk.course_from;
  const result = await db
    .insertInto('bulk_enrollment_results')
    .columns(['job_uuid', 'email_index', 'course_index', 'status', 'notes', 'license_uuid'])
    .expression(
      sql`select ${uuid}::uuid, ${chunk.email_from}::integer + p.pos / ${width}::integer,
          ${chunk.course_from}::integer + p.pos % ${width}::integer, g.status, g.notes, g.license_uuid
        from jsonb_to_recordset(${JSON.stringify(groups)}::jsonb)
          as g(status text, notes text, license_uuid uuid, pairs jsonb)
        cross join lateral (select value::integer as pos from jsonb_array_elements_text(g.pairs)) p`,
    )
    .onConflict((oc) =>
      oc.columns(['job_uuid', 'email_index', 'course_index']).doUpdateSet({
        status: sql<PairOutcomeStatus>`excluded.status`,
        notes: sql<string>`excluded.notes`,
        license_uuid: sql<string | null>`excluded.license_uuid`,
        modified: sql<Date>`now()`,
      }),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

/** Pairs by status (those without an outcome are `queued`), and the total. */
export async function jobCounts(db: Db | Tx, uuid: string): Promise<JobCounts> {
  const [job, rows] = await Promise.all([
    db
      .selectFrom('bulk_enrollment_jobs')
      .select(['email_count', 'course_count'])
      .where('uuid', '=', uuid)
      .executeTakeFirst(),
    db
      .selectFrom('bulk_enrollment_results')
      .select(['status', sql<number>`count(*)::integer`.as('n')])
      .where('job_uuid', '=', uuid)
      .groupBy('status')
      .execute(),
  ]);
  const total = job?.email_count == null ? 0 : job.email_count * job.course_count;
  const counts: JobCounts = { total, queued: total, success: 0, pending: 0, failed: 0 };
  for (const r of rows) {
    counts[r.status] = Number(r.n);
    counts.queued -= Number(r.n);
  }
  return counts;
}

/**
 * Ends the job: `completed`, or `failed` with the error. Pairs without an outcome (none, unless
 * the job failed) are recorded as failed with a note saying why, so every pair has one.
 */
export async function finishJob(db: Db, uuid: string, input: FinishJobInput): Promise<FinishJobResult | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('bulk_enrollment_jobs')
      .select('uuid')
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return undefined;
    const error = input.state === 'failed' ? (input.error ?? 'the job failed') : null;
    const note = notAttempted(error ?? 'the job ended before this pair was processed');
    await trx
      .insertInto('bulk_enrollment_results')
      .columns(['job_uuid', 'email_index', 'course_index', 'status', 'notes'])
      .expression(
        pairsOf(trx, uuid).select([
          sql<string>`${uuid}::uuid`.as('job_uuid'),
          'e.email_index',
          'c.course_index',
          sql<'failed'>`'failed'`.as('status'),
          sql<string>`${note}`.as('notes'),
        ]),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
    await trx
      .updateTable('bulk_enrollment_jobs')
      .set({ state: input.state, error, completed_at: sql<Date>`now()`, modified: sql<Date>`now()` })
      .where('uuid', '=', uuid)
      .execute();
    return { job_uuid: uuid, state: input.state, counts: await jobCounts(trx, uuid) };
  });
}

/** Every pair of the job (email × course key) with its outcome, if any. */
function pairsOf(db: Db | Tx, uuid: string) {
  return db
    .selectFrom('bulk_enrollment_job_emails as e')
    .innerJoin('bulk_enrollment_job_courses as c', 'c.job_uuid', 'e.job_uuid')
    .leftJoin('bulk_enrollment_results as r', (j) =>
      j
        .onRef('r.job_uuid', '=', 'e.job_uuid')
        .onRef('r.email_index', '=', 'e.email_index')
        .onRef('r.course_index', '=', 'c.course_index'),
    )
    .where('e.job_uuid', '=', uuid);
}

/** A job's pairs in order (by email, then course) with their outcomes, optionally of one status, a page at a time. */
export async function resultRows(db: Db, uuid: string, opts: { status?: PairStatus; limit?: number; offset?: number }) {
  let q = pairsOf(db, uuid).select([
    'e.email',
    'c.course_run_key',
    sql<PairStatus>`coalesce(r.status, 'queued')`.as('status'),
    sql<string>`coalesce(r.notes, '')`.as('notes'),
    'r.license_uuid',
  ]);
  if (opts.status === 'queued') q = q.where('r.status', 'is', null);
  else if (opts.status) q = q.where('r.status', '=', opts.status);
  q = q.orderBy('e.email_index').orderBy('c.course_index');
  if (opts.limit !== undefined) q = q.limit(opts.limit).offset(opts.offset ?? 0);
  return q.execute();
}

/** Marks a job that could not be started (its workflow never ran). */
export async function failUnstartedJob(db: Db, uuid: string, error: string) {
  await db
    .updateTable('bulk_enrollment_jobs')
    .set({ state: 'failed', error, completed_at: sql<Date>`now()`, modified: sql<Date>`now()` })
    .where('uuid', '=', uuid)
    .where('state', '=', 'queued')
    .execute();
}
