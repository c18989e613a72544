/**
 * Health transitions, set-based: every writer (heartbeats, the TTL monitor, deregistration,
 * later probes) changes instance health through here, and service health is re-derived from
 * the instances. Each call is a constant number of statements whatever the batch size, runs
 * in the caller's transaction, and returns the events to publish after commit.
 *
 * Lock order everywhere: service rows before instance rows (see lockServices).
 */
import type { HealthSnapshot, Prisma, RegistryEvent } from '../../generated/prisma/client.js';
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

export interface SnapshotRow {
  serviceId: string;
  instanceId: string | null;
  status: HealthStatus;
  cause: TransitionCause;
  message?: string | null;
  latencyMs?: number | null;
  statusCode?: number | null;
  /** When the reading was taken. @default now() (database clock) */
  checkedAt?: Date | null;
  metadata?: Prisma.InputJsonValue;
}

/** Writes snapshots with versions allocated from each service's snapshot_seq (two statements). */
export async function writeSnapshots(tx: Tx, rows: SnapshotRow[], source: SnapshotSource): Promise<HealthSnapshot[]> {
  if (rows.length === 0) return [];
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.serviceId, (counts.get(row.serviceId) ?? 0) + 1);
  const next = await allocateSnapshotVersions(tx, counts);
  return tx.healthSnapshot.createManyAndReturn({
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
        statusCode: row.statusCode ?? null,
        ...(row.checkedAt ? { checkedAt: row.checkedAt } : {}),
        metadata: row.metadata ?? {},
        version,
        source,
      };
    }),
  });
}

/**
 * The snapshot a health transition wrote, as it travels inside the HEALTH_CHANGED event's
 * details: subscribers (healthChanged.snapshot) get it without a read per event.
 */
// A type alias, not an interface: it must be assignable to Prisma's JSON input type.
export type EmbeddedSnapshot = {
  id: string;
  instanceRowId: string | null;
  status: HealthStatus;
  cause: TransitionCause | null;
  source: SnapshotSource;
  version: number;
  checkedAt: string;
  latencyMs: number | null;
  statusCode: number | null;
  message: string | null;
  metadata: Prisma.JsonValue;
};

export function embedSnapshot(snapshot: HealthSnapshot): EmbeddedSnapshot {
  return {
    id: String(snapshot.id),
    instanceRowId: snapshot.instanceId,
    status: snapshot.status,
    cause: snapshot.cause,
    source: snapshot.source,
    version: snapshot.version,
    checkedAt: snapshot.checkedAt.toISOString(),
    latencyMs: snapshot.latencyMs,
    statusCode: snapshot.statusCode,
    message: snapshot.message,
    metadata: snapshot.metadata,
  };
}

/** The snapshot carried in a HEALTH_CHANGED event's details, back in the model's shape; null for events without one. */
export function unembedSnapshot(details: unknown, serviceId: string): HealthSnapshot | null {
  const embedded = (details as { snapshot?: EmbeddedSnapshot } | null | undefined)?.snapshot;
  if (!embedded) return null;
  return {
    id: BigInt(embedded.id),
    serviceId,
    instanceId: embedded.instanceRowId,
    status: embedded.status,
    cause: embedded.cause,
    source: embedded.source,
    version: embedded.version,
    checkedAt: new Date(embedded.checkedAt),
    latencyMs: embedded.latencyMs,
    statusCode: embedded.statusCode,
    message: embedded.message,
    metadata: embedded.metadata ?? {},
  };
}

export async function writeEvents(tx: Tx, events: Prisma.RegistryEventCreateManyInput[]): Promise<RegistryEvent[]> {
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

  // createManyAndReturn keeps input order: snapshots[i] belongs to changed[i].
  const snapshots = await writeSnapshots(
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
    changed.map((row, index) => ({
      type: 'HEALTH_CHANGED',
      serviceId: row.service_id,
      serviceSlug: row.service_slug,
      instanceId: row.instance_id,
      fromValue: row.previous_health,
      toValue: row.health,
      cause: row.health_cause,
      actor: options.actor ?? null,
      details: { scope: 'instance', instanceRevision: row.revision, snapshot: embedSnapshot(snapshots[index]!) },
    })),
  );
  const causeByService = new Map(changed.map((row) => [row.service_id, row.health_cause]));
  events.push(...(await recomputeServiceHealth(tx, causeByService, options)));
  return events;
}

