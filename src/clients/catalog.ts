import type { HttpClient } from '../lib/http-client';
import type { Page } from './pagination';

/** A course or run as enterprise-catalog describes it (prices in USD cents). */
export interface ContentMetadata {
  content_key: string;
  content_type: string;
  parent_content_key: string | null;
  title: string;
  content_price: number | null;
  enroll_by_date: string | null;
  start_date: string | null;
  end_date: string | null;
  is_active: boolean;
}

/** How many keys one `get_content_metadata` call may ask for (the catalog's own cap). */
const CONTENT_KEYS_PER_CALL = 100;

/** Typed calls to the catalog service. */
export class CatalogClient {
  constructor(readonly http: HttpClient) {}

  /**
   * Metadata of those `keys` that the catalog contains: one call answers both "is it in the
   * catalog" and "what does it cost" for up to CONTENT_KEYS_PER_CALL keys.
   */
  async contentInCatalog(catalogUuid: string, keys: readonly string[]): Promise<ContentMetadata[]> {
    const found: ContentMetadata[] = [];
    for (let i = 0; i < keys.length; i += CONTENT_KEYS_PER_CALL) {
      const { status, body } = await this.http.call<Page<ContentMetadata>>({
        operation: 'get catalog content metadata',
        method: 'GET',
        path: `/api/v1/enterprise-catalogs/${catalogUuid}/get_content_metadata/`,
        query: { content_keys: keys.slice(i, i + CONTENT_KEYS_PER_CALL).join(','), page_size: CONTENT_KEYS_PER_CALL },
        accept: [404],
      });
      // An unknown catalog contains nothing (can-redeem answers content_not_in_catalog).
      if (status === 404) return [];
      found.push(...body.results);
    }
    return found;
  }

  /** Metadata of any course or run, in a catalog or not; undefined when unknown. */
  async contentMetadata(contentKey: string): Promise<ContentMetadata | undefined> {
    const { status, body } = await this.http.call<ContentMetadata>({
      operation: 'get content metadata',
      method: 'GET',
      path: `/api/v1/content-metadata/${encodeURIComponent(contentKey)}/`,
      accept: [404],
    });
    return status === 404 ? undefined : body;
  }
}
