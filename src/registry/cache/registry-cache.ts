/**
 * The registry's per-process read caches (services by slug, slug membership, active manifests
 * by slug), kept honest by the bus:
 *
 * - every replica subscribes at start-up to `service.changed` (evict that slug) and to
 *   `registry.event` (a manifest import or rollback drops every cached manifest, since retired
 *   manifests publish no slug of their own);
 * - this replica's own writes evict synchronously as they are published (see `withLocalEviction`),
 *   so a replica reads its own writes even while Redis is away;
 * - while the Redis subscriber is disconnected nothing is read from or stored in the caches, and
 *   when it is back (resubscribed) they are flushed: invalidations may have been missed meanwhile.
 */
import type { ServiceManifest, Service } from '../../generated/prisma/client.js';
import type { BusEvents, BusTopic, EventBus } from '../../infra/bus/event-bus.js';
import { createCache, type Cache, type CacheStats } from '../../infra/cache/cache.js';
import type { Logger } from '../../infra/logger/logger.js';
import { PerRegistry, type RegistryDeps } from '../deps.js';

export interface RegistryCacheOptions {
  /** How long an entry is trusted without hearing from the bus. @default 30000 */
  ttlMs?: number;
  /** Most entries per cache. @default 50000 */
  max?: number;
  /** Log the counters every this many milliseconds; 0 turns the line off. @default 0 */
  statsLogMs?: number;
}

/** A cached row, or a cached "there is none" (lru-cache cannot hold null). */
export interface CachedRow<T> {
  row: T | null;
}

export interface NamedCacheStats extends CacheStats {
  name: string;
}

export interface RegistryCache {
  /** slug → the service row (or none). Read by `service(slug)`. */
  services: Cache<string, CachedRow<Service>>;
  /** slug → exists. Read by `isKnown`. */
  known: Cache<string, boolean>;
  /** slug → its active manifests in every module, newest import first. */
  manifests: Cache<string, ServiceManifest[]>;
  /** Resolves once the bus subscriptions are in place: invalidations from then on are heard. */
  ready: Promise<void>;
  /** false while invalidations may be missed (Redis subscriber down): read the database. */
  trusted(): boolean;
  /** Drops what is cached for one slug. */
  evict(slug: string): void;
  /** Empties every cache (counted as one flush each). */
  flush(reason: string): void;
  stats(): NamedCacheStats[];
  close(): Promise<void>;
}

/** @default TTL of every registry cache */
export const REGISTRY_CACHE_TTL_MS = 30_000;
export const REGISTRY_CACHE_MAX = 50_000;

const MANIFEST_EVENTS = new Set(['MANIFEST_IMPORTED', 'MANIFEST_ROLLED_BACK']);

const caches = new PerRegistry<RegistryCache>((deps) => createRegistryCache(deps));

/** The runtime's cache, opened (and subscribed) on first use when start-up did not open it. */
export function getRegistryCache(deps: RegistryDeps): RegistryCache {
  return caches.get(deps);
}

/** The runtime's cache if one is open; never opens one. */
export function peekRegistryCache(deps: RegistryDeps): RegistryCache | undefined {
  return caches.peek(deps);
}

/** Opens the cache at start-up with its settings; resolves once it hears the bus. */
export async function openRegistryCache(deps: RegistryDeps, options: RegistryCacheOptions = {}): Promise<RegistryCache> {
  await closeRegistryCache(deps);
  const cache = createRegistryCache(deps, options);
  caches.set(deps, cache);
  await cache.ready;
  return cache;
}

/** Stops this runtime's cache (subscriptions, stats timer). Safe to call twice. */
export async function closeRegistryCache(deps: RegistryDeps): Promise<void> {
  await caches.take(deps)?.close();
}

interface BusWithOutages extends EventBus {
  onDisconnect(listener: () => void): () => void;
}

function hasOutages(bus: EventBus): bus is BusWithOutages {
  return typeof (bus as Partial<BusWithOutages>).onDisconnect === 'function';
}

/** Follows one topic until closed; a broken subscription is logged, the caches then rely on TTL. */
function follow<T extends BusTopic>(deps: RegistryDeps, topic: T, onMessage: (payload: BusEvents[T]) => void, isClosed: () => boolean) {
  const iterator = deps.bus.subscribe(topic)[Symbol.asyncIterator]();
  // The first next() sends the subscription; started now, before the caller awaits anything.
  const listening = (async () => {
    try {
      while (!isClosed()) {
        const next = await iterator.next();
        if (next.done) break;
        onMessage(next.value);
      }
    } catch (error) {
      if (!isClosed()) deps.logger.warn({ err: error, topic }, 'registry cache lost its bus subscription; entries now expire by TTL only');
    }
  })();
  return {
    async stop() {
      await iterator.return?.();
      await listening;
    },
  };
}

