/** Subscription clients as users run them: graphql-ws over a real socket, graphql-sse over fetch. */
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { subscriptionHubs } from '../../src/registry/subscriptions/hubs.js';
import { sharedSubscriptions } from '../../src/registry/subscriptions/shared-execution.js';
import type { TestRegistry } from './registry.js';

export interface Received<T = any> {
  items: T[];
  errors: unknown[];
  completed: boolean;
  /** Waits until `count` items arrived (or fails after `withinMs`). */
  waitFor(count: number, withinMs?: number): Promise<T[]>;
  /** Waits `ms` and returns what arrived. */
  settle(ms: number): Promise<T[]>;
  dispose(): void;
}

type Sink = { next(value: any): void; error(error: unknown): void; complete(): void };
type SubscribeFn = (payload: { query: string; variables?: Record<string, unknown> }, sink: Sink) => () => void;

function collect<T>(subscribe: SubscribeFn, query: string, variables: Record<string, unknown> | undefined, field: string): Received<T> {
  const received: Received<T> = {
    items: [],
    errors: [],
    completed: false,
    async waitFor(count, withinMs = 10_000) {
      const deadline = Date.now() + withinMs;
      while (received.items.length < count && Date.now() < deadline && received.errors.length === 0) await sleep(10);
      if (received.items.length < count) {
        throw new Error(`expected ${count} items, got ${received.items.length}: ${JSON.stringify(received.items).slice(0, 2000)} errors: ${JSON.stringify(received.errors)}`);
      }
      return received.items;
    },
    async settle(ms) {
      await sleep(ms);
      return received.items;
    },
    dispose: () => {},
  };
  received.dispose = subscribe(
    { query, variables },
    {
      next(value) {
        if (value.errors) received.errors.push(value.errors);
        else received.items.push(value.data[field]);
      },
      error(error) {
        received.errors.push(error);
      },
      complete() {
        received.completed = true;
      },
    },
  );
  return received;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface WsHandle {
  client: WsClient;
  /** The sockets this client opened (to pause them, or watch them close). */
  sockets: WebSocket[];
  subscribe<T = any>(query: string, variables?: Record<string, unknown>): Received<T>;
}

export function wsClient(registry: TestRegistry): WsHandle {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      sockets.push(this);
    }
  }
  const client = createWsClient({ url: `${registry.baseUrl.replace('http', 'ws')}/graphql`, webSocketImpl: Tracked, retryAttempts: 0, lazy: true });
  return {
    client,
    sockets,
    subscribe: (query, variables) => collect((payload, sink) => client.subscribe(payload, sink), query, variables, fieldOf(query)),
  };
}

export function sseSubscribe<T = any>(registry: TestRegistry, query: string, variables?: Record<string, unknown>): Received<T> {
  const client = createSseClient({ url: `${registry.baseUrl}/graphql`, retryAttempts: 0 });
  const received = collect<T>((payload, sink) => client.subscribe(payload, sink), query, variables, fieldOf(query));
  const dispose = received.dispose;
  received.dispose = () => {
    dispose();
    client.dispose();
  };
  return received;
}

function fieldOf(query: string): string {
  const match = /subscription[^{]*\{\s*(\w+)/.exec(query);
  if (!match) throw new Error('not a subscription document');
  return match[1]!;
}

/**
 * Subscribers of a hub that are live: private streams attached to it, plus the members of
 * shared executions (each of which is one hub listener).
 */
export function liveSubscribers(registry: TestRegistry, hub: 'events' | 'heartbeats'): number {
  let live = subscriptionHubs(registry.runtime.deps)[hub].size;
  for (const [field, stats] of sharedSubscriptions(registry.runtime.deps).stats()) {
    if ((field === 'heartbeats') !== (hub === 'heartbeats')) continue;
    live += stats.members - stats.executions;
  }
  return live;
}

/** Waits until this many local subscribers listen to the hub (the subscription is live). */
export async function listening(registry: TestRegistry, hub: 'events' | 'heartbeats', count: number, withinMs = 5_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (liveSubscribers(registry, hub) < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} ${hub} subscribers, have ${liveSubscribers(registry, hub)}`);
    await sleep(10);
  }
}

/** The highest event sequence in the database now. */
export async function lastSequence(registry: TestRegistry): Promise<string> {
  const [row] = await registry.database.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM registry_events');
  return row!.id;
}

/**
 * Publishes `total` padded NETWORK_CHANGED events straight onto the bus (sequences from
 * `firstId + 1`): a flood for backpressure tests that no database write could produce as
 * fast. Every 250 events it waits until `pacer` (a subscriber that reads) has received all
 * but the last 250, so the reader's queue stays far below its limit however slow the
 * machine, while a subscriber that stopped reading overflows.
 */
export async function floodEvents(registry: TestRegistry, total: number, firstId: number, pacer: Received): Promise<void> {
  const padding = 'x'.repeat(4_000);
  const STEP = 250;
  for (let i = 1; i <= total; i++) {
    await registry.runtime.deps.bus.publish('registry.event', {
      id: String(firstId + i),
      type: 'NETWORK_CHANGED',
      serviceSlug: null,
      fromValue: null,
      toValue: null,
      cause: null,
      actor: null,
      revision: null,
      at: new Date().toISOString(),
      details: { padding },
    });
    if (i % STEP === 0) await pacer.waitFor(i - STEP, 20_000);
  }
}
