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
};
