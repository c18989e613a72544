import { queryFromInfo } from '@pothos/plugin-prisma';
import { resolveCursorConnection } from '@pothos/plugin-relay';
import { builder } from '../../graphql/builder.js';
import type { Service } from '../../generated/prisma/client.js';
import { byUuid } from '../../graphql/node-ids.js';
import { findServiceForQuery } from '../cache/cached-reads.js';
import { HealthStatusEnum, ServiceKindEnum, ServiceSourceEnum, ServiceStatusEnum, TransitionCauseEnum } from './service-enums.graphql.js';
import {
  countServices,
  DEFAULT_SERVICE_ORDER,
  encodeServiceCursor,
  pageServices,
  resolveServiceWhere,
  SERVICE_ORDER_FIELDS,
  type ServiceFilter,
  type ServiceOrder,
} from './service-queries.js';

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

const ServiceFilterInput = builder.inputRef<ServiceFilter>('ServiceFilter').implement({
  description: 'Every field given must match. Compose filters with and / or / not.',
  fields: (t) => ({
    kind: t.field({ type: ServiceKindEnum, required: false }),
    status: t.field({ type: ServiceStatusEnum, required: false }),
    health: t.field({ type: HealthStatusEnum, required: false }),
    source: t.field({ type: ServiceSourceEnum, required: false }),
    tag: t.string({ required: false, description: 'Services carrying this tag.' }),
    search: t.string({ required: false, description: 'Case-insensitive match on slug, name or description.' }),
    parentSlug: t.string({ required: false, description: 'Direct children of this service.' }),
    versionRange: t.string({
      required: false,
      description: 'A semver range such as ">=1.2.0 <2". Services whose version is not semver never match; a malformed range is INVALID_INPUT.',
    }),
    heartbeatOlderThan: t.field({ type: 'DateTime', required: false, description: 'Last heartbeat before this instant, or never.' }),
    inMaintenance: t.boolean({ required: false }),
    and: t.field({ type: [ServiceFilterInput], required: false, description: 'Every filter matches (an empty list matches everything).' }),
    or: t.field({ type: [ServiceFilterInput], required: false, description: 'At least one filter matches (an empty list matches nothing).' }),
    not: t.field({ type: ServiceFilterInput, required: false, description: 'The filter does not match.' }),
  }),
});

export const ServiceOrderFieldEnum = builder.enumType('ServiceOrderField', {
  values: SERVICE_ORDER_FIELDS,
  description: 'Sort column; slug breaks ties. Services that never sent a heartbeat sort last in either direction.',
});
export const OrderDirectionEnum = builder.enumType('OrderDirection', { values: ['ASC', 'DESC'] as const });

const ServiceOrderInput = builder.inputRef<ServiceOrder>('ServiceOrder').implement({
  fields: (t) => ({
    field: t.field({ type: ServiceOrderFieldEnum, required: true }),
    direction: t.field({ type: OrderDirectionEnum, required: true, defaultValue: 'ASC' }),
  }),
});

builder.queryFields((t) => ({
  service: t.prismaField({
    type: 'Service',
    nullable: true,
    args: { slug: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx, info) => findServiceForQuery(ctx.deps, args.slug, query, info),
  }),
  services: t.connection(
    {
      type: ServiceRef,
      description: 'Services, by slug unless orderBy says otherwise. Cursors are opaque and belong to one orderBy.',
      args: {
        filter: t.arg({ type: ServiceFilterInput, required: false }),
        orderBy: t.arg({ type: ServiceOrderInput, required: false, description: 'Default: slug ascending.' }),
      },
      resolve: async (_root, args, ctx, info) => {
        const order = args.orderBy ?? DEFAULT_SERVICE_ORDER;
        const where = await resolveServiceWhere(ctx.deps, args.filter);
        // Nested relations (parent, children, instances, …) load with the page, not per row.
        const query = queryFromInfo({ context: ctx, info, typeName: 'Service', path: ['edges', 'node'] });
        const connection = await resolveCursorConnection<Promise<Service[]>>(
          { args, defaultSize: 20, maxSize: 500, toCursor: (service: Service) => encodeServiceCursor(order, service) },
          (page) => pageServices(ctx.deps, { where, order, ...page }, query),
        );
        return { ...connection, countTotal: () => countServices(ctx.deps, where) };
      },
    },
    { fields: (t) => ({ totalCount: t.int({ resolve: (connection) => connection.countTotal() }) }) },
  ),
}));
