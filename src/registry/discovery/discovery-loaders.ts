/**
 * Per-request DataLoaders for the discovery fields. Every Service in a response asks through
 * these, so a list of any length costs the same statements as a list of one. Loaders are kept
 * per argument value and per planned selection: rows of one list share both, so they share a
 * loader, and the services they return come with their own nested relations loaded.
 */
import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import type { Service } from '../../generated/prisma/client.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { directDependentsOf, servicesBySlug, transitiveDependentsOf } from './dependency-walk.js';
import { ancestorsOf, descendantsOf } from './hierarchy-walk.js';
import { queryKey, type ServiceQuery } from './service-query.js';

type ListLoader = DataLoader<string, Service[]>;

export interface DiscoveryLoaders {
  /** slug → service (null when unknown). */
  serviceBySlug(query: ServiceQuery): DataLoader<string, Service | null>;
  /** id → parent chain, nearest first. */
  ancestors(query: ServiceQuery): ListLoader;
  /** id → subtree, level by level. */
  descendants(maxDepth: number | null, query: ServiceQuery): ListLoader;
  /** slug → dependents, direct or transitive. */
  dependents(transitive: boolean, query: ServiceQuery): ListLoader;
}

function listLoader(load: (keys: readonly string[]) => Promise<Map<string, Service[]>>): ListLoader {
  return new DataLoader(async (keys) => {
    const found = await load(keys);
    return keys.map((key) => found.get(key) ?? []);
  });
}

export const discoveryLoaders = createContextCache((ctx: GraphQLContext): DiscoveryLoaders => {
  const { deps } = ctx;
  const loaders = new Map<string, DataLoader<string, unknown>>();
  const memo = <T extends DataLoader<string, unknown>>(key: string, create: () => T): T => {
    let loader = loaders.get(key);
    if (!loader) {
      loader = create();
      loaders.set(key, loader);
    }
    return loader as T;
  };
  return {
    serviceBySlug: (query) =>
      memo(`bySlug:${queryKey(query)}`, () => new DataLoader<string, Service | null>(async (slugs) => {
        const found = await servicesBySlug(deps, slugs, query);
        return slugs.map((slug) => found.get(slug) ?? null);
      })),
    ancestors: (query) => memo(`ancestors:${queryKey(query)}`, () => listLoader((ids) => ancestorsOf(deps, ids, query))),
    descendants: (maxDepth, query) =>
      memo(`descendants:${maxDepth}:${queryKey(query)}`, () => listLoader((ids) => descendantsOf(deps, ids, maxDepth, query))),
    dependents: (transitive, query) =>
      memo(`dependents:${transitive}:${queryKey(query)}`, () =>
        listLoader((slugs) => (transitive ? transitiveDependentsOf(deps, slugs, query) : directDependentsOf(deps, slugs, query))),
      ),
  };
});
