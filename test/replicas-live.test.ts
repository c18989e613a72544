/** Live events across two real server processes sharing PostgreSQL and Redis. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from './testkit/databases.js';
import { createGraphQLClient } from './testkit/graphql.js';
import { spawnServer, type ServerProcess } from './testkit/process.js';
import type { TestRegistry } from './testkit/registry.js';
import { sleep, sseSubscribe, wsClient, type Received } from './testkit/subscriptions.js';

let database: TestDatabase;
let a: ServerProcess;
let b: ServerProcess;
const as = (server: ServerProcess) => ({ baseUrl: server.baseUrl }) as TestRegistry;

beforeAll(async () => {
  database = await createTestDatabase('live_replicas');
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: inject('redisUrl'),
    REDIS_CHANNEL_PREFIX: `live-${randomBytes(4).toString('hex')}:`,
    MONITOR_INTERVAL_MS: '200',
    HEARTBEAT_FLUSH_MS: '50',
    HEALTH_DOWN_AFTER_SECONDS: '60',
    LIFECYCLE_JOBS_ENABLED: 'false',
    PROBES_ENABLED: 'false',
    LOG_LEVEL: 'info',
  };
  a = await spawnServer(env);
  b = await spawnServer(env);
});
afterAll(async () => {
  await a?.stop('SIGKILL');
  await b?.stop('SIGKILL');
  await database?.drop();
});

const beat = (server: ServerProcess, input: Record<string, unknown>) =>
  createGraphQLClient(`${server.baseUrl}/graphql`).data(`mutation($i: HeartbeatInput!) { heartbeat(input: $i) { __typename } }`, { i: input });

/** Repeats `poke` until every receiver has something (the subscriptions are live end to end). */
async function untilLive(receivers: Received[], poke: () => Promise<unknown>, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (receivers.some((received) => received.items.length === 0)) {
    if (Date.now() > deadline) throw new Error('subscriptions did not come up');
    await poke();
    await sleep(150);
  }
}

describe('two replicas, one registry', () => {
  it('delivers a heartbeat sent through B to an SSE subscriber on A and a WebSocket subscriber on B', async () => {
    const query = `subscription { heartbeats(filter: { slug: "live-hb" }) { __typename ... on HeartbeatEvent { slug instanceId } } }`;
    const onA = sseSubscribe(as(a), query);
    const onB = wsClient(as(b)).subscribe(query);
    try {
      await untilLive([onA, onB], () => beat(b, { slug: 'live-hb', instanceId: 'via-b' }));
      for (const received of [onA, onB]) {
        expect(received.errors).toEqual([]);
        expect(received.items[0]).toEqual({ __typename: 'HeartbeatEvent', slug: 'live-hb', instanceId: 'via-b' });
      }
    } finally {
      onA.dispose();
      onB.dispose();
    }
  });

  it('publishes a TTL expiry once: exactly one healthChanged per subscriber on each replica', async () => {
    const query = `subscription { healthChanged(filter: { slug: "live-ttl" }) { __typename ... on HealthChange { scope instanceId from to cause sequence } } }`;
    const onA = sseSubscribe(as(a), query);
    const onB = wsClient(as(b)).subscribe(query);
    try {
      await createGraphQLClient(`${a.baseUrl}/graphql`).data(
        `mutation { registerService(input: { slug: "live-ttl", name: "T", instanceId: "t-1", ttlSeconds: 1 }) { __typename } }`,
      );
      // Health flips until both subscribers have seen one; the last beat leaves the instance UP.
      let degraded = false;
      await untilLive([onA, onB], () => beat(b, { slug: 'live-ttl', instanceId: 't-1', status: (degraded = !degraded) ? 'DEGRADED' : 'UP' }));
      await beat(b, { slug: 'live-ttl', instanceId: 't-1', status: 'UP' });
      const expired = (received: Received) =>
        received.items.filter((item: any) => item.scope === 'INSTANCE' && item.to === 'UNHEALTHY' && item.cause === 'TTL_EXPIRED');
      const deadline = Date.now() + 5_000;
      while ((expired(onA).length === 0 || expired(onB).length === 0) && Date.now() < deadline) await sleep(50);
      await sleep(1_000); // both monitors sweep several more times
      expect(expired(onA)).toHaveLength(1);
      expect(expired(onB)).toHaveLength(1);
      expect(expired(onA)[0].sequence).toBe(expired(onB)[0].sequence);
      const [row] = await database.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM registry_events WHERE type = 'HEALTH_CHANGED' AND instance_id = 't-1' AND to_value = 'UNHEALTHY'",
      );
      expect(row!.n).toBe(1);
    } finally {
      onA.dispose();
      onB.dispose();
    }
  });

  it('keeps serving and publishing on B after A is killed with SIGKILL mid-stream', async () => {
    const query = `subscription { heartbeats(filter: { slug: "after-kill" }) { __typename ... on HeartbeatEvent { instanceId } } }`;
    const onA = sseSubscribe(as(a), query);
    const onB = wsClient(as(b)).subscribe(query);
    try {
      await untilLive([onA, onB], () => beat(b, { slug: 'after-kill', instanceId: 'before' }));
      await a.stop('SIGKILL');
      const before = onB.items.length;
      await beat(b, { slug: 'after-kill', instanceId: 'after' });
      const items = await onB.waitFor(before + 1, 5_000);
      expect(items.at(-1)).toEqual({ __typename: 'HeartbeatEvent', instanceId: 'after' });
      expect((await fetch(`${b.baseUrl}/readyz`)).status).toBe(200);
    } finally {
      onA.dispose();
      onB.dispose();
    }
  });
});
