/**
 * The order in which one import registers its services: a parent always before its children
 * (a hard rule: registry-core looks the parent up), and where possible a dependency before
 * its dependents (soft: a loop of dependencies is left for registry-core to refuse).
 */
import { HierarchyError } from '../errors.js';
import type { ManifestService } from './manifest-format.js';

export function registrationOrder(services: readonly ManifestService[]): ManifestService[] {
  const bySlug = new Map(services.map((service) => [service.slug, service]));
  const hardIn = new Map<string, number>();
  const softIn = new Map<string, number>();
  const children = new Map<string, string[]>();
  const dependents = new Map<string, string[]>();
  for (const service of services) {
    const parent = service.parent && bySlug.has(service.parent) ? service.parent : null;
    hardIn.set(service.slug, parent ? 1 : 0);
    if (parent) children.set(parent, [...(children.get(parent) ?? []), service.slug]);
    const inManifest = [...new Set(service.dependencies)].filter((slug) => slug !== service.slug && bySlug.has(slug));
    softIn.set(service.slug, inManifest.length);
    for (const slug of inManifest) dependents.set(slug, [...(dependents.get(slug) ?? []), service.slug]);
  }

  const order: ManifestService[] = [];
  const placed = new Set<string>();
  const queued = new Set<string>();
  const queue: string[] = [];
  const enqueueIfReady = (slug: string) => {
    if (!placed.has(slug) && !queued.has(slug) && hardIn.get(slug) === 0 && softIn.get(slug) === 0) {
      queued.add(slug);
      queue.push(slug);
    }
  };
  const place = (slug: string) => {
    placed.add(slug);
    order.push(bySlug.get(slug)!);
    for (const child of children.get(slug) ?? []) hardIn.set(child, hardIn.get(child)! - 1);
    for (const dependent of dependents.get(slug) ?? []) softIn.set(dependent, softIn.get(dependent)! - 1);
    for (const next of [...(children.get(slug) ?? []), ...(dependents.get(slug) ?? [])]) enqueueIfReady(next);
  };

  for (const service of services) enqueueIfReady(service.slug);
  let cursor = 0;
  while (order.length < services.length) {
    if (cursor < queue.length) {
      place(queue[cursor++]!);
      continue;
    }
    // Only dependency loops left in the way: break one by placing a service whose parent is in.
    const free = services.find((service) => !placed.has(service.slug) && hardIn.get(service.slug) === 0);
    if (!free) throw parentCycle(services, placed, bySlug);
    queued.add(free.slug);
    place(free.slug);
  }
  return order;
}

function parentCycle(services: readonly ManifestService[], placed: Set<string>, bySlug: Map<string, ManifestService>): HierarchyError {
  let slug = services.find((service) => !placed.has(service.slug))!.slug;
  const chain: string[] = [];
  while (!chain.includes(slug)) {
    chain.push(slug);
    slug = bySlug.get(slug)!.parent!;
  }
  const cycle = [...chain.slice(chain.indexOf(slug)), slug];
  return new HierarchyError('PARENT_CYCLE', `the manifest's parents form a loop: ${cycle.join(' → ')}`);
}
