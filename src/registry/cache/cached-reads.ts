/**
 * Read-through lookups over the registry caches. Each answers from the cache when it may, and
 * from the database when the cache is not trusted (Redis subscriber down) or cold.
 */
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { Service, ServiceManifest } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { getRegistryCache } from './registry-cache.js';

/**
 * Service columns that change without a `service.changed` message (buffered heartbeat writes,
 * flap-count decay), so a selection that reads them goes to the database.
 */
const UNPUBLISHED_SERVICE_FIELDS = new Set(['lastHeartbeatAt', 'firstSeenAt', 'flapping', 'flapCount']);

/** Whether the field's own selection (fragments included) names any of `names`. */
function selectsAny(info: GraphQLResolveInfo, names: Set<string>): boolean {
  const visit = (set: SelectionSetNode | undefined): boolean =>
    (set?.selections ?? []).some((selection) => {
      if (selection.kind === Kind.FIELD) return names.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return visit(selection.selectionSet);
      return visit(info.fragments[selection.name.value]?.selectionSet);
    });
  return info.fieldNodes.some((node) => visit(node.selectionSet));
}

/** A Prisma query with nothing but the row itself (no relation selected with it). */
function isBareRowQuery(query: object): boolean {
  return Object.values(query).every((value) => value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0));
}

function loadService(deps: RegistryDeps, slug: string): Promise<Service | null> {
  return deps.db.client.service.findUnique({ where: { slug } });
}

/** The service row by slug, cached. */
export async function cachedServiceBySlug(deps: RegistryDeps, slug: string): Promise<Service | null> {
  const cache = getRegistryCache(deps);
  if (!cache.trusted()) return loadService(deps, slug);
  const cached = await cache.services.getOrLoad(slug, async () => ({ row: await loadService(deps, slug) }));
  return cached.row;
}

/**
 * `service(slug)`: from the cache when the selection needs the bare row only and none of the
 * columns written without a message; otherwise one statement as before (relations load with it).
 */
export function findServiceForQuery<Q extends object>(deps: RegistryDeps, slug: string, query: Q, info: GraphQLResolveInfo): Promise<Service | null> {
  if (isBareRowQuery(query) && !selectsAny(info, UNPUBLISHED_SERVICE_FIELDS)) return cachedServiceBySlug(deps, slug);
  return deps.db.client.service.findUnique({ ...query, where: { slug } }) as Promise<Service | null>;
}

/** Whether a service with this slug is registered, answered from the cache when it can be. */
export async function isKnownService(deps: RegistryDeps, slug: string): Promise<boolean> {
  const load = async () => (await deps.db.client.service.findUnique({ where: { slug }, select: { id: true } })) !== null;
  const cache = getRegistryCache(deps);
  return cache.trusted() ? cache.known.getOrLoad(slug, load) : load();
}

async function loadActiveManifests(deps: RegistryDeps, slugs: string[]): Promise<Map<string, ServiceManifest[]>> {
  const rows = await deps.db.client.serviceManifest.findMany({
    where: { serviceSlug: { in: slugs }, supersededAt: null },
    orderBy: [{ importedAt: 'desc' }, { moduleId: 'asc' }],
  });
  const bySlug = new Map<string, ServiceManifest[]>(slugs.map((slug) => [slug, []]));
  for (const row of rows) bySlug.get(row.serviceSlug)!.push(row);
  return bySlug;
}

/** Active manifests of each slug (every module, newest import first), cached; one statement for the misses. */
export async function activeManifestsBySlug(deps: RegistryDeps, slugs: readonly string[]): Promise<Map<string, ServiceManifest[]>> {
  const cache = getRegistryCache(deps);
  if (!cache.trusted()) return loadActiveManifests(deps, [...new Set(slugs)]);
  return cache.manifests.getOrLoadMany(slugs, (missing) => loadActiveManifests(deps, missing));
}

/** The active manifest of a service in one module, cached. */
export async function activeManifest(deps: RegistryDeps, moduleId: string, slug: string): Promise<ServiceManifest | null> {
  const manifests = (await activeManifestsBySlug(deps, [slug])).get(slug) ?? [];
  return manifests.find((manifest) => manifest.moduleId === moduleId) ?? null;
}
