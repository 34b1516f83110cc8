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
};
