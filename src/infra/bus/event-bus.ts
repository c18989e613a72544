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
  /** Added for subscriptions; optional so that messages from older replicas still parse. */
  serviceId?: string | null;
  instanceId?: string | null;
  details?: unknown;
}

/** One instance's heartbeats within a flush window (or one heartbeat that changed state). */
export interface HeartbeatMessage {
  slug: string;
  instanceId: string;
  kind: string;
  parentSlug: string | null;
  /** The reported health. */
  health: string;
  serviceStatus: string;
  /** The latest heartbeat's receipt time (ISO). */
  at: string;
  /** Heartbeats of this instance this message stands for. */
  beats: number;
  /** The heartbeat registered or changed something (published at once, not at flush). */
  transitioned: boolean;
}

export interface BusEvents {
  'registry.event': RegistryEventMessage;
  /** A service's stored state changed: replicas evict what they cached for it. */
  'service.changed': { slug: string };
  /** Accepted heartbeats, coalesced per instance per flush window (see HeartbeatFeed). */
  'heartbeat.batch': { beats: HeartbeatMessage[] };
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
