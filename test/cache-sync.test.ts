/**
 * The registry caches across two runtimes that share a database and a Redis: counting, no stale
 * read on the other replica after a write, a flush when the subscriber comes back, the stats line.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseEnv } from '../src/config/env.js';
import { createLogger } from '../src/infra/logger/logger.js';
import { getRegistryCache, logCacheStats } from '../src/registry/cache/registry-cache.js';
import { startRuntime, type Runtime } from '../src/runtime.js';
import { createGraphQLClient, type GraphQLClient } from './testkit/graphql.js';
import { manifestOf } from './testkit/manifests.js';
import { killRedisClients } from './testkit/redis-admin.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';
import { until } from './testkit/wait.js';

const tag = randomBytes(4).toString('hex');
const prefix = `test-cache-${tag}:`;
const nameOfB = `cache-b-${tag}`;
let a: TestRegistry;
let b: Runtime;
let clientB: GraphQLClient;

beforeAll(async () => {
  const redis = { REDIS_URL: inject('redisUrl'), REDIS_CHANNEL_PREFIX: prefix };
  a = await startTestRegistry({ label: 'cache_sync', env: { ...redis, REDIS_CLIENT_NAME: `cache-a-${tag}` } });
  b = await startRuntime(
    parseEnv({ DATABASE_URL: a.database.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MONITOR_ENABLED: 'false', LIFECYCLE_JOBS_ENABLED: 'false', PROBES_ENABLED: 'false', ...redis, REDIS_CLIENT_NAME: nameOfB }),
    { logger: createLogger({ level: 'silent' }) },
  );
  clientB = createGraphQLClient(`http://127.0.0.1:${b.port}/graphql`);
});
afterAll(async () => {
  await b?.stop();
  await a?.close();
});

const STATS = '{ cacheStats { caches { name size hits misses evictions invalidations flushes } } }';
async function statsOf(client: GraphQLClient, name: string) {
  const { cacheStats } = await client.data(STATS);
  return cacheStats.caches.find((cache: { name: string }) => cache.name === name);
}


const register = (client: GraphQLClient, slug: string, name: string) =>
  client.data(`mutation($slug: String!, $name: String!) { registerService(input: { slug: $slug, name: $name }) { __typename } }`, { slug, name });

describe('service(slug) and isKnown through the cache', () => {
  it('counts a miss then hits, and serves the second read without SQL', async () => {
    await register(a.client, 'counted', 'Counted');
    const before = await statsOf(a.client, 'services');
    expect(await a.client.data('{ service(slug: "counted") { name } }')).toEqual({ service: { name: 'Counted' } });
    const second = await a.countStatements(() => a.client.data('{ service(slug: "counted") { name kind } }'));
    expect(second.count).toBe(0);
    const after = await statsOf(a.client, 'services');
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(1);
    expect(after.size).toBeGreaterThanOrEqual(1);
  });

  it('goes to the database for columns written without a message (lastHeartbeatAt)', async () => {
    await a.client.data('{ service(slug: "counted") { name } }');
    const volatile = await a.countStatements(() => a.client.data('{ service(slug: "counted") { ... on Service { lastHeartbeatAt } } }'));
    expect(volatile.count).toBe(1);
  });

  it('never serves a stale value on the other replica: write on A, read on B at once', async () => {
    await register(a.client, 'synced', 'First');
    expect(await clientB.data('{ service(slug: "synced") { name } isKnown(slug: "synced-later") }')).toEqual({ service: { name: 'First' }, isKnown: false });
    expect(await clientB.data('{ service(slug: "synced") { name } }')).toEqual({ service: { name: 'First' } }); // cached on B now
    const invalidationsBefore = (await statsOf(clientB, 'services')).invalidations;
    for (const name of ['Second', 'Third', 'Fourth']) {
      await register(a.client, 'synced', name);
      expect(await clientB.data('{ service(slug: "synced") { name } }')).toEqual({ service: { name } });
    }
    await register(a.client, 'synced-later', 'Later');
    expect(await clientB.data('{ isKnown(slug: "synced-later") }')).toEqual({ isKnown: true });
    expect((await statsOf(clientB, 'services')).invalidations).toBeGreaterThan(invalidationsBefore);
  });

  it('reads its own writes while the other direction is cached too', async () => {
    await register(clientB, 'both-ways', 'On B');
    expect(await a.client.data('{ service(slug: "both-ways") { name } }')).toEqual({ service: { name: 'On B' } });
    await register(a.client, 'both-ways', 'On A');
    expect(await clientB.data('{ service(slug: "both-ways") { name } }')).toEqual({ service: { name: 'On A' } });
    expect(await a.client.data('{ service(slug: "both-ways") { name } }')).toEqual({ service: { name: 'On A' } });
  });

  it('flushes every cache when its Redis subscriber comes back, and hears invalidations again', async () => {
    await clientB.data('{ service(slug: "synced") { name } }');
    expect((await statsOf(clientB, 'services')).size).toBeGreaterThan(0);
    const flushesBefore = (await statsOf(clientB, 'services')).flushes;
    expect(await killRedisClients(inject('redisUrl'), `${nameOfB}-sub-`)).toBe(1);
    await until(async () => (await statsOf(clientB, 'services')).flushes >= flushesBefore + 2, 10_000, 'flush on disconnect and on reconnect');
    await until(async () => (await fetch(`http://127.0.0.1:${b.port}/readyz`)).status === 200, 10_000, 'B ready again');
    const stats = getRegistryCache(b.deps).stats();
    expect(stats.map((cache) => cache.name).sort()).toEqual(['known', 'manifests', 'services']);
    expect(stats.every((cache) => cache.flushes >= flushesBefore + 2)).toBe(true);
    await clientB.data('{ service(slug: "synced") { name } }');
    await register(a.client, 'synced', 'After the outage');
    expect(await clientB.data('{ service(slug: "synced") { name } }')).toEqual({ service: { name: 'After the outage' } });
  });
});

describe('active manifests through the cache', () => {
  it('B sees what an import through A changed, for Service.manifest', async () => {
    const manifest = (version: string, description: string, services = [{ slug: 'cached-manifest', description }, { slug: 'leaves-later' }]) =>
      JSON.stringify(manifestOf('cache-mod', services, { version }));
    const importOn = (client: GraphQLClient, source: string, version: string) =>
      client.data(
        `mutation($input: ImportManifestInput!) { importManifest(input: $input) { __typename ... on ImportManifestPayload { changed } ... on RegistryError { message } ... on InputError { issues { path message } } } }`,
        { input: { moduleId: 'cache-mod', moduleVersion: version, source, format: 'JSON' } },
      );
    const QUERY = '{ a: service(slug: "cached-manifest") { manifest { version moduleVersion } } b: service(slug: "leaves-later") { manifest { version } } }';
    expect((await importOn(a.client, manifest('1.0.0', 'one'), '1.0.0')).importManifest).toEqual({ __typename: 'ImportManifestPayload', changed: true });
    expect(await clientB.data(QUERY)).toEqual({ a: { manifest: { version: 1, moduleVersion: '1.0.0' } }, b: { manifest: { version: 1 } } });
    const warm = await statsOf(clientB, 'manifests');
    await clientB.data(QUERY);
    expect((await statsOf(clientB, 'manifests')).hits).toBeGreaterThan(warm.hits);

    await importOn(a.client, manifest('1.1.0', 'two'), '1.1.0');
    expect(await clientB.data(QUERY)).toEqual({ a: { manifest: { version: 2, moduleVersion: '1.1.0' } }, b: { manifest: { version: 1 } } });
    // A service leaving the manifest publishes no slug of its own: the import event clears the cache.
    await importOn(a.client, manifest('1.2.0', 'two', [{ slug: 'cached-manifest', description: 'two' }]), '1.2.0');
    expect(await clientB.data(QUERY)).toEqual({ a: { manifest: { version: 2, moduleVersion: '1.1.0' } }, b: { manifest: null } });
  });
});

describe('the periodic stats line', () => {
  it('starts with "[service-registry] cache hit/miss" and carries the counters as fields', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
    const logger = pino({ level: 'info' }, sink);
    logCacheStats(logger, [
      { name: 'services', size: 2, hits: 3, misses: 1, evictions: 0, expirations: 0, invalidations: 4, flushes: 1 },
      { name: 'known', size: 1, hits: 1, misses: 1, evictions: 2, expirations: 0, invalidations: 0, flushes: 1 },
    ]);
    const line = JSON.parse(lines[0]!);
    expect(line.msg).toMatch(/^\[service-registry\] cache hit\/miss/);
    expect(line).toMatchObject({ level: 30, hits: 4, misses: 2, hitRatio: 0.667, evictions: 2, invalidations: 4, flushes: 2 });
    expect(line.caches.services).toMatchObject({ hits: 3, misses: 1, size: 2 });
  });
});
