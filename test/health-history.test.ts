/** Health history: latestHealth, healthHistory, summaries against hand-computed figures, timeline, retention. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkHealthSummary } from '../src/registry/history/health-summary.js';
import { pruneHealthSnapshots, snapshotRetentionTick } from '../src/registry/history/snapshot-retention.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

describe('health history', () => {
  let registry: TestRegistry;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    registry = await startTestRegistry({ label: 'history', env: { PROBES_ENABLED: 'false' } });
    for (const slug of ['hist-a', 'hist-b', 'hist-c']) {
      const [row] = await registry.database.query<{ id: string }>("INSERT INTO services (slug, name, status) VALUES ($1, $1, 'ACTIVE') RETURNING id::text", [slug]);
      ids[slug] = row!.id;
    }
    // hist-a, minutes ago: DOWN before the window, then UP 50, DOWN 40, UNHEALTHY 30, UP 20, DEGRADED 10.
    await registry.database.query("INSERT INTO service_instances (id, service_id, instance_id) VALUES ('00000000-0000-4000-8000-000000000001', $1, 'a-1')", [ids['hist-a']]);
    await registry.database.query(
      `INSERT INTO service_health_snapshots (service_id, instance_id, status, latency_ms, checked_at, version, source)
       SELECT $1::uuid, CASE WHEN v.instance THEN '00000000-0000-4000-8000-000000000001'::uuid END, v.status::"HealthStatus", v.latency,
              now() - v.minutes * interval '1 minute', v.version, 'PROBE'
       FROM (VALUES (120, 'DOWN', NULL, 1, false), (50, 'UP', 10, 2, false), (40, 'DOWN', 100, 3, false), (35, 'DOWN', 7, 4, true),
                    (30, 'UNHEALTHY', 50, 5, false), (20, 'UP', 20, 6, false), (10, 'DEGRADED', 30, 7, false))
            AS v(minutes, status, latency, version, instance)`,
      [ids['hist-a']],
    );
    // hist-b: UP 30 minutes ago, DOWN 15 minutes ago (not recovered).
    await registry.database.query(
      `INSERT INTO service_health_snapshots (service_id, status, latency_ms, checked_at, version, source)
       VALUES ($1, 'UP', 40, now() - interval '30 minutes', 1, 'PROBE'), ($1, 'DOWN', 60, now() - interval '15 minutes', 2, 'PROBE')`,
      [ids['hist-b']],
    );
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('summarises a service over a window: time-weighted uptime, latency percentiles, transitions, incidents, MTTR', async () => {
    const { service } = await registry.client.data(
      `{ service(slug: "hist-a") { healthSummary(window: "1h") { windowSeconds uptimeRatio latencyP50 latencyP95 latencyP99 transitions incidents mttrSeconds } } }`,
    );
    const summary = service.healthSummary;
    // In the hour: DOWN 10 (carried in), UP 10, DOWN 10, UNHEALTHY 10, UP 10, DEGRADED 10 → up 30 of 60 minutes.
    expect(summary.windowSeconds).toBe(3600);
    expect(summary.uptimeRatio).toBeCloseTo(0.5, 3);
    // Latencies 10, 20, 30, 50, 100 (the instance snapshot's 7 is not the service's): linear interpolation.
    expect(summary.latencyP50).toBe(30);
    expect(summary.latencyP95).toBeCloseTo(90, 6);
    expect(summary.latencyP99).toBeCloseTo(98, 6);
    // DOWN→UP, UP→DOWN, DOWN→UNHEALTHY, UNHEALTHY→UP, UP→DEGRADED; one incident (DOWN at -40) recovered at -20.
    expect(summary.transitions).toBe(5);
    expect(summary.incidents).toBe(1);
    expect(summary.mttrSeconds).toBeCloseTo(1200, 3);

    const seconds = await registry.client.data(`{ service(slug: "hist-a") { healthSummary(windowSeconds: 1800) { uptimeRatio transitions incidents } } }`);
    // Last 30 minutes: UNHEALTHY 10 (carried in), UP 10, DEGRADED 10.
    expect(seconds.service.healthSummary.uptimeRatio).toBeCloseTo(2 / 3, 3);
    expect(seconds.service.healthSummary).toMatchObject({ transitions: 2, incidents: 0 });

    const bad = await registry.client.request(`{ service(slug: "hist-a") { healthSummary(window: "soon") { uptimeRatio } } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
  });

  it('summarises a network over its member services', async () => {
    const [network] = await registry.database.query<{ id: string }>(
      "INSERT INTO service_networks (slug, name, checksum) VALUES ('net-1', 'Net', 'x') RETURNING id::text",
    );
    await registry.database.query(
      "INSERT INTO service_network_members (network_id, service_slug, position) VALUES ($1, 'hist-a', 0), ($1, 'hist-b', 1), ($1, 'not-registered', 2)",
      [network!.id],
    );
    const summary = await networkHealthSummary(registry.runtime.deps, network!.id, 3600);
    // Up: 30 of 60 minutes (a) + 15 of 30 (b) → 45 / 90.
    expect(summary.uptimeRatio).toBeCloseTo(0.5, 3);
    expect(summary.latencyP50).toBe(40); // 10 20 30 40 50 60 100
    expect(summary).toMatchObject({ transitions: 6, incidents: 2 });
    expect(summary.mttrSeconds).toBeCloseTo(1200, 3); // b's incident has not recovered
    const viaGraph = await registry.client.data(`{ network(slug: "net-1") { healthSummary(window: "1h") { uptimeRatio latencyP50 transitions incidents mttrSeconds } } }`);
    expect(viaGraph.network.healthSummary).toMatchObject({ transitions: 6, incidents: 2, latencyP50: 40 });
    expect(viaGraph.network.healthSummary.uptimeRatio).toBeCloseTo(0.5, 3);
  });

  it('pages the history newest first, within from/to', async () => {
    const query = `query($after: String, $from: DateTime, $to: DateTime, $all: Boolean) { service(slug: "hist-a") {
      healthHistory(first: 2, after: $after, from: $from, to: $to, includeInstances: $all) { edges { cursor node { status latencyMs } } pageInfo { hasNextPage endCursor } } } }`;
    const first = (await registry.client.data(query, {})).service.healthHistory;
    expect(first.edges.map((edge: any) => edge.node.status)).toEqual(['DEGRADED', 'UP']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await registry.client.data(query, { after: first.pageInfo.endCursor })).service.healthHistory;
    expect(second.edges.map((edge: any) => edge.node.status)).toEqual(['UNHEALTHY', 'DOWN']);
    const withInstances = (await registry.client.data(query, { after: second.edges[0].cursor, all: true })).service.healthHistory;
    expect(withInstances.edges.map((edge: any) => [edge.node.status, edge.node.latencyMs])).toEqual([
      ['DOWN', 7],
      ['DOWN', 100],
    ]);
    const now = Date.now();
    const ranged = (
      await registry.client.data(query.replace('first: 2', 'first: 10'), { from: new Date(now - 45 * 60_000).toISOString(), to: new Date(now - 15 * 60_000).toISOString() })
    ).service.healthHistory;
    expect(ranged.edges.map((edge: any) => edge.node.status)).toEqual(['UP', 'UNHEALTHY', 'DOWN']);
  });

  it('returns each service\'s latest service-level snapshot with a constant number of statements', async () => {
    await registry.database.query(`
      INSERT INTO services (slug, name, status) SELECT 'many-' || lpad(n::text, 3, '0'), 'M', 'ACTIVE' FROM generate_series(1, 100) n;
      INSERT INTO service_health_snapshots (service_id, status, latency_ms, checked_at, version, source)
      SELECT s.id, CASE WHEN v % 2 = 0 THEN 'UP' ELSE 'DOWN' END::"HealthStatus", v, now() - (10 - v) * interval '1 second', v, 'PROBE'
      FROM services s CROSS JOIN generate_series(1, 10) v WHERE s.slug LIKE 'many-%';`);
    const query = `query($first: Int!) { services(first: $first, filter: { search: "many-" }) { edges { node { slug latestHealth { status latencyMs source } } } } }`;
    let result: any;
    const small = await registry.countStatements(async () => (result = await registry.client.data(query, { first: 10 })));
    const large = await registry.countStatements(async () => (result = await registry.client.data(query, { first: 100 })));
    expect(large.count).toBe(small.count);
    expect(result.services.edges).toHaveLength(100);
    expect(result.services.edges[0].node.latestHealth).toEqual({ status: 'UP', latencyMs: 10, source: 'PROBE' });

    const a = await registry.client.data(`{ a: service(slug: "hist-a") { latestHealth { status latencyMs checkedAt } } c: service(slug: "hist-c") { latestHealth { status } } }`);
    expect(a.a.latestHealth).toMatchObject({ status: 'DEGRADED', latencyMs: 30 });
    expect(a.c.latestHealth).toBeNull();
  });

  it('merges snapshots, events and manifest versions into one timeline, paged across kinds', async () => {
    const id = ids['hist-c'];
    // A shared instant for a snapshot, an event and a manifest version: ordered by kind then.
    for (const statement of [
      `WITH t AS (SELECT date_trunc('second', now()) - interval '1 hour' AS base)
       INSERT INTO service_health_snapshots (id, service_id, status, checked_at, version, source)
       SELECT 900001, $1::uuid, 'UP'::"HealthStatus", base + interval '10 minutes', 1, 'MANUAL'::"SnapshotSource" FROM t UNION ALL
       SELECT 900002, $1::uuid, 'DOWN'::"HealthStatus", base + interval '30 minutes', 2, 'MANUAL'::"SnapshotSource" FROM t`,
      `WITH t AS (SELECT date_trunc('second', now()) - interval '1 hour' AS base)
       INSERT INTO registry_events (id, type, service_id, service_slug, at)
       SELECT 800001, 'REGISTERED'::"RegistryEventType", $1::uuid, 'hist-c', base FROM t UNION ALL
       SELECT 800002, 'UPDATED'::"RegistryEventType", $1::uuid, 'hist-c', base + interval '30 minutes' FROM t`,
      `WITH t AS (SELECT date_trunc('second', now()) - interval '1 hour' AS base)
       INSERT INTO manifest_imports (id, module_id, module_version, format, checksum, imported_at)
       SELECT '00000000-0000-4000-8000-0000000000aa', 'mod', '1.0.0', 'yaml', 'c1', base + interval '5 minutes' FROM t`,
      `WITH t AS (SELECT date_trunc('second', now()) - interval '1 hour' AS base)
       INSERT INTO service_manifests (module_id, module_version, service_slug, service_id, version, checksum, payload, import_id, imported_at, superseded_at)
       SELECT 'mod', '1.0.0', 'hist-c', $1::uuid, 1, 'c1', '{}'::jsonb, '00000000-0000-4000-8000-0000000000aa'::uuid, base + interval '5 minutes', base + interval '30 minutes' FROM t UNION ALL
       SELECT 'mod', '1.0.1', 'hist-c', $1::uuid, 2, 'c2', '{}'::jsonb, '00000000-0000-4000-8000-0000000000aa'::uuid, base + interval '30 minutes', NULL FROM t`,
    ]) {
      await registry.database.query(statement, statement.includes('$1') ? [id] : []);
    }
    const query = `query($after: String, $first: Int!) { service(slug: "hist-c") { timeline(first: $first, after: $after) {
      edges { node { __typename ... on HealthSnapshot { status } ... on RegistryEvent { type } ... on ManifestVersionEntry { moduleVersion version supersededAt } } }
      pageInfo { hasNextPage endCursor } } } }`;
    const label = (node: any) => `${node.__typename}:${node.status ?? node.type ?? node.moduleVersion}`;
    const expected = [
      'HealthSnapshot:DOWN', // +30 min: snapshot > manifest > event
      'ManifestVersionEntry:1.0.1',
      'RegistryEvent:UPDATED',
      'HealthSnapshot:UP', // +10
      'ManifestVersionEntry:1.0.0', // +5
      'RegistryEvent:REGISTERED', // +0
    ];
    const whole = (await registry.client.data(query, { first: 10 })).service.timeline;
    expect(whole.edges.map((edge: any) => label(edge.node))).toEqual(expected);
    expect(whole.pageInfo.hasNextPage).toBe(false);

    const paged: string[] = [];
    let after: string | undefined;
    let statements = 0;
    for (let page = 0; page < 5; page++) {
      let timeline: any;
      const { count } = await registry.countStatements(async () => (timeline = (await registry.client.data(query, { first: 2, after })).service.timeline));
      statements = Math.max(statements, count);
      paged.push(...timeline.edges.map((edge: any) => label(edge.node)));
      if (!timeline.pageInfo.hasNextPage) break;
      after = timeline.pageInfo.endCursor;
    }
    expect(paged).toEqual(expected);
    expect(statements).toBeLessThanOrEqual(2); // the service (none once cached), then one UNION ALL per page

    const malformed = await registry.client.request(query, { first: 2, after: 'bm9wZQ' });
    expect(malformed.errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
  });

  it('deletes snapshots past the retention in batches, once per interval across replicas', async () => {
    const [row] = await registry.database.query<{ id: string }>("INSERT INTO services (slug, name) VALUES ('old-one', 'O') RETURNING id::text");
    await registry.database.query(
      `INSERT INTO service_health_snapshots (service_id, status, checked_at, version, source)
       SELECT $1::uuid, 'UP'::"HealthStatus", now() - interval '31 days' - v * interval '1 minute', v, 'PROBE'::"SnapshotSource" FROM generate_series(1, 5) v
       UNION ALL SELECT $1::uuid, 'UP', now() - interval '29 days', 6, 'PROBE'`,
      [row!.id],
    );
    const deps = registry.runtime.deps;
    expect(await snapshotRetentionTick(deps, 'replica-a', 60_000, 2)).toEqual({ ran: true, affected: 5 });
    expect(await snapshotRetentionTick(deps, 'replica-b', 60_000, 2)).toEqual({ ran: false });
    const left = await registry.database.query<{ n: number }>('SELECT count(*)::int AS n FROM service_health_snapshots WHERE service_id = $1', [row!.id]);
    expect(left[0]!.n).toBe(1);
    expect(await pruneHealthSnapshots(deps)).toEqual({ affected: 0 });
  });
});
