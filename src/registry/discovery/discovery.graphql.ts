/**
 * Discovery: where a service sits (ancestors, descendants), what it needs and what needs it,
 * registry-wide figures, the start-up order, and a cheap membership check. Every Service field
 * here goes through a per-request DataLoader, so a page of services costs constant statements.
 */
import type { Service } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { SLUG_PATTERN } from '../services/service-input.js';
import { HealthStatusEnum, ServiceKindEnum, ServiceStatusEnum } from '../services/service-enums.graphql.js';
import { discoveryLoaders } from './discovery-loaders.js';
import { checkedDepth, MAX_HIERARCHY_DEPTH } from './hierarchy-walk.js';
import { registryStats, type RegistryStats } from './registry-stats.js';
import { isKnownService } from './service-cache.js';
import { dependencyGraph } from './startup-plan.js';
import type { StartupPlan } from './dependency-graph.js';

builder.prismaObjectFields('Service', (t) => ({
  ancestors: t.prismaField({
    type: ['Service'],
    description: 'The parent chain, nearest first.',
    resolve: (query, service, _args, ctx) => discoveryLoaders(ctx).ancestors(query).load(service.id),
  }),
  descendants: t.prismaField({
    type: ['Service'],
    description: `The whole subtree below, level by level (by slug within a level), at most ${MAX_HIERARCHY_DEPTH} levels deep.`,
    args: { maxDepth: t.arg.int({ required: false, description: `1 is the children. Omitted: the whole subtree (up to ${MAX_HIERARCHY_DEPTH}).` }) },
    resolve: (query, service, args, ctx) => discoveryLoaders(ctx).descendants(checkedDepth(args.maxDepth), query).load(service.id),
  }),
  dependencies: t.prismaField({
    type: ['Service'],
    description: 'The services this one declares it needs, in declared order; slugs naming no service are skipped.',
    resolve: async (query, service, _args, ctx) => {
      const found = await discoveryLoaders(ctx).serviceBySlug(query).loadMany(service.dependencies);
      const failed = found.find((entry) => entry instanceof Error);
      if (failed) throw failed;
      return found.filter((entry): entry is Service => entry !== null);
    },
  }),
  dependents: t.prismaField({
    type: ['Service'],
    description: 'Services that declare this one as a dependency, by slug. transitive: everything that breaks if this one goes down.',
    args: { transitive: t.arg.boolean({ required: false, defaultValue: false }) },
    resolve: (query, service, args, ctx) => discoveryLoaders(ctx).dependents(args.transitive ?? false, query).load(service.slug),
  }),
}));

const KindStatusCountRef = builder.objectRef<RegistryStats['byKindStatus'][number]>('KindStatusCount').implement({
  fields: (t) => ({
    kind: t.expose('kind', { type: ServiceKindEnum }),
    status: t.expose('status', { type: ServiceStatusEnum }),
    count: t.exposeInt('count'),
  }),
});

const HealthCountRef = builder.objectRef<RegistryStats['byHealth'][number]>('HealthCount').implement({
  fields: (t) => ({ health: t.expose('health', { type: HealthStatusEnum }), count: t.exposeInt('count') }),
});

const RegistryStatsRef = builder.objectRef<RegistryStats>('RegistryStats').implement({
  description: 'Registry-wide figures, computed by the database (its clock for ages and windows).',
  fields: (t) => ({
    byKindStatus: t.field({ type: [KindStatusCountRef], description: 'Every kind × status pair, zeros included.', resolve: (stats) => stats.byKindStatus }),
    byHealth: t.field({ type: [HealthCountRef], description: 'Every health value, zeros included.', resolve: (stats) => stats.byHealth }),
    totalServices: t.exposeInt('totalServices'),
    liveInstances: t.exposeInt('liveInstances', { description: 'Instances not deregistered.' }),
    oldestHeartbeatAgeSeconds: t.exposeFloat('oldestHeartbeatAgeSeconds', {
      nullable: true,
      description: 'Seconds since the stalest last heartbeat among services that sent one; null when none has.',
    }),
    transitionsLast24h: t.exposeInt('transitionsLast24h', { description: 'STATUS_CHANGED, HEALTH_CHANGED, ACTIVATED and REVOKED events in the last 24 hours.' }),
  }),
});

const DependencyGraphRef = builder.objectRef<StartupPlan>('DependencyGraph').implement({
  fields: (t) => ({
    startupOrder: t.exposeStringList('startupOrder', {
      description: 'Every slug, dependencies first, ties by slug; services in or behind a cycle come last.',
    }),
    cycles: t.field({
      type: t.listRef(t.listRef('String')),
      description: 'Each dependency cycle once, from its smallest slug along dependencies ([a, b]: a needs b, b needs a).',
      resolve: (plan) => plan.cycles,
    }),
    cyclesTruncated: t.exposeBoolean('cyclesTruncated', { description: 'The cycle search hit its budget; cycles lists only some.' }),
  }),
});

builder.queryFields((t) => ({
  registryStats: t.field({ type: RegistryStatsRef, resolve: (_root, _args, ctx) => registryStats(ctx.deps) }),
  dependencyGraph: t.field({ type: DependencyGraphRef, resolve: (_root, _args, ctx) => dependencyGraph(ctx.deps) }),
  isKnown: t.boolean({
    description: 'Whether a service with this slug is registered. Cached briefly per replica; registrations evict at once.',
    args: { slug: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => (SLUG_PATTERN.test(args.slug) ? isKnownService(ctx.deps, args.slug) : false),
  }),
}));
