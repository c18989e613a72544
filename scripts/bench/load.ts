/** Small helpers shared by the benchmark scripts: spawned servers and autocannon runs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import pg from 'pg';

export interface Spawned {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/**
 * The environment of a server a bench starts: production mode, warnings only (so request logging
 * costs nothing), on `databaseUrl`, with REDIS_URL only when given in `extra`.
 */
export function serverEnv(databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', DATABASE_URL: databaseUrl, ...extra };
  if (!('REDIS_URL' in extra)) delete env.REDIS_URL;
  return env;
}

/** A port that was free a moment ago (for servers that must log quietly). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Starts `node <entry>` on `port` and resolves once GET `readyPath` answers 200. */
export async function spawnReady(entry: string, port: number, readyPath: string, env: NodeJS.ProcessEnv): Promise<Spawned> {
  // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the servers under load.
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, entry], { env: { ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'inherit', 'inherit'] });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`${entry} exited with ${exited}`);
    const ok = await fetch(`http://127.0.0.1:${port}${readyPath}`).then((response) => response.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${entry} was not ready within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    port,
    stop: () =>
      new Promise((done) => {
        if (exited !== undefined) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

/** Starts `node <entry>` and resolves once it logs a line with msg ~ /listening/ and a port. */
export function spawnListening(entry: string, args: string[], env: NodeJS.ProcessEnv): Promise<Spawned> {
  const child = spawn(process.execPath, [entry, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entryLog = JSON.parse(line);
        if (/listening/.test(entryLog.msg ?? '') && typeof entryLog.port === 'number') {
          clearTimeout(timer);
          resolve({
            child,
            port: entryLog.port,
            stop: () =>
              new Promise((done) => {
                child.removeAllListeners('exit');
                child.once('exit', () => done());
                child.kill('SIGTERM');
              }),
          });
        }
      } catch {
        // not a JSON log line
      }
    });
  });
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  /** Builds each request body (varied per request). */
  body: () => string;
  /** Total requests per second across connections; unset = as fast as possible. */
  overallRate?: number;
  /** A response body check: counts failures as errors. */
  check?: (body: string) => boolean;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let failedChecks = 0;
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    connections: options.connections,
    duration: options.durationSeconds,
    overallRate: options.overallRate,
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: options.body() }),
        onResponse: (status, body) => {
          if (options.check && !options.check(body)) failedChecks++;
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + failedChecks,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh database for one benchmark run on BENCH_DATABASE_URL's server (default: local). */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `bench_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  return {
    name,
    url: Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString(),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
