import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import type { Database } from './db';

/** Migrations of one schema, applied in key order; keys are `NNNN_description`. */
export type SchemaMigrations = Record<string, Migration>;

/**
 * Creates `schema` if needed and applies its pending migrations. Safe to run from several
 * processes at once (docker-compose starts them together): schema creation takes a Postgres
 * advisory lock, and Kysely's migrator takes its own lock per schema.
 */
export async function migrateSchema(db: Database, schema: string, migrations: SchemaMigrations): Promise<string[]> {
  await db.root.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${`schema:${schema}`}))`.execute(trx);
    await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
  });
  const scoped = db.forSchema<unknown>(schema) as Kysely<unknown>;
  const migrator = new Migrator({
    db: scoped,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
    migrationTableName: 'migrations',
    migrationLockTableName: 'migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Migration ${schema}/${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
