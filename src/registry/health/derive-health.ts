/**
 * A service's health from its members: the live instances, plus its probe (health check) as
 * one more member whenever the probe's damped status is not UNKNOWN (so a service with only
 * a probe has the probe's status). Counting is done by the caller (recomputeServiceHealth):
 * - no members                   → UNKNOWN
 * - every member UP              → UP
 * - at least one UP or DEGRADED  → DEGRADED (serving, with losses)
 * - none serving, all UNKNOWN    → UNKNOWN
 * - none serving, any UNHEALTHY  → UNHEALTHY
 * - otherwise (DOWN, maybe with UNKNOWN) → DOWN
 */
import { HealthStatus } from '../../generated/prisma/enums.js';

export type HealthCounts = Partial<Record<HealthStatus, number>>;

export function deriveServiceHealth(counts: HealthCounts): HealthStatus {
  const n = (status: HealthStatus) => counts[status] ?? 0;
  const total = Object.values(counts).reduce((sum, value) => sum + (value ?? 0), 0);
  if (total === 0) return HealthStatus.UNKNOWN;
  if (n(HealthStatus.UP) === total) return HealthStatus.UP;
  if (n(HealthStatus.UP) + n(HealthStatus.DEGRADED) > 0) return HealthStatus.DEGRADED;
  if (n(HealthStatus.UNKNOWN) === total) return HealthStatus.UNKNOWN;
  if (n(HealthStatus.UNHEALTHY) > 0) return HealthStatus.UNHEALTHY;
  return HealthStatus.DOWN;
}
