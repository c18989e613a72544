/**
 * Keyset pages of the audit trail, newest first, cursor = the event's sequence. One trail, or
 * the trails of many services at once (one LATERAL read over the (service_id, id) index, so a
 * page of services costs the same statements however many events each one has).
 */
import { Prisma, type RegistryEvent } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { parseEventSequence } from './event-queries.js';

export type EventQuery = Pick<Prisma.RegistryEventFindManyArgs, 'include' | 'select'>;

export interface EventPageRequest {
  /** Sequences, as the API hands them out. */
  after?: string;
  before?: string;
  /** Rows to fetch (page size + 1). */
  limit: number;
  /** Oldest first (a `last` page); the caller reverses. */
  inverted: boolean;
}

function bounds(request: EventPageRequest) {
  return {
    // Newest first: "after" a cursor means older, a smaller sequence.
    below: request.after === undefined ? null : parseEventSequence(request.after, 'after'),
    above: request.before === undefined ? null : parseEventSequence(request.before, 'before'),
  };
}

export async function pageEvents(
  deps: RegistryDeps,
  where: Prisma.RegistryEventWhereInput,
  request: EventPageRequest,
  query: EventQuery,
): Promise<RegistryEvent[]> {
  const { below, above } = bounds(request);
  const id: Prisma.BigIntFilter = {};
  if (below !== null) id.lt = below;
  if (above !== null) id.gt = above;
  return (await deps.db.client.registryEvent.findMany({
    ...query,
    where: below === null && above === null ? where : { AND: [where, { id }] },
    orderBy: { id: request.inverted ? 'asc' : 'desc' },
    take: request.limit,
  })) as RegistryEvent[];
}

/** The same page of each service's trail, keyed by service id (every id gets an entry). */
export async function pageServiceEvents(
  deps: RegistryDeps,
  serviceIds: readonly string[],
  request: EventPageRequest,
  query: EventQuery,
): Promise<Map<string, RegistryEvent[]>> {
  const { below, above } = bounds(request);
  const direction = request.inverted ? Prisma.sql`ASC` : Prisma.sql`DESC`;
  const picked = await deps.db.client.$queryRaw<Array<{ id: bigint }>>`
    SELECT e.id
    FROM unnest(${serviceIds as string[]}::uuid[]) AS k(service_id)
    CROSS JOIN LATERAL (
      SELECT id FROM registry_events
      WHERE service_id = k.service_id
        AND (${below}::bigint IS NULL OR id < ${below}::bigint)
        AND (${above}::bigint IS NULL OR id > ${above}::bigint)
      ORDER BY id ${direction}
      LIMIT ${request.limit}
    ) e`;
  const result = new Map<string, RegistryEvent[]>(serviceIds.map((id) => [id, []]));
  if (picked.length === 0) return result;
  const shaped: EventQuery = query.select ? { select: { ...query.select, id: true, serviceId: true } } : query.include ? { include: query.include } : {};
  const events = (await deps.db.client.registryEvent.findMany({
    ...shaped,
    where: { id: { in: picked.map((row) => row.id) } },
    orderBy: { id: request.inverted ? 'asc' : 'desc' },
  })) as RegistryEvent[];
  for (const event of events) if (event.serviceId) result.get(event.serviceId)?.push(event);
  return result;
}
