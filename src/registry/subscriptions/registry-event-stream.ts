/**
 * The audit trail live, resumable from a sequence.
 *
 * Seam: the stream listens to the bus first (and waits until the bus acknowledges), buffers
 * what arrives, replays `id > after` from PostgreSQL in ascending pages, then delivers the
 * buffer and goes live. Anything committed before the bus listened is visible to the replay;
 * anything committed later is published later, so it is in the buffer. Duplicates (an event
 * both replayed and published) are dropped by id: the stream remembers the last
 * SEEN_IDS ids it delivered and never delivers one twice, nor anything at or below `after`.
 *
 * Order: sequences are assigned at insert, transactions commit in their own order. An event
 * whose transaction committed after a later-numbered one is still delivered (it is not in the
 * seen set), after that one: within one subscription nothing committed is skipped, but
 * sequences may arrive out of order by the few events that were in flight together.
 * Resuming with `after: S` replays what is committed above S; an event numbered below S
 * whose transaction had not committed when the client read S is not replayed (the server
 * cannot tell it from one the client already has). Clients that must close that window
 * resume from a sequence a little below their highest and drop ids they already hold.
 *
 * Bus outages (Redis pub/sub is at most once): on `onReconnect` the stream buffers again and
 * re-replays from REPLAY_LOOKBACK_IDS below the highest id it delivered, skipping what it
 * already delivered, so events published during the outage are delivered, late commits
 * included.
 */
import { GraphQLError } from 'graphql';
import type { RegistryEvent } from '../../generated/prisma/client.js';
import type { RegistryEventType } from '../../generated/prisma/enums.js';
import type { RegistryEventMessage } from '../../infra/bus/event-bus.js';
import type { RegistryDeps } from '../deps.js';
import { fromEventMessage } from '../events/record-event.js';
import { subscriptionHubs } from './hubs.js';
import { SubscriberQueue, type ConnectionBudget } from './subscriber-queue.js';

/** Rows per replay read. @default 200 */
const PAGE_SIZE = 200;
/** Delivered ids remembered for de-duplication. */
const SEEN_IDS = 10_000;
/** Live messages held while a replay runs; past it they are dropped and the replay runs once more. */
const BUFFER_LIMIT = 10_000;
/** How far below its highest delivered id a stream re-replays after a bus outage. */
const REPLAY_LOOKBACK_IDS = 1_000n;
/**
 * ioredis reports a reconnection before it has re-sent SUBSCRIBE: wait this long so the
 * re-replay starts after the bus listens again.
 */
const RESUBSCRIBE_SETTLE_MS = 200;

export interface RegistryEventStreamOptions {
  types?: readonly RegistryEventType[] | null;
  /** Replay events with a greater sequence first; absent: live only. */
  after?: bigint | null;
  budget: ConnectionBudget;
}

export async function registryEventStream(deps: RegistryDeps, options: RegistryEventStreamOptions): Promise<SubscriberQueue<RegistryEvent>> {
  const types = options.types?.length ? new Set<string>(options.types) : null;
  let floor = options.after ?? -1n;
  let highest = floor;
  const seen = new Set<bigint>();
  let buffer: RegistryEventMessage[] | null = options.after == null ? null : [];
  let bufferOverflowed = false;
  let replaying: Promise<void> | null = null;
  let detach: (() => void) | undefined;
  let ended = false;

  const queue = new SubscriberQueue<RegistryEvent>(options.budget, () => {
    ended = true;
    detach?.();
  });

  const deliver = (event: RegistryEvent) => {
    if (event.id <= floor || seen.has(event.id)) return;
    if (types && !types.has(event.type)) return;
    seen.add(event.id);
    if (seen.size > SEEN_IDS) {
      const oldest = seen.values().next().value!;
      seen.delete(oldest);
      if (oldest > floor) floor = oldest;
    }
    if (event.id > highest) highest = event.id;
    queue.push(event);
  };

  const replayFrom = async (from: bigint) => {
    let cursor = from;
    for (;;) {
      await queue.room(PAGE_SIZE);
      if (ended) return;
      const rows = await deps.db.client.registryEvent.findMany({
        where: { id: { gt: cursor }, ...(types ? { type: { in: [...types] as RegistryEventType[] } } : {}) },
        orderBy: { id: 'asc' },
        take: PAGE_SIZE,
      });
      for (const row of rows) deliver(row);
      if (rows.length < PAGE_SIZE) return;
      cursor = rows[rows.length - 1]!.id;
    }
  };

  /** Replays (buffering live messages meanwhile), then hands the buffer over and goes live. */
  const catchUp = (from: bigint, settleMs = 0): Promise<void> => {
    buffer ??= [];
    const run = async () => {
      if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
      let start = from;
      for (;;) {
        bufferOverflowed = false;
        await replayFrom(start);
        if (!bufferOverflowed) break;
        start = highest;
      }
      const held = buffer ?? [];
      buffer = null;
      for (const message of held) deliver(fromEventMessage(message));
    };
    const previous = replaying ?? Promise.resolve();
    const next: Promise<void> = previous
      .then(run)
      .catch((error) => {
        deps.logger.error({ err: error }, 'registry event replay failed; closing the subscription');
        queue.fail(new GraphQLError('the audit trail could not be read; resubscribe with the last sequence you received', { extensions: { code: 'REPLAY_FAILED' } }));
      })
      .finally(() => {
        if (replaying === next) replaying = null;
      });
    replaying = next;
    return next;
  };

  const hub = subscriptionHubs(deps).events;
  const off = await hub.attach({
    message({ message }) {
      if (ended) return;
      if (buffer) {
        if (buffer.length < BUFFER_LIMIT) buffer.push(message);
        else bufferOverflowed = true;
        return;
      }
      deliver(fromEventMessage(message));
    },
    reconnected() {
      if (ended) return;
      const from = highest - REPLAY_LOOKBACK_IDS > floor ? highest - REPLAY_LOOKBACK_IDS : floor;
      void catchUp(from, RESUBSCRIBE_SETTLE_MS);
    },
  });
  if (ended) off();
  else detach = off;
  if (options.after != null) void catchUp(options.after);
  return queue;
}
