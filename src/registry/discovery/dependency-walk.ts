/**
 * Declared dependencies between services (the `dependencies` slug array, GIN-indexed), for
 * many services at once. Callers batch (DataLoader); each function is a constant number of
 * statements whatever the number of services asked about.
 */
import type { Service } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { findServices, type ServiceQuery } from './service-query.js';

/** The services with these slugs; unknown slugs are absent from the map. */
export async function servicesBySlug(deps: RegistryDeps, slugs: readonly string[], query: ServiceQuery = {}): Promise<Map<string, Service>> {
  const wanted = [...new Set(slugs)];
  if (wanted.length === 0) return new Map();
  const services = await findServices(deps, query, { slug: { in: wanted } });
  return new Map(services.map((service) => [service.slug, service]));
}

/** Services declaring each slug as a direct dependency, by slug. Every slug asked gets an entry. */
export async function directDependentsOf(deps: RegistryDeps, slugs: readonly string[], query: ServiceQuery = {}): Promise<Map<string, Service[]>> {
  const result = new Map<string, Service[]>(slugs.map((slug) => [slug, []]));
  if (slugs.length === 0) return result;
  const dependents = await findServices(deps, query, { dependencies: { hasSome: [...new Set(slugs)] } });
  for (const dependent of dependents) {
    for (const dependency of new Set(dependent.dependencies)) {
      if (dependency !== dependent.slug) result.get(dependency)?.push(dependent);
    }
  }
  return result;
}

/**
 * Everything that depends on each slug, directly or through others: what breaks if it goes
 * down. Ordered by slug, without duplicates, finite on cycles (the walk's UNION keeps each
 * (root, dependent) pair once, so it stops when nothing new is reached).
 */
export async function transitiveDependentsOf(deps: RegistryDeps, slugs: readonly string[], query: ServiceQuery = {}): Promise<Map<string, Service[]>> {
  const result = new Map<string, Service[]>(slugs.map((slug) => [slug, []]));
  if (slugs.length === 0) return result;
  const rows = await deps.db.client.$queryRaw<Array<{ root: string; slug: string }>>`
    WITH RECURSIVE walk(root, slug) AS (
      SELECT r.root, s.slug
      FROM unnest(${[...new Set(slugs)]}::text[]) AS r(root)
      JOIN services s ON s.dependencies @> ARRAY[r.root]
      UNION
      SELECT w.root, s.slug
      FROM walk w JOIN services s ON s.dependencies @> ARRAY[w.slug]
    )
    SELECT root, slug FROM walk WHERE slug <> root ORDER BY root, slug`;
  const services = await servicesBySlug(
    deps,
    rows.map((row) => row.slug),
    query,
  );
  for (const row of rows) {
    const service = services.get(row.slug);
    if (service) result.get(row.root)?.push(service);
  }
  return result;
}
