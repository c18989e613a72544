/**
 * The TTL monitor. Each sweep, in one transaction on one connection:
 * 1. takes a transaction-scoped advisory lock (pg_try_advisory_xact_lock): at most one
 *    replica sweeps at a time; a replica killed mid-sweep loses the lock with its connection;
 * 2. reads and stamps the last sweep time in job_leases; if the registry has been blind
 *    (no sweep for three intervals: it was down, or the database was), instances that
 *    expired meanwhile get one TTL of grace as UNKNOWN instead of being declared DOWN;
 * 3. moves silent instances to UNHEALTHY once their TTL passed and to DOWN once
 *    HEALTH_DOWN_AFTER_SECONDS passed since their last heartbeat, re-deriving service health;
 * 4. auto-deregisters instances DOWN longer than their deregisterAfterSeconds (never in
 *    protected services).
 * Every comparison uses the database clock. Buffered heartbeats reach the database up to
 * HEARTBEAT_FLUSH_MS late, so expiry is checked with that much slack.
 */
import type { RegistryEvent } from '../../generated/prisma/client.js';
import type { HealthStatus, TransitionCause } from '../../generated/prisma/enums.js';
import type { RegistryDeps } from '../deps.js';
import { publishEvents } from '../events/record-event.js';
import type { BackgroundJob } from '../jobs/scheduler.js';
import { applyInstanceHealthChanges, lockServices, recomputeServiceHealth } from './health-transitions.js';

const MONITOR_JOB = 'health-monitor';
/** Services handled per sweep; a backlog larger than this is worked off over further sweeps. */
const BATCH = 1_000;

export interface SweepReport {
  /** false when another replica held the monitor lock. */
  ran: boolean;
  blind: boolean;
  graced: number;
  transitions: number;
  deregistered: number;
}

