import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatProcessor } from '../src/registry/heartbeats/heartbeat-processor.js';
import { createTestDatabase } from './testkit/databases.js';
import { createGraphQLClient } from './testkit/graphql.js';
import { spawnServer } from './testkit/process.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

const BEAT = /* GraphQL */ `
  mutation Beat($input: HeartbeatInput!) {
    heartbeat(input: $input) {
      __typename
      ... on HeartbeatAck { slug instanceId serviceStatus health registered transitioned }
      ... on RegistryError { code message }
    }
  }
`;
const BEATS = /* GraphQL */ `
  mutation Beats($input: [HeartbeatInput!]!) {
    heartbeats(input: $input) {
      __typename
      ... on HeartbeatBatchPayload {
        accepted rejected
        results { __typename ... on HeartbeatAck { slug instanceId transitioned } ... on RegistryError { code message } ... on InputError { issues { path } } }
      }
      ... on RegistryError { code message }
    }
  }
`;

let registry: TestRegistry;
beforeAll(async () => {
  // A long flush interval: only explicit flushes (or shutdown) write buffered beats.
  registry = await startTestRegistry({ label: 'heartbeats', env: { HEARTBEAT_FLUSH_MS: '10000', MONITOR_ENABLED: 'false', LIFECYCLE_JOBS_ENABLED: 'false' } });
});
afterAll(async () => {
  await registry?.close();
});

const beat = async (input: Record<string, unknown>) => (await registry.client.data(BEAT, { input })).heartbeat;
const events = (slug: string) =>
  registry.database.query<{ type: string; from_value: string | null; to_value: string | null; cause: string | null; instance_id: string | null }>(
    'SELECT type, from_value, to_value, cause, instance_id FROM registry_events WHERE service_slug = $1 ORDER BY id',
    [slug],
  );

