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
): Promise<Page<T>> {
  const query = req.query as { page?: string; page_size?: string };
  const size = pageSize(query.page_size);
  const total = await count();
  const pages = Math.max(1, Math.ceil(total / size));
  const page = pageNumber(query.page, pages);
  const results = total === 0 ? [] : await fetchPage(size, (page - 1) * size);
  return {
    count: total,
    next: page < pages ? pageUrl(req, page + 1) : null,
    previous: page > 1 ? pageUrl(req, page - 1) : null,
    results,
  };
}

/** `count(*)` of a filtered query (one without its own selections), for `paginate`'s `count`. */
export async function countRows<DB, TB extends keyof DB>(q: SelectQueryBuilder<DB, TB, object>): Promise<number> {
  const row = await q.select(sql<number>`count(*)::integer`.as('n')).$castTo<{ n: number }>().executeTakeFirstOrThrow();
  return Number(row.n);
}

function pageSize(raw: string | undefined): number {
  const requested = Number(raw);
  return Number.isInteger(requested) && requested > 0 ? Math.min(requested, PAGE_SIZE) : PAGE_SIZE;
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

/** The request as `paginate` should see it: `page_size` defaults to, and is capped at, `size`. */
export function withPageSize(req: PageRequest, size: number): PageRequest {
  const query = req.query as Record<string, unknown>;
  const asked = Number(query.page_size);
  const pageSize = Number.isInteger(asked) && asked > 0 ? Math.min(asked, size) : size;
  return { url: req.url, protocol: req.protocol, host: req.host, query: { ...query, page_size: String(pageSize) } };
}

/**
 * edx-drf-extensions' DefaultPagination envelope: DRF's page plus `num_pages`, `current_page` and
 * `start`, with `size` rows a page by default and at most.
 */
export async function paginateEdx<T>(
  req: PageRequest,
  size: number,
  count: () => Promise<number>,
  fetchPage: (limit: number, offset: number) => Promise<T[]>,
) {
  const sized = withPageSize(req, size);
  const page = await paginate(sized, count, fetchPage);
  const pageSize = Number((sized.query as { page_size: string }).page_size);
  const numPages = Math.max(1, Math.ceil(page.count / pageSize));
  const raw = (req.query as { page?: string }).page;
  const current = raw === 'last' ? numPages : raw ? Number(raw) : 1;
  return {
    next: page.next,
    previous: page.previous,
    count: page.count,
    num_pages: numPages,
    current_page: current,
    start: (current - 1) * pageSize,
    results: page.results,
  };
}
