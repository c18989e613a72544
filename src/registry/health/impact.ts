/**
 * What a failure of one service reaches: its hierarchy subtree (checkers under an agent,
 * agents under a poller, which become unreachable) and everything that depends on it,
 * directly or transitively.
 */
import type { Service } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { transitiveDependentsOf } from '../discovery/dependency-walk.js';
import { descendantsOf } from '../discovery/hierarchy-walk.js';

export interface Impact {
  service: Service;
  subtree: Service[];
  dependents: Service[];
  /** Distinct services affected, the subtree and dependents together. */
  affectedCount: number;
}

export async function impactOf(deps: RegistryDeps, slug: string): Promise<Impact | null> {
  const service = await deps.db.client.service.findUnique({ where: { slug } });
  if (!service) return null;
  const [subtree, dependents] = await Promise.all([descendantsOf(deps, [service.id], null), transitiveDependentsOf(deps, [slug])]);
  const below = subtree.get(service.id) ?? [];
  const dependentList = dependents.get(slug) ?? [];
  const affected = new Set([...below, ...dependentList].map((row) => row.id));
  return { service, subtree: below, dependents: dependentList, affectedCount: affected.size };
}
