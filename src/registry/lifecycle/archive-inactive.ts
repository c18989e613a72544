/**
 * Services INACTIVE for longer than `archiveAfterSeconds` (counted from status_since) are
 * REVOKED. Protected services are never archived.
 */
import { Prisma } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { transitionServices, type TransitionOutcome } from './status-transition.js';

export function archiveInactiveServices(deps: RegistryDeps, options: { actor: string }): Promise<TransitionOutcome> {
  const seconds = deps.settings.lifecycle.archiveAfterSeconds;
  return transitionServices(deps, {
    from: 'INACTIVE',
    to: 'REVOKED',
    eventType: 'REVOKED',
    cause: 'ARCHIVED',
    actor: options.actor,
    where: Prisma.sql`NOT s.protected AND s.status_since < now() - ${seconds}::int * interval '1 second'`,
    details: Prisma.sql`jsonb_build_object('archiveAfterSeconds', ${seconds}::int)`,
  });
}