describe('heartbeat', () => {
  it('registers an unknown service implicitly and activates it', async () => {
    const ack = await beat({ slug: 'implicit-one', instanceId: 'i-1' });
    expect(ack).toEqual({ __typename: 'HeartbeatAck', slug: 'implicit-one', instanceId: 'i-1', serviceStatus: 'ACTIVE', health: 'UP', registered: true, transitioned: true });
    const [service] = await registry.database.query('SELECT source, status, health, first_seen_at, last_heartbeat_at FROM services WHERE slug = $1', ['implicit-one']);
    expect(service).toMatchObject({ source: 'IMPLICIT', status: 'ACTIVE', health: 'UP' });
    expect(service!.first_seen_at).toBeInstanceOf(Date);
    expect((await events('implicit-one')).map((event) => `${event.type}:${event.cause}`)).toEqual([
      'REGISTERED:REGISTERED',
      'INSTANCE_REGISTERED:REGISTERED',
      'ACTIVATED:HEARTBEAT_RECEIVED',
      'HEALTH_CHANGED:HEARTBEAT_RECEIVED',
      'HEALTH_CHANGED:HEARTBEAT_RECEIVED',
    ]);
    const snapshots = await registry.database.query<{ status: string; source: string; version: number; instance_id: string | null }>(
      'SELECT h.status, h.source, h.version, h.instance_id FROM service_health_snapshots h JOIN services s ON s.id = h.service_id WHERE s.slug = $1 ORDER BY h.version',
      ['implicit-one'],
    );
    expect(snapshots.map((row) => [row.status, row.source, row.version, row.instance_id === null ? 'service' : 'instance'])).toEqual([
      ['UP', 'HEARTBEAT', 1, 'instance'],
      ['UP', 'HEARTBEAT', 2, 'service'],
    ]);
  });

  it('acknowledges a steady heartbeat without any SQL, and writes last-seen on flush', async () => {
    await beat({ slug: 'steady', instanceId: 'i-1' });
    // The first beat changed state; its published change evicts this replica's cached view,
    // so the next beat re-reads it once. From then on steady beats cost nothing.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await beat({ slug: 'steady', instanceId: 'i-1' });
    await heartbeatProcessor(registry.runtime.deps).flush();
    const [before] = await registry.database.query<{ last_heartbeat_at: Date }>("SELECT last_heartbeat_at FROM service_instances WHERE instance_id = 'i-1' AND service_id = (SELECT id FROM services WHERE slug = 'steady')");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { count } = await registry.countStatements(async () => {
      const ack = await beat({ slug: 'steady', instanceId: 'i-1' });
      expect(ack.transitioned).toBe(false);
    });
    expect(count).toBe(0);
    await heartbeatProcessor(registry.runtime.deps).flush();
    const [after] = await registry.database.query<{ last_heartbeat_at: Date; expires_at: Date; ttl_seconds: number }>(
      "SELECT last_heartbeat_at, expires_at, ttl_seconds FROM service_instances WHERE instance_id = 'i-1' AND service_id = (SELECT id FROM services WHERE slug = 'steady')",
    );
    expect(after!.last_heartbeat_at.getTime()).toBeGreaterThan(before!.last_heartbeat_at.getTime());
    expect(after!.expires_at.getTime() - after!.last_heartbeat_at.getTime()).toBe(after!.ttl_seconds * 1000);
    expect((await events('steady')).filter((event) => event.type === 'HEALTH_CHANGED')).toHaveLength(2);
  });

  it('activates an explicitly registered PENDING service on its first heartbeat', async () => {
    const registered = await registry.client.data(`mutation { registerService(input: { slug: "explicit", name: "E", instanceId: "e-1", ttlSeconds: 45 }) { ... on RegisterServicePayload { service { status } instance { instanceId ttlSeconds health expiresAt } } } }`);
    expect(registered.registerService.service.status).toBe('PENDING');
    expect(registered.registerService.instance).toMatchObject({ instanceId: 'e-1', ttlSeconds: 45, health: 'UNKNOWN' });
    const ack = await beat({ slug: 'explicit', instanceId: 'e-1' });
    expect(ack).toMatchObject({ serviceStatus: 'ACTIVE', registered: false, transitioned: true });
  });

  it('follows the reported health: DEGRADED instance, DEGRADED service', async () => {
    await beat({ slug: 'wobbly', instanceId: 'a' });
    await beat({ slug: 'wobbly', instanceId: 'b' });
    const ack = await beat({ slug: 'wobbly', instanceId: 'b', status: 'DEGRADED', latencyMs: 900, message: 'slow disk' });
    expect(ack).toMatchObject({ health: 'DEGRADED', transitioned: true });
    const [service] = await registry.database.query('SELECT health, previous_health, health_cause FROM services WHERE slug = $1', ['wobbly']);
    expect(service).toEqual({ health: 'DEGRADED', previous_health: 'UP', health_cause: 'HEARTBEAT_RECEIVED' });
    const [snapshot] = await registry.database.query(
      "SELECT latency_ms, message FROM service_health_snapshots WHERE status = 'DEGRADED' AND instance_id IS NOT NULL AND service_id = (SELECT id FROM services WHERE slug = 'wobbly')",
    );
    expect(snapshot).toEqual({ latency_ms: 900, message: 'slow disk' });
  });

  it('registers agents and checkers under their parents from heartbeats', async () => {
    await beat({ slug: 'hb-poller', instanceId: 'p', kind: 'POLLER' });
    await beat({ slug: 'hb-agent', instanceId: 'a', kind: 'AGENT', parentSlug: 'hb-poller' });
    const ack = await beat({ slug: 'hb-checker', instanceId: 'c', kind: 'CHECKER', parentSlug: 'hb-agent' });
    expect(ack.registered).toBe(true);
    const [row] = await registry.database.query("SELECT p.slug AS parent FROM services s JOIN services p ON p.id = s.parent_id WHERE s.slug = 'hb-checker'");
    expect(row).toEqual({ parent: 'hb-agent' });
  });

  it('refuses heartbeats of a REVOKED service and leaves it revoked', async () => {
    await beat({ slug: 'revoked-one', instanceId: 'r' });
    await registry.database.query("UPDATE services SET status = 'REVOKED' WHERE slug = 'revoked-one'");
    registry.runtime.deps.bus.publish('service.changed', { slug: 'revoked-one' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = (await events('revoked-one')).length;
    const ack = await beat({ slug: 'revoked-one', instanceId: 'r' });
    expect(ack).toMatchObject({ __typename: 'NotAllowedError', code: 'NOT_ALLOWED' });
    expect(ack.message).toMatch(/REVOKED/);
    const [row] = await registry.database.query("SELECT status FROM services WHERE slug = 'revoked-one'");
    expect(row).toEqual({ status: 'REVOKED' });
    expect((await events('revoked-one')).length).toBe(before);
  });

  describe('bad input writes nothing', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['bad slug', { slug: 'NOPE!', instanceId: 'x' }, 'INVALID_INPUT'],
      ['bad instance id', { slug: 'fine-slug', instanceId: ' spaces ' }, 'INVALID_INPUT'],
      ['negative latency', { slug: 'fine-slug', instanceId: 'x', latencyMs: -5 }, 'INVALID_INPUT'],
      ['unknown parent', { slug: 'orphan-agent', instanceId: 'x', kind: 'AGENT', parentSlug: 'no-such-poller' }, 'NOT_FOUND'],
      ['agent without a poller', { slug: 'lonely-agent', instanceId: 'x', kind: 'AGENT' }, 'INVALID_HIERARCHY'],
    ];
    it.each(cases)('%s', async (_label, input, code) => {
      const [before] = await registry.database.query('SELECT (SELECT count(*) FROM services) s, (SELECT count(*) FROM service_instances) i, (SELECT count(*) FROM registry_events) e');
      const ack = await beat(input);
      expect(ack.code).toBe(code);
      const [after] = await registry.database.query('SELECT (SELECT count(*) FROM services) s, (SELECT count(*) FROM service_instances) i, (SELECT count(*) FROM registry_events) e');
      expect(after).toEqual(before);
    });
  });
});

