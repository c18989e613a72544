/**
 * Which slugs exist, cached per runtime for cheap membership checks (`isKnown`). Positive and
 * negative answers are both kept for a short TTL; `service.changed` on the bus evicts a slug
 * at once, on this replica and (with Redis) on every other one.
 */
import { createCache, type Cache } from '../../infra/cache/cache.js';
import type { RegistryDeps } from '../deps.js';

/** How long an answer is trusted without hearing from the bus. */
export const SERVICE_CACHE_TTL_MS = 30_000;
/** Most slugs remembered (known and unknown together). */
export const SERVICE_CACHE_MAX = 50_000;

export interface ServiceCache {
  /** slug → exists. */
  known: Cache<string, boolean>;
  close(): Promise<void>;
}

// One cache per deps object, i.e. per runtime: tests run several runtimes in one process.
const caches = new WeakMap<RegistryDeps, ServiceCache>();

export function getServiceCache(deps: RegistryDeps): ServiceCache {
  let cache = caches.get(deps);
  if (!cache) {
    cache = openServiceCache(deps);
    caches.set(deps, cache);
  }
  return cache;
}

/** Stops the bus subscription of this runtime's cache (if one was ever opened). Call at shutdown. */
export async function closeServiceCache(deps: RegistryDeps): Promise<void> {
  const cache = caches.get(deps);
  if (!cache) return;
  caches.delete(deps);
  await cache.close();
}

function openServiceCache(deps: RegistryDeps): ServiceCache {
  const known = createCache<string, boolean>({ max: SERVICE_CACHE_MAX, ttlMs: SERVICE_CACHE_TTL_MS });
  const iterator = deps.bus.subscribe('service.changed')[Symbol.asyncIterator]();
  let closed = false;
  const listening = (async () => {
    try {
      while (!closed) {
        const next = await iterator.next();
        if (next.done) break;
        known.invalidate(next.value.slug);
      }
    } catch (error) {
      if (!closed) deps.logger.warn({ err: error }, 'service cache lost its bus subscription; entries now expire by TTL only');
    }
  })();
  return {
    known,
    async close() {
      closed = true;
      known.clear();
      await iterator.return?.();
      await listening;
    },
  };
}

/** Whether a service with this slug is registered, answered from the cache when it can be. */
export function isKnownService(deps: RegistryDeps, slug: string): Promise<boolean> {
  return getServiceCache(deps).known.getOrLoad(slug, async () => {
    const row = await deps.db.client.service.findUnique({ where: { slug }, select: { id: true } });
    return row !== null;
  });
}
