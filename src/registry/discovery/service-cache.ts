/**
 * The `isKnown` cache, now one of the registry caches (src/registry/cache/). These names stay
 * for the callers and tests that use them.
 */
export { REGISTRY_CACHE_MAX as SERVICE_CACHE_MAX, REGISTRY_CACHE_TTL_MS as SERVICE_CACHE_TTL_MS } from '../cache/registry-cache.js';
export { closeRegistryCache as closeServiceCache, getRegistryCache as getServiceCache, type RegistryCache as ServiceCache } from '../cache/registry-cache.js';
export { isKnownService } from '../cache/cached-reads.js';