describe('heartbeats (batch)', () => {
  it('applies valid items even when others fail, with one result per item in order', async () => {
    const result = (
      await registry.client.data(BEATS, {
        input: [
          { slug: 'batch-a', instanceId: '1' },
          { slug: 'BAD', instanceId: '1' },
          { slug: 'batch-b', instanceId: '1' },
          { slug: 'batch-c', instanceId: '1', kind: 'CHECKER' },
          { slug: 'batch-a', instanceId: '1' },
        ],
      })
    ).heartbeats;
    expect(result.accepted).toBe(3);
    expect(result.rejected).toBe(2);
    expect(result.results.map((item: any) => item.__typename)).toEqual(['HeartbeatAck', 'InputError', 'HeartbeatAck', 'HierarchyError', 'HeartbeatAck']);
    expect(result.results[1].issues[0].path).toBe('1.slug');
    const rows = await registry.database.query("SELECT slug FROM services WHERE slug LIKE 'batch-%' ORDER BY slug");
    expect(rows.map((row) => row.slug)).toEqual(['batch-a', 'batch-b']);
  });

  it('refuses a batch over 1,000 items whole', async () => {
    const input = Array.from({ length: 1_001 }, (_, i) => ({ slug: `too-many-${i}`, instanceId: '1' }));
    const result = (await registry.client.data(BEATS, { input })).heartbeats;
    expect(result).toMatchObject({ __typename: 'InputError', code: 'INVALID_INPUT' });
    const [row] = await registry.database.query("SELECT count(*)::int AS n FROM services WHERE slug LIKE 'too-many-%'");
    expect(row).toEqual({ n: 0 });
  });

  it('takes 1,000 steady heartbeats with one lookup, then with no SQL until one batched flush', async () => {
    await registry.database.query(`
      INSERT INTO services (slug, name, status, health) VALUES ('fleet', 'Fleet', 'ACTIVE', 'UP');
      INSERT INTO service_instances (service_id, instance_id, health)
        SELECT (SELECT id FROM services WHERE slug = 'fleet'), 'node-' || n, 'UP' FROM generate_series(0, 999) n;`);
    const input = Array.from({ length: 1_000 }, (_, i) => ({ slug: 'fleet', instanceId: `node-${i}` }));
    const first = await registry.countStatements(async () => {
      expect((await registry.client.data(BEATS, { input })).heartbeats.accepted).toBe(1000);
    });
    expect(first.count).toBe(1); // one lookup for the whole batch
    const second = await registry.countStatements(async () => {
      const result = (await registry.client.data(BEATS, { input })).heartbeats;
      expect(result.accepted).toBe(1000);
      expect(result.results.every((item: any) => item.transitioned === false)).toBe(true);
      await heartbeatProcessor(registry.runtime.deps).flush();
    });
    // Cached: no lookup; the flush is one UPDATE of services and one of instances.
    expect(second.count).toBe(2);
    const [row] = await registry.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM service_instances WHERE last_heartbeat_at IS NOT NULL AND service_id = (SELECT id FROM services WHERE slug = 'fleet')",
    );
    expect(row!.n).toBe(1000);
  });
});

describe('shutdown', () => {
  it('writes acknowledged, buffered heartbeats before exiting on SIGTERM', async () => {
    const database = await createTestDatabase('hb_sigterm');
    const server = await spawnServer({ DATABASE_URL: database.url, HEARTBEAT_FLUSH_MS: '10000', LOG_LEVEL: 'info' });
    try {
      const client = createGraphQLClient(`${server.baseUrl}/graphql`);
      const input = Array.from({ length: 50 }, (_, i) => ({ slug: 'sigterm-fleet', instanceId: `n-${i}` }));
      await client.data(BEATS, { input });
      const [registered] = await database.query<{ latest: Date }>('SELECT max(last_heartbeat_at) AS latest FROM service_instances');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const acked = (await client.data(BEATS, { input })).heartbeats;
      expect(acked.accepted).toBe(50);
      expect(acked.results.every((item: any) => item.transitioned === false)).toBe(true);
      const [, unflushed] = [0, await database.query<{ n: number }>('SELECT count(*)::int AS n FROM service_instances WHERE last_heartbeat_at > $1', [registered!.latest])];
      expect(unflushed[0]!.n).toBe(0);
      const { code } = await server.stop('SIGTERM');
      expect(code).toBe(0);
      const [flushed] = await database.query<{ n: number }>('SELECT count(*)::int AS n FROM service_instances WHERE last_heartbeat_at > $1', [registered!.latest]);
      expect(flushed!.n).toBe(50);
    } finally {
      await server.stop('SIGKILL');
      await database.drop();
    }
  });
});
