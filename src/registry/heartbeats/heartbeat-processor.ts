/**
 * Heartbeats. The hot path (a known, ACTIVE service whose instance already has the reported
 * health) costs no SQL at request time: the beat is acknowledged and buffered, and the
 * buffer writes last-seen times in batches. Anything that changes state (implicit
 * registration, activation, a health change, a revived instance) is written and published
 * at once, in its own transaction.
 */
import type { RegistryEvent } from '../../generated/prisma/client.js';
import { HealthStatus, ServiceSource, type ServiceStatus, type TransitionCause } from '../../generated/prisma/enums.js';
import { mapDatabaseError } from '../../infra/db/errors.js';
import { PerRegistry, type RegistryDeps } from '../deps.js';
import { ConflictError, InputError, NotAllowedError, RegistryError } from '../errors.js';
import { publishEvents, recordEvent } from '../events/record-event.js';
import { applyInstanceHealthChanges, lockServices } from '../health/health-transitions.js';
import { registerInTransaction } from '../services/register-service.js';
import { parseRegisterServiceInput } from '../services/service-input.js';
import { changeServiceStatus } from '../services/status-transition.js';
import { HeartbeatFeed } from '../subscriptions/heartbeat-feed.js';
import { HeartbeatBuffer, type FlushedRow } from './heartbeat-buffer.js';
import { parseHeartbeat, type HeartbeatInput } from './heartbeat-input.js';

export interface HeartbeatAck {
  slug: string;
  instanceId: string;
  serviceStatus: ServiceStatus;
  health: HealthStatus;
  /** The heartbeat registered the service or the instance. */
  registered: boolean;
  /** The heartbeat changed status or health (written and published at once). */
  transitioned: boolean;
}

export type HeartbeatOutcome = { ok: true; ack: HeartbeatAck } | { ok: false; error: RegistryError };

interface KnownInstance {
  serviceId: string;
  serviceStatus: ServiceStatus;
  instanceRowId: string;
  health: HealthStatus;
  /** For heartbeat subscribers' filters; read with the rest, never on its own. */
  kind: string;
  parentSlug: string | null;
}

const key = (slug: string, instanceId: string) => `${slug}\u0000${instanceId}`;
const RECOVERING: HealthStatus[] = [HealthStatus.UNHEALTHY, HealthStatus.DOWN];

export class HeartbeatProcessor {
  /** What this process last knew of each instance; evicted whenever any replica changes the service. */
  private readonly known = new Map<string, KnownInstance>();
  private readonly buffer: HeartbeatBuffer;
  private readonly invalidation: AsyncIterator<{ slug: string }>;
  /** Heartbeat events for subscribers: coalesced per window, transitions at once (see HeartbeatFeed). */
  private readonly feed: HeartbeatFeed;

  constructor(private readonly deps: RegistryDeps) {
    this.buffer = new HeartbeatBuffer(deps.db, deps.logger, deps.settings.heartbeat.flushIntervalMs, (rows) => this.settleStale(rows));
    this.feed = new HeartbeatFeed(deps.bus, deps.logger, deps.settings.heartbeat.flushIntervalMs);
    this.invalidation = deps.bus.subscribe('service.changed')[Symbol.asyncIterator]();
    void this.evictOnChange();
  }

  private async evictOnChange(): Promise<void> {
    for (;;) {
      const next = await this.invalidation.next().catch(() => ({ done: true as const, value: undefined }));
      if (next.done) return;
      this.evictSlug(next.value.slug);
    }
  }

  private evictSlug(slug: string): void {
    const prefix = `${slug}\u0000`;
    for (const entry of this.known.keys()) if (entry.startsWith(prefix)) this.known.delete(entry);
  }

  /** One heartbeat; throws the item's RegistryError. */
  async beat(raw: unknown, actor: string | null): Promise<HeartbeatAck> {
    const [outcome] = await this.process([parseHeartbeat(raw)], actor);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.ack;
  }

  /** A batch: each item succeeds or fails on its own; a batch over the limit fails whole. */
  async beatMany(raw: unknown[], actor: string | null): Promise<HeartbeatOutcome[]> {
    const limit = this.deps.settings.heartbeat.maxBatch;
    if (raw.length > limit) {
      throw new InputError(`a batch holds at most ${limit} heartbeats; got ${raw.length}`, [{ path: 'input', message: `more than ${limit} items` }]);
    }
    const parsed: Array<HeartbeatInput | RegistryError> = raw.map((item, index) => {
      try {
        return parseHeartbeat(item, String(index));
      } catch (error) {
        return error as RegistryError;
      }
    });
    const valid = parsed.filter((item): item is HeartbeatInput => !(item instanceof RegistryError));
    const outcomes = await this.process(valid, actor);
    let next = 0;
    return parsed.map((item) => (item instanceof RegistryError ? { ok: false, error: item } : outcomes[next++]!));
  }

