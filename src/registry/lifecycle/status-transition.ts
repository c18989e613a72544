/**
 * Set-based status transitions for the lifecycle jobs: one statement moves every matching
 * service and writes its event, so the change and its audit entry commit together.
 *
 * Exactly once across replicas: the UPDATE re-checks `status = from`. Under READ COMMITTED a
 * second runner that reaches a row the first one changed waits for that commit, re-reads the
 * row, finds the new status and skips it; only rows it actually moved produce events.
 */
import type { Prisma, RegistryEvent } from '../../generated/prisma/client.js';
import type { RegistryEventType, ServiceStatus, TransitionCause } from '../../generated/prisma/enums.js';
import type { RegistryDeps } from '../deps.js';
import { publishEvents } from '../events/record-event.js';

export interface StatusTransition {
  from: ServiceStatus;
  to: ServiceStatus;
  eventType: RegistryEventType;
  cause: TransitionCause;
  actor: string;
  /** Further conditions on the service row, aliased `s` (ANDed with `s.status = from`). */
  where: Prisma.Sql;
  /**
   * The event's details as a jsonb expression over the moved row, aliased `changed`
   * (columns: id, slug, previous_status, status, revision, last_heartbeat_at).
   */
  details: Prisma.Sql;
}

export interface TransitionOutcome {
  affected: number;
  /** The database's now() for the statement: when the transitions took effect. */
  ranAt: Date;
}

export async function transitionServices(deps: RegistryDeps, transition: StatusTransition): Promise<TransitionOutcome> {
  const [row] = await deps.db.client.$queryRaw<Array<{ ran_at: Date; event_ids: string[] }>>`
    WITH changed AS (
      UPDATE services s
      SET previous_status = s.status,
          status = ${transition.to}::"ServiceStatus",
          status_since = now(),
          revision = s.revision + 1,
          updated_at = now()
      WHERE s.status = ${transition.from}::"ServiceStatus" AND ${transition.where}
      RETURNING s.id, s.slug, s.previous_status, s.status, s.revision, s.last_heartbeat_at
    ), inserted AS (
      INSERT INTO registry_events (type, service_id, service_slug, from_value, to_value, cause, actor, revision, details)
      SELECT ${transition.eventType}::"RegistryEventType", changed.id, changed.slug, changed.previous_status::text,
             changed.status::text, ${transition.cause}::"TransitionCause", ${transition.actor}, changed.revision,
             ${transition.details}
      FROM changed
      RETURNING id
    )
    SELECT now() AS ran_at, coalesce(array_agg(inserted.id::text ORDER BY inserted.id), '{}') AS event_ids FROM inserted`;
  const eventIds = (row?.event_ids ?? []).map((id) => BigInt(id));
  await publishCommitted(deps, eventIds);
  return { affected: eventIds.length, ranAt: new Date(row!.ran_at) };
}

const PUBLISH_CHUNK = 1_000;

/** Publishes committed events; a failure here is logged and never undoes the transitions. */
async function publishCommitted(deps: RegistryDeps, ids: bigint[]): Promise<void> {
  try {
    for (let start = 0; start < ids.length; start += PUBLISH_CHUNK) {
      const events: RegistryEvent[] = await deps.db.client.registryEvent.findMany({
        where: { id: { in: ids.slice(start, start + PUBLISH_CHUNK) } },
        orderBy: { id: 'asc' },
      });
      await publishEvents(deps.bus, events);
    }
  } catch (error) {
    deps.logger.warn({ err: error, events: ids.length }, 'lifecycle event publish failed');
  }
}
