import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateSchema, type SchemaMigrations } from '../../src/lib/migrations';
import { isUniqueViolation } from '../../src/lib/pg-errors';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

interface CounterDB {
  counters: { id: number; value: number; label: string };
}

const counterMigrations: SchemaMigrations = {
  '0001_counters': {
    async up(k) {
      await k.schema
        .createTable('counters')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('value', 'integer', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull().unique())
        .execute();
    },
  },
};

describe(`database layer (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('applies migrations once, also when several processes start together', async () => {
    const runs = await Promise.all([1, 2, 3].map(() => migrateSchema(db.database, 'alpha', counterMigrations)));
    expect(runs.flat()).toEqual(['0001_counters']);
    expect(await migrateSchema(db.database, 'alpha', counterMigrations)).toEqual([]);
  });

  it('gives each schema its own tables: the same name in two schemas never mixes', async () => {
    await migrateSchema(db.database, 'beta', counterMigrations);
    const alpha = db.database.forSchema<CounterDB>('alpha');
    const beta = db.database.forSchema<CounterDB>('beta');
    await alpha.insertInto('counters').values({ id: 1, value: 0, label: 'a' }).execute();
    await beta.insertInto('counters').values({ id: 1, value: 100, label: 'b' }).execute();
    expect(await alpha.selectFrom('counters').select('value').execute()).toEqual([{ value: 0 }]);
    expect(await beta.selectFrom('counters').select('value').execute()).toEqual([{ value: 100 }]);
  });

  it('serializes concurrent read-modify-write transactions on a locked row (no lost update)', async () => {
    const alpha = db.database.forSchema<CounterDB>('alpha');
    await Promise.all(
      Array.from({ length: 40 }, () =>
        alpha.transaction().execute(async (trx) => {
          const row = await trx
            .selectFrom('counters')
            .select('value')
            .where('id', '=', 1)
            .forUpdate()
            .executeTakeFirstOrThrow();
          await sql`select pg_sleep(0.001)`.execute(trx);
          await trx
            .updateTable('counters')
            .set({ value: row.value + 1 })
            .where('id', '=', 1)
            .execute();
        }),
      ),
    );
    const { value } = await alpha.selectFrom('counters').select('value').where('id', '=', 1).executeTakeFirstOrThrow();
    expect(value).toBe(40);
  });

  it('rolls a failed transaction back and leaves the session usable', async () => {
    const alpha = db.database.forSchema<CounterDB>('alpha');
    const err = await alpha
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('counters').set({ value: -1 }).where('id', '=', 1).execute();
        await trx.insertInto('counters').values({ id: 2, value: 0, label: 'a' }).execute();
      })
      .catch((e) => e);
    expect(isUniqueViolation(err)).toBe(true);
    const { value } = await alpha.selectFrom('counters').select('value').where('id', '=', 1).executeTakeFirstOrThrow();
    expect(value).toBe(40);
  });

  it('returns bigint columns as numbers (money is integer cents)', async () => {
    const row = await sql<{ n: number }>`select 9007199254740991::bigint as n`.execute(db.database.root);
    expect(row.rows[0]?.n).toBe(9007199254740991);
  });
});