  private async process(items: HeartbeatInput[], actor: string | null): Promise<HeartbeatOutcome[]> {
    const receivedAt = process.hrtime.bigint();
    const at = this.deps.clock.now();
    await this.lookup(items);
    const outcomes: HeartbeatOutcome[] = [];
    for (const item of items) {
      const reported = item.status ?? HealthStatus.UP;
      const state = this.known.get(key(item.slug, item.instanceId));
      if (state && state.serviceStatus === 'ACTIVE' && state.health === reported) {
        this.buffer.add({ instanceRowId: state.instanceRowId, serviceId: state.serviceId, receivedAt, reported, slug: item.slug, instanceId: item.instanceId });
        this.feed.steady({ slug: item.slug, instanceId: item.instanceId, kind: state.kind, parentSlug: state.parentSlug, health: reported, serviceStatus: 'ACTIVE', at });
        outcomes.push({ ok: true, ack: { slug: item.slug, instanceId: item.instanceId, serviceStatus: 'ACTIVE', health: reported, registered: false, transitioned: false } });
        continue;
      }
      if (state?.serviceStatus === 'REVOKED') {
        outcomes.push({ ok: false, error: revoked(item.slug) });
        continue;
      }
      outcomes.push(await this.settle(item, actor));
    }
    return outcomes;
  }

  /** Loads what the cache lacks, in one statement for the whole batch. */
  private async lookup(items: HeartbeatInput[]): Promise<void> {
    const missing = items.filter((item) => !this.known.has(key(item.slug, item.instanceId)));
    if (missing.length === 0) return;
    const rows = await this.deps.db.client.$queryRaw<
      { slug: string; instance_id: string; service_id: string; status: ServiceStatus; row_id: string; health: HealthStatus; kind: string; parent_slug: string | null }[]
    >`
      SELECT s.slug, i.instance_id, s.id::text AS service_id, s.status, i.id::text AS row_id, i.health, s.kind::text AS kind, p.slug AS parent_slug
      FROM unnest(${missing.map((m) => m.slug)}::text[], ${missing.map((m) => m.instanceId)}::text[]) AS k(slug, instance_id)
      JOIN services s ON s.slug = k.slug
      JOIN service_instances i ON i.service_id = s.id AND i.instance_id = k.instance_id AND i.deregistered_at IS NULL
      LEFT JOIN services p ON p.id = s.parent_id`;
    for (const row of rows) {
      this.known.set(key(row.slug, row.instance_id), {
        serviceId: row.service_id,
        serviceStatus: row.status,
        instanceRowId: row.row_id,
        health: row.health,
        kind: row.kind,
        parentSlug: row.parent_slug,
      });
    }
  }

