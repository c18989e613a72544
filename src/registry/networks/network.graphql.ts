/** Service networks: ordered members (launch order), stored manifest, health rollup. */
import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import { builder } from '../../graphql/builder.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { byUuid } from '../../graphql/node-ids.js';
import { discoveryLoaders } from '../discovery/discovery-loaders.js';
import { HealthStatusEnum } from '../services/service-enums.graphql.js';
import { networkHealthRollups, type HealthRollup } from './network-rollup.js';

const rollupLoader = createContextCache(
  (ctx: GraphQLContext) =>
    new DataLoader<string, HealthRollup>(async (ids) => {
      const found = await networkHealthRollups(ctx.deps, ids);
      return ids.map((id) => found.get(id)!);
    }),
);

const HealthRollupRef = builder.objectRef<HealthRollup>('NetworkHealthRollup').implement({
  description: "Members by their service's health; members naming no registered service count as unknown.",
  fields: (t) => ({
    total: t.exposeInt('total'),
    up: t.exposeInt('up'),
    degraded: t.exposeInt('degraded'),
    unhealthy: t.exposeInt('unhealthy'),
    down: t.exposeInt('down'),
    unknown: t.exposeInt('unknown'),
    status: t.expose('status', {
      type: HealthStatusEnum,
      description: 'All UP → UP; any UP or DEGRADED → DEGRADED; else all UNKNOWN (or no members) → UNKNOWN; any UNHEALTHY → UNHEALTHY; else DOWN.',
    }),
  }),
});

builder.prismaObject('ServiceNetworkMember', {
  fields: (t) => ({
    position: t.exposeInt('position', { description: 'Launch order, from 0.' }),
    serviceSlug: t.exposeString('serviceSlug'),
    service: t.prismaField({
      type: 'Service',
      nullable: true,
      description: 'null when no service has the slug (any more).',
      resolve: (query, member, _args, ctx) => discoveryLoaders(ctx).serviceBySlug(query).load(member.serviceSlug),
    }),
  }),
});

export const ServiceNetworkRef = builder.prismaNode('ServiceNetwork', {
  id: { field: 'id' },
  findUnique: byUuid('ServiceNetwork'),
  fields: (t) => ({
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    moduleId: t.exposeString('moduleId', { nullable: true }),
    moduleVersion: t.exposeString('moduleVersion', { nullable: true }),
    checksum: t.exposeString('checksum', { description: 'sha256 of the stored manifest as JSON with sorted keys.' }),
    manifest: t.field({ type: 'JSONObject', description: 'The network as its module declared it.', resolve: (network) => network.manifest as Record<string, unknown> }),
    metadata: t.field({ type: 'JSONObject', resolve: (network) => network.metadata as Record<string, unknown> }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    members: t.relation('members', { description: 'In launch order.', query: { orderBy: { position: 'asc' } } }),
    healthRollup: t.field({ type: HealthRollupRef, resolve: (network, _args, ctx) => rollupLoader(ctx).load(network.id) }),
  }),
});

builder.queryFields((t) => ({
  networks: t.prismaConnection({
    type: 'ServiceNetwork',
    cursor: 'slug',
    description: 'Networks by slug.',
    maxSize: 200,
    resolve: (query, _root, _args, ctx) => ctx.deps.db.client.serviceNetwork.findMany({ ...query, orderBy: { slug: 'asc' } }),
    totalCount: (_connection, _args, ctx) => ctx.deps.db.client.serviceNetwork.count(),
  }),
  network: t.prismaField({
    type: 'ServiceNetwork',
    nullable: true,
    args: { slug: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.deps.db.client.serviceNetwork.findUnique({ ...query, where: { slug: args.slug } }),
  }),
}));
