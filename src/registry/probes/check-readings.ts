/**
 * Applies readings of a service's health check (HTTP probes, or external checkers through
 * recordHealthSnapshot) set-based, in the caller's transaction:
 * 1. locks the services (same lock order as every other health writer);
 * 2. moves each check's counters and damped status in one UPDATE (Consul-style damping: the
 *    status turns to the passing status only after successBeforePassing consecutive passes,
 *    to the failing status only after failuresBeforeCritical consecutive failures, and keeps
 *    its value in between);
 * 3. writes one service-level snapshot per reading carrying the check's damped status;
 * 4. writes a HEALTH_CHANGED event (scope `probe`) per check whose status changed, and
 *    re-derives those services' health with the check as one more member;
 * 5. re-evaluates flapping.
 * A constant number of statements whatever the batch size. Events are returned for the caller
 * to publish after commit.
 */
import type { HealthSnapshot, Prisma, RegistryEvent } from '../../generated/prisma/client.js';
import type { HealthStatus, SnapshotSource, TransitionCause } from '../../generated/prisma/enums.js';
import { embedSnapshot, lockServices, recomputeServiceHealth, updateFlapping, writeEvents, writeSnapshots } from '../health/health-transitions.js';

type Tx = Prisma.TransactionClient;

export interface CheckReading {
  serviceId: string;
  /** The service's health_checks row; null for an external reading of a service without one. */
  checkId: string | null;
  /** true: a pass; false: a failure; null: neither (an UNKNOWN reading moves no counter). */
  passed: boolean | null;
  /** The status the check takes once the pass or failure threshold is reached. */
  status: HealthStatus;
  latencyMs?: number | null;
  statusCode?: number | null;
  message?: string | null;
  checkedAt?: Date | null;
  metadata?: Prisma.InputJsonValue;
  /** Poller readings apply only while this replica still owns the claim. */
  leaseOwner?: string | null;
}

export interface ReadingsOptions {
  source: SnapshotSource;
  actor: string | null;
  flapping: { threshold: number; windowSeconds: number };
}

export interface ReadingsOutcome {
  /** One per reading, in order; null where the reading was dropped (the claim was lost). */
  snapshots: Array<HealthSnapshot | null>;
  events: RegistryEvent[];
}

interface CheckRow {
  id: string;
  service_id: string;
  slug: string;
  before: HealthStatus;
  after: HealthStatus;
}

function causeOf(reading: CheckReading, source: SnapshotSource): TransitionCause {
  if (source === 'MANUAL' || reading.passed === null) return 'EXTERNAL_CHECK';
  return reading.passed ? 'PROBE_PASSED' : 'PROBE_FAILED';
}

export async function applyCheckReadings(tx: Tx, readings: CheckReading[], options: ReadingsOptions): Promise<ReadingsOutcome> {
  if (readings.length === 0) return { snapshots: [], events: [] };
  await lockServices(tx, readings.map((reading) => reading.serviceId));

  const withCheck = readings.filter((reading) => reading.checkId !== null);
  const checks = new Map<string, CheckRow>();
  if (withCheck.length > 0) {
    const ids = withCheck.map((reading) => reading.checkId!);
    const passed = withCheck.map((reading) => reading.passed);
    const targets = withCheck.map((reading) => reading.status);
    const owners = withCheck.map((reading) => reading.leaseOwner ?? null);
    // `o` is the row as this statement found it: its status is the one before the reading.
    const rows = await tx.$queryRaw<CheckRow[]>`
      UPDATE health_checks c SET
        consecutive_successes = CASE WHEN v.passed THEN c.consecutive_successes + 1 WHEN NOT v.passed THEN 0 ELSE c.consecutive_successes END,
        consecutive_failures = CASE WHEN NOT v.passed THEN c.consecutive_failures + 1 WHEN v.passed THEN 0 ELSE c.consecutive_failures END,
        status = CASE
          WHEN v.passed AND c.consecutive_successes + 1 >= c.success_before_passing THEN v.target::"HealthStatus"
          WHEN NOT v.passed AND c.consecutive_failures + 1 >= c.failures_before_critical THEN v.target::"HealthStatus"
          ELSE c.status END,
        last_run_at = now(),
        leased_until = CASE WHEN v.owner IS NULL THEN c.leased_until END,
        lease_owner = CASE WHEN v.owner IS NULL THEN c.lease_owner END
      FROM unnest(${ids}::uuid[], ${passed}::boolean[], ${targets}::text[], ${owners}::text[]) AS v(id, passed, target, owner),
        health_checks o, services s
      WHERE c.id = v.id AND o.id = c.id AND s.id = c.service_id AND (v.owner IS NULL OR c.lease_owner = v.owner)
      RETURNING c.id::text AS id, c.service_id::text AS service_id, s.slug, o.status AS before, c.status AS after`;
    for (const row of rows) checks.set(row.id, row);
  }

  const applied = readings.map((reading) => (reading.checkId === null || checks.has(reading.checkId) ? reading : null));
  const snapshotRows = applied.flatMap((reading) =>
    reading
      ? [
          {
            serviceId: reading.serviceId,
            instanceId: null,
            status: reading.checkId ? checks.get(reading.checkId)!.after : reading.status,
            cause: causeOf(reading, options.source),
            latencyMs: reading.latencyMs,
            statusCode: reading.statusCode,
            message: reading.message,
            checkedAt: reading.checkedAt,
            metadata: reading.metadata,
          },
        ]
      : [],
  );
  const written = await writeSnapshots(tx, snapshotRows, options.source);
  // createManyAndReturn keeps input order; map them back onto the readings.
  let cursor = 0;
  const snapshotOfReading = new Map<CheckReading, HealthSnapshot>();
  const snapshots = applied.map((reading) => {
    if (!reading) return null;
    const snapshot = written[cursor++]!;
    snapshotOfReading.set(reading, snapshot);
    return snapshot;
  });

  const changedChecks = withCheck.filter((reading) => {
    const row = checks.get(reading.checkId!);
    return row && row.before !== row.after;
  });
  const events = await writeEvents(
    tx,
    changedChecks.map((reading) => {
      const row = checks.get(reading.checkId!)!;
      return {
        type: 'HEALTH_CHANGED' as const,
        serviceId: row.service_id,
        serviceSlug: row.slug,
        fromValue: row.before,
        toValue: row.after,
        cause: causeOf(reading, options.source),
        actor: options.actor,
        details: { scope: 'probe', checkId: row.id, snapshot: embedSnapshot(snapshotOfReading.get(reading)!) },
      };
    }),
  );

  // Services to re-derive: a check changed, or an external reading stands in for a check.
  const causes = new Map<string, TransitionCause>();
  const extraMembers = new Map<string, HealthStatus>();
  const recorded = new Map<string, HealthSnapshot>();
  for (const reading of changedChecks) causes.set(reading.serviceId, causeOf(reading, options.source));
  for (const reading of readings) {
    if (reading.checkId !== null) continue;
    causes.set(reading.serviceId, causeOf(reading, options.source));
    extraMembers.set(reading.serviceId, reading.status);
  }
  for (const snapshot of written) recorded.set(snapshot.serviceId, snapshot);
  events.push(...(await recomputeServiceHealth(tx, causes, { source: options.source, actor: options.actor, extraMembers, recorded })));

  await updateFlapping(
    tx,
    [...new Set(readings.map((reading) => reading.serviceId))],
    [...causes.keys()],
    options.flapping,
  );
  return { snapshots, events };
}
