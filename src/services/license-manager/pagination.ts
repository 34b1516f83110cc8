import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../lib/http-errors';

/** DRF's PageNumberPagination with the upstream PAGE_SIZE. */
export const PAGE_SIZE = 100;

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** The `page` query parameter; declare it in every paginated route's querystring schema. */
export const pageQuery = { page: z.string().optional() };

/**
 * The requested page number. As DRF, anything but a positive integer (or `last`) is a 404
 * "Invalid page.", and so is a page past the end, except page 1 of an empty list.
 */
export function pageNumber(raw: string | undefined, count: number): number {
  const last = Math.max(1, Math.ceil(count / PAGE_SIZE));
  if (raw === undefined || raw === '') return 1;
  if (raw === 'last') return last;
  if (!/^\d+$/.test(raw)) throw notFound('Invalid page.');
  const page = Number(raw);
  if (page < 1 || page > last) throw notFound('Invalid page.');
  return page;
}

export const pageOffset = (page: number) => (page - 1) * PAGE_SIZE;

/**
 * The page envelope, with absolute `next`/`previous` links built from the request's own URL and
 * Host (as DRF's `build_absolute_uri`): other query parameters are kept, `page` is replaced, and
 * the link to page 1 drops `page` altogether.
 */
export function pageOf<T>(req: FastifyRequest, page: number, count: number, results: T[]): Page<T> {
  const link = (target: number) => {
    const url = new URL(req.url, `${req.protocol}://${req.host}`);
    if (target === 1) url.searchParams.delete('page');
    else url.searchParams.set('page', String(target));
    return url.toString();
  };
  return {
    count,
    next: page * PAGE_SIZE < count ? link(page + 1) : null,
    previous: page > 1 ? link(page - 1) : null,
    results,
  };
}
