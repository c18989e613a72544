/** Admin view of this replica's read caches. */
import { builder } from '../../graphql/builder.js';
import { getRegistryCache, type NamedCacheStats } from './registry-cache.js';

const CacheStatsRef = builder.objectRef<NamedCacheStats>('CacheStats').implement({
  description: "One of this replica's in-process caches. Counters run from start-up.",
  fields: (t) => ({
    name: t.exposeString('name', { description: 'services (service by slug), known (isKnown) or manifests (active manifests by slug).' }),
    size: t.exposeInt('size', { description: 'Entries held now.' }),
    hits: t.exposeInt('hits'),
    misses: t.exposeInt('misses'),
    evictions: t.exposeInt('evictions', { description: 'Entries pushed out because the cache was full.' }),
    expirations: t.exposeInt('expirations', { description: 'Entries dropped for being older than the TTL.' }),
    invalidations: t.exposeInt('invalidations', { description: 'Entries dropped because a change was published (by any replica).' }),
    flushes: t.exposeInt('flushes', { description: 'Times the cache was emptied because invalidations may have been missed (Redis outage).' }),
  }),
});

const CacheStatsReportRef = builder.objectRef<{ caches: NamedCacheStats[] }>('CacheStatsReport').implement({
  fields: (t) => ({ caches: t.field({ type: [CacheStatsRef], resolve: (report) => report.caches }) }),
});

builder.queryField('cacheStats', (t) =>
  t.field({
    type: CacheStatsReportRef,
    description: "Counters of the replica that answers (each replica has its own caches).",
    resolve: (_root, _args, ctx) => ({ caches: getRegistryCache(ctx.deps).stats() }),
  }),
);
