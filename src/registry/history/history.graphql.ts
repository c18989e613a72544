/**
 * Health history in the graph: HealthSnapshot nodes, Service.latestHealth (batched per
 * request), Service.healthHistory, Service.healthSummary and Service.timeline.
 */
import { createContextCache } from '@pothos/core';
import { resolveCursorConnection } from '@pothos/plugin-relay';
import DataLoader from 'dataloader';
import type { HealthSnapshot } from '../../generated/prisma/client.js';
import { SnapshotSource } from '../../generated/prisma/enums.js';
import { builder } from '../../graphql/builder.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { InputError } from '../errors.js';
import { RegistryEventRef } from '../events/event.graphql.js';
import { HealthStatusEnum, TransitionCauseEnum } from '../services/service-enums.graphql.js';
import { parseDuration, checkWindow, networkHealthSummary, serviceHealthSummary, type HealthSummary } from './health-summary.js';
import { encodeHistoryCursor, latestSnapshots, pageHistory } from './snapshot-queries.js';
import { encodeTimelineCursor, pageTimeline, type ManifestVersionEntry, type TimelineItem } from './timeline.js';

export const SnapshotSourceEnum = builder.enumType(SnapshotSource, { name: 'SnapshotSource', description: 'Who took a health reading.' });

function parseSnapshotId(value: string): bigint {
  if (!/^[0-9]{1,18}$/.test(value)) throw new InputError('malformed HealthSnapshot id', [{ path: 'id', message: 'not a HealthSnapshot id' }]);
  return BigInt(value);
}

export const HealthSnapshotRef = builder.prismaNode('HealthSnapshot', {
  description: 'A point-in-time reading of a service (or, with instance set, one of its instances).',
  id: { field: 'id' },
  findUnique: (id) => ({ id: parseSnapshotId(id) }),
  fields: (t) => ({
    status: t.expose('status', { type: HealthStatusEnum }),
    checkedAt: t.expose('checkedAt', { type: 'DateTime' }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true }),
    statusCode: t.exposeInt('statusCode', { nullable: true }),
    message: t.exposeString('message', { nullable: true }),
    source: t.expose('source', { type: SnapshotSourceEnum }),
    cause: t.expose('cause', { type: TransitionCauseEnum, nullable: true }),
    version: t.exposeInt('version', { description: 'Increases with every snapshot of the service.' }),
    metadata: t.field({ type: 'JSONObject', resolve: (snapshot) => snapshot.metadata as Record<string, unknown> }),
    instance: t.relation('instance', { nullable: true, description: 'The instance read; null for a reading of the whole service.' }),
  }),
});

const HealthSummaryRef = builder.objectRef<HealthSummary>('HealthSummary').implement({
  description:
    'Health over a window ending now, from service-level snapshots (each status holds until the next snapshot). ' +
    'UP and DEGRADED count as up; time before the first known state is not counted.',
  fields: (t) => ({
    windowSeconds: t.exposeInt('windowSeconds'),
    uptimeRatio: t.exposeFloat('uptimeRatio', { nullable: true, description: 'Fraction of the known time in UP or DEGRADED; null without any snapshot.' }),
    latencyP50: t.exposeFloat('latencyP50', { nullable: true, description: 'Milliseconds.' }),
    latencyP95: t.exposeFloat('latencyP95', { nullable: true }),
    latencyP99: t.exposeFloat('latencyP99', { nullable: true }),
    transitions: t.exposeInt('transitions', { description: 'Status changes within the window.' }),
    incidents: t.exposeInt('incidents', { description: 'Changes into DOWN or UNHEALTHY from a serving or unknown state.' }),
    mttrSeconds: t.exposeFloat('mttrSeconds', { nullable: true, description: 'Mean time from an incident to the next UP, over recovered incidents.' }),
  }),
});

export const ManifestVersionEntryRef = builder.objectRef<ManifestVersionEntry>('ManifestVersionEntry').implement({
  description: 'A version of the manifest declaring this service.',
  fields: (t) => ({
    moduleId: t.exposeString('moduleId'),
    moduleVersion: t.exposeString('moduleVersion'),
    version: t.exposeInt('version'),
    checksum: t.exposeString('checksum'),
    importedAt: t.expose('importedAt', { type: 'DateTime' }),
    supersededAt: t.expose('supersededAt', { type: 'DateTime', nullable: true, description: 'null while this version is active.' }),
  }),
});

