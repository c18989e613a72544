/** Operator actions on registered services: deregistration, status override, maintenance. */
import type { Prisma, Service, ServiceInstance } from '../../generated/prisma/client.js';
import type { ServiceStatus } from '../../generated/prisma/enums.js';
import type { RegistryDeps } from '../deps.js';
import { HierarchyError, InputError, NotAllowedError, NotFoundError } from '../errors.js';
import { publishEvents, recordEvent } from '../events/record-event.js';
import { lockServices, recomputeServiceHealth } from '../health/health-transitions.js';
import { changeServiceStatus } from './status-transition.js';

const REASON_MAX = 1_000;

function checkReason(reason: string | null | undefined): string | null {
  if (reason && reason.length > REASON_MAX) throw new InputError(`reason is longer than ${REASON_MAX} characters`, [{ path: 'reason', message: 'too long' }]);
  return reason?.trim() || null;
}

async function lockedService(tx: Prisma.TransactionClient, slug: string): Promise<Service> {
  const service = await tx.service.findUnique({ where: { slug } });
  if (!service) throw new NotFoundError('service', slug);
  await lockServices(tx, [service.id]);
  return tx.service.findUniqueOrThrow({ where: { id: service.id } });
}

async function publishAfter(deps: RegistryDeps, events: Parameters<typeof publishEvents>[1]): Promise<void> {
  await publishEvents(deps.bus, events).catch((error) => deps.logger.warn({ err: error }, 'event publish failed'));
}

export async function deregisterInstance(deps: RegistryDeps, slug: string, instanceId: string, actor: string | null): Promise<ServiceInstance> {
  const { instance, events } = await deps.db.client.$transaction(async (tx) => {
    const service = await lockedService(tx, slug);
    const existing = await tx.serviceInstance.findUnique({ where: { serviceId_instanceId: { serviceId: service.id, instanceId } } });
    if (!existing || existing.deregisteredAt) throw new NotFoundError('instance', `${slug}/${instanceId}`);
    await tx.$executeRaw`UPDATE service_instances SET deregistered_at = now(), revision = revision + 1 WHERE id = ${existing.id}::uuid`;
    const instance = await tx.serviceInstance.findUniqueOrThrow({ where: { id: existing.id } });
    const event = await recordEvent(tx, { type: 'INSTANCE_DEREGISTERED', serviceId: service.id, serviceSlug: slug, instanceId, cause: 'DEREGISTERED', actor });
    const healthEvents = await recomputeServiceHealth(tx, new Map([[service.id, 'DEREGISTERED' as const]]), { source: 'MANUAL', actor });
    return { instance, events: [event, ...healthEvents] };
  });
  await publishAfter(deps, events);
  return instance;
}

/**
 * Removes a service with its instances and health history. The audit trail keeps its events
 * (by slug). Refused for protected services and for services that still have children.
 */
export async function deregisterService(deps: RegistryDeps, slug: string, actor: string | null): Promise<{ slug: string }> {
  const events = await deps.db.client.$transaction(async (tx) => {
    const service = await lockedService(tx, slug);
    if (service.protected) throw new NotAllowedError(`service ${slug} is protected; clear the flag before deregistering it`);
    const child = await tx.service.findFirst({ where: { parentId: service.id }, select: { slug: true } });
    if (child) throw new HierarchyError('HAS_CHILDREN', `service ${slug} still has children (e.g. ${child.slug}); deregister or move them first`);
    const event = await recordEvent(tx, {
      type: 'DEREGISTERED',
      serviceId: null,
      serviceSlug: slug,
      fromValue: service.status,
      cause: 'DEREGISTERED',
      actor,
      revision: service.revision + 1,
      details: { kind: service.kind, source: service.source },
    });
    await tx.service.delete({ where: { id: service.id } });
    return [event];
  });
  await publishAfter(deps, events);
  return { slug };
}

/** Admin override of the lifecycle status; the actor and reason go into the audit trail. */
export async function updateServiceStatus(deps: RegistryDeps, slug: string, status: ServiceStatus, reason: string | null | undefined, actor: string | null): Promise<Service> {
  const why = checkReason(reason);
  const { service, events } = await deps.db.client.$transaction(async (tx) => {
    const current = await lockedService(tx, slug);
    const event = await changeServiceStatus(tx, current.id, status, { cause: 'ADMIN_OVERRIDE', actor, details: { reason: why } });
    return { service: await tx.service.findUniqueOrThrow({ where: { id: current.id } }), events: event ? [event] : [] };
  });
  await publishAfter(deps, events);
  return service;
}

/** In maintenance a service stays registered and recorded, but is left out of healthy discovery. */
export async function setMaintenance(deps: RegistryDeps, slug: string, enabled: boolean, reason: string | null | undefined, actor: string | null): Promise<Service> {
  const why = checkReason(reason);
  // One statement (lock, update, audit row) instead of an interactive transaction: it is the
  // cheapest write an operator makes, and bench:fanout drives it hard.
  const [outcome] = await deps.db.client.$queryRaw<{ found: boolean; event_id: bigint | null }[]>`
    WITH current AS (
      SELECT id, in_maintenance, maintenance_reason FROM services WHERE slug = ${slug} FOR UPDATE
    ), changed AS (
      UPDATE services s
      SET in_maintenance = ${enabled}, maintenance_reason = ${enabled ? why : null},
          maintenance_since = CASE WHEN ${enabled} THEN coalesce(CASE WHEN c.in_maintenance THEN s.maintenance_since END, now()) END,
          revision = s.revision + 1, updated_at = now()
      FROM current c
      WHERE s.id = c.id AND (c.in_maintenance <> ${enabled} OR (${enabled} AND c.maintenance_reason IS DISTINCT FROM ${why}))
      RETURNING s.id, s.revision, c.in_maintenance AS was
    ), event AS (
      INSERT INTO registry_events (type, service_id, service_slug, from_value, to_value, cause, actor, revision, details)
      SELECT 'MAINTENANCE_CHANGED', id, ${slug}, was::text, ${String(enabled)}, 'ADMIN_OVERRIDE', ${actor}, revision, jsonb_build_object('reason', ${why}::text)
      FROM changed
      RETURNING id
    )
    SELECT EXISTS (SELECT 1 FROM current) AS found, (SELECT id FROM event) AS event_id`;
  if (!outcome?.found) throw new NotFoundError('service', slug);
  const [service, event] = await Promise.all([
    deps.db.client.service.findUniqueOrThrow({ where: { slug } }),
    outcome.event_id === null ? null : deps.db.client.registryEvent.findUnique({ where: { id: outcome.event_id } }),
  ]);
  if (event) await publishAfter(deps, [event]);
  return service;
}
