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
  const { service, events } = await deps.db.client.$transaction(async (tx) => {
    const current = await lockedService(tx, slug);
    if (current.inMaintenance === enabled && (!enabled || current.maintenanceReason === why)) return { service: current, events: [] };
    const [row] = await tx.$queryRaw<{ revision: number }[]>`
      UPDATE services
      SET in_maintenance = ${enabled}, maintenance_reason = ${enabled ? why : null},
          maintenance_since = CASE WHEN ${enabled} THEN coalesce(CASE WHEN in_maintenance THEN maintenance_since END, now()) END,
          revision = revision + 1, updated_at = now()
      WHERE id = ${current.id}::uuid
      RETURNING revision`;
    const event = await recordEvent(tx, {
      type: 'MAINTENANCE_CHANGED',
      serviceId: current.id,
      serviceSlug: slug,
      fromValue: String(current.inMaintenance),
      toValue: String(enabled),
      cause: 'ADMIN_OVERRIDE',
      actor,
      revision: row!.revision,
      details: { reason: why },
    });
    return { service: await tx.service.findUniqueOrThrow({ where: { id: current.id } }), events: [event] };
  });
  await publishAfter(deps, events);
  return service;
}
