/**
 * npm run bench:health — read latency of health history on a large snapshot table.
 *
 * Creates a fresh database on BENCH_DATABASE_URL's server (default local PostgreSQL), starts
 * the built server on it (which migrates), seeds 1,000 services × 1,000 service-level
 * snapshots (1M rows, one generate_series statement, ~100 s apart so the last 24 h hold
 * ~860 per service), then times sequential requests of:
 *   (a) services(first: 100) { … latestHealth { status latencyMs } }
 *   (b) service(slug) { healthSummary(window: "24h") { … } }   (a random service each time)
 * beside baselines without the health fields. Prints p50/p99 and whether p99 < 20 ms holds. Flags: --requests <n> (default 500).
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createBenchDatabase, freePort, serverEnv, spawnReady } from './bench/load.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '500' } } });
const REQUESTS = Number(values.requests);
const SERVICES = 1_000;
const PER_SERVICE = 1_000;
const GOAL_P99_MS = 20;
const root = path.resolve(import.meta.dirname, '..', '..');

const benchDb = await createBenchDatabase('health');
const dbName = benchDb.name;
const databaseUrl = benchDb.url;
const env = serverEnv(databaseUrl, { PROBES_ENABLED: 'false', MONITOR_ENABLED: 'false', LIFECYCLE_JOBS_ENABLED: 'false' });

console.log(`database ${dbName}; ${REQUESTS} sequential requests per query`);
const server = await spawnReady(path.join(root, 'dist/src/main.js'), await freePort(), '/readyz', env);
const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

try {
  process.stdout.write(`seeding ${SERVICES} services × ${PER_SERVICE} snapshots … `);
  let started = Date.now();
  await db.query(
    `INSERT INTO services (slug, name, status, health) SELECT 'bench-' || lpad(n::text, 4, '0'), 'Bench ' || n, 'ACTIVE', 'UP' FROM generate_series(1, $1::int) n`,
    [SERVICES],
  );
  // Mostly UP, a DOWN stretch now and then, latency 5–204 ms; snapshot_seq matches the versions.
  await db.query(
    `INSERT INTO service_health_snapshots (service_id, status, latency_ms, status_code, checked_at, version, source, cause)
     SELECT s.id,
            CASE WHEN (v + s.n) % 97 < 3 THEN 'DOWN' ELSE 'UP' END::"HealthStatus",
            5 + ((v * 7919 + s.n * 104729) % 200),
            CASE WHEN (v + s.n) % 97 < 3 THEN 503 ELSE 200 END,
            now() - (${PER_SERVICE} - v) * interval '100 seconds',
            v, 'PROBE', 'PROBE_PASSED'
     FROM (SELECT id, row_number() OVER (ORDER BY slug)::int AS n FROM services) s
     CROSS JOIN generate_series(1, ${PER_SERVICE}) v`,
  );
  await db.query(`UPDATE services SET snapshot_seq = ${PER_SERVICE}`);
  await db.query('VACUUM ANALYZE service_health_snapshots');
  await db.query('ANALYZE services');
  console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);

  const url = `http://127.0.0.1:${server.port}/graphql`;
  const post = async (query: string, variables?: Record<string, unknown>) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { data?: any; errors?: unknown };
    if (body.errors || !response.ok) throw new Error(`request failed: ${JSON.stringify(body.errors ?? response.status)}`);
    return body.data;
  };
  const LIST = '{ services(first: 100) { edges { node { slug latestHealth { status latencyMs } } } } }';
  const SUMMARY =
    'query($slug: String!) { service(slug: $slug) { healthSummary(window: "24h") { uptimeRatio latencyP50 latencyP95 latencyP99 transitions incidents mttrSeconds } } }';
  const randomSlug = () => `bench-${String(1 + Math.floor(Math.random() * SERVICES)).padStart(4, '0')}`;

  const check = await post(LIST);
  if (check.services.edges.length !== 100 || !check.services.edges[0].node.latestHealth) throw new Error('latestHealth missing');
  const sample = await post(SUMMARY, { slug: 'bench-0001' });
  console.log(`sample summary (bench-0001, 24 h): ${JSON.stringify(sample.service.healthSummary)}`);

  // Baselines: the same requests without the health fields, to separate GraphQL/HTTP cost.
  const runs: Array<[string, () => Promise<unknown>]> = [
    ['baseline services(first: 100) slug', () => post('{ services(first: 100) { edges { node { slug } } } }')],
    ['(a) services(first: 100) latestHealth', () => post(LIST)],
    ['baseline service(slug) slug', () => post('query($slug: String!) { service(slug: $slug) { slug } }', { slug: randomSlug() })],
    ['(b) healthSummary(window: 24h)', () => post(SUMMARY, { slug: randomSlug() })],
  ];
  const results: Array<{ name: string; p50: number; p99: number; max: number }> = [];
  for (const [name, run] of runs) {
    for (let i = 0; i < 50; i++) await run(); // warm-up: JIT, plan caches, buffers
    const times: number[] = [];
    started = Date.now();
    for (let i = 0; i < REQUESTS; i++) {
      const t0 = performance.now();
      await run();
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    results.push({ name, p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1]! });
  }

  const pad = (value: string, width: number) => value.padEnd(width);
  console.log();
  console.log(`${pad('query', 42)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}${pad('max ms', 10)}p99 < ${GOAL_P99_MS} ms`);
  for (const row of results) {
    const goal = row.name.startsWith('baseline') ? '-' : row.p99 < GOAL_P99_MS ? 'met' : 'NOT met';
    console.log(`${pad(row.name, 42)}${pad(row.p50.toFixed(2), 10)}${pad(row.p99.toFixed(2), 10)}${pad(row.max.toFixed(2), 10)}${goal}`);
  }
} finally {
  await db.end();
  await server.stop();
  await benchDb.drop();
}
