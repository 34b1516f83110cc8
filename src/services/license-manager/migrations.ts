import { sql } from 'kysely';
import type { SchemaMigrations } from '../../lib/migrations';

export const licenseManagerMigrations: SchemaMigrations = {
  '0001_products': {
    async up(db) {
      await db.schema
        .createTable('plan_types')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('label', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('is_paid_subscription', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('ns_id_required', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('sf_id_required', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('internal_use_only', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
      await db.schema
        .createTable('products')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('salesforce_product_id', 'text')
        .addColumn('netsuite_id', 'integer', (c) => c.unique())
        .addColumn('plan_type_id', 'integer', (c) => c.notNull().references('plan_types.id'))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // The products enterprise-access provisioning refers to by id (spec: 1 Standard Paid,
      // 2 Trial, 3 Self-service Paid, 4 Self-service Trial). Trials need no Salesforce line item.
      await db
        .insertInto('plan_types')
        .values([
          {
            id: 1,
            label: 'Standard Paid',
            description: 'Paid subscription',
            is_paid_subscription: true,
            ns_id_required: true,
            sf_id_required: true,
            internal_use_only: false,
          },
          {
            id: 2,
            label: 'Trials',
            description: 'Trial subscription',
            is_paid_subscription: false,
            ns_id_required: false,
            sf_id_required: false,
            internal_use_only: false,
          },
          {
            id: 3,
            label: 'OCE',
            description: 'Internal / other commercial entitlement',
            is_paid_subscription: false,
            ns_id_required: false,
            sf_id_required: false,
            internal_use_only: true,
          },
        ])
        .execute();
      await db
        .insertInto('products')
        .values([
          { id: 1, name: 'Standard Paid', description: 'B2B paid subscription', plan_type_id: 1 },
          { id: 2, name: 'Trial', description: 'B2B trial subscription', plan_type_id: 2 },
          { id: 3, name: 'Self-service Paid', description: 'Self-service paid subscription', plan_type_id: 1 },
          { id: 4, name: 'Self-service Trial', description: 'Self-service trial subscription', plan_type_id: 2 },
        ])
        .execute();
    },
  },
  '0002_agreements_plans_licenses': {
    async up(db) {
      await db.schema
        .createTable('customer_agreements')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('enterprise_customer_uuid', 'uuid', (c) => c.notNull().unique())
        .addColumn('enterprise_customer_slug', 'varchar(128)', (c) => c.unique())
        .addColumn('enterprise_customer_name', 'varchar(255)')
        .addColumn('default_enterprise_catalog_uuid', 'uuid')
        .addColumn('disable_expiration_notifications', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('disable_onboarding_notifications', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('enable_auto_applied_subscriptions_with_universal_link', 'boolean', (c) =>
          c.notNull().defaultTo(false),
        )
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();

      await db.schema
        .createTable('subscription_plans')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('title', 'varchar(128)', (c) => c.notNull())
        .addColumn('customer_agreement', 'uuid', (c) =>
          c.notNull().references('customer_agreements.uuid').onDelete('cascade'),
        )
        .addColumn('start_date', 'timestamptz', (c) => c.notNull())
        .addColumn('expiration_date', 'timestamptz', (c) => c.notNull())
        .addColumn('enterprise_catalog_uuid', 'uuid', (c) => c.notNull())
        .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('is_revocation_cap_enabled', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('revoke_max_percentage', 'integer', (c) => c.notNull().defaultTo(5))
        .addColumn('num_revocations_applied', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('salesforce_opportunity_line_item', 'varchar(18)')
        .addColumn('product_id', 'integer', (c) => c.notNull().references('products.id'))
        .addColumn('for_internal_use_only', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('can_freeze_unused_licenses', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('should_auto_apply_licenses', 'boolean')
        .addColumn('desired_num_licenses', 'integer')
        .addColumn('expiration_processed', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('last_freeze_timestamp', 'timestamptz')
        .addColumn('change_reason', 'text', (c) => c.notNull())
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        // Upstream `unique_together`; the API's "must make a unique set" error comes from this
        // constraint, so two concurrent creates of one title cannot both succeed.
        .addUniqueConstraint('subscription_plans_customer_agreement_title_key', ['customer_agreement', 'title'])
        .addCheckConstraint(
          'subscription_plans_revoke_max_percentage_check',
          sql`revoke_max_percentage between 0 and 100`,
        )
        .addCheckConstraint('subscription_plans_num_revocations_applied_check', sql`num_revocations_applied >= 0`)
        .addCheckConstraint('subscription_plans_desired_num_licenses_check', sql`desired_num_licenses >= 0`)
        .addCheckConstraint(
          'subscription_plans_change_reason_check',
          sql`change_reason in ('new', 'incorrect_user_input', 'delayed_payment',
                                'organization_requested_change', 'other')`,
        )
        .execute();

      await db.schema
        .createTable('licenses')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('subscription_plan', 'uuid', (c) =>
          c.notNull().references('subscription_plans.uuid').onDelete('cascade'),
        )
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('unassigned'))
        .addColumn('user_email', 'text')
        .addColumn('lms_user_id', 'integer')
        .addColumn('activation_key', 'uuid')
        .addColumn('assigned_date', 'timestamptz')
        .addColumn('activation_date', 'timestamptz')
        .addColumn('last_remind_date', 'timestamptz')
        .addColumn('revoked_date', 'timestamptz')
        .addColumn('auto_applied', 'boolean')
        .addColumn('renewed_to', 'uuid', (c) => c.unique().references('licenses.uuid').onDelete('set null'))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addCheckConstraint('licenses_status_check', sql`status in ('unassigned', 'assigned', 'activated', 'revoked')`)
        .execute();
      await db.schema
        .createIndex('licenses_subscription_plan_status_idx')
        .on('licenses')
        .columns(['subscription_plan', 'status'])
        .execute();
      await db.schema
        .createIndex('licenses_user_email_lower_idx')
        .on('licenses')
        .expression(sql`lower(user_email)`)
        .execute();
      await db.schema.createIndex('licenses_lms_user_id_idx').on('licenses').column('lms_user_id').execute();
      await db.schema.createIndex('licenses_activation_key_idx').on('licenses').column('activation_key').execute();
      // Upstream (MySQL) could only enforce "at most one assigned-or-activated license per email
      // per plan" in application code, and bulk paths skipped it (double assignment, ADR 0014).
      // Postgres enforces it here, for every writer.
      await db.schema
        .createIndex('licenses_plan_email_allocated_key')
        .on('licenses')
        .unique()
        .expression(sql`subscription_plan, lower(user_email)`)
        .where(sql<boolean>`status in ('assigned', 'activated')`)
        .execute();

      await db.schema
        .createTable('subscription_plan_renewals')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        // One-to-one both ways (a plan renews at most once, and is renewed into at most once):
        // the unique constraints are what keep the get-or-create honest under concurrency.
        .addColumn('prior_subscription_plan', 'uuid', (c) =>
          c.notNull().unique().references('subscription_plans.uuid').onDelete('cascade'),
        )
        .addColumn('renewed_subscription_plan', 'uuid', (c) =>
          c.unique().references('subscription_plans.uuid').onDelete('cascade'),
        )
        .addColumn('salesforce_opportunity_id', 'varchar(18)')
        .addColumn('number_of_licenses', 'integer', (c) => c.notNull())
        .addColumn('effective_date', 'timestamptz', (c) => c.notNull())
        .addColumn('renewed_expiration_date', 'timestamptz', (c) => c.notNull())
        .addColumn('renewed_plan_title', 'varchar(128)')
        .addColumn('license_types_to_copy', 'text', (c) => c.notNull().defaultTo('assigned_and_activated'))
        .addColumn('disable_auto_apply_licenses', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('exempt_from_batch_processing', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('processed', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('processed_datetime', 'timestamptz')
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addCheckConstraint('subscription_plan_renewals_number_of_licenses_check', sql`number_of_licenses >= 1`)
        .addCheckConstraint(
          'subscription_plan_renewals_license_types_to_copy_check',
          sql`license_types_to_copy in ('assigned_and_activated', 'activated', 'nothing')`,
        )
        .addCheckConstraint(
          'subscription_plan_renewals_distinct_plans_check',
          sql`renewed_subscription_plan is null or renewed_subscription_plan <> prior_subscription_plan`,
        )
        .execute();
    },
  },

  /**
   * License lifecycle (spec §3, §5.6-5.11): what the routes rely on, enforced by the database.
   * Migration 0002 already holds the partial unique index "one assigned-or-activated license per
   * (plan, lower(email))", so concurrent assigns cannot double-assign whatever the code does.
   */
  '0003_license_lifecycle': {
    async up(db) {
      // Each state carries the fields the state machine gives it (spec §3). Upstream's bulk
      // updates could leave e.g. an assigned license without an activation key; these cannot.
      await db.schema
        .alterTable('licenses')
        .addCheckConstraint(
          'licenses_allocated_fields_check',
          sql`status not in ('assigned', 'activated')
              or (user_email is not null and activation_key is not null and assigned_date is not null)`,
        )
        .execute();
      await db.schema
        .alterTable('licenses')
        .addCheckConstraint('licenses_activated_date_check', sql`status <> 'activated' or activation_date is not null`)
        .execute();
      await db.schema
        .alterTable('licenses')
        .addCheckConstraint('licenses_revoked_date_check', sql`status <> 'revoked' or revoked_date is not null`)
        .execute();
      await db.schema
        .alterTable('licenses')
        .addCheckConstraint(
          'licenses_unassigned_no_user_check',
          sql`status <> 'unassigned' or (user_email is null and lms_user_id is null)`,
        )
        .execute();
      // Activation looks a license up by key; a key identifies one license per plan (renewal
      // copies keep the key, but into another plan).
      await db.schema
        .createIndex('licenses_plan_activation_key_key')
        .on('licenses')
        .unique()
        .columns(['subscription_plan', 'activation_key'])
        .where(sql<boolean>`activation_key is not null`)
        .execute();

      // SubscriptionLicenseSource: the Salesforce id an assignment came from (`user_sfids`).
      await db.schema
        .createTable('license_sources')
        .addColumn('license', 'uuid', (c) => c.primaryKey().references('licenses.uuid').onDelete('cascade'))
        .addColumn('source_id', 'varchar(18)', (c) => c.notNull())
        .addColumn('source_type', 'text', (c) => c.notNull().defaultTo('AMT'))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addCheckConstraint('license_sources_source_id_check', sql`length(source_id) = 18`)
        .execute();

      // The emails upstream hands to Braze/ECS, kept here instead of sent. Rows are written in
      // the transaction of the change they announce, so an email exists exactly when its change
      // committed; a dispatcher can deliver them later and stamp `sent_at`.
      await db.schema
        .createTable('email_outbox')
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('enterprise_customer_uuid', 'uuid')
        .addColumn('subscription_plan', 'uuid')
        .addColumn('license', 'uuid')
        .addColumn('payload', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('sent_at', 'timestamptz')
        .addCheckConstraint(
          'email_outbox_kind_check',
          sql`kind in ('license_assignment', 'license_reminder', 'post_activation', 'auto_applied_license',
                       'revocation_cap_reached')`,
        )
        .execute();
      await db.schema
        .createIndex('email_outbox_customer_idx')
        .on('email_outbox')
        .columns(['enterprise_customer_uuid', 'id'])
        .execute();
      await db.schema
        .createIndex('email_outbox_recipient_idx')
        .on('email_outbox')
        .expression(sql`lower(recipient)`)
        .execute();
    },
  },
};
