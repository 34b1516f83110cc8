import { LRUCache } from 'lru-cache';

/**
 * A read-through cache for answers that change slowly upstream (catalog contents, prices,
 * memberships): a TTL of 0 turns it off. Misses are cached too (as upstream's TieredCache
 * does), and concurrent lookups of one key share a single fetch.
 */
export class ReadThrough<V> {
  private readonly cache: LRUCache<string, { value: V }> | null;
  private readonly inflight = new Map<string, Promise<V>>();

  constructor(ttlSeconds: number, max = 50_000) {
    this.cache = ttlSeconds > 0 ? new LRUCache({ max, ttl: ttlSeconds * 1000 }) : null;
  }

  async get(key: string, fetch: () => Promise<V>): Promise<V> {
    const hit = this.cache?.get(key);
    if (hit) return hit.value;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const p = fetch()
      .then((value) => {
        this.cache?.set(key, { value });
        return value;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** Fills several keys from one fetch of the missing ones (e.g. one catalog call for ten keys). */
  async getMany(
    keys: readonly string[],
    fetchMissing: (missing: string[]) => Promise<Map<string, V>>,
    absent: V,
  ): Promise<Map<string, V>> {
    const out = new Map<string, V>();
    const missing: string[] = [];
    for (const k of keys) {
      const hit = this.cache?.get(k);
      if (hit) out.set(k, hit.value);
      else missing.push(k);
    }
    if (missing.length > 0) {
      const fetched = await fetchMissing(missing);
      for (const k of missing) {
        const value = fetched.get(k) ?? absent;
        this.cache?.set(k, { value });
        out.set(k, value);
      }
    }
    return out;
  }
}
