/** Subscriptions across replicas on real Redis, and what a lost Redis subscription does to them. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';
import { lastSequence, listening, sleep, sseSubscribe, wsClient, type WsHandle } from './testkit/subscriptions.js';

const prefix = `test-${randomBytes(4).toString('hex')}:`;
let registry: TestRegistry;
let admin: Redis;
let ws: WsHandle;

beforeAll(async () => {
  registry = await startTestRegistry({ label: 'subs_redis', env: { REDIS_URL: inject('redisUrl'), REDIS_CHANNEL_PREFIX: prefix } });
  admin = new Redis(inject('redisUrl'));
  ws = wsClient(registry);
});
afterAll(async () => {
  await ws?.client.dispose();
  admin?.disconnect();
  await registry?.close();
});

const EVENTS = /* GraphQL */ `
  subscription Events($types: [RegistryEventType!], $after: String) {
    registryEvents(types: $types, after: $after) { sequence type serviceSlug }
  }
`;
const register = (slug: string) =>
  registry.client.data(`mutation($input: RegisterServiceInput!) { registerService(input: $input) { __typename } }`, { input: { slug, name: slug } });

async function registeredSequences(after: string, like: string): Promise<string[]> {
  const rows = await registry.database.query<{ id: string }>(
    "SELECT id::text AS id FROM registry_events WHERE id > $1::bigint AND type = 'REGISTERED' AND service_slug LIKE $2 ORDER BY registry_events.id",
    [after, `${like}%`],
  );
  return rows.map((row) => row.id);
}

/** Kills this process's Redis subscriber connection (only ours: other test files share Redis). */
async function killOurSubscriber(): Promise<void> {
  const list = (await admin.client('LIST')) as string;
  const ours = list
    .split('\n')
    .filter((line) => new RegExp(`name=\\S*-sub-${process.pid}(\\s|$)`).test(line))
    .map((line) => /id=(\d+)/.exec(line)![1]!);
  expect(ours.length).toBeGreaterThan(0);
  for (const id of ours) await admin.client('KILL', 'ID', id);
}

describe('with REDIS_URL', () => {
  it('replays and goes live through Redis', async () => {
    const start = await lastSequence(registry);
    await register('rd-a-0');
    const events = sseSubscribe(registry, EVENTS, { types: ['REGISTERED'], after: start });
    await events.waitFor(1);
    await register('rd-a-1');
    await events.waitFor(2);
    expect(events.items.map((event) => event.sequence)).toEqual(await registeredSequences(start, 'rd-a-'));
    events.dispose();
  });

  it('after a lost Redis subscription, registryEvents replays what it missed and the others get a resync', async () => {
    const start = await lastSequence(registry);
    const events = ws.subscribe(EVENTS, { types: ['REGISTERED'], after: start });
    const health = ws.subscribe(`subscription { healthChanged { __typename ... on SubscriptionResync { reason at } } }`);
    await listening(registry, 'events', 2);
    await register('rd-b-0');
    await events.waitFor(1);

    await killOurSubscriber();
    // Written while this replica hears nothing from Redis: published, and lost for it.
    for (let i = 1; i <= 3; i++) await register(`rd-b-${i}`);
    const [resync] = await health.waitFor(1, 10_000);
    expect(resync).toMatchObject({ __typename: 'SubscriptionResync', reason: 'BUS_RECONNECTED' });
    await register('rd-b-4');
    await events.waitFor(5, 10_000);
    await sleep(300);
    expect(events.items.map((event) => event.sequence)).toEqual(await registeredSequences(start, 'rd-b-'));
    events.dispose();
    health.dispose();
  });
});
