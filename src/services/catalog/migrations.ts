import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { SchemaMigrations } from '../../lib/migrations';
import { describeIssues } from '../../lib/validation';
import { seedFileSchema } from './content-items';
import type { CatalogDB } from './schema';

/** The content a new catalog service starts with (courses and runs; see 0002_seed). */
export const SEED_FILE = fileURLToPath(new URL('../../../data/catalog-seed.json', import.meta.url));

/** The catalog queries the lms knows by the same ids (PRODUCT_ID_TO_CATALOG_QUERY_ID_MAPPING {1: 1, 2: 2}). */
export const CATALOG_QUERIES = [
  { id: 1, title: 'All content', content_filter: {} },
  { id: 2, title: 'All open courses', content_filter: { content_type: ['course', 'courserun'], is_active: [true] } },
] as const;

/**
 * Loads the seed file into an empty content_items table, and does nothing to a table that has
 * content. Returns how many items it inserted.
 */
export async function loadSeedIfEmpty(db: Kysely<CatalogDB>, file = SEED_FILE): Promise<number> {
  const existing = await db.selectFrom('content_items').select('content_key').limit(1).executeTakeFirst();
  if (existing) return 0;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`catalog seed ${file} could not be read: ${(err as Error).message}`);
  }
  const parsed = z.safeParse(seedFileSchema, raw);
  if (!parsed.success) throw new Error(`catalog seed ${file} is invalid: ${describeIssues(parsed.error.issues)}`);
  const items = parsed.data.items;
  for (let i = 0; i < items.length; i += 1000) {
    await db
      .insertInto('content_items')
      .values(items.slice(i, i + 1000))
      .execute();
  }
  return items.length;
}

export const catalogMigrations: SchemaMigrations = {
  '0001_content': {
    async up(db) {
      await db.schema
        .createTable('content_items')
        .addColumn('content_key', 'text', (c) => c.primaryKey())
        .addColumn('content_type', 'text', (c) => c.notNull().check(sql`content_type in ('course', 'courserun')`))
        .addColumn('parent_content_key', 'text')
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('org', 'text', (c) => c.notNull())
        .addColumn('content_price_cents', 'integer', (c) => c.check(sql`content_price_cents >= 0`))
        .addColumn('enroll_by_date', 'timestamptz')
        .addColumn('start_date', 'timestamptz')
        .addColumn('end_date', 'timestamptz')
        .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        // Courses have no parent, runs have one (the import checks it is a course).
        .addCheckConstraint('content_items_parent_check', sql`(content_type = 'course') = (parent_content_key is null)`)
        .execute();
      await db.schema
        .createIndex('content_items_parent_content_key_idx')
        .on('content_items')
        .column('parent_content_key')
        .execute();

      await db.schema
        .createTable('catalog_queries')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('content_filter', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
        .execute();
      await db
        .insertInto('catalog_queries')
        .values(
          CATALOG_QUERIES.map((q) => ({
            id: q.id,
            title: q.title,
            content_filter: sql`${JSON.stringify(q.content_filter)}::jsonb`,
          })),
        )
        .execute();

      await db.schema
        .createTable('enterprise_catalogs')
        .addColumn('uuid', 'uuid', (c) => c.primaryKey())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('enterprise_customer_uuid', 'uuid', (c) => c.notNull())
        .addColumn('catalog_query_id', 'integer', (c) => c.references('catalog_queries.id'))
        .addColumn('created', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('modified', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex('enterprise_catalogs_customer_idx')
        .on('enterprise_catalogs')
        .column('enterprise_customer_uuid')
        .execute();
    },
  },

  /**
   * The seed content (data/catalog-seed.json), so a new stack has courses to redeem. Applied once
   * per database like every migration, and even then only into an empty table: content imported
   * before is never mixed with seed content.
   */
  '0002_seed': {
    async up(db) {
      await loadSeedIfEmpty(db as Kysely<CatalogDB>);
    },
  },
};
