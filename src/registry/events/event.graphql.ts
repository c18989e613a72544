/** The audit trail as the graph shows it: RegistryEvent nodes, newest first. */
import { createContextCache } from '@pothos/core';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { resolveCursorConnection } from '@pothos/plugin-relay';
import DataLoader from 'dataloader';
import type { RegistryEvent } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { RegistryEventTypeEnum, TransitionCauseEnum } from '../services/service-enums.graphql.js';
import { pageEvents, pageServiceEvents, type EventPageRequest, type EventQuery } from './event-pages.js';
import { parseEventSequence, registryEventWhere, type RegistryEventFilter } from './event-queries.js';

export const RegistryEventRef = builder.prismaNode('RegistryEvent', {
  description: 'One entry of the audit trail.',
  id: { field: 'id' },
  findUnique: (id) => ({ id: parseEventSequence(id) }),
  fields: (t) => ({
    sequence: t.string({
      description: 'The event id as a decimal string: increases with every event; subscribers resume from it.',
      resolve: (event) => event.id.toString(),
    }),
    type: t.expose('type', { type: RegistryEventTypeEnum }),
    service: t.relation('service', { nullable: true, description: 'null once the service is gone; serviceSlug stays.' }),
    serviceSlug: t.exposeString('serviceSlug', { nullable: true }),
    instanceId: t.exposeString('instanceId', { nullable: true }),
    from: t.exposeString('fromValue', { nullable: true, description: 'The value before the change, when the type has one.' }),
    to: t.exposeString('toValue', { nullable: true, description: 'The value after the change, when the type has one.' }),
    cause: t.expose('cause', { type: TransitionCauseEnum, nullable: true }),
    actor: t.exposeString('actor', { nullable: true }),
    details: t.field({ type: 'JSONObject', resolve: (event) => event.details as Record<string, unknown> }),
    revision: t.exposeInt('revision', { nullable: true, description: 'The service revision the event produced.' }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const RegistryEventFilterInput = builder.inputRef<RegistryEventFilter>('RegistryEventFilter').implement({
  fields: (t) => ({
    types: t.field({ type: [RegistryEventTypeEnum], required: false, description: 'Any of these types.' }),
    slug: t.string({ required: false, description: 'Events about the service with this slug.' }),
    since: t.field({ type: 'DateTime', required: false, description: 'At or after this instant.' }),
  }),
});

/** One loader per page shape and nested selection: the rows of a services list share both. */
const serviceEventLoaders = createContextCache((ctx: GraphQLContext) => {
  const loaders = new Map<string, DataLoader<string, RegistryEvent[]>>();
  return (request: EventPageRequest, query: EventQuery) => {
    const key = JSON.stringify([request, query]);
    let loader = loaders.get(key);
    if (!loader) {
      loader = new DataLoader(async (ids) => {
        const found = await pageServiceEvents(ctx.deps, ids, request, query);
        return ids.map((id) => found.get(id) ?? []);
      });
      loaders.set(key, loader);
    }
    return loader;
  };
});

const toCursor = (event: RegistryEvent) => event.id.toString();

builder.queryFields((t) => ({
  events: t.connection({
    type: RegistryEventRef,
    description: 'The audit trail, newest first. A cursor is an event sequence: any sequence can be paged from.',
    args: { filter: t.arg({ type: RegistryEventFilterInput, required: false }) },
    resolve: (_root, args, ctx, info) => {
      const query = queryFromInfo({ context: ctx, info, typeName: 'RegistryEvent', path: ['edges', 'node'] });
      const where = registryEventWhere(args.filter);
      return resolveCursorConnection<Promise<RegistryEvent[]>>({ args, defaultSize: 50, maxSize: 500, toCursor }, (page) =>
        pageEvents(ctx.deps, where, page, query),
      );
    },
  }),
}));

builder.prismaObjectField('Service', 'events', (t) =>
  t.connection({
    type: RegistryEventRef,
    description: "This service's audit trail, newest first. A cursor is an event sequence.",
    resolve: (service, args, ctx, info) => {
      const query = queryFromInfo({ context: ctx, info, typeName: 'RegistryEvent', path: ['edges', 'node'] });
      return resolveCursorConnection<Promise<RegistryEvent[]>>({ args, defaultSize: 20, maxSize: 200, toCursor }, (page) =>
        serviceEventLoaders(ctx)(page, query).load(service.id),
      );
    },
  }),
);
