/**
 * Live views of the registry, filtered server-side: a subscriber only receives what matches.
 * Each returns a union with SubscriptionResync: after a bus outage (Redis pub/sub delivers at
 * most once) the stream says so instead of silently missing events; the client re-reads the
 * state it cares about (or uses registryEvents, which replays instead).
 */
import type { ObjectFieldBuilder, ObjectRef, SchemaTypes } from '@pothos/core';
import type { HeartbeatMessage } from '../../infra/bus/event-bus.js';
import { builder } from '../../graphql/builder.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { unembedSnapshot } from '../health/health-transitions.js';
import { HealthSnapshotRef } from '../history/history.graphql.js';
import { HealthStatusEnum, RegistryEventTypeEnum, ServiceKindEnum, ServiceStatusEnum, TransitionCauseEnum } from '../services/service-enums.graphql.js';
import { connectionBudget } from './connection-budget.js';
import { isResync, liveStream, subscriptionHubs, type LiveRegistryEvent, type ResyncSignal } from './hubs.js';
import { delivered, type Queued } from './subscriber-queue.js';
import type { TopicHub } from './topic-hub.js';

const ResyncReasonEnum = builder.enumType('ResyncReason', {
  values: { BUS_RECONNECTED: { description: 'The event bus lost its connection; events published meanwhile may be missing.' } } as const,
});

