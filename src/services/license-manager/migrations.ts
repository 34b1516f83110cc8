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
};