export async function sweepHealth(deps: RegistryDeps): Promise<SweepReport> {
  const { intervalMs, downAfterSeconds } = deps.settings.monitor;
  const slackSeconds = deps.settings.heartbeat.flushIntervalMs / 1000;
  const blindAfterSeconds = (3 * intervalMs) / 1000;

  const outcome = await deps.db.client.$transaction(
    async (tx) => {
      const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtext('service-registry:health-monitor')) AS locked`;
      if (!lock?.locked) return { report: { ran: false, blind: false, graced: 0, transitions: 0, deregistered: 0 }, events: [] as RegistryEvent[] };

      const [stamp] = await tx.$queryRaw<{ previous: Date | null; blind: boolean }[]>`
        WITH prior AS (SELECT last_run_at FROM job_leases WHERE name = ${MONITOR_JOB})
        INSERT INTO job_leases (name, last_run_at) VALUES (${MONITOR_JOB}, now())
        ON CONFLICT (name) DO UPDATE SET last_run_at = now()
        RETURNING (SELECT last_run_at FROM prior) AS previous,
          coalesce((SELECT last_run_at < now() - make_interval(secs => ${blindAfterSeconds}) FROM prior), true) AS blind`;
      const previous = stamp!.previous;
      const blind = stamp!.blind;
      const events: RegistryEvent[] = [];

      let graced = 0;
      if (blind) {
        // Whatever expired while nobody watched may have been heartbeating at us in vain.
        const rows = await tx.$queryRaw<{ id: string; service_id: string }[]>`
          UPDATE service_instances i
          SET expires_at = now() + make_interval(secs => i.ttl_seconds)
          WHERE i.deregistered_at IS NULL AND i.health IN ('UP', 'DEGRADED', 'UNKNOWN')
            AND i.expires_at < now() AND (${previous}::timestamptz IS NULL OR i.expires_at > ${previous}::timestamptz)
          RETURNING i.id::text AS id, i.service_id::text AS service_id`;
        graced = rows.length;
        const locked = new Set(await lockServices(tx, rows.map((row) => row.service_id)));
        events.push(
          ...(await applyInstanceHealthChanges(
            tx,
            rows.filter((row) => locked.has(row.service_id)).map((row) => ({ instanceRowId: row.id, to: 'UNKNOWN', cause: 'STARTUP_GRACE', message: 'registry was not watching when this instance expired' })),
            { source: 'HEARTBEAT', actor: 'system:monitor' },
          )),
        );
      }

      const due = await tx.$queryRaw<{ service_id: string }[]>`
        SELECT DISTINCT i.service_id::text AS service_id
        FROM service_instances i
        WHERE i.deregistered_at IS NULL
          AND (
            (i.expires_at < now() - make_interval(secs => ${slackSeconds}) AND i.health NOT IN ('UNHEALTHY', 'DOWN'))
            OR (i.health = 'UNHEALTHY' AND coalesce(i.last_heartbeat_at, i.registered_at) < now() - make_interval(secs => ${downAfterSeconds}) AND i.expires_at < now())
            OR (i.health = 'DOWN' AND i.deregister_after_seconds IS NOT NULL AND i.health_since < now() - make_interval(secs => i.deregister_after_seconds))
          )
        LIMIT ${BATCH}`;
      // Skip services a heartbeat is changing right now; the next sweep sees them.
      const services = await lockServices(tx, due.map((row) => row.service_id), { skipLocked: true });
      if (services.length === 0) return { report: { ran: true, blind, graced, transitions: events.length, deregistered: 0 }, events };

      const changes = await tx.$queryRaw<{ id: string; target: HealthStatus; cause: TransitionCause }[]>`
        SELECT i.id::text AS id,
          CASE WHEN coalesce(i.last_heartbeat_at, i.registered_at) < now() - make_interval(secs => ${downAfterSeconds}) THEN 'DOWN' ELSE 'UNHEALTHY' END AS target,
          CASE WHEN NOT s.reachable THEN 'PARENT_DOWN'
               WHEN coalesce(i.last_heartbeat_at, i.registered_at) < now() - make_interval(secs => ${downAfterSeconds}) THEN 'GRACE_EXPIRED'
               ELSE 'TTL_EXPIRED' END AS cause
        FROM service_instances i JOIN services s ON s.id = i.service_id
        WHERE i.service_id = ANY(${services}::uuid[]) AND i.deregistered_at IS NULL
          AND i.expires_at < now() - make_interval(secs => ${slackSeconds})`;
      events.push(
        ...(await applyInstanceHealthChanges(
          tx,
          changes.map((row) => ({ instanceRowId: row.id, to: row.target, cause: row.cause, message: row.cause === 'PARENT_DOWN' ? 'parent is down' : 'no heartbeat within TTL' })),
          { source: 'HEARTBEAT', actor: 'system:monitor' },
        )),
      );

      const deregistered = await tx.$queryRaw<{ id: string; service_id: string; slug: string; instance_id: string }[]>`
        UPDATE service_instances i SET deregistered_at = now(), revision = i.revision + 1
        FROM services s
        WHERE s.id = i.service_id AND i.service_id = ANY(${services}::uuid[]) AND NOT s.protected
          AND i.deregistered_at IS NULL AND i.health = 'DOWN' AND i.deregister_after_seconds IS NOT NULL
          AND i.health_since < now() - make_interval(secs => i.deregister_after_seconds)
        RETURNING i.id::text AS id, i.service_id::text AS service_id, s.slug, i.instance_id`;
      if (deregistered.length > 0) {
        events.push(
          ...(await tx.registryEvent.createManyAndReturn({
            data: deregistered.map((row) => ({
              type: 'INSTANCE_DEREGISTERED' as const,
              serviceId: row.service_id,
              serviceSlug: row.slug,
              instanceId: row.instance_id,
              cause: 'AUTO_DEREGISTERED' as const,
              actor: 'system:monitor',
              details: {},
            })),
          })),
        );
        events.push(
          ...(await recomputeServiceHealth(tx, new Map(deregistered.map((row) => [row.service_id, 'AUTO_DEREGISTERED' as const])), {
            source: 'HEARTBEAT',
            actor: 'system:monitor',
          })),
        );
      }
      return { report: { ran: true, blind, graced, transitions: events.length, deregistered: deregistered.length }, events };
    },
    { timeout: 60_000 },
  );
  await publishEvents(deps.bus, outcome.events).catch((error) => deps.logger.warn({ err: error }, 'event publish failed'));
  return outcome.report;
}

export function healthMonitorJob(deps: RegistryDeps): BackgroundJob {
  return {
    name: MONITOR_JOB,
    intervalMs: deps.settings.monitor.intervalMs,
    run: async () => {
      const report = await sweepHealth(deps);
      return report.transitions > 0 || report.graced > 0 ? report : undefined;
    },
  };
}
