/**
 * Registers a service, or updates it when the slug is already known (idempotent:
 * registeredAt is kept, omitted fields are left as they are, null clears a field). Through
 * the API the registering instance comes along; manifests register services alone.
 */
import { randomBytes } from 'node:crypto';
import type { Prisma, RegistryEvent, Service, ServiceInstance } from '../../generated/prisma/client.js';
import { ServiceKind, ServiceSource } from '../../generated/prisma/enums.js';
import { withDatabaseErrors } from '../../infra/db/errors.js';
import type { RegistryDeps, RegistrySettings } from '../deps.js';
import { ConflictError, HierarchyError, NotFoundError } from '../errors.js';
import { publishEvents, recordEvent } from '../events/record-event.js';
import { checkDependencies } from './dependency-check.js';
import { allowedChildKinds, assertParentAllowed } from './hierarchy.js';
import { parseRegisterServiceInput, type ValidRegisterServiceInput } from './service-input.js';

type Tx = Prisma.TransactionClient;

export interface RegisterServiceResult {
  service: Service;
  instance: ServiceInstance | null;
  created: boolean;
  /** Accepted problems (unknown dependencies under DEPENDENCY_VALIDATION=warn). */
  warnings: string[];
}

export interface RegisterOptions {
  actor?: string | null;
  /** Upsert the registering instance (instanceId generated when absent). @default true */
  withInstance?: boolean;
}

export async function registerService(deps: RegistryDeps, rawInput: unknown, options: RegisterOptions = {}): Promise<RegisterServiceResult> {
  const input = parseRegisterServiceInput(rawInput, deps.settings);
  const attempt = () =>
    withDatabaseErrors({ resource: 'service', key: input.slug }, () =>
      deps.db.client.$transaction((tx) => registerInTransaction(tx, deps.settings, input, options)),
    );
  let outcome;
  try {
    outcome = await attempt();
  } catch (error) {
    // Two first registrations of one slug (or instance) racing: the loser retries as an update.
    if (!(error instanceof ConflictError)) throw error;
    outcome = await attempt();
  }
  await publishEvents(deps.bus, outcome.events).catch((error) => deps.logger.warn({ err: error }, 'event publish failed'));
  return outcome;
}

function generatedInstanceId(slug: string): string {
  return `${slug}-${randomBytes(6).toString('hex')}`;
}

/** The whole registration inside a caller's transaction; events are returned for publishing after commit. */
export async function registerInTransaction(
  tx: Tx,
  settings: RegistrySettings,
  input: ValidRegisterServiceInput,
  options: RegisterOptions = {},
): Promise<RegisterServiceResult & { events: RegistryEvent[] }> {
  const actor = options.actor ?? null;
  const existing = await tx.service.findUnique({ where: { slug: input.slug }, select: { id: true, kind: true, parentId: true } });
  const kind = input.kind ?? existing?.kind ?? ServiceKind.SERVICE;

  let parentId: string | null | undefined;
  let parentKind: ServiceKind | null = null;
  if (input.parentSlug) {
    const parent = await tx.service.findUnique({ where: { slug: input.parentSlug }, select: { id: true, kind: true } });
    if (!parent) throw new NotFoundError('parent service', input.parentSlug);
    parentId = parent.id;
    parentKind = parent.kind;
  } else if (input.parentSlug === null || !existing) {
    parentId = null;
  } else if (existing.parentId) {
    // Parent omitted on an update: the current parent stays and must still suit the kind.
    const parent = await tx.service.findUniqueOrThrow({ where: { id: existing.parentId }, select: { kind: true } });
    parentKind = parent.kind;
  }
  assertParentAllowed(input.slug, kind, parentKind);

  if (existing) {
    if (parentId) await assertNoHierarchyCycle(tx, existing.id, parentId, input.slug);
    if (kind !== existing.kind) await assertChildrenFit(tx, existing.id, input.slug, kind);
  }
  const warnings = input.dependencies ? await checkDependencies(tx, input.slug, input.dependencies, settings.dependencyValidation) : [];

  const fields = {
    name: input.name,
    kind,
    version: input.version,
    description: input.description,
    tags: input.tags,
    dependencies: input.dependencies,
    metadata: input.metadata === null ? {} : (input.metadata as Prisma.InputJsonValue | undefined),
    source: input.source,
    protected: input.protected,
  };

  const events: RegistryEvent[] = [];
  let service: Service;
  const created = !existing;
  if (!existing) {
    service = await tx.service.create({
      data: { ...fields, slug: input.slug, parentId, source: input.source ?? ServiceSource.API, tags: input.tags ?? [], dependencies: input.dependencies ?? [] },
    });
    events.push(
      await recordEvent(tx, {
        type: 'REGISTERED',
        serviceId: service.id,
        serviceSlug: service.slug,
        toValue: service.status,
        cause: 'REGISTERED',
        actor,
        revision: service.revision,
        details: { kind: service.kind, source: service.source, parentSlug: input.parentSlug ?? null, warnings },
      }),
    );
  } else {
    service = await tx.service.update({ where: { id: existing.id }, data: { ...fields, parentId, revision: { increment: 1 } } });
    events.push(
      await recordEvent(tx, {
        type: 'UPDATED',
        serviceId: service.id,
        serviceSlug: service.slug,
        actor,
        revision: service.revision,
        details: { kind: service.kind, source: service.source, warnings },
      }),
    );
  }

  let instance: ServiceInstance | null = null;
  if (options.withInstance ?? true) {
    const upserted = await upsertInstance(tx, service, input, settings, actor);
    instance = upserted.instance;
    if (upserted.event) events.push(upserted.event);
  }
  return { service, instance, created, warnings, events };
}

