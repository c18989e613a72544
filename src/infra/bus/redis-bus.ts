/**
 * The event bus across replicas: graphql-redis-subscriptions over two ioredis connections
 * (a subscribed connection cannot publish). Connections are ours to open and to close.
 */
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import type { Logger } from '../logger/logger.js';
import type { BusEvents, BusTopic, EventBus } from './event-bus.js';

export interface RedisBusOptions {
  url: string;
  /** Prefix of every channel, so several registries (or test files) can share one Redis. @default registry: */
  channelPrefix?: string;
  /** How long start-up waits for Redis before giving up. @default 5000 */
  connectTimeoutMs?: number;
  logger: Logger;
}

export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

export async function createRedisBus(options: RedisBusOptions): Promise<EventBus> {
  const prefix = options.channelPrefix ?? 'registry:';
  const timeoutMs = options.connectTimeoutMs ?? 5_000;
  const connectionOptions = {
    lazyConnect: true,
    // Fail publishes fast while disconnected: the write already happened in PostgreSQL.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: timeoutMs,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
  };
  const publisher = new Redis(options.url, { ...connectionOptions, connectionName: 'registry-pub' });
  const subscriber = new Redis(options.url, { ...connectionOptions, connectionName: 'registry-sub' });
  for (const [role, connection] of [['publisher', publisher], ['subscriber', subscriber]] as const) {
    connection.on('error', (error) => options.logger.warn({ role, err: error.message }, 'redis connection error'));
  }

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all([publisher.connect(), subscriber.connect()]),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    const reason = error instanceof Error ? error.message : String(error);
    throw new RedisUnavailableError(`Redis at ${redactUrl(options.url)} is unreachable: ${reason}`);
  } finally {
    clearTimeout(timer);
  }

  const pubsub = new RedisPubSub({ publisher, subscriber });
  const reconnectListeners = new Set<() => void>();
  // ioredis re-subscribes by itself after a reconnect; what was published meanwhile is gone.
  let lostSubscriber = false;
  subscriber.on('close', () => (lostSubscriber = true));
  subscriber.on('ready', () => {
    if (!lostSubscriber) return;
    lostSubscriber = false;
    options.logger.warn('redis subscriber reconnected; messages published meanwhile may be lost');
    for (const listener of reconnectListeners) listener();
  });
  return {
    kind: 'redis',
    async publish<T extends BusTopic>(topic: T, payload: BusEvents[T]) {
      await pubsub.publish(prefix + topic, payload);
    },
    subscribe<T extends BusTopic>(topic: T): AsyncIterable<BusEvents[T]> {
      return pubsub.asyncIterableIterator<BusEvents[T]>(prefix + topic) as AsyncIterable<BusEvents[T]>;
    },
    async ping() {
      if (subscriber.status !== 'ready') throw new Error(`subscriber connection is ${subscriber.status}`);
      await publisher.ping();
    },
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    async close() {
      reconnectListeners.clear();
      await pubsub.close().catch(() => {});
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
