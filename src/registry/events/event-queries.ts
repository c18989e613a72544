/** Read side of the audit trail: the filters the graph offers, as Prisma queries. */
import type { Prisma } from '../../generated/prisma/client.js';
import type { RegistryEventType } from '../../generated/prisma/enums.js';
import { InputError } from '../errors.js';

export interface RegistryEventFilter {
  /** Any of these types (an empty list matches nothing). */
  types?: RegistryEventType[] | null;
  /** Events about the service with this slug (kept after the service is gone). */
  slug?: string | null;
  /** At or after this instant. */
  since?: Date | null;
}

export function registryEventWhere(filter: RegistryEventFilter | null | undefined): Prisma.RegistryEventWhereInput {
  if (!filter) return {};
  const where: Prisma.RegistryEventWhereInput = {};
  if (filter.types) where.type = { in: filter.types };
  if (filter.slug) where.serviceSlug = filter.slug;
  if (filter.since) where.at = { gte: filter.since };
  return where;
}

/** PostgreSQL bigint's upper bound. */
const MAX_SEQUENCE = 9_223_372_036_854_775_807n;

/** An event's sequence (its bigint id) from the decimal string the API hands out. */
export function parseEventSequence(value: string, path = 'id'): bigint {
  const sequence = /^[0-9]{1,19}$/.test(value) ? BigInt(value) : null;
  if (sequence === null || sequence > MAX_SEQUENCE) {
    throw new InputError(`malformed event sequence ${JSON.stringify(value)}`, [{ path, message: 'not an event sequence' }]);
  }
  return sequence;
}