async function upsertInstance(tx: Tx, service: Service, input: ValidRegisterServiceInput, settings: RegistrySettings, actor: string | null) {
  const instanceId = input.instanceId ?? generatedInstanceId(service.slug);
  const existing = await tx.serviceInstance.findUnique({
    where: { serviceId_instanceId: { serviceId: service.id, instanceId } },
    select: { id: true, deregisteredAt: true, ttlSeconds: true },
  });
  const interfaces = input.interfaces ? Object.fromEntries(input.interfaces.map((item) => [item.type, item.endpoint])) : undefined;
  const fields = {
    version: input.version,
    interfaces,
    ttlSeconds: input.ttlSeconds ?? undefined,
    deregisterAfterSeconds: input.deregisterAfterSeconds,
    host: input.host,
  };
  const row = existing
    ? await tx.serviceInstance.update({ where: { id: existing.id }, data: { ...fields, deregisteredAt: null, revision: { increment: 1 } } })
    : await tx.serviceInstance.create({
        data: { ...fields, serviceId: service.id, instanceId, ttlSeconds: input.ttlSeconds ?? settings.heartbeat.defaultTtlSeconds, interfaces: interfaces ?? {} },
      });
  // A (re-)registration gives the instance one TTL to send its first heartbeat, by the database clock.
  await tx.$executeRaw`UPDATE service_instances SET expires_at = now() + make_interval(secs => ttl_seconds) WHERE id = ${row.id}::uuid`;
  const instance = await tx.serviceInstance.findUniqueOrThrow({ where: { id: row.id } });
  const fresh = !existing || existing.deregisteredAt !== null;
  const event = fresh
    ? await recordEvent(tx, {
        type: 'INSTANCE_REGISTERED',
        serviceId: service.id,
        serviceSlug: service.slug,
        instanceId,
        cause: 'REGISTERED',
        actor,
        revision: service.revision,
        details: { ttlSeconds: row.ttlSeconds, interfaces: row.interfaces as Prisma.InputJsonValue },
      })
    : null;
  return { instance, event };
}

async function assertNoHierarchyCycle(tx: Tx, serviceId: string, newParentId: string, slug: string): Promise<void> {
  const rows = await tx.$queryRaw<{ id: string }[]>`
    WITH RECURSIVE chain AS (
      SELECT id, parent_id, 1 AS depth FROM services WHERE id = ${newParentId}::uuid
      UNION ALL
      SELECT s.id, s.parent_id, c.depth + 1 FROM services s JOIN chain c ON s.id = c.parent_id WHERE c.depth < 256
    )
    SELECT id::text AS id FROM chain WHERE id = ${serviceId}::uuid LIMIT 1`;
  if (rows.length > 0) {
    throw new HierarchyError('PARENT_CYCLE', `${slug} cannot move under one of its own descendants`);
  }
}

async function assertChildrenFit(tx: Tx, serviceId: string, slug: string, kind: ServiceKind): Promise<void> {
  const misfit = await tx.service.findFirst({
    where: { parentId: serviceId, kind: { notIn: allowedChildKinds(kind) } },
    select: { slug: true, kind: true },
  });
  if (misfit) {
    throw new HierarchyError(
      'CHILD_KIND_MISMATCH',
      `${slug} cannot become a ${kind}: its child ${misfit.slug} is a ${misfit.kind}, which a ${kind} may not parent`,
    );
  }
}
