/**
 * Walks of the parent/child hierarchy for many services at once: one recursive query for
 * every root, then one read of the services it reached. Callers batch (DataLoader).
 */
import type { Service } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { InputError } from '../errors.js';
import { findServices, type ServiceQuery } from './service-query.js';

/** Deepest walk, up or down: registration refuses loops, this bounds rows inserted around it. */
export const MAX_HIERARCHY_DEPTH = 100;

/** Parent chains, nearest first, keyed by the id asked for (every id gets an entry). */
export async function ancestorsOf(deps: RegistryDeps, ids: readonly string[], query: ServiceQuery = {}): Promise<Map<string, Service[]>> {
  const rows = await deps.db.client.$queryRaw<Array<{ root: string; id: string }>>`
    WITH RECURSIVE up(root, id, depth, path) AS (
      SELECT s.id, s.parent_id, 1, ARRAY[s.id, s.parent_id]
      FROM services s WHERE s.id = ANY(${ids as string[]}::uuid[]) AND s.parent_id IS NOT NULL
      UNION ALL
      SELECT u.root, p.parent_id, u.depth + 1, u.path || p.parent_id
      FROM up u JOIN services p ON p.id = u.id
      WHERE p.parent_id IS NOT NULL AND NOT p.parent_id = ANY(u.path) AND u.depth < ${MAX_HIERARCHY_DEPTH}
    )
    SELECT root::text AS root, id::text AS id FROM up ORDER BY root, depth`;
  return groupRows(deps, ids, rows, query);
}

/**
 * Whole subtrees, level by level (by slug within a level), keyed by the id asked for.
 * `maxDepth` 1 is the children; null walks down to MAX_HIERARCHY_DEPTH.
 */
export async function descendantsOf(
  deps: RegistryDeps,
  ids: readonly string[],
  maxDepth: number | null,
  query: ServiceQuery = {},
): Promise<Map<string, Service[]>> {
  const depth = checkedDepth(maxDepth);
  const rows = await deps.db.client.$queryRaw<Array<{ root: string; id: string }>>`
    WITH RECURSIVE down(root, id, depth, path) AS (
      SELECT s.parent_id, s.id, 1, ARRAY[s.parent_id, s.id]
      FROM services s WHERE s.parent_id = ANY(${ids as string[]}::uuid[])
      UNION ALL
      SELECT d.root, c.id, d.depth + 1, d.path || c.id
      FROM down d JOIN services c ON c.parent_id = d.id
      WHERE d.depth < ${depth} AND NOT c.id = ANY(d.path)
    )
    SELECT d.root::text AS root, d.id::text AS id
    FROM down d JOIN services s ON s.id = d.id
    ORDER BY d.root, d.depth, s.slug`;
  return groupRows(deps, ids, rows, query);
}

export function checkedDepth(maxDepth: number | null | undefined): number {
  if (maxDepth == null) return MAX_HIERARCHY_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_HIERARCHY_DEPTH) {
    throw new InputError(`maxDepth must be between 1 and ${MAX_HIERARCHY_DEPTH}`, [{ path: 'maxDepth', message: `got ${maxDepth}` }]);
  }
  return maxDepth;
}

/** Turns ordered (root, id) pairs into root → services, reading each distinct service once. */
async function groupRows(
  deps: RegistryDeps,
  roots: readonly string[],
  rows: Array<{ root: string; id: string }>,
  query: ServiceQuery,
): Promise<Map<string, Service[]>> {
  const wanted = [...new Set(rows.map((row) => row.id))];
  const services = wanted.length === 0 ? [] : await findServices(deps, query, { id: { in: wanted } });
  const byId = new Map(services.map((service) => [service.id, service]));
  const result = new Map<string, Service[]>(roots.map((root) => [root, []]));
  for (const row of rows) {
    const service = byId.get(row.id);
    // A service deleted between the two reads is simply left out.
    if (service) result.get(row.root)?.push(service);
  }
  return result;
}
