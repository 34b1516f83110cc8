import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import { type CompiledFilter, compileContentFilter, FILTER_FIELDS, type FilterClause } from './content-filter';
import type { ContentItemInput } from './content-items';
import type { CatalogDB, ContentItemRow, EnterpriseCatalogRow } from './schema';

/** A handle or a transaction on the catalog schema. */
export type CatalogDb = Kysely<CatalogDB>;

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString());

// ---- content filter → SQL -------------------------------------------------------------------
// The same compiled clauses content-filter.ts evaluates in memory, as a WHERE condition on one
// alias of content_items; the catalog tests check that both select the same items.

function clauseSql(alias: string, c: FilterClause): RawBuilder<SqlBool> {
  const column = sql.ref(`${alias}.${c.field}`);
  const parts: RawBuilder<SqlBool>[] = [];
  if (c.values.length > 0) {
    const values = FILTER_FIELDS[c.field] === 'datetime' ? c.values.map((v) => new Date(v as number)) : c.values;
    parts.push(sql<SqlBool>`${column} in (${sql.join(values)})`);
  }
  if (c.acceptsNull) parts.push(sql<SqlBool>`${column} is null`);
  return sql<SqlBool>`(${sql.join(parts, sql` or `)})`;
}

export function filterSql(alias: string, compiled: CompiledFilter): RawBuilder<SqlBool> {
  if (compiled === 'nothing') return sql<SqlBool>`false`;
  if (compiled.clauses.length === 0) return sql<SqlBool>`true`;
  return sql<SqlBool>`(${sql.join(
    compiled.clauses.map((c) => clauseSql(alias, c)),
    sql` and `,
  )})`;
}

/**
 * The content of a catalog whose query has `contentFilter`: the items the filter selects, and the
 * runs of courses it selects. `ci` is the item, `p` its course (for runs). A catalog without a
 * query (`undefined`) holds nothing.
 */
export function catalogContent(db: CatalogDb, contentFilter: unknown) {
  const compiled = contentFilter === undefined ? 'nothing' : compileContentFilter(contentFilter);
  return db
    .selectFrom('content_items as ci')
    .leftJoin('content_items as p', 'p.content_key', 'ci.parent_content_key')
    .where(
      sql<SqlBool>`(${filterSql('ci', compiled)} or (ci.content_type = 'courserun' and p.content_key is not null and ${filterSql('p', compiled)}))`,
    );
}

/** Of `keys`, the ones in the catalog. */
export async function keysInCatalog(db: CatalogDb, contentFilter: unknown, keys: readonly string[]) {
  if (keys.length === 0) return [];
  const rows = await catalogContent(db, contentFilter)
    .where('ci.content_key', 'in', [...new Set(keys)])
    .select('ci.content_key')
    .execute();
  return rows.map((r) => r.content_key);
}

// ---- catalogs -------------------------------------------------------------------------------

export type CatalogWithQuery = EnterpriseCatalogRow & {
  /** The query's filter; undefined when the catalog has no query. */
  content_filter: unknown;
};

/** Catalogs joined with their query, without selections (for filters and counts). */
export const catalogsFrom = (db: CatalogDb) =>
  db.selectFrom('enterprise_catalogs as c').leftJoin('catalog_queries as q', 'q.id', 'c.catalog_query_id');

/** Selects a catalog row with its query's filter from `catalogsFrom`. */
export const selectCatalogs = (q: ReturnType<typeof catalogsFrom>) =>
  q
    .selectAll('c')
    .select('q.content_filter')
    .execute()
    .then((rows) =>
      rows.map(
        (row): CatalogWithQuery => ({
          ...row,
          content_filter: row.catalog_query_id === null ? undefined : row.content_filter,
        }),
      ),
    );

export async function catalogByUuid(db: CatalogDb, uuid: string): Promise<CatalogWithQuery | undefined> {
  const [row] = await selectCatalogs(catalogsFrom(db).where('c.uuid', '=', uuid));
  return row;
}

export async function catalogsOfCustomer(db: CatalogDb, customer: string): Promise<CatalogWithQuery[]> {
  return selectCatalogs(
    catalogsFrom(db).where('c.enterprise_customer_uuid', '=', customer).orderBy('c.created').orderBy('c.uuid'),
  );
}

