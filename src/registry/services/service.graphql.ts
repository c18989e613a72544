import { builder } from '../../graphql/builder.js';
import { writeErrors } from '../../graphql/errors.js';
import type { Service } from '../../generated/prisma/client.js';
import { byUuid } from '../../graphql/node-ids.js';
import { registerService } from './register-service.js';
import { HealthStatusEnum, ServiceKindEnum, ServiceSourceEnum, ServiceStatusEnum, TransitionCauseEnum } from './service-enums.graphql.js';
import { countServices, findServiceBySlug, listServices } from './service-queries.js';

export const ServiceRef = builder.prismaNode('Service', {
  id: { field: 'id' },
  findUnique: byUuid('Service'),
  fields: (t) => ({
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: ServiceKindEnum }),
    status: t.expose('status', { type: ServiceStatusEnum }),
    health: t.expose('health', { type: HealthStatusEnum }),
    previousStatus: t.expose('previousStatus', { type: ServiceStatusEnum, nullable: true }),
    statusSince: t.expose('statusSince', { type: 'DateTime' }),
    previousHealth: t.expose('previousHealth', { type: HealthStatusEnum, nullable: true }),
    healthSince: t.expose('healthSince', { type: 'DateTime', description: 'When health last changed: how long it has been critical.' }),
    healthCause: t.expose('healthCause', { type: TransitionCauseEnum, nullable: true }),
    reachable: t.exposeBoolean('reachable', { description: 'false when an ancestor is DOWN: its failures are the parent\'s.' }),
    protected: t.exposeBoolean('protected', { description: 'Never auto-deregistered or archived.' }),
    inMaintenance: t.exposeBoolean('inMaintenance'),
    maintenanceReason: t.exposeString('maintenanceReason', { nullable: true }),
    maintenanceSince: t.expose('maintenanceSince', { type: 'DateTime', nullable: true }),
    source: t.expose('source', { type: ServiceSourceEnum }),
    version: t.exposeString('version', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    tags: t.exposeStringList('tags'),
    dependencySlugs: t.exposeStringList('dependencies', { description: 'Slugs this service declares it depends on.' }),
    metadata: t.field({ type: 'JSONObject', resolve: (service) => service.metadata as Record<string, unknown> }),
    moduleId: t.exposeString('moduleId', { nullable: true }),
    revision: t.exposeInt('revision', { description: 'Increases with every state change.' }),
    registeredAt: t.expose('registeredAt', { type: 'DateTime' }),
    firstSeenAt: t.expose('firstSeenAt', { type: 'DateTime', nullable: true }),
    lastHeartbeatAt: t.expose('lastHeartbeatAt', { type: 'DateTime', nullable: true }),
    parent: t.relation('parent', { nullable: true }),
    children: t.relation('children', {
      args: { kind: t.arg({ type: ServiceKindEnum, required: false }) },
      query: (args) => ({ where: args.kind ? { kind: args.kind } : {}, orderBy: { slug: 'asc' } }),
    }),
  }),
});

const ServiceFilterInput = builder.inputType('ServiceFilter', {
  fields: (t) => ({
    kind: t.field({ type: ServiceKindEnum, required: false }),
    status: t.field({ type: ServiceStatusEnum, required: false }),
    health: t.field({ type: HealthStatusEnum, required: false }),
    tag: t.string({ required: false, description: 'Services carrying this tag.' }),
    search: t.string({ required: false, description: 'Case-insensitive match on slug, name or description.' }),
  }),
});

builder.queryFields((t) => ({
  service: t.prismaField({
    type: 'Service',
    nullable: true,
    args: { slug: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) => findServiceBySlug(ctx.deps, args.slug, query),
  }),
  services: t.prismaConnection(
    {
      type: 'Service',
      cursor: 'slug',
      defaultSize: 20,
      maxSize: 500,
      args: { filter: t.arg({ type: ServiceFilterInput, required: false }) },
      totalCount: (_connection, args, ctx) => countServices(ctx.deps, args.filter),
      resolve: (query, _root, args, ctx) => listServices(ctx.deps, { ...query, orderBy: { slug: 'asc' } }, args.filter),
    },
    { description: 'Services ordered by slug.' },
  ),
}));

const RegisterServiceInput = builder.inputType('RegisterServiceInput', {
  description: 'Registering a known slug updates it: omitted fields stay, null clears, registeredAt is kept.',
  fields: (t) => ({
    slug: t.string({ required: true, description: 'Unique key: ^[a-z0-9][a-z0-9-]{0,62}$' }),
    name: t.string({ required: true }),
    kind: t.field({ type: ServiceKindEnum, required: false, description: 'Defaults to SERVICE for a new slug.' }),
    parentSlug: t.string({ required: false }),
    version: t.string({ required: false }),
    description: t.string({ required: false }),
    tags: t.stringList({ required: false }),
    dependencies: t.stringList({ required: false, description: 'Slugs of the services this one needs.' }),
    metadata: t.field({ type: 'JSONObject', required: false, description: 'At most 10 KB as JSON.' }),
  }),
});

const RegisterServicePayload = builder.objectRef<{ service: Service; created: boolean }>('RegisterServicePayload').implement({
  fields: (t) => ({
    service: t.field({ type: ServiceRef, resolve: (payload) => payload.service }),
    created: t.exposeBoolean('created', { description: 'false when the slug was already registered and got updated.' }),
  }),
});

builder.mutationFields((t) => ({
  registerService: t.field({
    type: RegisterServicePayload,
    args: { input: t.arg({ type: RegisterServiceInput, required: true }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => registerService(ctx.deps, args.input, { actor: ctx.actor }),
  }),
}));
