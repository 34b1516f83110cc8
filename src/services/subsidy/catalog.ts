import { ServiceError } from '../../lib/http-client';
import { HttpError } from '../../lib/http-errors';
import type { ServiceContext } from '../common/service';
import { refuse } from './errors';
import type { SubsidyDB } from './schema';

/** What a redemption needs from enterprise-catalog about one content key. */
export interface ContentSummary {
  content_key: string;
  parent_content_key: string | null;
  title: string | null;
  /** USD cents; null when the catalog knows the content but has no price for it. */
  price: number | null;
}

interface ContentMetadataBody {
  content_key?: unknown;
  parent_content_key?: unknown;
  title?: unknown;
  content_price?: unknown;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Cents from the catalog's `content_price`: a non-negative number (or numeric string), else null. */
function cents(v: unknown): number | null {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : null;
}

/**
 * The catalog's view of a content key, read over HTTP (never from the catalog's tables). A 404
 * is the catalog's answer: 422 `content_not_found`, as upstream. A transient failure (network,
 * timeout, 5xx, 429) is a 503 the caller may retry; any other refusal by the catalog is our
 * misconfiguration (e.g. a rejected service token), a 502.
 */
export async function fetchContentSummary(ctx: ServiceContext<SubsidyDB>, key: string): Promise<ContentSummary> {
  let res: { status: number; body: ContentMetadataBody };
  try {
    res = await ctx.peer('catalog').call<ContentMetadataBody>({
      operation: 'content metadata',
      method: 'GET',
      path: `/api/v1/content-metadata/${encodeURIComponent(key)}/`,
      accept: [404],
    });
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    ctx.logger.warn({ err, content_key: key }, 'catalog lookup failed');
    if (err.retryable) throw new HttpError(503, { detail: 'The catalog service is unavailable; try again.' });
    throw new HttpError(502, { detail: `The catalog service refused the content lookup: ${err.message}` });
  }
  if (res.status === 404) {
    throw refuse('content_not_found', `The given content_key ${key} is not in any catalog for this customer.`);
  }
  const body = res.body && typeof res.body === 'object' ? res.body : {};
  return {
    content_key: text(body.content_key) ?? key,
    parent_content_key: text(body.parent_content_key),
    title: text(body.title),
    price: cents(body.content_price),
  };
}

/** The catalog price of a content key in USD cents (null if the catalog has none); errors as above. */
export async function fetchContentPrice(ctx: ServiceContext<SubsidyDB>, key: string): Promise<number | null> {
  return (await fetchContentSummary(ctx, key)).price;
}
