/**
 * Registers a service, or updates it when the slug is already known (idempotent:
 * registeredAt is kept, omitted fields are left as they are, null clears a field).
 */
import type { Prisma, Service } from '../../generated/prisma/client.js';
import { ServiceKind, ServiceSource } from '../../generated/prisma/enums.js';
import { withDatabaseErrors } from '../../infra/db/errors.js';
import type { RegistryDeps } from '../deps.js';
import { ConflictError, HierarchyError, NotFoundError } from '../errors.js';
import { publishEvents, recordEvent } from '../events/record-event.js';
import { allowedChildKinds, assertParentAllowed } from './hierarchy.js';
import { parseRegisterServiceInput, type ValidRegisterServiceInput } from './service-input.js';

type Tx = Prisma.TransactionClient;

export interface RegisterServiceResult {
  service: Service;
  created: boolean;
}

export async function registerService(
  deps: RegistryDeps,
  rawInput: unknown,
  options: { actor?: string | null } = {},
): Promise<RegisterServiceResult> {
  const input = parseRegisterServiceInput(rawInput, deps.settings);
  const attempt = () =>
    withDatabaseErrors({ resource: 'service', key: input.slug }, () =>
      deps.db.client.$transaction((tx) => registerInTransaction(tx, input, options.actor ?? null)),
    );
  let outcome;
  try {
    outcome = await attempt();
  } catch (error) {
    // Two first registrations of one slug racing: the loser retries as an update.
    if (!(error instanceof ConflictError)) throw error;
    outcome = await attempt();
  }
  await publishEvents(deps.bus, [outcome.event]).catch((error) => deps.logger.warn({ err: error }, 'event publish failed'));
  return { service: outcome.service, created: outcome.created };
}

async function registerInTransaction(tx: Tx, input: ValidRegisterServiceInput, actor: string | null) {
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

  const fields = {
    name: input.name,
    kind,
    version: input.version,
    description: input.description,
    tags: input.tags,
    dependencies: input.dependencies,
    metadata: input.metadata === null ? {} : (input.metadata as Prisma.InputJsonValue | undefined),
    source: input.source,
  };

  if (!existing) {
    const service = await tx.service.create({
      data: { ...fields, slug: input.slug, parentId, source: input.source ?? ServiceSource.API, tags: input.tags ?? [], dependencies: input.dependencies ?? [] },
    });
    const event = await recordEvent(tx, {
      type: 'REGISTERED',
      serviceId: service.id,
      serviceSlug: service.slug,
      toValue: service.status,
      cause: 'REGISTERED',
      actor,
      revision: service.revision,
      details: { kind: service.kind, source: service.source, parentSlug: input.parentSlug ?? null },
    });
    return { service, created: true, event };
  }

  const service = await tx.service.update({
    where: { id: existing.id },
    data: { ...fields, parentId, revision: { increment: 1 } },
  });
  const event = await recordEvent(tx, {
    type: 'UPDATED',
    serviceId: service.id,
    serviceSlug: service.slug,
    actor,
    revision: service.revision,
    details: { kind: service.kind, source: service.source },
  });
  return { service, created: false, event };
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
