/** Declared dependencies must name known services (or warn) and must not close a loop. */
import type { Prisma } from '../../generated/prisma/client.js';
import type { RegistrySettings } from '../deps.js';
import { DependencyCycleError, InputError } from '../errors.js';

type Tx = Prisma.TransactionClient;

/**
 * Serialises dependency changes: two registrations racing could each see no cycle and
 * together make one. Transaction-scoped, so it is released with the transaction whatever
 * connection the pool handed out.
 */
async function lockDependencyGraph(tx: Tx): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('service-registry:dependency-graph'))`;
}

/** Validates `dependencies` of `slug` inside the registering transaction; returns warnings. */
export async function checkDependencies(
  tx: Tx,
  slug: string,
  dependencies: string[],
  mode: RegistrySettings['dependencyValidation'],
): Promise<string[]> {
  if (dependencies.length === 0) return [];
  await lockDependencyGraph(tx);
  const known = await tx.service.findMany({ where: { slug: { in: dependencies } }, select: { slug: true } });
  const knownSlugs = new Set(known.map((row) => row.slug));
  const unknown = dependencies.filter((dependency) => !knownSlugs.has(dependency));
  const warnings: string[] = [];
  if (unknown.length > 0) {
    if (mode === 'reject') {
      throw new InputError(
        `unknown dependencies: ${unknown.join(', ')}`,
        unknown.map((dependency) => ({ path: `dependencies.${dependencies.indexOf(dependency)}`, message: `no service has slug ${dependency}` })),
      );
    }
    warnings.push(...unknown.map((dependency) => `dependency ${dependency} is not registered`));
  }

  // Walk what the new dependencies depend on; reaching `slug` again closes a loop. The walk
  // never expands `slug` itself (its stored dependencies are being replaced) nor revisits a
  // slug already on the path (existing loops, possible under DEPENDENCY_VALIDATION=warn).
  const rows = await tx.$queryRaw<{ path: string[] }[]>`
    WITH RECURSIVE walk(slug, path) AS (
      SELECT d, ARRAY[${slug}::text, d] FROM unnest(${dependencies}::text[]) AS d
      UNION ALL
      SELECT next, w.path || next
      FROM walk w
      JOIN services s ON s.slug = w.slug
      CROSS JOIN LATERAL unnest(s.dependencies) AS next
      WHERE w.slug <> ${slug} AND NOT next = ANY(w.path[2:]) AND cardinality(w.path) < 512
    )
    SELECT path FROM walk WHERE slug = ${slug} ORDER BY cardinality(path) LIMIT 1`;
  if (rows[0]) throw new DependencyCycleError(rows[0].path);
  return warnings;
}
