import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../lib/http-errors';

/** LMS lists answer at most this many rows a page (edx DefaultPagination's max_page_size). */
export const PAGE_SIZE = 100;

/** Query parameters every paginated list takes; merge into the route's querystring schema. */
export const pageQuery = {
  page: z.string().optional(),
  page_size: z.string().optional(),
};

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
 * DRF PageNumberPagination: `?page=N` (or `last`), `next`/`previous` as absolute URLs built from
 * the request (other query parameters kept; `previous` of page 2 drops `page`, as DRF does), and
 * 404 `{"detail": "Invalid page."}` for a page that is not a number or past the end. `page_size`
 * may ask for fewer rows, never more than PAGE_SIZE; a bad value falls back to the default.
 */
export async function paginate<T>(
  req: FastifyRequest,
  count: () => Promise<number>,
  fetchPage: (limit: number, offset: number) => Promise<T[]>,
): Promise<Page<T>> {
  const query = req.query as { page?: string; page_size?: string };
  const requestedSize = Number(query.page_size);
  const size = Number.isInteger(requestedSize) && requestedSize > 0 ? Math.min(requestedSize, PAGE_SIZE) : PAGE_SIZE;
  const total = await count();
  const pages = Math.max(1, Math.ceil(total / size));
  const raw = query.page ?? '1';
  const page = raw === 'last' ? pages : /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(page >= 1 && page <= pages)) throw notFound('Invalid page.');
  const results = total === 0 ? [] : await fetchPage(size, (page - 1) * size);
  return {
    count: total,
    next: page < pages ? pageUrl(req, page + 1) : null,
    previous: page > 1 ? pageUrl(req, page - 1) : null,
    results,
  };
}

function pageUrl(req: FastifyRequest, page: number): string {
  const url = new URL(req.url, `${req.protocol}://${req.host}`);
  if (page === 1) url.searchParams.delete('page');
  else url.searchParams.set('page', String(page));
  return url.toString();
}
