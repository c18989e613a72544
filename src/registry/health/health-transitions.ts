/**
 * Health transitions, set-based: every writer (heartbeats, the TTL monitor, deregistration,
 * later probes) changes instance health through here, and service health is re-derived from
 * the instances. Each call is a constant number of statements whatever the batch size, runs
 * in the caller's transaction, and returns the events to publish after commit.
 *
 * Lock order everywhere: service rows before instance rows (see lockServices).
 */
import type { Prisma, RegistryEvent } from '../../generated/prisma/client.js';
import type { HealthStatus, SnapshotSource, TransitionCause } from '../../generated/prisma/enums.js';
import { deriveServiceHealth, type HealthCounts } from './derive-health.js';

type Tx = Prisma.TransactionClient;

export interface InstanceHealthChange {
  instanceRowId: string;
  to: HealthStatus;
  cause: TransitionCause;
  message?: string | null;
  latencyMs?: number | null;
}

interface ChangedInstance {
  id: string;
  service_id: string;
  service_slug: string;
  instance_id: string;
  previous_health: HealthStatus;
  health: HealthStatus;
  health_cause: TransitionCause;
  revision: number;
}

interface ChangedService {
  id: string;
  slug: string;
  previous_health: HealthStatus;
  health: HealthStatus;
  revision: number;
  reachable: boolean;
}

/** Row-locks services (in id order, so concurrent writers cannot deadlock). */
export async function lockServices(tx: Tx, serviceIds: string[], options: { skipLocked?: boolean } = {}): Promise<string[]> {
  if (serviceIds.length === 0) return [];
  const ids = [...new Set(serviceIds)].sort();
  const rows = options.skipLocked
    ? await tx.$queryRaw<{ id: string }[]>`SELECT id::text FROM services WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR UPDATE SKIP LOCKED`
    : await tx.$queryRaw<{ id: string }[]>`SELECT id::text FROM services WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR UPDATE`;
  return rows.map((row) => row.id);
}

/** Allocates `count` snapshot versions per service; returns the first of each range. */
async function allocateSnapshotVersions(tx: Tx, counts: Map<string, number>): Promise<Map<string, number>> {
  if (counts.size === 0) return new Map();
  const ids = [...counts.keys()];
  const ns = ids.map((id) => counts.get(id)!);
  const rows = await tx.$queryRaw<{ id: string; last: number }[]>`
    UPDATE services s SET snapshot_seq = s.snapshot_seq + v.n
    FROM unnest(${ids}::uuid[], ${ns}::int[]) AS v(id, n)
    WHERE s.id = v.id
    RETURNING s.id::text AS id, s.snapshot_seq AS last`;
  return new Map(rows.map((row) => [row.id, row.last - counts.get(row.id)! + 1]));
}

interface SnapshotRow {
  serviceId: string;
  instanceId: string | null;
  status: HealthStatus;
  cause: TransitionCause;
  message?: string | null;
  latencyMs?: number | null;
}

async function writeSnapshots(tx: Tx, rows: SnapshotRow[], source: SnapshotSource): Promise<void> {
  if (rows.length === 0) return;
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.serviceId, (counts.get(row.serviceId) ?? 0) + 1);
  const next = await allocateSnapshotVersions(tx, counts);
  await tx.healthSnapshot.createMany({
    data: rows.map((row) => {
      const version = next.get(row.serviceId)!;
      next.set(row.serviceId, version + 1);
      return {
        serviceId: row.serviceId,
        instanceId: row.instanceId,
        status: row.status,
        cause: row.cause,
        message: row.message ?? null,
        latencyMs: row.latencyMs ?? null,
        version,
        source,
      };
    }),
  });
}

async function writeEvents(tx: Tx, events: Prisma.RegistryEventCreateManyInput[]): Promise<RegistryEvent[]> {
  if (events.length === 0) return [];
  return tx.registryEvent.createManyAndReturn({ data: events });
}

/**
 * Moves instances to new health where it differs, then re-derives their services' health.
 * Callers must hold the services' row locks (lockServices) first.
 */
export async function applyInstanceHealthChanges(
  tx: Tx,
  changes: InstanceHealthChange[],
  options: { source: SnapshotSource; actor?: string | null },
): Promise<RegistryEvent[]> {
  if (changes.length === 0) return [];
  const byId = new Map(changes.map((change) => [change.instanceRowId, change]));
  const ids = [...byId.keys()];
  const targets = ids.map((id) => byId.get(id)!.to);
  const causes = ids.map((id) => byId.get(id)!.cause);
  const changed = await tx.$queryRaw<ChangedInstance[]>`
    UPDATE service_instances i
    SET previous_health = i.health, health = v.target::"HealthStatus", health_since = now(),
        health_cause = v.cause::"TransitionCause", revision = i.revision + 1
    FROM unnest(${ids}::uuid[], ${targets}::text[], ${causes}::text[]) AS v(id, target, cause), services s
    WHERE i.id = v.id AND s.id = i.service_id AND i.health <> v.target::"HealthStatus"
    RETURNING i.id::text AS id, i.service_id::text AS service_id, s.slug AS service_slug, i.instance_id,
      i.previous_health, i.health, i.health_cause, i.revision`;
  if (changed.length === 0) return [];

  await writeSnapshots(
    tx,
    changed.map((row) => ({
      serviceId: row.service_id,
      instanceId: row.id,
      status: row.health,
      cause: row.health_cause,
      message: byId.get(row.id)?.message,
      latencyMs: byId.get(row.id)?.latencyMs,
    })),
    options.source,
  );
  const events = await writeEvents(
    tx,
    changed.map((row) => ({
      type: 'HEALTH_CHANGED',
      serviceId: row.service_id,
      serviceSlug: row.service_slug,
      instanceId: row.instance_id,
      fromValue: row.previous_health,
      toValue: row.health,
      cause: row.health_cause,
      actor: options.actor ?? null,
      details: { scope: 'instance', instanceRevision: row.revision },
    })),
  );
  const causeByService = new Map(changed.map((row) => [row.service_id, row.health_cause]));
  events.push(...(await recomputeServiceHealth(tx, causeByService, options)));
  return events;
}

