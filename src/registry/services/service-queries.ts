/** Read side of services: the filters the graph offers, as Prisma queries. */
import type { Prisma } from '../../generated/prisma/client.js';
import type { HealthStatus, ServiceKind, ServiceStatus } from '../../generated/prisma/enums.js';
import type { RegistryDeps } from '../deps.js';

export interface ServiceFilter {
  kind?: ServiceKind | null;
  status?: ServiceStatus | null;
  health?: HealthStatus | null;
  tag?: string | null;
  /** Case-insensitive substring of slug, name or description. */
  search?: string | null;
}

export function serviceWhere(filter: ServiceFilter | null | undefined): Prisma.ServiceWhereInput {
  if (!filter) return {};
  const where: Prisma.ServiceWhereInput = {};
  if (filter.kind) where.kind = filter.kind;
  if (filter.status) where.status = filter.status;
  if (filter.health) where.health = filter.health;
  if (filter.tag) where.tags = { has: filter.tag };
  const search = filter.search?.trim();
  if (search) {
    where.OR = [
      { slug: { contains: search, mode: 'insensitive' } },
      { name: { contains: search, mode: 'insensitive' } },
      { description: { contains: search, mode: 'insensitive' } },
    ];
  }
  return where;
}

/** `query` carries the pagination and nested selections the GraphQL layer planned. */
export function listServices<Q extends Prisma.ServiceFindManyArgs>(deps: RegistryDeps, query: Q, filter?: ServiceFilter | null) {
  return deps.db.client.service.findMany({ ...query, where: serviceWhere(filter) });
}

export function countServices(deps: RegistryDeps, filter?: ServiceFilter | null): Promise<number> {
  return deps.db.client.service.count({ where: serviceWhere(filter) });
}

export function findServiceBySlug<Q extends Omit<Prisma.ServiceFindUniqueArgs, 'where'>>(deps: RegistryDeps, slug: string, query: Q) {
  return deps.db.client.service.findUnique({ ...query, where: { slug } });
}