/** Which member type a timeline value is: kept beside the values, not on them. */
const timelineKinds = new WeakMap<object, TimelineItem['kind']>();
const TYPE_OF_KIND = { snapshot: 'HealthSnapshot', event: 'RegistryEvent', manifest: 'ManifestVersionEntry' } as const;

const TimelineEntryUnion = builder.unionType('TimelineEntry', {
  types: [HealthSnapshotRef, RegistryEventRef, ManifestVersionEntryRef],
  resolveType: (value) => TYPE_OF_KIND[timelineKinds.get(value as object) ?? 'event'],
});

/** One loader per request: every service of a page shares one latest-snapshot statement. */
const latestHealthLoader = createContextCache(
  (ctx: GraphQLContext) =>
    new DataLoader<string, HealthSnapshot | null>(async (ids) => {
      const found = await latestSnapshots(ctx.deps, ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
);

const toTimelineCursor = (item: TimelineItem) => encodeTimelineCursor(item);

builder.prismaObjectFields('Service', (t) => ({
  latestHealth: t.field({
    type: HealthSnapshotRef,
    nullable: true,
    description: 'The last service-level snapshot (probe, external check or derived health); null when there is none.',
    resolve: (service, _args, ctx) => latestHealthLoader(ctx).load(service.id),
  }),
  healthHistory: t.connection({
    type: HealthSnapshotRef,
    description: 'Snapshots newest first, from (inclusive) to (exclusive).',
    args: {
      from: t.arg({ type: 'DateTime', required: false }),
      to: t.arg({ type: 'DateTime', required: false }),
      includeInstances: t.arg.boolean({ required: false, defaultValue: false, description: 'Also the snapshots of single instances.' }),
    },
    resolve: (service, args, ctx) =>
      resolveCursorConnection<Promise<HealthSnapshot[]>>({ args, defaultSize: 50, maxSize: 500, toCursor: encodeHistoryCursor }, (page) =>
        pageHistory(ctx.deps, service.id, { from: args.from, to: args.to, includeInstances: args.includeInstances }, page),
      ),
  }),
  healthSummary: t.field({
    type: HealthSummaryRef,
    description: 'Give window (a duration such as "24h", "7d", "1h30m") or windowSeconds; default 24h.',
    args: {
      window: t.arg.string({ required: false }),
      windowSeconds: t.arg.int({ required: false }),
    },
    resolve: (service, args, ctx) => serviceHealthSummary(ctx.deps, service.id, windowFromArgs(args)),
  }),
  timeline: t.connection({
    type: TimelineEntryUnion,
    description: 'Snapshots, audit events and manifest versions of this service in one list, newest first.',
    resolve: async (service, args, ctx) => {
      const connection = await resolveCursorConnection<Promise<TimelineItem[]>>(
        { args, defaultSize: 50, maxSize: 200, toCursor: toTimelineCursor },
        (page) => pageTimeline(ctx.deps, { id: service.id, slug: service.slug }, page),
      );
      if (!connection) return connection as never;
      // Edges carry the plain value; its kind stays beside it for resolveType.
      return {
        ...connection,
        edges: connection.edges.map((edge) => {
          if (!edge) return edge;
          timelineKinds.set(edge.node.value, edge.node.kind);
          return { ...edge, node: edge.node.value };
        }),
      } as never;
    },
  }),
}));

/** `window` (a duration such as "24h") or `windowSeconds`, not both; 24 h when neither. */
function windowFromArgs(args: { window?: string | null; windowSeconds?: number | null }): number {
  if (args.window != null && args.windowSeconds != null) {
    throw new InputError('give window or windowSeconds, not both', [{ path: 'window', message: 'conflicts with windowSeconds' }]);
  }
  return args.window != null ? parseDuration(args.window) : args.windowSeconds != null ? checkWindow(args.windowSeconds) : 86_400;
}

builder.prismaObjectField('ServiceNetwork', 'healthSummary', (t) =>
  t.field({
    type: HealthSummaryRef,
    description: 'The same figures over all member services: uptime weighted by time, counts summed. Window as for Service.healthSummary.',
    args: { window: t.arg.string({ required: false }), windowSeconds: t.arg.int({ required: false }) },
    resolve: (network, args, ctx) => networkHealthSummary(ctx.deps, network.id, windowFromArgs(args)),
  }),
);
