/** The shared bus readers of one running registry, and the subscriber plumbing on top of them. */
import type { HeartbeatMessage, RegistryEventMessage } from '../../infra/bus/event-bus.js';
import { PerRegistry, type RegistryDeps } from '../deps.js';
import { ServiceDirectory } from './service-directory.js';
import { SubscriberQueue, type ConnectionBudget } from './subscriber-queue.js';
import { TopicHub, type HubListener } from './topic-hub.js';

/** A registry event as subscribers see it: the bus message plus the service's kind when asked for. */
export interface LiveRegistryEvent {
  message: RegistryEventMessage;
  /** Filled only for the types kind-filtered subscriptions read, and only while one is open. */
  kind: string | null;
}

/** Events that kind-filtered subscriptions (serviceStatusChanged, healthChanged) read. */
const KIND_READ = new Set(['ACTIVATED', 'STATUS_CHANGED', 'REVOKED', 'HEALTH_CHANGED']);

export interface SubscriptionHubs {
  events: TopicHub<'registry.event', LiveRegistryEvent>;
  heartbeats: TopicHub<'heartbeat.batch', HeartbeatMessage[]>;
  /** Open subscriptions that filter registry events by kind. */
  kindReaders: number;
}

const hubsOf = new PerRegistry(createHubs);

export function subscriptionHubs(deps: RegistryDeps): SubscriptionHubs {
  return hubsOf.get(deps);
}

function createHubs(deps: RegistryDeps): SubscriptionHubs {
  const directory = new ServiceDirectory(deps);
  const created: SubscriptionHubs = {
    kindReaders: 0,
    events: new TopicHub(deps, 'registry.event', async (message) => {
      directory.observe(message.type, message.serviceSlug);
      const wanted = created.kindReaders > 0 && message.serviceSlug !== null && KIND_READ.has(message.type);
      return { message, kind: wanted ? await directory.kindOf(message.serviceSlug!) : null };
    }),
    heartbeats: new TopicHub(deps, 'heartbeat.batch', (batch) => batch.beats),
  };
  return created;
}

/** A signal that messages may have been missed (see SubscriptionResync in the schema). */
export interface ResyncSignal {
  resync: true;
  reason: 'BUS_RECONNECTED';
  at: Date;
}

export interface LiveStreamOptions<M, T> {
  hub: { attach(listener: HubListener<M>): Promise<() => void> };
  budget: ConnectionBudget;
  /** What a subscriber gets from one hub message (filtering included): nothing, one or several items. */
  select(message: M): T[] | T | null;
  /** Runs when the stream ends, whatever ended it. */
  onEnd?: () => void;
}

/**
 * A subscriber's stream of hub messages, filtered server-side, with a resync item after each
 * bus outage. Resolves once the hub listens.
 */
export async function liveStream<M, T>(options: LiveStreamOptions<M, T>): Promise<SubscriberQueue<T | ResyncSignal>> {
  let detach: (() => void) | undefined;
  let ended = false;
  const queue = new SubscriberQueue<T | ResyncSignal>(options.budget, () => {
    ended = true;
    detach?.();
    options.onEnd?.();
  });
  const listener: HubListener<M> = {
    message(message) {
      const selected = options.select(message);
      if (selected === null) return;
      if (Array.isArray(selected)) for (const item of selected) queue.push(item);
      else queue.push(selected);
    },
    reconnected() {
      queue.push({ resync: true, reason: 'BUS_RECONNECTED', at: new Date() });
    },
  };
  const off = await options.hub.attach(listener);
  if (ended) off();
  else detach = off;
  return queue;
}

export function isResync(value: unknown): value is ResyncSignal {
  return typeof value === 'object' && value !== null && (value as ResyncSignal).resync === true;
}
