/** The registry's dependency graph as a whole: one read of every (slug, dependencies) pair. */
import type { RegistryDeps } from '../deps.js';
import { planStartup, type StartupPlan } from './dependency-graph.js';

export async function dependencyGraph(deps: RegistryDeps): Promise<StartupPlan> {
  const nodes = await deps.db.client.service.findMany({ select: { slug: true, dependencies: true } });
  return planStartup(nodes);
}
