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
  /**
   * Base of the connection names (CLIENT SETNAME): `<name>-pub-<pid>` and `<name>-sub-<pid>`, so
   * an operator (or a test) can tell replicas apart in CLIENT LIST and kill one replica's links.
   * @default registry
   */
  clientName?: string;
  /** How long a readiness PING may take on each connection. @default 1000 */
  pingTimeoutMs?: number;
  logger: Logger;
}

/** The Redis bus, plus what only a transport with outages has. */
export interface RedisEventBus extends EventBus {
  readonly kind: 'redis';
  /**
   * Called when the subscriber connection drops: from then on invalidations may be missed until
   * `onReconnect` fires. Returns an unsubscribe function.
   */
  onDisconnect(listener: () => void): () => void;
}

export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function createRedisBus(options: RedisBusOptions): Promise<RedisEventBus> {
  const prefix = options.channelPrefix ?? 'registry:';
  const timeoutMs = options.connectTimeoutMs ?? 5_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 1_000;
  const name = options.clientName ?? 'registry';
  const connectionOptions = {
    lazyConnect: true,
    // Fail publishes fast while disconnected: the write already happened in PostgreSQL.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: timeoutMs,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
  };
  const publisher = new Redis(options.url, { ...connectionOptions, connectionName: `${name}-pub-${process.pid}` });
  const subscriber = new Redis(options.url, { ...connectionOptions, connectionName: `${name}-sub-${process.pid}` });
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
  const disconnectListeners = new Set<() => void>();
  const notify = (listeners: Set<() => void>, what: string) => {
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        options.logger.error({ err: error }, `redis ${what} listener failed`);
      }
    }
  };
  let closing = false;
  // ioredis re-subscribes by itself after a reconnect; what was published meanwhile is gone.
  let lostSubscriber = false;
  subscriber.on('close', () => {
    if (closing || lostSubscriber) return;
    lostSubscriber = true;
    options.logger.warn('redis subscriber connection lost; invalidations from other replicas may be missed until it is back');
    notify(disconnectListeners, 'disconnect');
  });
  subscriber.on('ready', () => {
    if (!lostSubscriber) return;
    // 'ready' is emitted before ioredis re-sends SUBSCRIBE for the channels it knew; a PING sent
    // after them answers once Redis has processed them, so listeners see a resubscribed bus.
    setImmediate(() => {
      subscriber.ping().then(
        () => {
          if (!lostSubscriber || closing || subscriber.status !== 'ready') return;
          lostSubscriber = false;
          options.logger.warn('redis subscriber reconnected; messages published meanwhile may be lost');
          notify(reconnectListeners, 'reconnect');
        },
        // The link dropped again; the next 'ready' retries.
        () => {},
      );
    });
  });
  const pingConnection = async (role: string, connection: Redis) => {
    if (connection.status !== 'ready') throw new Error(`${role} connection is ${connection.status}`);
    await withTimeout(connection.ping(), pingTimeoutMs, `${role} PING`);
  };
  return {
    kind: 'redis',
    async publish<T extends BusTopic>(topic: T, payload: BusEvents[T]) {
      await pubsub.publish(prefix + topic, payload);
    },
    subscribe<T extends BusTopic>(topic: T): AsyncIterable<BusEvents[T]> {
      return pubsub.asyncIterableIterator<BusEvents[T]>(prefix + topic) as AsyncIterable<BusEvents[T]>;
    },
    async ping() {
      if (lostSubscriber) throw new Error('subscriber connection is resubscribing');
      await Promise.all([pingConnection('publisher', publisher), pingConnection('subscriber', subscriber)]);
    },
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    onDisconnect(listener) {
      disconnectListeners.add(listener);
      return () => disconnectListeners.delete(listener);
    },
    async close() {
      closing = true;
      reconnectListeners.clear();
      disconnectListeners.clear();
      await pubsub.close().catch(() => {});
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
