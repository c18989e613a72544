/** Unit tests of the counting in-process cache (no database). */
import { describe, expect, it } from 'vitest';
import { createCache } from '../src/infra/cache/cache.js';

describe('createCache', () => {
  it('counts hits and misses, and loads once per key', async () => {
    const cache = createCache<string, boolean>();
    let loads = 0;
    const load = async () => {
      loads++;
      return false;
    };
    expect(await cache.getOrLoad('a', load)).toBe(false);
    expect(await cache.getOrLoad('a', load)).toBe(false);
    expect(loads).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, size: 1 });
  });

  it('expires entries after the TTL, by the clock it is given', async () => {
    let now = 1_000;
    const cache = createCache<string, number>({ ttlMs: 30_000, now: () => now });
    cache.set('a', 1);
    now += 29_000;
    expect(cache.get('a')).toBe(1);
    now += 2_000;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, expirations: 1, size: 0 });
  });

  it('evicts the least recently used entry when full', () => {
    const cache = createCache<string, number>({ max: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.stats()).toMatchObject({ evictions: 1, size: 2 });
  });

  it('counts invalidations and drops the key', () => {
    const cache = createCache<string, number>();
    cache.set('a', 1);
    cache.set('b', 2);
    cache.invalidate('a');
    expect(cache.get('a')).toBeUndefined();
    cache.clear();
    expect(cache.stats()).toMatchObject({ invalidations: 2, evictions: 0, size: 0 });
  });

  it('does not keep a load that an invalidation overtook', async () => {
    const cache = createCache<string, boolean>();
    let release!: () => void;
    const pending = cache.getOrLoad('slug', () => new Promise<boolean>((resolve) => (release = () => resolve(false))));
    cache.invalidate('slug');
    release();
    expect(await pending).toBe(false);
    expect(await cache.getOrLoad('slug', async () => true)).toBe(true);
  });

  it('counts a flush once, apart from invalidations, and drops loads it overtook', async () => {
    const cache = createCache<string, number>();
    cache.set('a', 1);
    cache.set('b', 2);
    let release!: () => void;
    const pending = cache.getOrLoad('c', () => new Promise<number>((resolve) => (release = () => resolve(3))));
    cache.flush();
    release();
    expect(await pending).toBe(3);
    expect(cache.get('c')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ flushes: 1, invalidations: 0, size: 0 });
  });

  it('loads only the missing keys of a batch, once', async () => {
    const cache = createCache<string, number>();
    cache.set('a', 1);
    const asked: string[][] = [];
    const load = async (missing: string[]) => (asked.push(missing), new Map(missing.map((key) => [key, key.length * 10])));
    expect([...(await cache.getOrLoadMany(['a', 'bb', 'bb', 'ccc'], load))].sort()).toEqual([['a', 1], ['bb', 20], ['ccc', 30]]);
    expect(asked).toEqual([['bb', 'ccc']]);
    expect(await cache.getOrLoadMany(['bb', 'ccc'], load)).toEqual(new Map([['bb', 20], ['ccc', 30]]));
    expect(asked).toHaveLength(1);
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 2 });
  });
});
