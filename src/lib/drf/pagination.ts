import { type SelectQueryBuilder, sql } from 'kysely';
import { z } from 'zod';
import { notFound } from '../http-errors';

/**
 * DRF page-number pagination, shared by the reference services: the upstream PAGE_SIZE, which is
 * also edx DefaultPagination's max_page_size (`page_size` may ask for fewer rows, never more).
 */
export const PAGE_SIZE = 100;

/** Query parameters every paginated list takes; merge into the route's querystring schema. */
export const pageQuery = {
  page: z.string().optional(),
  page_size: z.string().optional(),
};

/**
 * What pagination reads of a request: its query and absolute address. A Fastify request is one;
 * service functions take this, not the HTTP request, so they stay independent of the transport.
 */
export interface PageRequest {
  query: unknown;
  url: string;
  protocol: string;
  host: string;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** The DRF page envelope around a results schema, for response validation. */
export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    count: z.number().int(),
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(item),
  });

/**
 * DRF PageNumberPagination: `?page=N` (or `last`; absent or empty is page 1), `next`/`previous` as
 * absolute URLs built from the request's own URL and Host (as DRF's `build_absolute_uri`: other
 * query parameters kept, `page` replaced, and the link to page 1 drops `page`), and 404
 * `{"detail": "Invalid page."}` for a page that is not a positive integer or is past the end
 * (page 1 of an empty list is fine). `page_size` may ask for fewer rows, never more than
 * PAGE_SIZE; a bad value falls back to the default. `fetchPage` is not called for an empty list.
 */
export async function paginate<T>(
  req: PageRequest,
  count: () => Promise<number>,
  fetchPage: (limit: number, offset: number) => Promise<T[]>,
  opts: PageOptions = {},
): Promise<Page<T>> {
  return (await paginateWithPosition(req, count, fetchPage, opts)).page;
}

/** A paginator's sizes: `pageSize` by default, `page_size` up to `maxPageSize` (both PAGE_SIZE unless given). */
export interface PageOptions {
  pageSize?: number;
  maxPageSize?: number;
}

/** `paginate`, also telling where the page is: its number, the page count and the effective size. */
export async function paginateWithPosition<T>(
  req: PageRequest,
  count: () => Promise<number>,
  fetchPage: (limit: number, offset: number) => Promise<T[]>,
  opts: PageOptions = {},
): Promise<{ page: Page<T>; number: number; pages: number; size: number }> {
  const query = req.query as { page?: string; page_size?: string };
  const size = pageSize(query.page_size, opts.pageSize ?? PAGE_SIZE, opts.maxPageSize ?? PAGE_SIZE);
  const total = await count();
  const pages = Math.max(1, Math.ceil(total / size));
  const page = pageNumber(query.page, pages);
  const results = total === 0 ? [] : await fetchPage(size, (page - 1) * size);
  return {
    page: {
      count: total,
      next: page < pages ? pageUrl(req, page + 1) : null,
      previous: page > 1 ? pageUrl(req, page - 1) : null,
      results,
    },
    number: page,
    pages,
    size,
  };
}

/**
 * edx-drf-extensions' DefaultPagination (10 a page, `page_size` up to 100, unless a view's own
 * paginator says otherwise): the DRF page plus `num_pages`, `current_page` and `start` (the
 * offset of the page's first row).
 */
export async function paginateEdx<T>(
  req: PageRequest,
  count: () => Promise<number>,
  fetchPage: (limit: number, offset: number) => Promise<T[]>,
  opts: PageOptions = { pageSize: 10, maxPageSize: 100 },
) {
  const { page, number, pages, size } = await paginateWithPosition(req, count, fetchPage, opts);
  return {
    next: page.next,
    previous: page.previous,
    count: page.count,
    num_pages: pages,
    current_page: number,
    start: (number - 1) * size,
    results: page.results,
  };
}

/** `count(*)` of a filtered query (one without its own selections), for `paginate`'s `count`. */
export async function countRows<DB, TB extends keyof DB>(q: SelectQueryBuilder<DB, TB, object>): Promise<number> {
  const row = await q.select(sql<number>`count(*)::integer`.as('n')).$castTo<{ n: number }>().executeTakeFirstOrThrow();
  return Number(row.n);
}

function pageSize(raw: string | undefined, fallback: number, max: number): number {
  const requested = Number(raw);
  return raw !== undefined && raw !== '' && Number.isInteger(requested) && requested > 0
    ? Math.min(requested, max)
    : fallback;
}

function pageNumber(raw: string | undefined, pages: number): number {
  if (raw === undefined || raw === '') return 1;
  const page = raw === 'last' ? pages : /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(page >= 1 && page <= pages)) throw notFound('Invalid page.');
  return page;
}

function pageUrl(req: PageRequest, page: number): string {
  const url = new URL(req.url, `${req.protocol}://${req.host}`);
  if (page === 1) url.searchParams.delete('page');
  else url.searchParams.set('page', String(page));
  return url.toString();
}