export const catalogQueryExists = async (db: CatalogDb, id: number) =>
  (await db.selectFrom('catalog_queries').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;

/**
 * Creates or updates a catalog by uuid in one statement, so concurrent upserts of one uuid make
 * one row (the losers wait for the winner's insert and update it). `created` is true for the
 * caller whose insert made the row.
 */
export async function upsertCatalog(
  db: CatalogDb,
  values: { uuid: string; title: string; enterprise_customer_uuid: string; catalog_query_id: number | null },
): Promise<{ created: boolean }> {
  const row = await db
    .insertInto('enterprise_catalogs')
    .values(values)
    .onConflict((oc) =>
      oc.column('uuid').doUpdateSet((eb) => ({
        title: eb.ref('excluded.title'),
        enterprise_customer_uuid: eb.ref('excluded.enterprise_customer_uuid'),
        catalog_query_id: eb.ref('excluded.catalog_query_id'),
        modified: sql<Date>`now()`,
      })),
    )
    .returning(sql<boolean>`xmax = 0`.as('inserted'))
    .executeTakeFirstOrThrow();
  return { created: row.inserted };
}

// ---- content items --------------------------------------------------------------------------

/** Rows per INSERT: 10 parameters each, far under Postgres's 65,535. */
const INSERT_CHUNK = 1000;

/**
 * Inserts or replaces content items by key; returns how many were new and how many replaced.
 * Run it in a transaction to make a whole call atomic. Keys must be unique within `items`.
 */
export async function upsertContentItems(
  db: CatalogDb,
  items: readonly ContentItemInput[],
): Promise<{ created: number; updated: number }> {
  let created = 0;
  for (let i = 0; i < items.length; i += INSERT_CHUNK) {
    const rows = await db
      .insertInto('content_items')
      .values(items.slice(i, i + INSERT_CHUNK).map((item) => ({ ...item })))
      .onConflict((oc) =>
        oc.column('content_key').doUpdateSet((eb) => ({
          content_type: eb.ref('excluded.content_type'),
          parent_content_key: eb.ref('excluded.parent_content_key'),
          title: eb.ref('excluded.title'),
          org: eb.ref('excluded.org'),
          content_price_cents: eb.ref('excluded.content_price_cents'),
          enroll_by_date: eb.ref('excluded.enroll_by_date'),
          start_date: eb.ref('excluded.start_date'),
          end_date: eb.ref('excluded.end_date'),
          is_active: eb.ref('excluded.is_active'),
          modified: sql<Date>`now()`,
        })),
      )
      .returning(sql<boolean>`xmax = 0`.as('inserted'))
      .execute();
    created += rows.filter((r) => r.inserted).length;
  }
  return { created, updated: items.length - created };
}

/** Of `keys`, the ones that are courses. */
export async function existingCourses(db: CatalogDb, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db
    .selectFrom('content_items')
    .select('content_key')
    .where('content_key', 'in', [...new Set(keys)])
    .where('content_type', '=', 'course')
    .execute();
  return new Set(rows.map((r) => r.content_key));
}

/** One item with its course's price (for runs), or undefined. */
export function contentWithParentPrice(db: CatalogDb) {
  return db
    .selectFrom('content_items as ci')
    .leftJoin('content_items as p', 'p.content_key', 'ci.parent_content_key')
    .selectAll('ci')
    .select('p.content_price_cents as parent_price_cents');
}

// ---- representations ------------------------------------------------------------------------

export type ContentWithParentPrice = ContentItemRow & { parent_price_cents: number | null };

/**
 * Content metadata as enterprise-subsidy's `content-metadata` endpoint gives it to
 * enterprise-access: `content_price` in USD cents, a run without a price of its own taking its
 * course's.
 */
export const contentMetadataView = (row: ContentWithParentPrice) => ({
  content_key: row.content_key,
  content_type: row.content_type,
  parent_content_key: row.parent_content_key,
  title: row.title,
  org: row.org,
  content_price:
    row.content_price_cents ?? (row.content_type === 'courserun' ? (row.parent_price_cents ?? null) : null),
  enroll_by_date: iso(row.enroll_by_date),
  start_date: iso(row.start_date),
  end_date: iso(row.end_date),
  is_active: row.is_active,
});

export const catalogView = (row: EnterpriseCatalogRow, contentCount: number) => ({
  uuid: row.uuid,
  title: row.title,
  enterprise_customer: row.enterprise_customer_uuid,
  enterprise_catalog_query: row.catalog_query_id,
  content_count: contentCount,
});
