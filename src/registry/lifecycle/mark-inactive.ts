/** ACTIVE services that have not sent a heartbeat for `inactiveAfterSeconds` become INACTIVE. */
import { Prisma } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { transitionServices, type TransitionOutcome } from './status-transition.js';

export function markInactiveServices(deps: RegistryDeps, options: { actor: string }): Promise<TransitionOutcome> {
  const seconds = deps.settings.lifecycle.inactiveAfterSeconds;
  return transitionServices(deps, {
    from: 'ACTIVE',
    to: 'INACTIVE',
    eventType: 'STATUS_CHANGED',
    cause: 'INACTIVITY',
    actor: options.actor,
    // A service that never sent a heartbeat (NULL) has no age to measure and is left alone.
    where: Prisma.sql`s.last_heartbeat_at < now() - ${seconds}::int * interval '1 second'`,
    details: Prisma.sql`jsonb_build_object('inactiveAfterSeconds', ${seconds}::int, 'lastHeartbeatAt', changed.last_heartbeat_at)`,
  });
}
