import type { Generated, Selectable } from 'kysely';

/** Tables of the catalog schema (enterprise-catalog). */
export interface CatalogDB {
  /**
   * Courses and course runs with the metadata redemption needs (enterprise-catalog keeps the whole
   * discovery document; only the fields learner credit reads are kept here).
   */
  content_items: {
    /** `edX+DemoX` for a course, `course-v1:edX+DemoX+2026` for a run. */
    content_key: string;
    content_type: ContentType;
    /** A run's course key; null for courses. */
    parent_content_key: string | null;
    title: string;
    org: string;
    /** USD cents; null when the item has no price of its own (a run then falls back to its course's). */
    content_price_cents: number | null;
    enroll_by_date: Date | null;
    start_date: Date | null;
    end_date: Date | null;
    is_active: boolean;
    created: Generated<Date>;
    modified: Generated<Date>;
  };
  /** CatalogQuery: which content a catalog holds (see content-filter.ts for the filter's meaning). */
  catalog_queries: {
    id: number;
    title: string;
    content_filter: unknown;
  };
  /** EnterpriseCatalog: the same uuid as the lms's enterprise customer catalog it mirrors. */
  enterprise_catalogs: {
    uuid: string;
    title: string;
    enterprise_customer_uuid: string;
    catalog_query_id: number | null;
    created: Generated<Date>;
    modified: Generated<Date>;
  };
}

export const CONTENT_TYPES = ['course', 'courserun'] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];

export type ContentItemRow = Selectable<CatalogDB['content_items']>;
export type EnterpriseCatalogRow = Selectable<CatalogDB['enterprise_catalogs']>;
