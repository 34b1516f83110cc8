import { sql } from 'kysely';
import type { SchemaMigrations } from '../../lib/migrations';

export const lmsMigrations: SchemaMigrations = {
  '0001_users': {
    async up(db) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('date_joined', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // Emails are matched case-insensitively everywhere (upstream mixes both; we do not).
      await db.schema.createIndex('users_email_lower_key').on('users').unique().expression(sql`lower(email)`).execute();
    },
  },

  /**
   * edx-enterprise records. Every business key is a unique constraint, so concurrent get-or-creates
   * cannot make duplicates (upstream relies on Django's check-then-insert, which races).
   */
  '0002_enterprise': {
    async up(db) {
      await db.schema
        .createTable('sites')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('domain', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .execute();
      // Django's default site is example.com; provisioning sends it unless configured otherwise.
      await db
        .insertInto('sites')
        .values([
          { domain: 'example.com', name: 'example.com' },
          { domain: 'localhost', name: 'localhost' },
        ])
        .execute();

      await db.schema
        .createTable('enterprise_customers')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('slug', 'varchar(30)', (c) => c.notNull().unique().check(sql`slug ~ '^[-a-zA-Z0-9_]+$'`))
        .addColumn('country', 'char(2)', (c) => c.notNull().check(sql`country ~ '^[A-Z]{2}$'`))
        .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('site_domain', 'text', (c) => c.notNull().references('sites.domain'))
        .addColumn('enable_portal_subscription_management_screen', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('enable_analytics_screen', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();

      await db.schema
        .createTable('catalog_queries')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .execute();
      // The ids provisioning maps products to (PRODUCT_ID_TO_CATALOG_QUERY_ID_MAPPING defaults to {1: 1, 2: 2}).
      await db
        .insertInto('catalog_queries')
        .values([
          { id: 1, title: 'All content' },
          { id: 2, title: 'All open courses' },
        ])
        .execute();

      await db.schema
        .createTable('enterprise_customer_catalogs')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('enterprise_customer', 'uuid', (c) => c.notNull().references('enterprise_customers.uuid'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('enterprise_catalog_query', 'integer', (c) => c.references('catalog_queries.id'))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        // The catalog get-or-create key (upstream checks it in Python only).
        .addUniqueConstraint('enterprise_customer_catalogs_customer_query_key', [
          'enterprise_customer',
          'enterprise_catalog_query',
        ])
        .execute();

      await db.schema
        .createTable('enterprise_customer_users')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('enterprise_customer', 'uuid', (c) => c.notNull().references('enterprise_customers.uuid'))
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
        .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addUniqueConstraint('enterprise_customer_users_customer_user_key', ['enterprise_customer', 'user_id'])
        .execute();

      await db.schema
        .createTable('role_assignments')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('enterprise_customer', 'uuid', (c) => c.notNull().references('enterprise_customers.uuid'))
        .addUniqueConstraint('role_assignments_user_role_customer_key', ['user_id', 'role', 'enterprise_customer'])
        .execute();
      await db.schema
        .createIndex('role_assignments_customer_role_idx')
        .on('role_assignments')
        .columns(['enterprise_customer', 'role'])
        .execute();

      await db.schema
        .createTable('pending_enterprise_admins')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('enterprise_customer', 'uuid', (c) => c.notNull().references('enterprise_customers.uuid'))
        .addColumn('user_email', 'text', (c) => c.notNull())
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // Upstream's unique_together is on the raw email; case-insensitive is what registration matches on.
      await db.schema
        .createIndex('pending_enterprise_admins_customer_email_key')
        .on('pending_enterprise_admins')
        .unique()
        .columns(['enterprise_customer'])
        .expression(sql`lower(user_email)`)
        .execute();
      await db.schema
        .createIndex('pending_enterprise_admins_email_idx')
        .on('pending_enterprise_admins')
        .expression(sql`lower(user_email)`)
        .execute();
    },
  },

  /**
   * Groups (ADR 0018) and enterprise course enrollments. As in 0002, every get-or-create key is a
   * unique constraint, so concurrent assigns and enrollments cannot duplicate rows.
   */
  '0003_learners_groups_enrollments': {
    async up(db) {
      await db.schema
        .createTable('enterprise_groups')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('enterprise_customer', 'uuid', (c) => c.notNull().references('enterprise_customers.uuid'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addUniqueConstraint('enterprise_groups_customer_name_key', ['enterprise_customer', 'name'])
        .execute();

      // A member is either a linked learner or, until that person registers, an email. The fk
      // column is `group_uuid` rather than `group`, which is an SQL keyword.
      await db.schema
        .createTable('enterprise_group_memberships')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('group_uuid', 'uuid', (c) => c.notNull().references('enterprise_groups.uuid').onDelete('cascade'))
        .addColumn('enterprise_customer_user', 'integer', (c) => c.references('enterprise_customer_users.id'))
        .addColumn('pending_learner_email', 'text')
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addUniqueConstraint('enterprise_group_memberships_group_ecu_key', ['group_uuid', 'enterprise_customer_user'])
        .addCheckConstraint(
          'enterprise_group_memberships_one_member_check',
          sql`num_nonnulls(enterprise_customer_user, pending_learner_email) = 1`,
        )
        .execute();
      await db.schema
        .createIndex('enterprise_group_memberships_group_pending_email_key')
        .on('enterprise_group_memberships')
        .unique()
        .columns(['group_uuid'])
        .expression(sql`lower(pending_learner_email)`)
        .execute();
      // Registration looks pending members up by email alone; the learner list by member.
      await db.schema
        .createIndex('enterprise_group_memberships_pending_email_idx')
        .on('enterprise_group_memberships')
        .expression(sql`lower(pending_learner_email)`)
        .execute();
      await db.schema
        .createIndex('enterprise_group_memberships_ecu_idx')
        .on('enterprise_group_memberships')
        .column('enterprise_customer_user')
        .execute();

      // The uuid is the fulfillment identifier a subsidy transaction records.
      await db.schema
        .createTable('enterprise_course_enrollments')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('enterprise_customer_user', 'integer', (c) => c.notNull().references('enterprise_customer_users.id'))
        .addColumn('course_id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('transaction_id', 'uuid')
        .addColumn('license_uuid', 'uuid')
        .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('unenrolled_at', 'timestamptz')
        .addUniqueConstraint('enterprise_course_enrollments_ecu_course_key', ['enterprise_customer_user', 'course_id'])
        .execute();
      await db.schema
        .createIndex('enterprise_course_enrollments_course_idx')
        .on('enterprise_course_enrollments')
        .column('course_id')
        .execute();
    },
  },

  /**
   * Bulk enrollment (`enroll_learners_in_courses`, licenses-and-enrollment §7). Learners without an
   * account are pending users with pending enrollments until they register; every get-or-create key
   * is a unique constraint, so a retried or concurrent call cannot make a second row.
   */
  '0004_bulk_enrollment': {
    async up(db) {
      // PendingEnterpriseCustomerUser: an email linked to a customer before its account exists.
      await db.schema
        .createTable('pending_enterprise_customer_users')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('enterprise_customer', 'uuid', (c) => c.notNull().references('enterprise_customers.uuid'))
        .addColumn('user_email', 'text', (c) => c.notNull().check(sql`user_email <> ''`))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // Case-insensitive, as registration matches emails (upstream's unique_together is on the raw email).
      await db.schema
        .createIndex('pending_enterprise_customer_users_customer_email_key')
        .on('pending_enterprise_customer_users')
        .unique()
        .columns(['enterprise_customer'])
        .expression(sql`lower(user_email)`)
        .execute();
      // Registration looks pending users up by email alone.
      await db.schema
        .createIndex('pending_enterprise_customer_users_email_idx')
        .on('pending_enterprise_customer_users')
        .expression(sql`lower(user_email)`)
        .execute();

      // PendingEnrollment: fulfilled (and deleted with its pending user) when the learner registers.
      // One per (pending user, course run), as upstream's unique_together; the subsidy it was made
      // under is kept so that the enrollment made at registration records it.
      await db.schema
        .createTable('pending_enrollments')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('pending_user', 'integer', (c) =>
          c.notNull().references('pending_enterprise_customer_users.id').onDelete('cascade'),
        )
        .addColumn('course_id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('license_uuid', 'uuid')
        .addColumn('transaction_id', 'uuid')
        // Upstream's DecimalField(max_digits=8, decimal_places=5).
        .addColumn('discount_percentage', sql`numeric(8, 5)`, (c) =>
          c.notNull().defaultTo(0).check(sql`discount_percentage between 0 and 100`),
        )
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addUniqueConstraint('pending_enrollments_user_course_key', ['pending_user', 'course_id'])
        .addCheckConstraint(
          'pending_enrollments_one_subsidy_check',
          sql`num_nonnulls(license_uuid, transaction_id) <= 1`,
        )
        .execute();

      // An enrollment is paid for by at most one subsidy; bulk enrollment attaches one only to an
      // enrollment that has none, and this keeps any other writer from making it two.
      await db.schema
        .alterTable('enterprise_course_enrollments')
        .addCheckConstraint(
          'enterprise_course_enrollments_one_subsidy_check',
          sql`num_nonnulls(license_uuid, transaction_id) <= 1`,
        )
        .execute();

      // The admin-enrollment emails to send: one row per course and call, naming the learners whose
      // enrollment (or pending enrollment) that call created. Written in the enrolling transaction,
      // so a retried call, which creates nothing, queues nothing.
      await db.schema
        .createTable('enrollment_notifications')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('enterprise_customer', 'uuid', (c) => c.notNull().references('enterprise_customers.uuid'))
        .addColumn('course_id', 'text', (c) => c.notNull())
        .addColumn('learners', 'jsonb', (c) => c.notNull())
        .addColumn('admin_enrollment', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex('enrollment_notifications_customer_idx')
        .on('enrollment_notifications')
        .columns(['enterprise_customer', 'created'])
        .execute();
    },
  },
};
