/**
 * npm run bench:heartbeat — heartbeat throughput and latency of a real server on PostgreSQL.
 *
 * Starts the built server on a fresh database (BENCH_DATABASE_URL's server, default local),
 * registers 1,000 services, and measures against a bare graphql-yoga baseline:
 *   (a) bare yoga hello-world mutation   (b) `heartbeat`   (c) `heartbeats` with 100 items
 *   ((a') is (a) without yoga's per-request body-limit stream, which our server replaces; a reference)
 * each at a fixed concurrency ((a) and (b) alternated and averaged; p50/p99 are the worse of the
 * two rounds), then (b) paced at 1,000 heartbeats/s. Prints a table.
 * Flags: --duration <s> (default 10), --connections <n> (default 32).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createBenchDatabase, freePort, runLoad, serverEnv, spawnListening, spawnReady, type LoadResult } from './bench/load.js';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '32' } } });
const duration = Number(values.duration);
const connections = Number(values.connections);
const root = path.resolve(import.meta.dirname, '..', '..');
const SERVICES = 1_000;

const benchDb = await createBenchDatabase('heartbeat');
const dbName = benchDb.name;
const databaseUrl = benchDb.url;
const baseEnv = serverEnv(databaseUrl);

console.log(`database ${dbName}; ${duration}s per run, ${connections} connections`);
// Request logging off (LOG_LEVEL=warn) so both servers do the same work per request.
const registry = await spawnReady(path.join(root, 'dist/src/main.js'), await freePort(), '/readyz', { ...baseEnv, HEARTBEAT_TTL_SECONDS: '300' });
const hello = await spawnListening(path.join(root, 'dist/scripts/bench/hello-server.js'), ['0'], baseEnv);
const helloLean = await spawnListening(path.join(root, 'dist/scripts/bench/hello-server.js'), ['0', '--no-body-stream'], baseEnv);
const registryUrl = `http://127.0.0.1:${registry.port}/graphql`;
const helloUrl = `http://127.0.0.1:${hello.port}/graphql`;
const helloLeanUrl = `http://127.0.0.1:${helloLean.port}/graphql`;

try {
  const post = async (query: string, variables: unknown) => {
    const response = await fetch(registryUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return response.json() as Promise<{ data?: any; errors?: unknown }>;
  };
  process.stdout.write(`registering ${SERVICES} services (one instance each) … `);
  const started = Date.now();
  const BEATS = 'mutation($input: [HeartbeatInput!]!) { heartbeats(input: $input) { ... on HeartbeatBatchPayload { accepted } } }';
  for (let i = 0; i < SERVICES; i += 100) {
    const input = Array.from({ length: 100 }, (_, j) => ({ slug: `bench-${i + j}`, instanceId: 'i-0' }));
    const result = await post(BEATS, { input });
    if (result.data?.heartbeats?.accepted !== 100) throw new Error(`registration failed: ${JSON.stringify(result)}`);
  }
  console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
  // One steady pass so that every instance is fresh (UP, cached) before measuring.
  for (let i = 0; i < SERVICES; i += 100) {
    await post(BEATS, { input: Array.from({ length: 100 }, (_, j) => ({ slug: `bench-${i + j}`, instanceId: 'i-0' })) });
  }

  const randomSlug = () => `bench-${Math.floor(Math.random() * SERVICES)}`;
  const one = () => JSON.stringify({ query: 'mutation($i: HeartbeatInput!) { heartbeat(input: $i) { __typename } }', variables: { i: { slug: randomSlug(), instanceId: 'i-0' } } });
  const hundred = () =>
    JSON.stringify({ query: BEATS, variables: { input: Array.from({ length: 100 }, () => ({ slug: randomSlug(), instanceId: 'i-0' })) } });
  const helloBody = () => JSON.stringify({ query: 'mutation($n: String!) { hello(name: $n) }', variables: { n: randomSlug() } });
  const ok = (body: string) => body.includes('"HeartbeatAck"');
  const batchOk = (body: string) => body.includes('"accepted":100');

  // Warm both servers (JIT, caches) before measuring.
  await runLoad({ url: helloUrl, connections, durationSeconds: 2, body: helloBody });
  await runLoad({ url: helloLeanUrl, connections, durationSeconds: 2, body: helloBody });
  await runLoad({ url: registryUrl, connections, durationSeconds: 2, body: one });

  const results: Array<[string, LoadResult, number]> = [];
  // (a) and (b) alternate, twice each, and are averaged: this machine's throughput drifts over a
  // minute by more than the difference being measured.
  const rounds: Record<'a' | 'lean' | 'b', LoadResult[]> = { a: [], lean: [], b: [] };
  for (let round = 0; round < 2; round++) {
    rounds.a.push(await runLoad({ url: helloUrl, connections, durationSeconds: duration / 2, body: helloBody }));
    rounds.lean.push(await runLoad({ url: helloLeanUrl, connections, durationSeconds: duration / 2, body: helloBody }));
    rounds.b.push(await runLoad({ url: registryUrl, connections, durationSeconds: duration / 2, body: one, check: ok }));
  }
  const average = (runs: LoadResult[]): LoadResult => ({
    requestsPerSecond: runs.reduce((sum, run) => sum + run.requestsPerSecond, 0) / runs.length,
    p50: Math.max(...runs.map((run) => run.p50)),
    p99: Math.max(...runs.map((run) => run.p99)),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    total: runs.reduce((sum, run) => sum + run.total, 0),
  });
  const a = average(rounds.a);
  const b = average(rounds.b);
  const lean = average(rounds.lean);
  results.push(['(a) bare yoga hello mutation', a, a.requestsPerSecond]);
  results.push(["(a') same, no body stream", lean, lean.requestsPerSecond]);
  results.push(['(b) heartbeat', b, b.requestsPerSecond]);
  const c = await runLoad({ url: registryUrl, connections: Math.max(4, connections / 4), durationSeconds: duration, body: hundred, check: batchOk });
  results.push(['(c) heartbeats ×100', c, c.requestsPerSecond * 100]);
  const paced = await runLoad({ url: registryUrl, connections: 4, durationSeconds: duration, body: one, overallRate: 1_000, check: ok });
  results.push(['(b) paced 1,000/s', paced, paced.requestsPerSecond]);
  // isKnown served from the per-process cache: one connection, so latency is per request.
  const knownBody = () => JSON.stringify({ query: 'query($s: String!) { isKnown(slug: $s) }', variables: { s: randomSlug() } });
  await runLoad({ url: registryUrl, connections: 1, durationSeconds: 2, body: knownBody });
  const known = await runLoad({ url: registryUrl, connections: 1, durationSeconds: Math.min(duration, 5), body: knownBody, check: (body) => body.includes('"isKnown":true') });
  results.push(['(d) isKnown, warm, 1 conn', known, known.requestsPerSecond]);

  const pad = (value: string, width: number) => value.padEnd(width);
  console.log();
  console.log(`${pad('run', 30)}${pad('req/s', 10)}${pad('heartbeats/s', 14)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}errors`);
  for (const [name, result, beats] of results) {
    console.log(
      `${pad(name, 30)}${pad(result.requestsPerSecond.toFixed(0), 10)}${pad(name.startsWith('(a') || name.startsWith('(d)') ? '-' : beats.toFixed(0), 14)}${pad(String(result.p50), 9)}${pad(String(result.p99), 9)}${result.errors + result.non2xx}`,
    );
  }
  console.log();
  const ratio = b.requestsPerSecond / a.requestsPerSecond;
  console.log(`(b)/(a) = ${ratio.toFixed(2)}   goal ≥ 0.70 ${ratio >= 0.7 ? 'met' : 'NOT met'}`);
  console.log(`(b)/(a') = ${(b.requestsPerSecond / lean.requestsPerSecond).toFixed(2)}   reference: yoga without the per-request body stream our server also does without`);
  console.log(`(c) = ${(c.requestsPerSecond * 100).toFixed(0)} heartbeats/s   goal ≥ 20,000 ${c.requestsPerSecond * 100 >= 20_000 ? 'met' : 'NOT met'}`);
  console.log(`paced p99 = ${paced.p99} ms   goal < 10 ms ${paced.p99 < 10 ? 'met' : 'NOT met'}`);
  console.log(`isKnown warm p50 = ${known.p50} ms over HTTP (${(1000 / known.requestsPerSecond).toFixed(2)} ms per request at 1 connection)`);
} finally {
  await registry.stop();
  await hello.stop();
  await helloLean.stop();
  await benchDb.drop();
}
