import { sql } from 'kysely';
import type { SchemaMigrations } from '../../lib/migrations';

export const subsidyMigrations: SchemaMigrations = {
  '0001_ledger': {
    async up(db) {
      await db.schema
        .createTable('subsidies')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('title', 'varchar(255)', (c) => c.notNull())
        .addColumn('enterprise_customer_uuid', 'uuid', (c) => c.notNull())
        .addColumn('active_datetime', 'timestamptz', (c) => c.notNull())
        .addColumn('expiration_datetime', 'timestamptz', (c) => c.notNull())
        .addColumn('unit', 'text', (c) => c.notNull().defaultTo('usd_cents'))
        .addColumn('reference_id', 'varchar(255)')
        .addColumn('reference_type', 'text', (c) => c.notNull().defaultTo('salesforce_opportunity_line_item'))
        .addColumn('internal_only', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('revenue_category', 'text', (c) => c.notNull().defaultTo('bulk-enrollment-prepay'))
        .addColumn('is_soft_deleted', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('starting_balance', 'bigint', (c) => c.notNull())
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addCheckConstraint('subsidies_unit_check', sql`unit in ('usd_cents')`)
        .addCheckConstraint('subsidies_starting_balance_check', sql`starting_balance >= 0`)
        .addCheckConstraint('subsidies_active_before_expiration_check', sql`active_datetime < expiration_datetime`)
        .execute();
      // The get-or-create key of POST /api/v1/subsidies/: the constraint, not a prior lookup, is what
      // keeps two concurrent creates for one Salesforce line item from making two subsidies.
      // Soft-deleted subsidies are invisible to every read, so they free their reference.
      await db.schema
        .createIndex('subsidies_reference_key')
        .on('subsidies')
        .unique()
        .columns(['reference_type', 'reference_id'])
        .where(sql<boolean>`reference_id is not null and not is_soft_deleted`)
        .execute();
      await db.schema
        .createIndex('subsidies_enterprise_customer_uuid_idx')
        .on('subsidies')
        .column('enterprise_customer_uuid')
        .execute();

      await db.schema
        .createTable('ledgers')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('subsidy_uuid', 'uuid', (c) => c.notNull().unique().references('subsidies.uuid'))
        .addColumn('idempotency_key', 'varchar(255)', (c) => c.notNull().unique())
        .addColumn('unit', 'text', (c) => c.notNull().defaultTo('usd_cents'))
        // Upstream recomputes the balance with SUM() under a memcached lock that is only advisory.
        // Here the balance is a column every write updates in its own DB transaction, and this CHECK
        // is the last word: no interleaving of requests, processes or bugs can take it below zero.
        .addColumn('balance', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addCheckConstraint('ledgers_balance_check', sql`balance >= 0`)
        .execute();

      await db.schema
        .createTable('transactions')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('ledger', 'uuid', (c) => c.notNull().references('ledgers.uuid'))
        .addColumn('idempotency_key', 'varchar(255)', (c) => c.notNull())
        .addColumn('quantity', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('created'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('lms_user_id', 'integer')
        .addColumn('lms_user_email', 'varchar(255)')
        .addColumn('content_key', 'varchar(255)')
        .addColumn('parent_content_key', 'varchar(255)')
        .addColumn('content_title', 'varchar(255)')
        .addColumn('fulfillment_identifier', 'varchar(255)')
        .addColumn('subsidy_access_policy_uuid', 'uuid')
        .addColumn('metadata', 'jsonb')
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        // Keys never expire and are unique per ledger (openedx-ledger unique_together).
        .addUniqueConstraint('transactions_ledger_idempotency_key_key', ['ledger', 'idempotency_key'])
        .addCheckConstraint('transactions_state_check', sql`state in ('created', 'pending', 'committed', 'failed')`)
        .addCheckConstraint('transactions_kind_check', sql`kind in ('redemption', 'deposit', 'adjustment')`)
        // Signs by kind: redemptions spend (≤ 0, free content is 0), deposits add, adjustments move.
        .addCheckConstraint(
          'transactions_quantity_sign_check',
          sql`(kind = 'redemption' and quantity <= 0) or (kind = 'deposit' and quantity > 0)
              or (kind = 'adjustment' and quantity <> 0)`,
        )
        .execute();
      await db.schema
        .createIndex('transactions_ledger_lms_user_id_content_key_idx')
        .on('transactions')
        .columns(['ledger', 'lms_user_id', 'content_key'])
        .execute();
      await db.schema
        .createIndex('transactions_ledger_content_key_idx')
        .on('transactions')
        .columns(['ledger', 'content_key'])
        .execute();
      await db.schema
        .createIndex('transactions_ledger_subsidy_access_policy_uuid_idx')
        .on('transactions')
        .columns(['ledger', 'subsidy_access_policy_uuid'])
        .execute();
      // The admin list's default order (-created).
      await db.schema
        .createIndex('transactions_ledger_created_idx')
        .on('transactions')
        .columns(['ledger', 'created'])
        .execute();

      await db.schema
        .createTable('reversals')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        // One reversal per transaction, of its full amount: the unique key makes a repeated or
        // concurrent reverse find the first one instead of refunding twice.
        .addColumn('transaction', 'uuid', (c) => c.notNull().unique().references('transactions.uuid'))
        .addColumn('idempotency_key', 'varchar(255)', (c) => c.notNull())
        .addColumn('quantity', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('committed'))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addCheckConstraint('reversals_state_check', sql`state in ('committed')`)
        .execute();

      await db.schema
        .createTable('deposits')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('transaction', 'uuid', (c) => c.notNull().unique().references('transactions.uuid'))
        .addColumn('sales_contract_reference_id', 'varchar(255)')
        .addColumn('sales_contract_reference_provider', 'text')
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();

      await db.schema
        .createTable('adjustments')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('transaction', 'uuid', (c) => c.notNull().unique().references('transactions.uuid'))
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('notes', 'text')
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  '0002_reference_id_key': {
    async up(db) {
      // Upstream's get-or-create key is reference_id alone, and its test subsidies
      // (`internal_only`) are always created, so they may share a reference.
      await db.schema.dropIndex('subsidies_reference_key').execute();
      await db.schema
        .createIndex('subsidies_reference_key')
        .on('subsidies')
        .unique()
        .column('reference_id')
        .where(sql<boolean>`reference_id is not null and not is_soft_deleted and not internal_only`)
        .execute();
    },
  },
  '0003_reversal_feed': {
    async up(db) {
      // The reversal feed (GET /api/v1/transaction-reversals/) reads reversals by creation time.
      await db.schema.createIndex('reversals_created_idx').on('reversals').columns(['created', 'uuid']).execute();
    },
  },
};
