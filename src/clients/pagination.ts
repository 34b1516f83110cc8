import type { CallOptions, HttpClient } from '../lib/http-client';

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** Every result of a DRF paginated list, following `next` links (bounded, in case of a loop). */
export async function fetchAllPages<T>(
  client: HttpClient,
  operation: string,
  path: string,
  query: CallOptions['query'] & object,
  maxPages = 1000,
): Promise<T[]> {
  const all: T[] = [];
  let page = 1;
  for (;;) {
    const { body } = await client.call<Page<T>>({ operation, method: 'GET', path, query: { ...query, page } });
    all.push(...body.results);
    if (!body.next || page >= maxPages) return all;
    page += 1;
  }
}
