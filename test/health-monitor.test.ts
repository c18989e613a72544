/** TTL health: detection, DOWN after grace, recovery, exactly-once across monitors, startup grace, hierarchy. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../src/config/env.js';
import { createLogger } from '../src/infra/logger/logger.js';
import { sweepHealth } from '../src/registry/health/health-monitor.js';
import { startRuntime, type Runtime } from '../src/runtime.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';
import { until } from './testkit/wait.js';

const BEAT = `mutation($input: HeartbeatInput!) { heartbeat(input: $input) { __typename ... on HeartbeatAck { health } ... on RegistryError { code message } } }`;
const REGISTER = `mutation($input: RegisterServiceInput!) { registerService(input: $input) { __typename ... on RegistryError { message } } }`;


function instanceEvents(registry: TestRegistry, slug: string) {
  return registry.database.query<{ from_value: string; to_value: string; cause: string; instance_id: string | null }>(
    "SELECT from_value, to_value, cause, instance_id FROM registry_events WHERE service_slug = $1 AND type = 'HEALTH_CHANGED' AND instance_id IS NOT NULL ORDER BY id",
    [slug],
  );
}

describe('background monitor', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({
      label: 'monitor',
      env: { MONITOR_ENABLED: 'true', MONITOR_INTERVAL_MS: '200', HEARTBEAT_FLUSH_MS: '50', HEALTH_DOWN_AFTER_SECONDS: '2' },
    });
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('marks a silent instance UNHEALTHY within TTL + one interval, DOWN after the grace period, and UP again on a heartbeat', async () => {
    await registry.client.data(REGISTER, { input: { slug: 'ttl-svc', name: 'TTL', instanceId: 'only', ttlSeconds: 1 } });
    await registry.client.data(BEAT, { input: { slug: 'ttl-svc', instanceId: 'only' } });

    const unhealthy = await until(async () => {
      const [row] = await registry.database.query<{ health: string; health_since: Date; last_heartbeat_at: Date }>(
        "SELECT health, health_since, last_heartbeat_at FROM service_instances WHERE instance_id = 'only'",
      );
      return row?.health === 'UNHEALTHY' ? row : null;
    }, 5_000, 'UNHEALTHY');
    // TTL 1 s + interval 0.2 s (+10 % jitter) + flush slack 0.05 s, by the database's clock.
    const detectedAfter = (unhealthy.health_since.getTime() - unhealthy.last_heartbeat_at.getTime()) / 1000;
    expect(detectedAfter).toBeGreaterThanOrEqual(1);
    expect(detectedAfter).toBeLessThanOrEqual(1 + 0.22 + 0.05 + 0.1);

    const service = await registry.client.data(`{ service(slug: "ttl-svc") { health previousHealth healthCause expiresAt instances { health previousHealth healthCause expiresAt lastHeartbeatAt } } }`);
    expect(service.service).toMatchObject({ health: 'UNHEALTHY', previousHealth: 'UP', healthCause: 'TTL_EXPIRED' });
    const [instance] = service.service.instances;
    expect(instance).toMatchObject({ health: 'UNHEALTHY', previousHealth: 'UP', healthCause: 'TTL_EXPIRED' });
    expect(new Date(instance.expiresAt).getTime() - new Date(instance.lastHeartbeatAt).getTime()).toBe(1000);
    expect(service.service.expiresAt).toBe(instance.expiresAt);

    await until(async () => {
      const [row] = await registry.database.query<{ health: string }>("SELECT health FROM service_instances WHERE instance_id = 'only'");
      return row?.health === 'DOWN';
    }, 5_000, 'DOWN');

    const ack = await registry.client.data(BEAT, { input: { slug: 'ttl-svc', instanceId: 'only' } });
    expect(ack.heartbeat.health).toBe('UP');
    expect((await instanceEvents(registry, 'ttl-svc')).map((event) => `${event.from_value}>${event.to_value}:${event.cause}`)).toEqual([
      'UNKNOWN>UP:HEARTBEAT_RECEIVED',
      'UP>UNHEALTHY:TTL_EXPIRED',
      'UNHEALTHY>DOWN:GRACE_EXPIRED',
      'DOWN>UP:HEARTBEAT_RESUMED',
    ]);
    const [{ revision }] = (await registry.database.query<{ revision: number }>("SELECT revision FROM services WHERE slug = 'ttl-svc'")) as [{ revision: number }];
    expect(revision).toBe(5); // activation, then service health UP, UNHEALTHY, DOWN, UP
  });
});

describe('two monitors on one database', () => {
  let registry: TestRegistry;
  let second: Runtime;
  beforeAll(async () => {
    const env = { MONITOR_ENABLED: 'true', MONITOR_INTERVAL_MS: '100', HEARTBEAT_FLUSH_MS: '20', HEALTH_DOWN_AFTER_SECONDS: '2' };
    registry = await startTestRegistry({ label: 'two_monitors', env });
    second = await startRuntime(
      parseEnv({ DATABASE_URL: registry.database.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', LIFECYCLE_JOBS_ENABLED: 'false', ...env }),
      { logger: createLogger({ level: 'silent' }) },
    );
  });
  afterAll(async () => {
    await second?.stop();
    await registry?.close();
  });

  it('records each transition exactly once', async () => {
    await registry.database.query(`
      INSERT INTO services (slug, name, status, health) SELECT 'herd-' || n, 'Herd', 'ACTIVE', 'UP' FROM generate_series(1, 20) n;
      INSERT INTO service_instances (service_id, instance_id, health, ttl_seconds, last_heartbeat_at, expires_at)
        SELECT id, 'only', 'UP', 1, now(), now() + interval '1 second' FROM services WHERE slug LIKE 'herd-%';`);
    await until(async () => {
      const [row] = await registry.database.query<{ n: number }>("SELECT count(*)::int AS n FROM service_instances WHERE health = 'DOWN'");
      return row!.n === 20;
    }, 8_000, 'all DOWN');
    await new Promise((resolve) => setTimeout(resolve, 400)); // a few more sweeps from both
    const rows = await registry.database.query<{ to_value: string; n: number }>(
      "SELECT to_value, count(*)::int AS n FROM registry_events WHERE type = 'HEALTH_CHANGED' AND instance_id IS NOT NULL GROUP BY to_value ORDER BY to_value",
    );
    expect(rows).toEqual([
      { to_value: 'DOWN', n: 20 },
      { to_value: 'UNHEALTHY', n: 20 },
    ]);
    const [snapshots] = await registry.database.query<{ n: number; distinct_versions: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT (service_id, version))::int AS distinct_versions FROM service_health_snapshots',
    );
    expect(snapshots!.n).toBe(snapshots!.distinct_versions);
    expect(snapshots!.n).toBe(80); // per service: instance UNHEALTHY, service UNHEALTHY, instance DOWN, service DOWN
  });
});

describe('sweeps driven by hand', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    // Blind after 3 intervals without a sweep: 3 s here, longer than any pause below but the deliberate one.
    registry = await startTestRegistry({ label: 'sweeps', env: { HEARTBEAT_FLUSH_MS: '20', HEALTH_DOWN_AFTER_SECONDS: '1', MONITOR_INTERVAL_MS: '1000' } });
    await sweepHealth(registry.runtime.deps); // the first sweep of a fresh registry stamps its start
  });
  afterAll(async () => {
    await registry?.close();
  });
  const deps = () => registry.runtime.deps;
  const health = async (instanceId: string) =>
    (await registry.database.query<{ health: string; health_cause: string; reachable: boolean }>('SELECT health, health_cause, reachable FROM service_instances WHERE instance_id = $1', [instanceId]))[0];

  it('gives instances that expired while the registry was not watching one TTL as UNKNOWN, not DOWN', async () => {
    await registry.client.data(REGISTER, { input: { slug: 'grace-svc', name: 'G', instanceId: 'grace-1', ttlSeconds: 1 } });
    await registry.client.data(BEAT, { input: { slug: 'grace-svc', instanceId: 'grace-1' } });
    await sweepHealth(deps());
    // The monitor is paused: nobody sweeps while the instance expires and its grace passes.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    await registry.database.query("UPDATE job_leases SET last_run_at = now() - interval '10 minutes' WHERE name = 'health-monitor'");
    const resumed = await sweepHealth(deps());
    expect(resumed).toMatchObject({ ran: true, blind: true, graced: 1 });
    expect(await health('grace-1')).toMatchObject({ health: 'UNKNOWN', health_cause: 'STARTUP_GRACE' });
    // Still silent one TTL later: now it is DOWN (its last heartbeat is past the grace period).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const next = await sweepHealth(deps());
    expect(next.blind).toBe(false);
    expect(await health('grace-1')).toMatchObject({ health: 'DOWN', health_cause: 'GRACE_EXPIRED' });
  });

  it('reports descendants of a DOWN parent as unreachable with cause PARENT_DOWN, and recovers them', async () => {
    await registry.client.data(BEAT, { input: { slug: 'h-poller', instanceId: 'hp', kind: 'POLLER' } });
    await registry.client.data(BEAT, { input: { slug: 'h-agent', instanceId: 'ha', kind: 'AGENT', parentSlug: 'h-poller' } });
    await registry.client.data(BEAT, { input: { slug: 'h-checker', instanceId: 'hc', kind: 'CHECKER', parentSlug: 'h-agent' } });
    await sweepHealth(deps());
    // The poller has been silent past the grace period; its descendants are still beating.
    await registry.database.query(
      "UPDATE service_instances SET last_heartbeat_at = now() - interval '5 seconds', expires_at = now() - interval '4 seconds' WHERE instance_id = 'hp'",
    );
    await sweepHealth(deps());
    const tree = await registry.client.data(`{ a: service(slug: "h-agent") { reachable health } c: service(slug: "h-checker") { reachable } p: service(slug: "h-poller") { health } }`);
    expect(tree).toEqual({ a: { reachable: false, health: 'UP' }, c: { reachable: false }, p: { health: 'DOWN' } });
    const reach = await registry.database.query("SELECT service_slug, cause FROM registry_events WHERE type = 'REACHABILITY_CHANGED' ORDER BY service_slug");
    expect(reach).toEqual([
      { service_slug: 'h-agent', cause: 'PARENT_DOWN' },
      { service_slug: 'h-checker', cause: 'PARENT_DOWN' },
    ]);
    // The agent's own instance goes quiet while unreachable: its failure is attributed to the parent.
    await registry.database.query("UPDATE service_instances SET expires_at = now() - interval '1 second' WHERE instance_id = 'ha'");
    await sweepHealth(deps());
    expect(await health('ha')).toMatchObject({ health: 'UNHEALTHY', health_cause: 'PARENT_DOWN', reachable: false });

    await registry.client.data(BEAT, { input: { slug: 'h-poller', instanceId: 'hp' } });
    const after = await registry.client.data(`{ a: service(slug: "h-agent") { reachable } c: service(slug: "h-checker") { reachable } }`);
    expect(after).toEqual({ a: { reachable: true }, c: { reachable: true } });
  });

  it('deregisters an instance DOWN longer than its deregisterAfterSeconds, except in protected services', async () => {
    for (const [slug, isProtected] of [['auto-off', false], ['auto-kept', true]] as const) {
      await registry.client.data(REGISTER, { input: { slug, name: slug, instanceId: `${slug}-1`, ttlSeconds: 1, deregisterAfterSeconds: 60, protected: isProtected } });
    }
    await registry.database.query(`
      UPDATE service_instances SET health = 'DOWN', health_since = now() - interval '61 seconds',
        expires_at = now() - interval '70 seconds', last_heartbeat_at = now() - interval '71 seconds'
      WHERE instance_id IN ('auto-off-1', 'auto-kept-1')`);
    await sweepHealth(deps());
    const rows = await registry.database.query<{ instance_id: string; gone: boolean }>(
      "SELECT instance_id, deregistered_at IS NOT NULL AS gone FROM service_instances WHERE instance_id IN ('auto-off-1', 'auto-kept-1') ORDER BY instance_id",
    );
    expect(rows).toEqual([
      { instance_id: 'auto-kept-1', gone: false },
      { instance_id: 'auto-off-1', gone: true },
    ]);
    const events = await registry.database.query("SELECT service_slug, cause FROM registry_events WHERE type = 'INSTANCE_DEREGISTERED'");
    expect(events).toEqual([{ service_slug: 'auto-off', cause: 'AUTO_DEREGISTERED' }]);
  });
});
