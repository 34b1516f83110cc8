import { sql } from 'kysely';
import type { SchemaMigrations } from '../lib/migrations';

export const accessMigrations: SchemaMigrations = {
  '0001_stack_info': {
    async up(db) {
      // One row: when this data directory / database was first used and how often the stack
      // started on it. The start-up banner shows it, so a restart visibly finds its old data.
      await db.schema
        .createTable('stack_info')
        .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('start_count', 'integer', (c) => c.notNull())
        .addColumn('last_started_at', 'timestamptz', (c) => c.notNull())
        .execute();
    },
  },
  '0002_learner_credit': {
    async up(db) {
      await db.schema
        .createTable('subsidy_access_policies')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('policy_type', 'text', (c) =>
          c
            .notNull()
            .check(
              sql`policy_type in ('PerLearnerEnrollmentCreditAccessPolicy', 'PerLearnerSpendCreditAccessPolicy', 'AssignedLearnerCreditAccessPolicy')`,
            ),
        )
        .addColumn('enterprise_customer_uuid', 'uuid', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('retired', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('retired_at', 'timestamptz')
        .addColumn('catalog_uuid', 'uuid', (c) => c.notNull())
        .addColumn('subsidy_uuid', 'uuid', (c) => c.notNull())
        .addColumn('access_method', 'text', (c) =>
          c.notNull().check(sql`access_method in ('direct', 'request', 'assigned')`),
        )
        .addColumn('spend_limit', 'bigint', (c) => c.check(sql`spend_limit >= 0`))
        .addColumn('per_learner_enrollment_limit', 'integer', (c) => c.check(sql`per_learner_enrollment_limit >= 0`))
        .addColumn('per_learner_spend_limit', 'bigint', (c) => c.check(sql`per_learner_spend_limit >= 0`))
        .addColumn('late_redemption_allowed_until', 'timestamptz')
        .addColumn('assignment_configuration', 'uuid')
        .addColumn('deleted_reason', 'text')
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex('subsidy_access_policies_customer_idx')
        .on('subsidy_access_policies')
        .columns(['enterprise_customer_uuid', 'created'])
        .execute();
      // Idempotent create (upstream answers 200 with the existing one): at most one active policy of
      // a type per (customer, subsidy, catalog, access method), enforced here so two concurrent
      // creates cannot both insert.
      await db.schema
        .createIndex('subsidy_access_policies_active_identity_idx')
        .on('subsidy_access_policies')
        .columns(['policy_type', 'enterprise_customer_uuid', 'subsidy_uuid', 'catalog_uuid', 'access_method'])
        .unique()
        .where(sql.ref('active'), '=', true)
        .execute();

      await db.schema
        .createTable('policy_group_associations')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('policy_uuid', 'uuid', (c) =>
          c.notNull().references('subsidy_access_policies.uuid').onDelete('cascade'),
        )
        .addColumn('enterprise_group_uuid', 'uuid', (c) => c.notNull())
        .addUniqueConstraint('policy_group_associations_unique', ['policy_uuid', 'enterprise_group_uuid'])
        .execute();

      await db.schema
        .createTable('policy_spend')
        .addColumn('policy_uuid', 'uuid', (c) =>
          c.primaryKey().references('subsidy_access_policies.uuid').onDelete('cascade'),
        )
        .addColumn('spent_cents', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`spent_cents >= 0`))
        .addColumn('redemptions', 'integer', (c) => c.notNull().defaultTo(0).check(sql`redemptions >= 0`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable('policy_learner_spend')
        .addColumn('policy_uuid', 'uuid', (c) =>
          c.notNull().references('subsidy_access_policies.uuid').onDelete('cascade'),
        )
        .addColumn('lms_user_id', 'bigint', (c) => c.notNull())
        .addColumn('spent_cents', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`spent_cents >= 0`))
        .addColumn('redemptions', 'integer', (c) => c.notNull().defaultTo(0).check(sql`redemptions >= 0`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('policy_learner_spend_pk', ['policy_uuid', 'lms_user_id'])
        .execute();

      await db.schema
        .createTable('redemption_reservations')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
        .addColumn('policy_uuid', 'uuid', (c) => c.notNull().references('subsidy_access_policies.uuid'))
        .addColumn('lms_user_id', 'bigint', (c) => c.notNull())
        .addColumn('content_key', 'text', (c) => c.notNull())
        .addColumn('price_cents', 'bigint', (c) => c.notNull().check(sql`price_cents >= 0`))
        .addColumn('state', 'text', (c) =>
          c.notNull().check(sql`state in ('reserved', 'committed', 'released', 'reversed')`),
        )
        .addColumn('transaction_uuid', 'uuid')
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex('redemption_reservations_learner_idx')
        .on('redemption_reservations')
        .columns(['policy_uuid', 'lms_user_id', 'content_key'])
        .execute();
      await db.schema
        .createIndex('redemption_reservations_transaction_idx')
        .on('redemption_reservations')
        .column('transaction_uuid')
        .execute();

      await db.schema
        .createTable('redemption_attempts')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('workflow_id', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('policy_uuid', 'uuid', (c) => c.notNull())
        .addColumn('enterprise_customer_uuid', 'uuid')
        .addColumn('lms_user_id', 'bigint', (c) => c.notNull())
        .addColumn('content_key', 'text', (c) => c.notNull())
        .addColumn('assignment_uuid', 'uuid')
        .addColumn('request_uuid', 'uuid')
        .addColumn('requested_by', 'text')
        .addColumn('policy_state', 'jsonb')
        .addColumn('outcome', 'text', (c) =>
          c.notNull().check(sql`outcome in ('started', 'redeemed', 'rejected', 'failed')`),
        )
        .addColumn('can_redeem', 'boolean')
        .addColumn('reason', 'text')
        .addColumn('idempotency_key', 'text')
        .addColumn('transaction_uuid', 'uuid')
        .addColumn('fulfillment_identifier', 'text')
        .addColumn('price_cents', 'bigint')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('completed_at', 'timestamptz')
        // One row per workflow run: a retried "attempt started" activity finds its own row.
        .addUniqueConstraint('redemption_attempts_run_unique', ['workflow_id', 'run_id'])
        .execute();
      for (const cols of [
        ['policy_uuid', 'started_at'],
        ['lms_user_id', 'started_at'],
        ['content_key', 'started_at'],
      ]) {
        await db.schema
          .createIndex(`redemption_attempts_${cols[0]}_idx`)
          .on('redemption_attempts')
          .columns(cols)
          .execute();
      }
    },
  },
  '0003_bulk_enrollment': {
    async up(db) {
      await db.schema
        .createTable('bulk_enrollment_jobs')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey())
        .addColumn('workflow_id', 'text', (c) => c.notNull())
        .addColumn('enterprise_customer_uuid', 'uuid', (c) => c.notNull())
        .addColumn('subscription_uuid', 'uuid')
        .addColumn('enroll_all', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('notify', 'boolean', (c) => c.notNull())
        .addColumn('requested_emails', 'jsonb', (c) => c.notNull())
        .addColumn('course_run_keys', 'jsonb', (c) => c.notNull())
        .addColumn('emails_per_chunk', 'integer', (c) => c.notNull().check(sql`emails_per_chunk >= 1`))
        .addColumn('courses_per_chunk', 'integer', (c) => c.notNull().check(sql`courses_per_chunk >= 1`))
        .addColumn('email_count', 'integer')
        .addColumn('course_count', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) =>
          c.notNull().check(sql`state in ('queued', 'running', 'completed', 'failed')`),
        )
        .addColumn('error', 'text')
        .addColumn('requested_by', 'text')
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('started_at', 'timestamptz')
        .addColumn('completed_at', 'timestamptz')
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex('bulk_enrollment_jobs_customer_idx')
        .on('bulk_enrollment_jobs')
        .columns(['enterprise_customer_uuid', 'created'])
        .execute();
      await db.schema
        .createIndex('bulk_enrollment_jobs_workflow_idx')
        .on('bulk_enrollment_jobs')
        .column('workflow_id')
        .execute();
      // The job's emails and course keys, numbered: its pairs are every email × every course key,
      // and a chunk is a block of that grid (emails i..j × courses k..l), read by key. An
      // enroll-all job's emails are the plan's licensees, read when its workflow prepares it.
      await db.schema
        .createTable('bulk_enrollment_job_emails')
        .addColumn('job_uuid', 'uuid', (c) => c.notNull().references('bulk_enrollment_jobs.uuid').onDelete('cascade'))
        .addColumn('email_index', 'integer', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('bulk_enrollment_job_emails_pk', ['job_uuid', 'email_index'])
        .execute();
      await db.schema
        .createTable('bulk_enrollment_job_courses')
        .addColumn('job_uuid', 'uuid', (c) => c.notNull().references('bulk_enrollment_jobs.uuid').onDelete('cascade'))
        .addColumn('course_index', 'integer', (c) => c.notNull())
        .addColumn('course_run_key', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('bulk_enrollment_job_courses_pk', ['job_uuid', 'course_index'])
        .execute();
      // One row per pair that has an outcome, keyed by its place in the grid, so no pair can be
      // recorded twice (a retried chunk overwrites its own rows). A pair without a row is queued.
      // No foreign key: a chunk's outcomes are one insert of up to 1,000 rows, and no job is deleted.
      await db.schema
        .createTable('bulk_enrollment_results')
        .addColumn('job_uuid', 'uuid', (c) => c.notNull())
        .addColumn('email_index', 'integer', (c) => c.notNull())
        .addColumn('course_index', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('success', 'pending', 'failed')`))
        .addColumn('notes', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('license_uuid', 'uuid')
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('bulk_enrollment_results_pk', ['job_uuid', 'email_index', 'course_index'])
        .execute();
    },
  },
};
