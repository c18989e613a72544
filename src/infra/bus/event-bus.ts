/**
 * The fan-out seam. One typed event map; an in-process implementation for the embedded
 * single-replica mode, and (with REDIS_URL) a Redis one with the same interface.
 */
import { createPubSub } from 'graphql-yoga';

/** An audit-trail entry as it travels between replicas. */
export interface RegistryEventMessage {
  /** The event's sequence number (RegistryEvent.id) as a decimal string. */
  id: string;
  type: string;
  serviceSlug: string | null;
  fromValue: string | null;
  toValue: string | null;
  cause: string | null;
  actor: string | null;
  revision: number | null;
  at: string;
}

export interface BusEvents {
  'registry.event': RegistryEventMessage;
  /** A service's stored state changed: replicas evict what they cached for it. */
  'service.changed': { slug: string };
}

export type BusTopic = keyof BusEvents;

export interface EventBus {
  readonly kind: 'memory' | 'redis';
  publish<T extends BusTopic>(topic: T, payload: BusEvents[T]): Promise<void>;
  subscribe<T extends BusTopic>(topic: T): AsyncIterable<BusEvents[T]>;
  /** Resolves when the transport is usable; rejects otherwise. */
  ping(): Promise<void>;
  /**
   * Called after the transport came back from an outage. Messages published meanwhile may be
   * lost (Redis pub/sub delivers at most once): listeners flush caches and resync subscribers.
   * Returns an unsubscribe function. The in-process bus never has outages.
   */
  onReconnect(listener: () => void): () => void;
  close(): Promise<void>;
}

export function createMemoryBus(): EventBus {
  const pubsub = createPubSub<{ [K in BusTopic]: [BusEvents[K]] }>();
  return {
    kind: 'memory',
    async publish(topic, payload) {
      (pubsub.publish as (topic: BusTopic, payload: unknown) => void)(topic, payload);
    },
    subscribe(topic) {
      return pubsub.subscribe(topic as never) as never;
    },
    async ping() {},
    onReconnect() {
      return () => {};
    },
    async close() {},
  };
}