const SubscriptionResyncRef = builder.objectRef<ResyncSignal>('SubscriptionResync').implement({
  description: 'Events may have been missed before this one: re-read the state you follow. Never sent by registryEvents, which replays instead.',
  fields: (t) => ({
    reason: t.expose('reason', { type: ResyncReasonEnum }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T extends SchemaTypes> ? T : never;

/** A union of `member` and SubscriptionResync. */
function withResync<T extends object>(name: string, member: ObjectRef<Types, T>, description: string) {
  return builder.unionType(name, {
    description,
    types: [member, SubscriptionResyncRef],
    resolveType: (value) => (isResync(value) ? 'SubscriptionResync' : member.name),
  });
}

// ---- heartbeats ----------------------------------------------------------------------------

const HeartbeatEventRef = builder.objectRef<HeartbeatMessage>('HeartbeatEvent').implement({
  description:
    'Accepted heartbeats of one instance. Steady heartbeats are coalesced: at most one event per instance per HEARTBEAT_FLUSH_MS window (the latest; `beats` counts them). A heartbeat that registered or changed something is sent at once (`transitioned`).',
  fields: (t) => ({
    slug: t.exposeString('slug'),
    instanceId: t.exposeString('instanceId'),
    kind: t.field({ type: ServiceKindEnum, resolve: (beat) => beat.kind as never }),
    parentSlug: t.exposeString('parentSlug', { nullable: true }),
    health: t.field({ type: HealthStatusEnum, description: 'The reported health.', resolve: (beat) => beat.health as never }),
    serviceStatus: t.field({ type: ServiceStatusEnum, resolve: (beat) => beat.serviceStatus as never }),
    at: t.field({ type: 'DateTime', description: 'When the latest of these heartbeats was received.', resolve: (beat) => beat.at }),
    beats: t.exposeInt('beats', { description: 'Heartbeats this event stands for.' }),
    transitioned: t.exposeBoolean('transitioned', { description: 'The heartbeat registered or changed status or health.' }),
  }),
});
const HeartbeatUpdate = withResync('HeartbeatUpdate', HeartbeatEventRef, 'A heartbeat event, or a resync signal.');

interface HeartbeatFilter {
  slug?: string | null;
  kind?: string | null;
  parentSlug?: string | null;
}
const HeartbeatFilterInput = builder.inputRef<HeartbeatFilter>('HeartbeatSubscriptionFilter').implement({
  fields: (t) => ({
    slug: t.string({ required: false }),
    kind: t.field({ type: ServiceKindEnum, required: false }),
    parentSlug: t.string({ required: false, description: 'Instances of services directly under this one.' }),
  }),
});

// ---- service status and health ------------------------------------------------------------

interface ServiceFilter {
  slug?: string | null;
  kind?: string | null;
}
const ServiceFilterInput = builder.inputRef<ServiceFilter>('ServiceChangeFilter').implement({
  fields: (t) => ({
    slug: t.string({ required: false }),
    kind: t.field({ type: ServiceKindEnum, required: false }),
  }),
});

const matchesService = (filter: ServiceFilter | null | undefined, live: LiveRegistryEvent) =>
  (!filter?.slug || live.message.serviceSlug === filter.slug) && (!filter?.kind || live.kind === filter.kind);

/** Shared fields of the changes derived from registry events. */
function eventFields(t: ObjectFieldBuilder<Types, LiveRegistryEvent>) {
  return {
    sequence: t.string({ description: 'The registry event behind this change (RegistryEvent.sequence).', resolve: (live) => live.message.id }),
    slug: t.string({ resolve: (live) => live.message.serviceSlug ?? '' }),
    kind: t.field({ type: ServiceKindEnum, nullable: true, description: 'null when the service is gone.', resolve: (live) => live.kind as never }),
    cause: t.field({ type: TransitionCauseEnum, nullable: true, resolve: (live) => live.message.cause as never }),
    actor: t.string({ nullable: true, resolve: (live) => live.message.actor }),
    revision: t.int({ nullable: true, resolve: (live) => live.message.revision }),
    at: t.field({ type: 'DateTime', resolve: (live) => live.message.at }),
  };
}

const ServiceStatusChangeRef = builder.objectRef<LiveRegistryEvent>('ServiceStatusChange').implement({
  description: 'A lifecycle transition (from ACTIVATED, STATUS_CHANGED and REVOKED registry events).',
  fields: (t) => ({
    ...eventFields(t),
    type: t.field({ type: RegistryEventTypeEnum, resolve: (live) => live.message.type as never }),
    from: t.field({ type: ServiceStatusEnum, nullable: true, resolve: (live) => live.message.fromValue as never }),
    to: t.field({ type: ServiceStatusEnum, resolve: (live) => live.message.toValue as never }),
  }),
});
const ServiceStatusUpdate = withResync('ServiceStatusUpdate', ServiceStatusChangeRef, 'A lifecycle transition, or a resync signal.');

const HealthScopeEnum = builder.enumType('HealthChangeScope', {
  values: {
    SERVICE: { description: "The service's derived health." },
    INSTANCE: { description: "One instance's health." },
    PROBE: { description: "The service's health check." },
  } as const,
});

const scopeOf = (live: LiveRegistryEvent) => {
  const scope = (live.message.details as { scope?: string } | undefined)?.scope;
  return scope === 'instance' ? 'INSTANCE' : scope === 'probe' ? 'PROBE' : 'SERVICE';
};

const HealthChangeRef = builder.objectRef<LiveRegistryEvent>('HealthChange').implement({
  description: 'A health transition (from HEALTH_CHANGED registry events).',
  fields: (t) => ({
    snapshot: t.field({
      type: HealthSnapshotRef,
      nullable: true,
      description: 'The health snapshot this transition recorded: the latest reading of the service (or instance) when it changed.',
      resolve: (live) => (live.message.serviceId ? unembedSnapshot(live.message.details, live.message.serviceId) : null),
    }),
    ...eventFields(t),
    scope: t.field({ type: HealthScopeEnum, resolve: scopeOf }),
    instanceId: t.string({ nullable: true, description: 'For scope INSTANCE.', resolve: (live) => live.message.instanceId ?? null }),
    from: t.field({ type: HealthStatusEnum, nullable: true, resolve: (live) => live.message.fromValue as never }),
    to: t.field({ type: HealthStatusEnum, resolve: (live) => live.message.toValue as never }),
  }),
});
const HealthUpdate = withResync('HealthUpdate', HealthChangeRef, 'A health transition, or a resync signal.');

// ---- manifests ------------------------------------------------------------------------------

interface ImportDetails {
  moduleId?: string;
  moduleVersion?: string;
  importId?: string;
  rollbackOfId?: string | null;
  services?: Counts;
  networks?: Counts;
}
interface Counts {
  created: number;
  updated: number;
  unchanged: number;
  removed: number;
}
const details = (live: LiveRegistryEvent) => (live.message.details ?? {}) as ImportDetails;
const NO_COUNTS: Counts = { created: 0, updated: 0, unchanged: 0, removed: 0 };

const ImportedCountsRef = builder.objectRef<Counts>('ManifestImportedCounts').implement({
  fields: (t) => ({ created: t.exposeInt('created'), updated: t.exposeInt('updated'), unchanged: t.exposeInt('unchanged'), removed: t.exposeInt('removed') }),
});

const ManifestImportedRef = builder.objectRef<LiveRegistryEvent>('ManifestImportedEvent').implement({
  description: 'A committed manifest import (MANIFEST_IMPORTED) or rollback (MANIFEST_ROLLED_BACK) and its outcome counts.',
  fields: (t) => ({
    sequence: t.string({ resolve: (live) => live.message.id }),
    moduleId: t.string({ resolve: (live) => details(live).moduleId ?? '' }),
    moduleVersion: t.string({ nullable: true, resolve: (live) => details(live).moduleVersion ?? live.message.toValue }),
    importId: t.string({ nullable: true, resolve: (live) => details(live).importId ?? null }),
    rollbackOfId: t.string({ nullable: true, resolve: (live) => details(live).rollbackOfId ?? null }),
    services: t.field({ type: ImportedCountsRef, resolve: (live) => details(live).services ?? NO_COUNTS }),
    networks: t.field({ type: ImportedCountsRef, resolve: (live) => details(live).networks ?? NO_COUNTS }),
    actor: t.string({ nullable: true, resolve: (live) => live.message.actor }),
    at: t.field({ type: 'DateTime', resolve: (live) => live.message.at }),
  }),
});
const ManifestImportUpdate = withResync('ManifestImportUpdate', ManifestImportedRef, 'A manifest import, or a resync signal.');

// ---- fields ---------------------------------------------------------------------------------

const STATUS_TYPES = new Set(['ACTIVATED', 'STATUS_CHANGED', 'REVOKED']);
const IMPORT_TYPES = new Set(['MANIFEST_IMPORTED', 'MANIFEST_ROLLED_BACK']);

/** A stream of registry-event-derived items; `needsKind` makes the hub look kinds up while it is open. */
function eventStream<T>(ctx: GraphQLContext, needsKind: boolean, select: (live: LiveRegistryEvent) => T | null) {
  const hubs = subscriptionHubs(ctx.deps);
  if (needsKind) hubs.kindReaders += 1;
  let released = false;
  return liveStream<LiveRegistryEvent, T>({
    hub: hubs.events,
    budget: connectionBudget(ctx),
    select,
    onEnd: () => {
      if (needsKind && !released) hubs.kindReaders -= 1;
      released = true;
    },
  });
}

type Payload<T> = Queued<T | ResyncSignal>;

builder.subscriptionFields((t) => ({
  heartbeats: t.field({
    type: HeartbeatUpdate,
    description: 'Accepted heartbeats matching the filter (every field given must match), coalesced per instance per flush window.',
    args: { filter: t.arg({ type: HeartbeatFilterInput, required: false }) },
    subscribe: (_root, { filter }, ctx) =>
      liveStream<HeartbeatMessage[], HeartbeatMessage>({
        hub: subscriptionHubs(ctx.deps).heartbeats as TopicHub<'heartbeat.batch', HeartbeatMessage[]>,
        budget: connectionBudget(ctx),
        select: (beats) =>
          beats.filter(
            (beat) =>
              (!filter?.slug || beat.slug === filter.slug) &&
              (!filter?.kind || beat.kind === filter.kind) &&
              (!filter?.parentSlug || beat.parentSlug === filter.parentSlug),
          ),
      }),
    resolve: (payload: Payload<HeartbeatMessage>) => delivered(payload),
  }),
  serviceStatusChanged: t.field({
    type: ServiceStatusUpdate,
    description: 'Lifecycle transitions of services matching the filter.',
    args: { filter: t.arg({ type: ServiceFilterInput, required: false }) },
    subscribe: (_root, { filter }, ctx) =>
      eventStream(ctx, Boolean(filter?.kind), (live) => (STATUS_TYPES.has(live.message.type) && matchesService(filter, live) ? live : null)),
    resolve: (payload: Payload<LiveRegistryEvent>) => delivered(payload),
  }),
  healthChanged: t.field({
    type: HealthUpdate,
    description: 'Health transitions (service, instance and probe scope) of services matching the filter.',
    args: { filter: t.arg({ type: ServiceFilterInput, required: false }) },
    subscribe: (_root, { filter }, ctx) =>
      eventStream(ctx, Boolean(filter?.kind), (live) => (live.message.type === 'HEALTH_CHANGED' && matchesService(filter, live) ? live : null)),
    resolve: (payload: Payload<LiveRegistryEvent>) => delivered(payload),
  }),
  manifestImported: t.field({
    type: ManifestImportUpdate,
    description: 'Committed manifest imports (and rollbacks), of one module when moduleId is given.',
    args: { moduleId: t.arg.string({ required: false }) },
    subscribe: (_root, { moduleId }, ctx) =>
      eventStream(ctx, false, (live) => (IMPORT_TYPES.has(live.message.type) && (!moduleId || details(live).moduleId === moduleId) ? live : null)),
    resolve: (payload: Payload<LiveRegistryEvent>) => delivered(payload),
  }),
}));
