/**
 * A small in-process cache over lru-cache that counts what it does, so the numbers can be
 * exposed later (hit ratio, evictions under memory pressure, invalidations from the bus).
 */
import { LRUCache } from 'lru-cache';

export interface CacheOptions {
  /** Most entries kept; the least recently used goes first. @default 10000 */
  max?: number;
  /** How long an entry stays fresh, in milliseconds. @default 30000 */
  ttlMs?: number;
  /** Time source in milliseconds, for tests that move time. @default performance.now */
  now?: () => number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries pushed out because the cache was full. */
  evictions: number;
  /** Entries dropped because they were older than the TTL. */
  expirations: number;
  /** Keys dropped on request (invalidate / clear). */
  invalidations: number;
  /** Times the whole cache was emptied because it could no longer be trusted (flush). */
  flushes: number;
  size: number;
}

export interface Cache<K extends {}, V extends {}> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  /**
   * The cached value, or the loader's, which is then cached. A load that overlaps an
   * invalidation is returned but not kept: it may have read what the invalidation replaced.
   */
  getOrLoad(key: K, load: (key: K) => Promise<V>): Promise<V>;
  /**
   * getOrLoad for several keys with one load of the missing ones (which must return a value for
   * each key it is given). Same rule: results that an invalidation overtook are not kept.
   */
  getOrLoadMany(keys: readonly K[], load: (missing: K[]) => Promise<Map<K, V>>): Promise<Map<K, V>>;
  invalidate(key: K): void;
  clear(): void;
  /**
   * Empties the cache because its entries can no longer be trusted (invalidations may have
   * been missed). Counted once as a flush, not per key.
   */
  flush(): void;
  stats(): CacheStats;
}

export function createCache<K extends {}, V extends {}>(options: CacheOptions = {}): Cache<K, V> {
  const counters = { hits: 0, misses: 0, evictions: 0, expirations: 0, invalidations: 0, flushes: 0 };
  // Bumped by every invalidation: a load that saw it change must not store its result.
  let generation = 0;
  const lru = new LRUCache<K, V>({
    max: options.max ?? 10_000,
    ttl: options.ttlMs ?? 30_000,
    // Expired entries are dropped when read; no timers to keep the process alive.
    ttlAutopurge: false,
    // An injected clock is read on every check (lru-cache otherwise caches "now" for 1 ms).
    ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
    disposeAfter: (_value, _key, reason) => {
      if (reason === 'evict') counters.evictions++;
      else if (reason === 'expire') counters.expirations++;
    },
  });

  const get = (key: K): V | undefined => {
    const value = lru.get(key);
    if (value === undefined) counters.misses++;
    else counters.hits++;
    return value;
  };

  return {
    get,
    set: (key, value) => void lru.set(key, value),
    async getOrLoad(key, load) {
      const cached = get(key);
      if (cached !== undefined) return cached;
      const started = generation;
      const value = await load(key);
      if (generation === started) lru.set(key, value);
      return value;
    },
    async getOrLoadMany(keys, load) {
      const found = new Map<K, V>();
      const missing: K[] = [];
      for (const key of new Set(keys)) {
        const cached = get(key);
        if (cached === undefined) missing.push(key);
        else found.set(key, cached);
      }
      if (missing.length === 0) return found;
      const started = generation;
      const loaded = await load(missing);
      for (const key of missing) {
        const value = loaded.get(key);
        if (value === undefined) continue;
        found.set(key, value);
        if (generation === started) lru.set(key, value);
      }
      return found;
    },
    invalidate(key) {
      generation++;
      counters.invalidations++;
      lru.delete(key);
    },
    clear() {
      generation++;
      counters.invalidations += lru.size;
      lru.clear();
    },
    flush() {
      generation++;
      counters.flushes++;
      lru.clear();
    },
    stats: () => ({ ...counters, size: lru.size }),
  };
}