/** Re-derives service health from live instances; writes a snapshot and event per change. */
export async function recomputeServiceHealth(
  tx: Tx,
  causeByService: Map<string, TransitionCause>,
  options: { source: SnapshotSource; actor?: string | null },
): Promise<RegistryEvent[]> {
  if (causeByService.size === 0) return [];
  const ids = [...causeByService.keys()];
  const rows = await tx.$queryRaw<{ service_id: string; health: HealthStatus | null; count: number }[]>`
    SELECT s.id::text AS service_id, i.health, count(i.id)::int AS count
    FROM services s
    LEFT JOIN service_instances i ON i.service_id = s.id AND i.deregistered_at IS NULL
    WHERE s.id = ANY(${ids}::uuid[])
    GROUP BY s.id, i.health`;
  const counts = new Map<string, HealthCounts>();
  for (const row of rows) {
    const entry = counts.get(row.service_id) ?? {};
    if (row.health) entry[row.health] = row.count;
    counts.set(row.service_id, entry);
  }
  const targets = ids.map((id) => deriveServiceHealth(counts.get(id) ?? {}));
  const causes = ids.map((id) => causeByService.get(id)!);
  const changed = await tx.$queryRaw<ChangedService[]>`
    UPDATE services s
    SET previous_health = s.health, health = v.target::"HealthStatus", health_since = now(),
        health_cause = v.cause::"TransitionCause", revision = s.revision + 1, updated_at = now()
    FROM unnest(${ids}::uuid[], ${targets}::text[], ${causes}::text[]) AS v(id, target, cause)
    WHERE s.id = v.id AND s.health <> v.target::"HealthStatus"
    RETURNING s.id::text AS id, s.slug, s.previous_health, s.health, s.revision, s.reachable`;
  if (changed.length === 0) return [];

  await writeSnapshots(
    tx,
    changed.map((row) => ({ serviceId: row.id, instanceId: null, status: row.health, cause: causeByService.get(row.id)! })),
    options.source,
  );
  const events = await writeEvents(
    tx,
    changed.map((row) => ({
      type: 'HEALTH_CHANGED',
      serviceId: row.id,
      serviceSlug: row.slug,
      fromValue: row.previous_health,
      toValue: row.health,
      cause: causeByService.get(row.id)!,
      actor: options.actor ?? null,
      revision: row.revision,
      details: { scope: 'service' },
    })),
  );
  events.push(...(await propagateReachability(tx, changed, options.actor ?? null)));
  return events;
}

/**
 * Hierarchy-aware health: below a DOWN service nothing is reachable, so its descendants'
 * failures are the parent's. A descendant turns reachable again when no ancestor is DOWN.
 */
async function propagateReachability(tx: Tx, changed: ChangedService[], actor: string | null): Promise<RegistryEvent[]> {
  const wentDown = changed.filter((row) => row.health === 'DOWN').map((row) => row.id);
  const cameBack = changed.filter((row) => row.previous_health === 'DOWN' && row.health !== 'DOWN' && row.reachable).map((row) => row.id);
  const flipped: Array<{ id: string; slug: string; revision: number; reachable: boolean }> = [];
  if (wentDown.length > 0) {
    flipped.push(
      ...(await tx.$queryRaw<typeof flipped>`
        WITH RECURSIVE below AS (
          SELECT id FROM services WHERE parent_id = ANY(${wentDown}::uuid[])
          UNION
          SELECT s.id FROM services s JOIN below b ON s.parent_id = b.id
        )
        UPDATE services s SET reachable = false, revision = s.revision + 1, updated_at = now()
        FROM below WHERE s.id = below.id AND s.reachable
        RETURNING s.id::text AS id, s.slug, s.revision, s.reachable`),
    );
  }
  if (cameBack.length > 0) {
    // Walk down from the recovered services, stopping under any service that is itself DOWN.
    flipped.push(
      ...(await tx.$queryRaw<typeof flipped>`
        WITH RECURSIVE below AS (
          SELECT id, health FROM services WHERE parent_id = ANY(${cameBack}::uuid[])
          UNION
          SELECT s.id, s.health FROM services s JOIN below b ON s.parent_id = b.id WHERE b.health <> 'DOWN'
        )
        UPDATE services s SET reachable = true, revision = s.revision + 1, updated_at = now()
        FROM below WHERE s.id = below.id AND NOT s.reachable
        RETURNING s.id::text AS id, s.slug, s.revision, s.reachable`),
    );
  }
  if (flipped.length === 0) return [];
  const ids = flipped.map((row) => row.id);
  await tx.$executeRaw`
    UPDATE service_instances i SET reachable = s.reachable FROM services s
    WHERE s.id = i.service_id AND s.id = ANY(${ids}::uuid[]) AND i.reachable <> s.reachable`;
  return writeEvents(
    tx,
    flipped.map((row) => ({
      type: 'REACHABILITY_CHANGED',
      serviceId: row.id,
      serviceSlug: row.slug,
      fromValue: String(!row.reachable),
      toValue: String(row.reachable),
      cause: row.reachable ? 'PARENT_RECOVERED' : 'PARENT_DOWN',
      actor,
      revision: row.revision,
      details: {},
    })),
  );
}