export interface RecomputeOptions {
  source: SnapshotSource;
  actor?: string | null;
  /**
   * One more member per service for this derivation only (a manual reading of a service that
   * has no health check row to keep it in).
   */
  extraMembers?: Map<string, HealthStatus>;
  /**
   * Service-level snapshots the caller already wrote in this transaction: when the derived
   * health equals that status, no second snapshot saying the same is written (the event
   * carries the caller's).
   */
  recorded?: Map<string, HealthSnapshot>;
}

/**
 * Re-derives service health; writes a snapshot and event per change.
 *
 * Members (see deriveServiceHealth): the live instances, plus the service's probe (its
 * health_checks row) when that has a status other than UNKNOWN. The probe is one member
 * like an instance: a service with only a probe has the probe's status; a probe DOWN beside
 * UP instances makes the service DEGRADED.
 */
export async function recomputeServiceHealth(
  tx: Tx,
  causeByService: Map<string, TransitionCause>,
  options: RecomputeOptions,
): Promise<RegistryEvent[]> {
  if (causeByService.size === 0) return [];
  const ids = [...causeByService.keys()];
  const rows = await tx.$queryRaw<{ service_id: string; health: HealthStatus | null; count: number }[]>`
    SELECT s.id::text AS service_id, i.health, count(i.id)::int AS count
    FROM services s
    LEFT JOIN service_instances i ON i.service_id = s.id AND i.deregistered_at IS NULL
    WHERE s.id = ANY(${ids}::uuid[])
    GROUP BY s.id, i.health
    UNION ALL
    SELECT c.service_id::text, c.status, 1
    FROM health_checks c
    WHERE c.service_id = ANY(${ids}::uuid[]) AND c.status <> 'UNKNOWN'`;
  const counts = new Map<string, HealthCounts>();
  const add = (serviceId: string, health: HealthStatus, n: number) => {
    const entry = counts.get(serviceId) ?? {};
    entry[health] = (entry[health] ?? 0) + n;
    counts.set(serviceId, entry);
  };
  for (const row of rows) if (row.health) add(row.service_id, row.health, row.count);
  for (const [serviceId, health] of options.extraMembers ?? []) if (health !== 'UNKNOWN') add(serviceId, health, 1);
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

  const snapshotOf = new Map<string, HealthSnapshot>();
  for (const row of changed) {
    const recorded = options.recorded?.get(row.id);
    if (recorded?.status === row.health) snapshotOf.set(row.id, recorded);
  }
  const written = await writeSnapshots(
    tx,
    changed.filter((row) => !snapshotOf.has(row.id)).map((row) => ({ serviceId: row.id, instanceId: null, status: row.health, cause: causeByService.get(row.id)! })),
    options.source,
  );
  for (const snapshot of written) snapshotOf.set(snapshot.serviceId, snapshot);
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
      details: { scope: 'service', snapshot: embedSnapshot(snapshotOf.get(row.id)!) },
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

/**
 * Flap detection: counts each service's own health changes (HEALTH_CHANGED events of scope
 * `service`) within the window. More than `threshold` → flapping; flap_count always holds the
 * latest count, so it decays as old changes leave the window. Evaluated for `changed` services
 * and for any of `serviceIds` whose count is still above zero; one statement.
 */
export async function updateFlapping(
  tx: Tx,
  serviceIds: string[],
  changed: string[],
  settings: { threshold: number; windowSeconds: number },
): Promise<Array<{ id: string; flapping: boolean; flap_count: number }>> {
  if (serviceIds.length === 0) return [];
  return tx.$queryRaw`
    UPDATE services s SET flapping = f.n > ${settings.threshold}::int, flap_count = f.n
    FROM (
      SELECT s2.id, (
        SELECT count(*)::int FROM registry_events e
        WHERE e.service_id = s2.id AND e.type = 'HEALTH_CHANGED' AND e.details->>'scope' = 'service'
          AND e.at > now() - make_interval(secs => ${settings.windowSeconds}::int)
      ) AS n
      FROM services s2
      WHERE s2.id = ANY(${serviceIds}::uuid[]) AND (s2.id = ANY(${changed}::uuid[]) OR s2.flap_count > 0)
    ) f
    WHERE s.id = f.id AND (s.flapping IS DISTINCT FROM (f.n > ${settings.threshold}::int) OR s.flap_count <> f.n)
    RETURNING s.id::text AS id, s.flapping, s.flap_count`;
}
