/** The audit trail live: `registryEvents(types, after)` (see registry-event-stream.ts for the contract). */
import type { RegistryEvent } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { RegistryEventRef } from '../events/event.graphql.js';
import { parseEventSequence } from '../events/event-queries.js';
import { RegistryEventTypeEnum } from '../services/service-enums.graphql.js';
import { connectionBudget } from './connection-budget.js';
import { registryEventStream } from './registry-event-stream.js';
import { delivered, type Queued } from './subscriber-queue.js';

builder.subscriptionField('registryEvents', (t) =>
  t.field({
    type: RegistryEventRef,
    description:
      'Registry events as they are committed. With `after` (a sequence), first every stored event with a greater sequence, oldest first, then live, with no gap and no duplicate between the two. After a bus outage the stream replays what it missed by itself. Sequences increase, except that an event whose transaction committed after a later-numbered one arrives after it.',
    args: {
      types: t.arg({ type: [RegistryEventTypeEnum], required: false, description: 'Only these types (all when absent or empty).' }),
      after: t.arg.string({ required: false, description: 'Replay from just after this sequence; absent: live only.' }),
    },
    subscribe: (_root, args, ctx) =>
      registryEventStream(ctx.deps, {
        types: args.types,
        after: args.after == null ? null : parseEventSequence(args.after, 'after'),
        budget: connectionBudget(ctx),
      }),
    resolve: (payload: Queued<RegistryEvent>) => delivered(payload),
  }),
);