  /** The slow path: whatever the heartbeat changes, in one transaction, published after commit. */
  private async settle(item: HeartbeatInput, actor: string | null): Promise<HeartbeatOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { ack, events, state } = await this.deps.db.client.$transaction((tx) => this.settleInTransaction(tx, item, actor));
        this.known.set(key(item.slug, item.instanceId), state);
        const beat = { slug: item.slug, instanceId: item.instanceId, kind: state.kind, parentSlug: state.parentSlug, health: ack.health, serviceStatus: ack.serviceStatus, at: this.deps.clock.now() };
        if (ack.registered || ack.transitioned) this.feed.transition(beat);
        else this.feed.steady(beat);
        await publishEvents(this.deps.bus, events).catch((error) => this.deps.logger.warn({ err: error }, 'event publish failed'));
        return { ok: true, ack };
      } catch (error) {
        const mapped = mapDatabaseError(error, { resource: 'service', key: item.slug });
        // Two first heartbeats of one service racing: the loser finds it registered on retry.
        if (mapped instanceof ConflictError && attempt < 3) continue;
        if (mapped instanceof RegistryError) return { ok: false, error: mapped };
        throw mapped;
      }
    }
  }

  private async settleInTransaction(tx: Parameters<Parameters<RegistryDeps['db']['client']['$transaction']>[0]>[0], item: HeartbeatInput, actor: string | null) {
    const reported = item.status ?? HealthStatus.UP;
    const events: RegistryEvent[] = [];
    let registered = false;

    let service = await tx.service.findUnique({ where: { slug: item.slug }, select: { id: true, status: true } });
    if (!service) {
      const input = parseRegisterServiceInput(
        { slug: item.slug, name: item.slug, kind: item.kind ?? undefined, parentSlug: item.parentSlug ?? undefined, source: ServiceSource.IMPLICIT, instanceId: item.instanceId },
        this.deps.settings,
      );
      const result = await registerInTransaction(tx, this.deps.settings, input, { actor, withInstance: true });
      events.push(...result.events);
      service = { id: result.service.id, status: result.service.status };
      registered = true;
    }
    await lockServices(tx, [service.id]);
    // One read for the status and what heartbeat subscribers filter on.
    const [current] = await tx.$queryRaw<{ status: ServiceStatus; kind: string; parent_slug: string | null }[]>`
      SELECT s.status, s.kind::text AS kind, p.slug AS parent_slug
      FROM services s LEFT JOIN services p ON p.id = s.parent_id
      WHERE s.id = ${service.id}::uuid`;
    if (!current) throw new ConflictError(`service ${item.slug} was removed while its heartbeat was processed`);
    if (current.status === 'REVOKED') throw revoked(item.slug);

    // The instance: revived or created when the heartbeat is its first sign of life.
    const [instance] = await tx.$queryRaw<{ id: string; health: HealthStatus; inserted: boolean; revived: boolean }[]>`
      INSERT INTO service_instances AS si (service_id, instance_id, ttl_seconds)
      VALUES (${service.id}::uuid, ${item.instanceId}, ${this.deps.settings.heartbeat.defaultTtlSeconds})
      ON CONFLICT (service_id, instance_id) DO UPDATE SET deregistered_at = NULL
      RETURNING si.id::text AS id, si.health, (si.xmax = 0) AS inserted,
        coalesce((SELECT before.deregistered_at IS NOT NULL FROM service_instances before WHERE before.id = si.id), false) AS revived`;
    if (instance!.inserted || instance!.revived) {
      registered = true;
      events.push(
        await recordEvent(tx, { type: 'INSTANCE_REGISTERED', serviceId: service.id, serviceSlug: item.slug, instanceId: item.instanceId, cause: 'HEARTBEAT_RECEIVED', actor }),
      );
    }
    await tx.$executeRaw`
      UPDATE services SET last_heartbeat_at = now(), first_seen_at = coalesce(first_seen_at, now()) WHERE id = ${service.id}::uuid`;
    await tx.$executeRaw`
      UPDATE service_instances SET last_heartbeat_at = now(), expires_at = now() + make_interval(secs => ttl_seconds)
      WHERE id = ${instance!.id}::uuid`;

    if (current.status !== 'ACTIVE') {
      const cause: TransitionCause = current.status === 'INACTIVE' ? 'HEARTBEAT_RESUMED' : 'HEARTBEAT_RECEIVED';
      const event = await changeServiceStatus(tx, service.id, 'ACTIVE', { cause, actor });
      if (event) events.push(event);
    }
    if (instance!.health !== reported) {
      const cause: TransitionCause = RECOVERING.includes(instance!.health) && reported === 'UP' ? 'HEARTBEAT_RESUMED' : 'HEARTBEAT_RECEIVED';
      events.push(
        ...(await applyInstanceHealthChanges(
          tx,
          [{ instanceRowId: instance!.id, to: reported, cause, latencyMs: item.latencyMs, message: item.message }],
          { source: 'HEARTBEAT', actor },
        )),
      );
    }
    const ack: HeartbeatAck = {
      slug: item.slug,
      instanceId: item.instanceId,
      serviceStatus: 'ACTIVE',
      health: reported,
      registered,
      transitioned: events.length > 0,
    };
    const state: KnownInstance = { serviceId: service.id, serviceStatus: 'ACTIVE', instanceRowId: instance!.id, health: reported, kind: current.kind, parentSlug: current.parent_slug };
    return { ack, events, state };
  }

  /** Buffered beats whose instance changed meanwhile (another replica's monitor, a deregistration). */
  private async settleStale(rows: FlushedRow[]): Promise<void> {
    for (const { beat } of rows) {
      this.known.delete(key(beat.slug, beat.instanceId));
      const outcome = await this.settle({ slug: beat.slug, instanceId: beat.instanceId, status: beat.reported }, null).catch((error) => {
        this.deps.logger.error({ err: error, slug: beat.slug }, 'settling a buffered heartbeat failed');
        return null;
      });
      if (outcome && !outcome.ok) this.deps.logger.warn({ slug: beat.slug, err: outcome.error.message }, 'buffered heartbeat refused');
    }
  }

  /** Writes buffered beats now, and publishes the held heartbeat events (tests, shutdown). */
  async flush(): Promise<void> {
    await this.buffer.flush();
    await this.feed.flush();
  }

  async close(): Promise<void> {
    await this.invalidation.return?.();
    await this.buffer.flush();
    await this.feed.flush();
  }
}

function revoked(slug: string): NotAllowedError {
  return new NotAllowedError(`service ${slug} is REVOKED; its heartbeats are refused (re-activate it with updateServiceStatus)`);
}

const processors = new PerRegistry((deps) => new HeartbeatProcessor(deps));

/** The heartbeat processor of a running registry (one per deps, created on first use). */
export function heartbeatProcessor(deps: RegistryDeps): HeartbeatProcessor {
  return processors.get(deps);
}

/** Flushes and stops the processor, if one was started; nothing acknowledged is lost. */
export async function closeHeartbeatProcessor(deps: RegistryDeps): Promise<void> {
  await processors.take(deps)?.close();
}
