/** HTTP probes: readings, damping, flapping, external readings, on-demand probes, once per interval across replicas. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../src/config/env.js';
import { createLogger } from '../src/infra/logger/logger.js';
import { runProbeTick } from '../src/registry/probes/probe-poller.js';
import { upsertHealthCheck, type HealthCheckSpec } from '../src/registry/probes/health-check-store.js';
import { startRuntime, type Runtime } from '../src/runtime.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';
import { until } from './testkit/wait.js';

/** A target whose answer per path can be switched: a status, or no answer at all. */
interface Target {
  url(path: string): string;
  set(path: string, answer: number | 'hang'): void;
  hits(path: string): number[];
  close(): Promise<void>;
}

async function startTarget(): Promise<Target> {
  const answers = new Map<string, number | 'hang'>();
  const hits = new Map<string, number[]>();
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '/';
    hits.set(path, [...(hits.get(path) ?? []), Date.now()]);
    const answer = answers.get(path) ?? 200;
    if (answer === 'hang') return; // never answers; the probe's timeout must fire
    response.statusCode = answer;
    response.end(String(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    set: (path, answer) => void answers.set(path, answer),
    hits: (path) => hits.get(path) ?? [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}


const RECORD = `mutation($input: RecordHealthSnapshotInput!) { recordHealthSnapshot(input: $input) {
  __typename
  ... on HealthSnapshot { status source cause latencyMs statusCode message checkedAt metadata }
  ... on RegistryError { code error: message }
  ... on InputError { issues { path message } }
  ... on NotFoundError { resource key } } }`;
const PROBE = `mutation($slug: String!) { probeService(slug: $slug) {
  __typename
  ... on HealthSnapshot { status source cause latencyMs statusCode message }
  ... on NotFoundError { resource key } } }`;

describe('probes driven tick by tick', () => {
  let registry: TestRegistry;
  let target: Target;
  beforeAll(async () => {
    registry = await startTestRegistry({ label: 'probes', env: { PROBES_ENABLED: 'false', FLAP_THRESHOLD: '3', FLAP_WINDOW_SECONDS: '600' } });
    target = await startTarget();
  });
  afterAll(async () => {
    await registry?.close();
    await target?.close();
  });
  const deps = () => registry.runtime.deps;

  async function serviceWithCheck(slug: string, spec: Partial<HealthCheckSpec> = {}): Promise<string> {
    const [row] = await registry.database.query<{ id: string }>("INSERT INTO services (slug, name, status) VALUES ($1, $1, 'ACTIVE') RETURNING id::text", [slug]);
    // A long interval: only makeDue() puts the check back in line.
    await deps().db.client.$transaction((tx) => upsertHealthCheck(tx, row!.id, { url: target.url(`/${slug}`), intervalSeconds: 3600, ...spec }));
    return row!.id;
  }
  const makeDue = (slug: string) =>
    registry.database.query('UPDATE health_checks SET next_run_at = now() WHERE service_id = (SELECT id FROM services WHERE slug = $1)', [slug]);
  async function probeAs(slug: string, answer: number) {
    target.set(`/${slug}`, answer);
    await makeDue(slug);
    const report = await runProbeTick(deps(), 'replica-a');
    expect(report.claimed).toBe(1);
  }
  const snapshots = (slug: string) =>
    registry.database.query<{ status: string; source: string; cause: string; status_code: number | null; latency_ms: number | null; message: string; version: number }>(
      'SELECT h.status, h.source, h.cause, h.status_code, h.latency_ms, h.message, h.version FROM service_health_snapshots h JOIN services s ON s.id = h.service_id WHERE s.slug = $1 ORDER BY h.version',
      [slug],
    );
  const events = (slug: string) =>
    registry.database.query<{ change: string; scope: string }>(
      "SELECT from_value || '>' || to_value || ':' || cause AS change, details->>'scope' AS scope FROM registry_events WHERE service_slug = $1 AND type = 'HEALTH_CHANGED' ORDER BY id",
      [slug],
    );
  const health = async (slug: string) =>
    (await registry.database.query<{ health: string; check: string; flapping: boolean; flap_count: number }>(
      'SELECT s.health, c.status AS check, s.flapping, s.flap_count FROM services s LEFT JOIN health_checks c ON c.service_id = s.id WHERE s.slug = $1',
      [slug],
    ))[0]!;

  it('records every probe as a snapshot and each change as events; a probe-only service has the probe status', async () => {
    await serviceWithCheck('flip');
    await probeAs('flip', 200);
    await probeAs('flip', 500);
    await probeAs('flip', 500);
    await probeAs('flip', 200);
    expect((await snapshots('flip')).map((row) => [row.status, row.source, row.cause, row.status_code, row.version])).toEqual([
      ['UP', 'PROBE', 'PROBE_PASSED', 200, 1],
      ['DOWN', 'PROBE', 'PROBE_FAILED', 500, 2],
      ['DOWN', 'PROBE', 'PROBE_FAILED', 500, 3],
      ['UP', 'PROBE', 'PROBE_PASSED', 200, 4],
    ]);
    const [failed] = (await snapshots('flip')).filter((row) => row.status_code === 500);
    expect(failed!.message).toBe('expected HTTP 200, got 500');
    expect(failed!.latency_ms).toBeGreaterThanOrEqual(0);
    // Per change: the check's own event, then the service's.
    expect((await events('flip')).map((row) => `${row.scope} ${row.change}`)).toEqual([
      'probe UNKNOWN>UP:PROBE_PASSED',
      'service UNKNOWN>UP:PROBE_PASSED',
      'probe UP>DOWN:PROBE_FAILED',
      'service UP>DOWN:PROBE_FAILED',
      'probe DOWN>UP:PROBE_PASSED',
      'service DOWN>UP:PROBE_PASSED',
    ]);
    // Each change carries the snapshot it recorded; the service's reuses the probe's reading
    // (versions 1, 2, 4: the repeated DOWN at 3 changed nothing).
    const carried = await registry.database.query<{ scope: string; to_value: string; status: string | null; version: number | null; embedded_status: string }>(
      `SELECT e.details->>'scope' AS scope, e.to_value, h.status, h.version, e.details->'snapshot'->>'status' AS embedded_status
       FROM registry_events e LEFT JOIN service_health_snapshots h ON h.id = (e.details->'snapshot'->>'id')::bigint
       WHERE e.service_slug = 'flip' AND e.type = 'HEALTH_CHANGED' ORDER BY e.id`,
    );
    expect(carried.map((row) => [row.scope, row.to_value, row.status, row.embedded_status, row.version])).toEqual([
      ['probe', 'UP', 'UP', 'UP', 1],
      ['service', 'UP', 'UP', 'UP', 1],
      ['probe', 'DOWN', 'DOWN', 'DOWN', 2],
      ['service', 'DOWN', 'DOWN', 'DOWN', 2],
      ['probe', 'UP', 'UP', 'UP', 4],
      ['service', 'UP', 'UP', 'UP', 4],
    ]);
    expect(await health('flip')).toMatchObject({ health: 'UP', check: 'UP' });
    const [lease] = await registry.database.query<{ lease_owner: string | null; last_run_at: Date | null }>(
      "SELECT lease_owner, last_run_at FROM health_checks WHERE url LIKE '%/flip'",
    );
    expect(lease).toMatchObject({ lease_owner: null });
    expect(lease!.last_run_at).not.toBeNull();
  });

  it('damps: UP only after successBeforePassing passes, DOWN only after failuresBeforeCritical failures', async () => {
    await serviceWithCheck('damped', { successBeforePassing: 2, failuresBeforeCritical: 3 });
    const seen: string[] = [];
    for (const answer of [200, 200, 500, 500, 500, 200, 500, 200, 200]) {
      await probeAs('damped', answer);
      seen.push((await health('damped')).check);
    }
    expect(seen).toEqual(['UNKNOWN', 'UP', 'UP', 'UP', 'DOWN', 'DOWN', 'DOWN', 'DOWN', 'UP']);
    expect((await snapshots('damped')).map((row) => row.status)).toEqual(seen);
    expect((await events('damped')).filter((row) => row.scope === 'probe').map((row) => row.change)).toEqual([
      'UNKNOWN>UP:PROBE_PASSED',
      'UP>DOWN:PROBE_FAILED',
      'DOWN>UP:PROBE_PASSED',
    ]);
    const [counters] = await registry.database.query("SELECT consecutive_successes, consecutive_failures FROM health_checks WHERE url LIKE '%/damped'");
    expect(counters).toEqual({ consecutive_successes: 2, consecutive_failures: 0 });
  });

  it('counts the probe as one member beside live instances', async () => {
    const BEAT = `mutation($input: HeartbeatInput!) { heartbeat(input: $input) { __typename } }`;
    await registry.client.data(BEAT, { input: { slug: 'mixed', instanceId: 'm-1' } });
    const [service] = await registry.database.query<{ id: string }>("SELECT id::text FROM services WHERE slug = 'mixed'");
    await deps().db.client.$transaction((tx) => upsertHealthCheck(tx, service!.id, { url: target.url('/mixed'), intervalSeconds: 3600 }));
    expect((await health('mixed')).health).toBe('UP');
    await probeAs('mixed', 503);
    expect(await health('mixed')).toMatchObject({ health: 'DEGRADED', check: 'DOWN' });
    await probeAs('mixed', 200);
    expect(await health('mixed')).toMatchObject({ health: 'UP', check: 'UP' });
  });

  it('marks a service flapping above FLAP_THRESHOLD changes in the window, and clears it when they age out', async () => {
    await serviceWithCheck('flappy');
    for (const answer of [200, 500, 200]) await probeAs('flappy', answer);
    expect(await health('flappy')).toMatchObject({ flapping: false, flap_count: 3 });
    await probeAs('flappy', 500);
    expect(await health('flappy')).toMatchObject({ flapping: true, flap_count: 4 });
    const flag = await registry.client.data(`{ service(slug: "flappy") { flapping flapCount } }`);
    expect(flag.service).toEqual({ flapping: true, flapCount: 4 });

    await registry.database.query("UPDATE registry_events SET at = at - interval '11 minutes' WHERE service_slug = 'flappy'");
    await probeAs('flappy', 500); // no change, but the flap state is re-evaluated
    expect(await health('flappy')).toMatchObject({ flapping: false, flap_count: 0 });
  });

  it('probes on demand and reports a target that does not answer within timeoutMs as a failure', async () => {
    await serviceWithCheck('slow', { timeoutMs: 300 });
    target.set('/slow', 'hang');
    const started = Date.now();
    const { probeService } = await registry.client.data(PROBE, { slug: 'slow' });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(probeService).toMatchObject({ __typename: 'HealthSnapshot', status: 'DOWN', source: 'PROBE', cause: 'PROBE_FAILED', statusCode: null, message: 'no response within 300 ms' });
    expect(probeService.latencyMs).toBeGreaterThanOrEqual(290);
    expect(await health('slow')).toMatchObject({ health: 'DOWN', check: 'DOWN' });

    target.set('/slow', 200);
    const again = await registry.client.data(PROBE, { slug: 'slow' });
    expect(again.probeService).toMatchObject({ status: 'UP', statusCode: 200, message: 'HTTP 200' });

    expect((await registry.client.data(PROBE, { slug: 'no-such-service' })).probeService).toEqual({ __typename: 'NotFoundError', resource: 'Service', key: 'no-such-service' });
    await registry.database.query("INSERT INTO services (slug, name) VALUES ('unprobed', 'U')");
    expect((await registry.client.data(PROBE, { slug: 'unprobed' })).probeService).toEqual({ __typename: 'NotFoundError', resource: 'HealthCheck', key: 'unprobed' });
  });

  it('records external readings through the same logic, and refuses bad input or unknown slugs without writing', async () => {
    await registry.database.query("INSERT INTO services (slug, name, status) VALUES ('external', 'E', 'ACTIVE')");
    const checkedAt = new Date(Date.now() - 60_000).toISOString();
    const first = await registry.client.data(RECORD, {
      input: { slug: 'external', status: 'DEGRADED', latencyMs: 420, statusCode: 200, message: 'slow', checkedAt, metadata: { checker: 'blackbox' } },
    });
    expect(first.recordHealthSnapshot).toEqual({
      __typename: 'HealthSnapshot',
      status: 'DEGRADED',
      source: 'MANUAL',
      cause: 'EXTERNAL_CHECK',
      latencyMs: 420,
      statusCode: 200,
      message: 'slow',
      checkedAt,
      metadata: { checker: 'blackbox' },
    });
    expect(await health('external')).toMatchObject({ health: 'DEGRADED' });
    expect((await events('external')).map((row) => `${row.scope} ${row.change}`)).toEqual(['service UNKNOWN>DEGRADED:EXTERNAL_CHECK']);

    const count = async () => (await registry.database.query<{ n: number }>('SELECT count(*)::int AS n FROM service_health_snapshots'))[0]!.n;
    const before = await count();
    const bad = await registry.client.data(RECORD, { input: { slug: 'external', status: 'UP', latencyMs: -1, statusCode: 42 } });
    expect(bad.recordHealthSnapshot.__typename).toBe('InputError');
    expect(bad.recordHealthSnapshot.issues.map((issue: { path: string }) => issue.path)).toEqual(['latencyMs', 'statusCode']);
    const future = await registry.client.data(RECORD, { input: { slug: 'external', status: 'UP', checkedAt: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(future.recordHealthSnapshot).toMatchObject({ __typename: 'InputError', issues: [{ path: 'checkedAt' }] });
    const unknown = await registry.client.data(RECORD, { input: { slug: 'nobody', status: 'UP' } });
    expect(unknown.recordHealthSnapshot).toMatchObject({ __typename: 'NotFoundError', resource: 'Service', key: 'nobody' });
    expect(await count()).toBe(before);
    expect(await health('external')).toMatchObject({ health: 'DEGRADED' });

    // With a health check, a reading moves the check's counters and damped status.
    await serviceWithCheck('external-checked', { failuresBeforeCritical: 2 });
    await registry.client.data(RECORD, { input: { slug: 'external-checked', status: 'UP' } });
    expect(await health('external-checked')).toMatchObject({ health: 'UP', check: 'UP' });
    await registry.client.data(RECORD, { input: { slug: 'external-checked', status: 'DOWN' } });
    expect(await health('external-checked')).toMatchObject({ health: 'UP', check: 'UP' });
    await registry.client.data(RECORD, { input: { slug: 'external-checked', status: 'DOWN', message: 'blackbox says no' } });
    expect(await health('external-checked')).toMatchObject({ health: 'DOWN', check: 'DOWN' });
    expect((await snapshots('external-checked')).map((row) => `${row.source}:${row.status}`)).toEqual(['MANUAL:UP', 'MANUAL:UP', 'MANUAL:DOWN']);
  });
});

describe('two pollers on one database', () => {
  let registry: TestRegistry;
  let second: Runtime;
  let target: Target;
  const env = { PROBES_ENABLED: 'true', PROBE_TICK_MS: '100', PROBE_CONCURRENCY: '4' };
  beforeAll(async () => {
    target = await startTarget();
    registry = await startTestRegistry({ label: 'two_pollers', env });
    second = await startRuntime(
      parseEnv({ DATABASE_URL: registry.database.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MONITOR_ENABLED: 'false', LIFECYCLE_JOBS_ENABLED: 'false', ...env }),
      { logger: createLogger({ level: 'silent' }) },
    );
  });
  afterAll(async () => {
    await second?.stop();
    await registry?.close();
    await target?.close();
  });

  it('probes each target once per interval in total', async () => {
    const slugs = ['herd-1', 'herd-2', 'herd-3'];
    for (const slug of slugs) {
      const [row] = await registry.database.query<{ id: string }>("INSERT INTO services (slug, name, status) VALUES ($1, $1, 'ACTIVE') RETURNING id::text", [slug]);
      await registry.runtime.deps.db.client.$transaction((tx) => upsertHealthCheck(tx, row!.id, { url: target.url(`/${slug}`), intervalSeconds: 1 }));
    }
    await until(async () => slugs.every((slug) => target.hits(`/${slug}`).length > 0), 5_000, 'first probes');
    await new Promise((resolve) => setTimeout(resolve, 3_400));
    for (const slug of slugs) {
      const hits = target.hits(`/${slug}`);
      const gaps = hits.slice(1).map((at, index) => at - hits[index]!);
      // Next run = claim time + 1 s + up to 10 % jitter; ticks every ~100 ms on each replica.
      expect(hits.length).toBeGreaterThanOrEqual(3);
      expect(hits.length).toBeLessThanOrEqual(5);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(950);
    }
    // Every probe became exactly one snapshot (none lost, none applied twice).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const rows = await registry.database.query<{ slug: string; n: number }>(
      "SELECT s.slug, count(h.id)::int AS n FROM services s JOIN service_health_snapshots h ON h.service_id = s.id AND h.source = 'PROBE' WHERE s.slug LIKE 'herd-%' GROUP BY s.slug ORDER BY s.slug",
    );
    await second.stop();
    await registry.runtime.stop();
    const final = await registry.database.query<{ slug: string; n: number }>(
      "SELECT s.slug, count(h.id)::int AS n FROM services s JOIN service_health_snapshots h ON h.service_id = s.id AND h.source = 'PROBE' WHERE s.slug LIKE 'herd-%' GROUP BY s.slug ORDER BY s.slug",
    );
    expect(rows.length).toBe(3);
    for (const row of final) expect(row.n).toBe(target.hits(`/${row.slug}`).length);
  });
});
