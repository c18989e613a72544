/** How the discovery walks read the services they reached: with the caller's nested selection. */
import type { Prisma, Service } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';

/**
 * The relations (include) or columns (select) the GraphQL layer planned for the returned
 * services, so their nested fields load with them instead of once per row.
 */
export type ServiceQuery = Pick<Prisma.ServiceFindManyArgs, 'include' | 'select'>;

/** Columns the walks themselves read, whatever the caller selected. */
const WALK_COLUMNS = { id: true, slug: true, dependencies: true } as const;

/** Services matching `where` by slug, loaded with `query`. */
export async function findServices(deps: RegistryDeps, query: ServiceQuery, where: Prisma.ServiceWhereInput): Promise<Service[]> {
  const shaped: ServiceQuery = query.select ? { select: { ...query.select, ...WALK_COLUMNS } } : query.include ? { include: query.include } : {};
  // Service is an include-mode type: rows carry every column plus the planned relations.
  return (await deps.db.client.service.findMany({ ...shaped, where, orderBy: { slug: 'asc' } })) as Service[];
}

/** A stable key for grouping loads that share one query shape. */
export function queryKey(query: ServiceQuery): string {
  return JSON.stringify(query);
}