function createRegistryCache(deps: RegistryDeps, options: RegistryCacheOptions = {}): RegistryCache {
  const settings = { max: options.max ?? REGISTRY_CACHE_MAX, ttlMs: options.ttlMs ?? REGISTRY_CACHE_TTL_MS };
  const services = createCache<string, CachedRow<Service>>(settings);
  const known = createCache<string, boolean>(settings);
  const manifests = createCache<string, ServiceManifest[]>(settings);
  const named = { services, known, manifests } as const;
  let closed = false;
  let connected = true;
  const isClosed = () => closed;

  const evict = (slug: string) => {
    services.invalidate(slug);
    known.invalidate(slug);
    manifests.invalidate(slug);
  };
  const flush = (reason: string) => {
    for (const cache of Object.values(named)) cache.flush();
    deps.logger.info({ reason }, '[service-registry] registry caches flushed');
  };

  const followers = [
    follow(deps, 'service.changed', (payload) => evict(payload.slug), isClosed),
    follow(deps, 'registry.event', (event) => (MANIFEST_EVENTS.has(event.type) ? manifests.clear() : undefined), isClosed),
  ];
  const unhook: Array<() => void> = [];
  if (hasOutages(deps.bus)) {
    unhook.push(
      deps.bus.onDisconnect(() => {
        connected = false;
        flush('redis subscriber disconnected');
      }),
    );
  }
  unhook.push(
    deps.bus.onReconnect(() => {
      connected = true;
      flush('redis subscriber reconnected');
    }),
  );

  const stats = () => Object.entries(named).map(([name, cache]) => ({ name, ...cache.stats() }));
  const timer = options.statsLogMs ? setInterval(() => logCacheStats(deps.logger, stats()), options.statsLogMs) : undefined;
  timer?.unref();

  return {
    services,
    known,
    manifests,
    // A PING on the bus answers after the SUBSCRIBE commands sent above (same connection, in order).
    ready: deps.bus.ping().catch((error) => deps.logger.warn({ err: error }, 'registry cache could not confirm its bus subscriptions')),
    trusted: () => connected && !closed,
    evict,
    flush,
    stats,
    async close() {
      closed = true;
      clearInterval(timer);
      for (const off of unhook) off();
      for (const cache of Object.values(named)) cache.clear();
      await Promise.all(followers.map((follower) => follower.stop()));
    },
  };
}

/** One info line with the totals as fields and each cache's counters under `caches`. */
export function logCacheStats(logger: Logger, stats: NamedCacheStats[]): void {
  const sum = (field: 'hits' | 'misses' | 'evictions' | 'invalidations' | 'flushes') => stats.reduce((total, cache) => total + cache[field], 0);
  const hits = sum('hits');
  const misses = sum('misses');
  const hitRatio = hits + misses === 0 ? null : Math.round((hits / (hits + misses)) * 1000) / 1000;
  logger.info(
    {
      hits,
      misses,
      hitRatio,
      evictions: sum('evictions'),
      invalidations: sum('invalidations'),
      flushes: sum('flushes'),
      caches: Object.fromEntries(stats.map(({ name, ...counters }) => [name, counters])),
    },
    `[service-registry] cache hit/miss ${hits}/${misses}`,
  );
}

/**
 * The bus as this replica's writers see it: publishing a change evicts it from this replica's
 * caches first, then fans it out. Evicting here, not only when the message comes back, keeps
 * read-your-writes on this replica when Redis is slow or down (publish then fails fast, and
 * `publishEvents` stops at the first failure, so every topic that names a slug evicts it).
 */
export function withLocalEviction(bus: EventBus, cacheOf: () => RegistryCache | undefined): EventBus {
  const wrapped: EventBus = Object.create(bus);
  wrapped.publish = (topic, payload) => {
    const cache = cacheOf();
    if (cache) {
      if (topic === 'service.changed') cache.evict((payload as BusEvents['service.changed']).slug);
      else if (topic === 'registry.event') {
        const event = payload as BusEvents['registry.event'];
        if (event.serviceSlug) cache.evict(event.serviceSlug);
        if (MANIFEST_EVENTS.has(event.type)) cache.manifests.clear();
      }
    }
    return bus.publish(topic, payload);
  };
  return wrapped;
}
