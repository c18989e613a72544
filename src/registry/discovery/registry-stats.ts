/** Registry-wide figures, computed by the database in one statement (aggregates, its clock). */
import { HealthStatus, RegistryEventType, ServiceKind, ServiceStatus } from '../../generated/prisma/enums.js';
import type { RegistryDeps } from '../deps.js';

/** The event types that count as transitions in `transitionsLast24h`. */
export const TRANSITION_EVENT_TYPES: RegistryEventType[] = [
  RegistryEventType.STATUS_CHANGED,
  RegistryEventType.HEALTH_CHANGED,
  RegistryEventType.ACTIVATED,
  RegistryEventType.REVOKED,
];

export interface RegistryStats {
  /** Every kind × status pair, zeros included, in enum order. */
  byKindStatus: Array<{ kind: ServiceKind; status: ServiceStatus; count: number }>;
  /** Every health value, zeros included, in enum order. */
  byHealth: Array<{ health: HealthStatus; count: number }>;
  totalServices: number;
  /** Instances not deregistered. */
  liveInstances: number;
  /** Age of the stalest last heartbeat among services that sent one; null when none has. */
  oldestHeartbeatAgeSeconds: number | null;
  transitionsLast24h: number;
}

interface StatsRow {
  total_services: number;
  live_instances: number;
  oldest_heartbeat_age_seconds: number | null;
  transitions_last_24h: number;
  by_kind_status: Array<{ kind: ServiceKind; status: ServiceStatus; count: number }>;
  by_health: Array<{ health: HealthStatus; count: number }>;
}

export async function registryStats(deps: RegistryDeps): Promise<RegistryStats> {
  const [row] = await deps.db.client.$queryRaw<StatsRow[]>`
    SELECT
      (SELECT count(*)::int FROM services) AS total_services,
      (SELECT count(*)::int FROM service_instances WHERE deregistered_at IS NULL) AS live_instances,
      (SELECT extract(epoch FROM now() - min(last_heartbeat_at))::float8 FROM services WHERE last_heartbeat_at IS NOT NULL)
        AS oldest_heartbeat_age_seconds,
      (SELECT count(*)::int FROM registry_events
        WHERE type::text = ANY(${TRANSITION_EVENT_TYPES}::text[]) AND at > now() - interval '24 hours') AS transitions_last_24h,
      (SELECT coalesce(json_agg(json_build_object('kind', kind, 'status', status, 'count', n)), '[]'::json)
        FROM (SELECT kind, status, count(*)::int AS n FROM services GROUP BY kind, status) g) AS by_kind_status,
      (SELECT coalesce(json_agg(json_build_object('health', health, 'count', n)), '[]'::json)
        FROM (SELECT health, count(*)::int AS n FROM services GROUP BY health) g) AS by_health`;
  if (!row) throw new Error('registry stats query returned no row');

  const kindStatus = new Map(row.by_kind_status.map((entry) => [`${entry.kind}/${entry.status}`, entry.count]));
  const health = new Map(row.by_health.map((entry) => [entry.health, entry.count]));
  return {
    byKindStatus: Object.values(ServiceKind).flatMap((kind) =>
      Object.values(ServiceStatus).map((status) => ({ kind, status, count: kindStatus.get(`${kind}/${status}`) ?? 0 })),
    ),
    byHealth: Object.values(HealthStatus).map((value) => ({ health: value, count: health.get(value) ?? 0 })),
    totalServices: row.total_services,
    liveInstances: row.live_instances,
    oldestHeartbeatAgeSeconds: row.oldest_heartbeat_age_seconds,
    transitionsLast24h: row.transitions_last_24h,
  };
}
