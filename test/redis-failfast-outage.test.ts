/**
 * Redis outages against real processes: two replicas on one database and a redis-server of
 * this test's own (so the shared Redis is never stopped). Readiness follows Redis, writes keep
 * landing in PostgreSQL, and caches are flushed and resubscribed when Redis is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './testkit/databases.js';
import { createGraphQLClient, type GraphQLClient } from './testkit/graphql.js';
import { spawnServer, type ServerProcess } from './testkit/process.js';
import { freePort, killRedisClients, OwnRedis } from './testkit/redis-admin.js';

let redis: OwnRedis;
let database: TestDatabase;
let a: ServerProcess;
let b: ServerProcess;
let clientA: GraphQLClient;
let clientB: GraphQLClient;

const envFor = (name: string) => ({
  DATABASE_URL: database.url,
  REDIS_URL: redis.url,
  REDIS_CLIENT_NAME: name,
  LOG_LEVEL: 'info',
  MONITOR_ENABLED: 'false',
  LIFECYCLE_JOBS_ENABLED: 'false',
  PROBES_ENABLED: 'false',
  CACHE_STATS_LOG_MS: '0',
});

beforeAll(async () => {
  redis = new OwnRedis(await freePort());
  await redis.start();
  database = await createTestDatabase('redis_outage');
  a = await spawnServer(envFor('outage-a'));
  b = await spawnServer(envFor('outage-b'));
  clientA = createGraphQLClient(`${a.baseUrl}/graphql`);
  clientB = createGraphQLClient(`${b.baseUrl}/graphql`);
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.kill();
  await database?.drop();
});

const readyStatus = async (server: ServerProcess) => (await fetch(`${server.baseUrl}/readyz`)).status;

async function until(check: () => Promise<boolean> | boolean, withinMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

const register = (client: GraphQLClient, slug: string, name: string) =>
  client.data(`mutation($slug: String!, $name: String!) { registerService(input: { slug: $slug, name: $name }) { __typename } }`, { slug, name });
const nameOn = async (client: GraphQLClient, slug: string) => (await client.data(`query($slug: String!) { service(slug: $slug) { name } }`, { slug })).service?.name;

describe('Redis outages with two replicas', () => {
  it('names its connections per replica and is ready with Redis up', async () => {
    expect(await readyStatus(a)).toBe(200);
    expect(await readyStatus(b)).toBe(200);
    const listening = b.logs.find((entry) => /listening/.test(entry.msg ?? ''));
    expect(listening?.mode).toEqual({ database: 'postgres', bus: 'redis' });
  });

  it('recovers from its connections being killed: resubscribes, flushes, ready again, hears invalidations', async () => {
    await register(clientA, 'killed-links', 'Before');
    expect(await nameOn(clientB, 'killed-links')).toBe('Before'); // cached on B
    expect(await killRedisClients(redis.url, 'outage-b-')).toBe(2);
    await until(() => b.logs.some((entry) => /subscriber reconnected/.test(entry.msg ?? '')), 5_000, 'B to resubscribe');
    expect(b.logs.filter((entry) => /registry caches flushed/.test(entry.msg ?? '')).map((entry) => entry.reason)).toEqual([
      'redis subscriber disconnected',
      'redis subscriber reconnected',
    ]);
    await until(async () => (await readyStatus(b)) === 200, 5_000, 'B ready');
    await register(clientA, 'killed-links', 'After');
    expect(await nameOn(clientB, 'killed-links')).toBe('After');
  });

  it('turns /readyz 503 within 5 s of losing Redis, keeps writing to PostgreSQL, and is ready again when Redis returns', async () => {
    await register(clientA, 'outage-write', 'Before');
    expect(await nameOn(clientA, 'outage-write')).toBe('Before');
    expect(await nameOn(clientB, 'outage-write')).toBe('Before');

    await redis.kill();
    const waitedA = await until(async () => (await readyStatus(a)) === 503, 5_000, 'A not ready');
    await until(async () => (await readyStatus(b)) === 503, 5_000, 'B not ready');
    expect(waitedA).toBeLessThan(5_000);
    const body = await (await fetch(`${a.baseUrl}/readyz`)).json();
    expect(body.checks.database).toEqual({ status: 'up' });
    expect(body.checks.redis.status).toBe('down');

    // The write lands; the failed publish is logged, not returned to the client.
    const started = Date.now();
    const written = await clientA.request(`mutation { registerService(input: { slug: "outage-write", name: "During" }) { __typename } }`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(written.errors).toBeUndefined();
    expect(written.data).toEqual({ registerService: { __typename: 'RegisterServicePayload' } });
    await until(() => a.logs.some((entry) => entry.msg === 'event publish failed'), 2_000, 'the failed publish in the log');
    const [row] = await database.query<{ name: string }>(`SELECT name FROM services WHERE slug = 'outage-write'`);
    expect(row?.name).toBe('During');
    // Neither replica serves what it cached before: A evicted its own write, B does not trust its cache.
    expect(await nameOn(clientA, 'outage-write')).toBe('During');
    expect(await nameOn(clientB, 'outage-write')).toBe('During');

    await redis.start();
    await until(async () => (await readyStatus(a)) === 200 && (await readyStatus(b)) === 200, 15_000, 'both ready again');
    await until(() => b.logs.filter((entry) => entry.reason === 'redis subscriber reconnected').length >= 2, 5_000, 'B flushed on reconnect');
    expect(await nameOn(clientB, 'outage-write')).toBe('During');
    await register(clientA, 'outage-write', 'After');
    expect(await nameOn(clientB, 'outage-write')).toBe('After');
  });
});
