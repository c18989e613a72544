/**
 * Lifecycle status changes of one service, following the convention every writer shares:
 * previous_status, status_since, revision + 1, and one audit event (ACTIVATED for
 * PENDING → ACTIVE, REVOKED for → REVOKED, STATUS_CHANGED otherwise).
 */
import type { Prisma, RegistryEvent } from '../../generated/prisma/client.js';
import type { RegistryEventType, ServiceStatus, TransitionCause } from '../../generated/prisma/enums.js';
import { recordEvent } from '../events/record-event.js';

type Tx = Prisma.TransactionClient;

export function statusEventType(from: ServiceStatus, to: ServiceStatus): RegistryEventType {
  if (to === 'REVOKED') return 'REVOKED';
  if (from === 'PENDING' && to === 'ACTIVE') return 'ACTIVATED';
  return 'STATUS_CHANGED';
}

/** Returns the event, or null when the service already had that status. */
export async function changeServiceStatus(
  tx: Tx,
  serviceId: string,
  to: ServiceStatus,
  change: { cause: TransitionCause; actor?: string | null; details?: Prisma.InputJsonValue },
): Promise<RegistryEvent | null> {
  const rows = await tx.$queryRaw<{ slug: string; previous_status: ServiceStatus; revision: number }[]>`
    UPDATE services
    SET previous_status = status, status = ${to}::"ServiceStatus", status_since = now(), revision = revision + 1, updated_at = now()
    WHERE id = ${serviceId}::uuid AND status <> ${to}::"ServiceStatus"
    RETURNING slug, previous_status, revision`;
  const row = rows[0];
  if (!row) return null;
  return recordEvent(tx, {
    type: statusEventType(row.previous_status, to),
    serviceId,
    serviceSlug: row.slug,
    fromValue: row.previous_status,
    toValue: to,
    cause: change.cause,
    actor: change.actor ?? null,
    revision: row.revision,
    details: change.details ?? {},
  });
}
