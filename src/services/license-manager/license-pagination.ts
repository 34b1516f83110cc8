import type { FastifyRequest } from 'fastify';
import { PAGE_SIZE, type Page } from '../../lib/drf/pagination';
import { notFound } from '../../lib/http-errors';

/**
 * Upstream LicensePagination (spec 5.6): DRF page-number pagination whose `page_size` may ask
 * for up to 500 rows, with the page count added as `num_pages`. The shared `paginate` caps
 * page_size at 100, so this variant computes its own window; links follow the same rules
 * (other query parameters kept, `page` replaced, dropped for page 1).
 */
export const LICENSE_MAX_PAGE_SIZE = 500;

export async function paginateLicenses<T>(
  req: FastifyRequest,
  count: () => Promise<number>,
  fetchPage: (limit: number, offset: number) => Promise<T[]>,
): Promise<Page<T> & { num_pages: number }> {
  const query = req.query as { page?: string; page_size?: string };
  const requested = Number(query.page_size);
  const size = Number.isInteger(requested) && requested > 0 ? Math.min(requested, LICENSE_MAX_PAGE_SIZE) : PAGE_SIZE;
  const total = await count();
  const pages = Math.max(1, Math.ceil(total / size));
  const raw = query.page;
  const page = raw === undefined || raw === '' ? 1 : raw === 'last' ? pages : /^\d+$/.test(raw) ? Number(raw) : 0;
  if (!(page >= 1 && page <= pages)) throw notFound('Invalid page.');
  const link = (n: number) => {
    const url = new URL(req.url, `${req.protocol}://${req.host}`);
    if (n === 1) url.searchParams.delete('page');
    else url.searchParams.set('page', String(n));
    return url.toString();
  };
  return {
    count: total,
    num_pages: pages,
    next: page < pages ? link(page + 1) : null,
    previous: page > 1 ? link(page - 1) : null,
    results: total === 0 ? [] : await fetchPage(size, (page - 1) * size),
  };
}
