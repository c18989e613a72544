/**
 * Health of a network from its members' service health: one aggregate statement for any
 * number of networks. Members naming no registered service count as UNKNOWN. The overall
 * status follows the same rule as a service's health from its instances (deriveServiceHealth).
 */
import { HealthStatus } from '../../generated/prisma/enums.js';
import type { RegistryDeps } from '../deps.js';
import { deriveServiceHealth, type HealthCounts } from '../health/derive-health.js';

export interface HealthRollup {
  total: number;
  up: number;
  degraded: number;
  unhealthy: number;
  down: number;
  unknown: number;
  status: HealthStatus;
}

export async function networkHealthRollups(deps: RegistryDeps, networkIds: readonly string[]): Promise<Map<string, HealthRollup>> {
  const rows = await deps.db.client.$queryRaw<Array<{ network_id: string; health: HealthStatus | null; n: number }>>`
    SELECT m.network_id::text AS network_id, s.health::text AS health, count(*)::int AS n
    FROM service_network_members m
    LEFT JOIN services s ON s.slug = m.service_slug
    WHERE m.network_id = ANY(${[...networkIds]}::uuid[])
    GROUP BY 1, 2`;
  const counts = new Map<string, HealthCounts>();
  for (const row of rows) {
    const entry = counts.get(row.network_id) ?? {};
    const status = row.health ?? HealthStatus.UNKNOWN;
    entry[status] = (entry[status] ?? 0) + row.n;
    counts.set(row.network_id, entry);
  }
  return new Map(networkIds.map((id) => [id, rollupOf(counts.get(id) ?? {})]));
}

function rollupOf(counts: HealthCounts): HealthRollup {
  const n = (status: HealthStatus) => counts[status] ?? 0;
  return {
    total: Object.values(counts).reduce((sum, value) => sum + (value ?? 0), 0),
    up: n(HealthStatus.UP),
    degraded: n(HealthStatus.DEGRADED),
    unhealthy: n(HealthStatus.UNHEALTHY),
    down: n(HealthStatus.DOWN),
    unknown: n(HealthStatus.UNKNOWN),
    status: deriveServiceHealth(counts),
  };
}
