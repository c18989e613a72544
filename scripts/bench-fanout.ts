/**
 * npm run bench:fanout — delivery of live events to many subscribers across two replicas.
 *
 * Two built servers on one fresh PostgreSQL database and the local Redis (BENCH_REDIS_URL),
 * N graphql-ws subscribers to `registryEvents` split evenly across them, and M events per
 * second written through replica A (setMaintenance toggles over a pool of services). Prints
 * delivery latency p50/p99 per replica (receipt time − event time, one clock) and how many
 * deliveries were lost or duplicated against the events the database recorded.
 * Flags: --subscribers 100,1000  --rate 200  --duration 5  --per-socket 1 (subscriptions sharing one
 * graphql-ws socket, as one client's subscriptions do)
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { createBenchDatabase, freePort, serverEnv, spawnReady, type Spawned } from './bench/load.js';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '100,1000' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '5' },
    // Subscriptions per WebSocket (graphql-ws multiplexes a client's subscriptions over one socket).
    'per-socket': { type: 'string', default: '1' },
  },
});
const subscriberCounts = values.subscribers.split(',').map(Number);
const rate = Number(values.rate);
const duration = Number(values.duration);
const perSocket = Math.max(1, Number(values['per-socket']));
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const root = path.resolve(import.meta.dirname, '..', '..');
const POOL = 50;

const benchDb = await createBenchDatabase('fanout');
const dbName = benchDb.name;
const databaseUrl = benchDb.url;
const env = serverEnv(databaseUrl, {
  REDIS_URL: redisUrl,
  REDIS_CHANNEL_PREFIX: `${dbName}:`,
  LIFECYCLE_JOBS_ENABLED: 'false',
  PROBES_ENABLED: 'false',
  CACHE_STATS_LOG_MS: '0',
});

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, at USER_HZ = 100
  } catch {
    return NaN;
  }
}

// node:http with keep-alive rather than fetch: the writer shares the machine with what is
// measured, and fetch cost it twice the CPU per request.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const replicas: Spawned[] = [];
const clients: Client[] = [];
try {
  // A migrates first; B then finds the schema in place.
  replicas.push(await spawnReady(path.join(root, 'dist/src/main.js'), await freePort(), '/readyz', env));
  replicas.push(await spawnReady(path.join(root, 'dist/src/main.js'), await freePort(), '/readyz', { ...env, MIGRATE_ON_START: 'false' }));
  const [a, b] = replicas as [Spawned, Spawned];
  const gql = (port: number, query: string, variables?: unknown) =>
    new Promise<{ data?: any; errors?: unknown }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(JSON.parse(text)));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ query, variables }));
    });
  for (let i = 0; i < POOL; i++) await gql(a.port, `mutation($s: String!) { registerService(input: { slug: $s, name: $s }) { __typename } }`, { s: `fan-${i}` });
  console.log(`database ${dbName}; replicas on :${a.port} (A, writes) and :${b.port} (B); ${rate} events/s for ${duration} s; ${perSocket} subscription(s) per WebSocket`);
  console.log();
  console.log(
    `${'subscribers'.padEnd(13)}${'replica'.padEnd(9)}${'events'.padEnd(8)}${'deliveries'.padEnd(12)}${'p50 ms'.padEnd(8)}${'p99 ms'.padEnd(8)}${'max ms'.padEnd(8)}${'lost'.padEnd(6)}${'dup'.padEnd(5)}cpu ms/1k deliveries`,
  );

  const toggles = new Map<number, boolean>();
  for (const count of subscriberCounts) {
    type Sub = { replica: 'A' | 'B'; seen: Map<string, number>; ready: boolean };
    const subs: Sub[] = [];
    const latencies: Record<'A' | 'B', number[]> = { A: [], B: [] };
    const socketsOf: Record<'A' | 'B', Client[]> = { A: [], B: [] };
    for (let i = 0; i < count; i++) {
      const replica = i % 2 === 0 ? 'A' : 'B';
      const port = replica === 'A' ? a.port : b.port;
      const index = Math.floor(i / 2);
      if (index % perSocket === 0) {
        const created = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
        clients.push(created);
        socketsOf[replica].push(created);
      }
      const client = socketsOf[replica].at(-1)!;
      const sub: Sub = { replica, seen: new Map(), ready: false };
      subs.push(sub);
      client.subscribe<{ registryEvents: { sequence: string; at: string; type: string } }>(
        { query: 'subscription { registryEvents(types: [MAINTENANCE_CHANGED, UPDATED]) { sequence at type } }' },
        {
          next: ({ data }) => {
            const event = data?.registryEvents;
            if (!event) return;
            if (event.type === 'UPDATED') {
              sub.ready = true; // a warm-up event: the subscription is live
              return;
            }
            const now = Date.now();
            sub.seen.set(event.sequence, (sub.seen.get(event.sequence) ?? 0) + 1);
            latencies[replica].push(now - Date.parse(event.at));
          },
          error: () => {},
          complete: () => {},
        },
      );
    }
    // Every subscriber is live once each has seen one warm-up event.
    const deadline = Date.now() + 60_000;
    const live = () => subs.filter((sub) => sub.ready).length;
    while (live() < count && Date.now() < deadline) {
      await gql(a.port, `mutation { registerService(input: { slug: "fan-0", name: "fan-0" }) { __typename } }`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (live() < count) throw new Error(`only ${live()} of ${count} subscriptions came up`);
    const direct = new pg.Client({ connectionString: databaseUrl });
    await direct.connect();
    const startId = (await direct.query('SELECT coalesce(max(id), 0)::text AS max FROM registry_events')).rows[0].max as string;

    // Paced writes: one mutation every 1000/rate ms, round robin over the pool of services.
    const total = rate * duration;
    const cpuBefore = { A: cpuMs(a.child.pid), B: cpuMs(b.child.pid), client: process.cpuUsage(), at: Date.now() };
    const started = Date.now();
    const inFlight: Promise<unknown>[] = [];
    for (let n = 0; n < total; n++) {
      const due = started + (n * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const index = n % POOL;
      const enabled = !(toggles.get(index) ?? false);
      toggles.set(index, enabled);
      inFlight.push(gql(a.port, `mutation($s: String!, $e: Boolean!) { setMaintenance(slug: $s, enabled: $e) { __typename } }`, { s: `fan-${index}`, e: enabled }));
    }
    const outcomes = await Promise.all(inFlight);
    const failed = outcomes.filter((outcome) => (outcome as { errors?: unknown }).errors);
    if (failed.length > 0) console.log(`  ${failed.length} of ${total} writes failed, e.g. ${JSON.stringify((failed[0] as { errors: unknown }).errors).slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // let the last deliveries land

    const cpuUsed = { A: cpuMs(a.child.pid) - cpuBefore.A, B: cpuMs(b.child.pid) - cpuBefore.B, client: process.cpuUsage(cpuBefore.client), seconds: (Date.now() - cpuBefore.at) / 1000 };
    const written = (await direct.query(`SELECT id::text FROM registry_events WHERE type = 'MAINTENANCE_CHANGED' AND id > $1`, [startId])).rows.map((row) => row.id as string);
    await direct.end();
    for (const replica of ['A', 'B'] as const) {
      const mine = subs.filter((sub) => sub.replica === replica);
      let lost = 0;
      let dup = 0;
      let deliveries = 0;
      for (const sub of mine) {
        for (const id of written) {
          const times = sub.seen.get(id) ?? 0;
          if (times === 0) lost++;
          if (times > 1) dup += times - 1;
          deliveries += times;
        }
      }
      const sorted = latencies[replica].sort((x, y) => x - y);
      const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
      console.log(
        `${String(count).padEnd(13)}${replica.padEnd(9)}${String(written.length).padEnd(8)}${String(deliveries).padEnd(12)}${String(pct(50)).padEnd(8)}${String(pct(99)).padEnd(8)}${String(sorted.at(-1) ?? NaN).padEnd(8)}${String(lost).padEnd(6)}${String(dup).padEnd(5)}${((cpuUsed[replica] / deliveries) * 1000).toFixed(0)}${replica === 'A' ? ' (includes the writes)' : ''}`,
      );
    }
    const clientMs = (cpuUsed.client.user + cpuUsed.client.system) / 1000;
    console.log(`${''.padEnd(13)}client: ${(clientMs / 1000).toFixed(1)} s CPU for ${count} subscribers over ${cpuUsed.seconds.toFixed(1)} s (${((clientMs / (written.length * count)) * 1000).toFixed(0)} ms per 1k deliveries)`);
    for (const client of clients.splice(0)) await client.dispose();
  }
  console.log();
  console.log('goal: p99 < 50 ms at 1,000 subscribers and 200 events/s, zero lost, zero duplicated');
} finally {
  for (const client of clients) await client.dispose();
  for (const replica of replicas) await replica.stop();
  agent.destroy();
  await benchDb.drop();
}
