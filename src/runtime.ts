/**
 * Wires a running registry from a parsed environment: logger → database (+ migrations) →
 * event bus → app → HTTP. main.ts calls it for the real process; tests call it in-process.
 */
import { createApp, type RegistryApp } from './app.js';
import type { Env } from './config/env.js';
import { createMemoryBus, type EventBus } from './infra/bus/event-bus.js';
import { createRedisBus } from './infra/bus/redis-bus.js';
import { systemClock, type Clock } from './infra/clock.js';
import { createDatabase, type Database } from './infra/db/database.js';
import { migrate } from './infra/db/migrator.js';
import { createLogger, type Logger } from './infra/logger/logger.js';
import { settingsFromEnv, type RegistryDeps } from './registry/deps.js';
import { closeRegistryCache, openRegistryCache, peekRegistryCache, withLocalEviction } from './registry/cache/registry-cache.js';
import { closeHeartbeatProcessor } from './registry/heartbeats/heartbeat-processor.js';
import { backgroundJobs } from './registry/jobs/background-jobs.js';
import { startJobs } from './registry/jobs/scheduler.js';
import { createRegistryServer, type RegistryServer } from './server.js';

export interface RuntimeOverrides {
  logger?: Logger;
  clock?: Clock;
  /** Count SQL statements (tests). @default false */
  captureQueries?: boolean;
}

export interface Runtime {
  env: Env;
  deps: RegistryDeps;
  app: RegistryApp;
  server: RegistryServer;
  /** The port actually bound (PORT=0 picks a free one). */
  port: number;
  mode: { database: Database['kind']; bus: EventBus['kind'] };
  /** Drain HTTP, then close the bus and the database. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startRuntime(env: Env, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const logger = overrides.logger ?? createLogger({ level: env.LOG_LEVEL });
  const db = await createDatabase({
    url: env.DATABASE_URL,
    pgliteDataDir: env.PGLITE_DATA_DIR,
    poolMax: env.DATABASE_POOL_MAX,
    captureQueries: overrides.captureQueries,
  });
  const closers: Array<() => Promise<void>> = [() => db.close()];
  try {
    if (env.MIGRATE_ON_START) {
      const report = await migrate(db);
      if (report.checksumMismatches.length > 0) {
        logger.warn({ migrations: report.checksumMismatches }, 'applied migrations differ from their files on disk');
      }
      logger.info({ applied: report.applied, alreadyApplied: report.alreadyApplied.length }, 'migrations up to date');
    }
    // With REDIS_URL set, Redis is required: never fall back to the in-process bus. Nothing
    // listens before Redis answered, so the wait is simply "not serving yet" to a load balancer.
    const transport = env.REDIS_URL
      ? await createRedisBus({
          url: env.REDIS_URL,
          channelPrefix: env.REDIS_CHANNEL_PREFIX,
          connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS,
          clientName: env.REDIS_CLIENT_NAME,
          logger,
        })
      : createMemoryBus();
    closers.unshift(() => transport.close());
    // Writers publish through this: their changes leave this replica's caches at once.
    const bus = withLocalEviction(transport, () => peekRegistryCache(deps));

    const deps: RegistryDeps = {
      db,
      bus,
      clock: overrides.clock ?? systemClock,
      logger,
      settings: settingsFromEnv(env),
    };
    // Subscribed before the first request: a replica never serves from a cache that is deaf.
    await openRegistryCache(deps, { ttlMs: env.CACHE_TTL_MS, statsLogMs: env.CACHE_STATS_LOG_MS });
    closers.unshift(() => closeRegistryCache(deps));
    const app = createApp(deps, { graphiql: env.GRAPHIQL, maxBodyBytes: env.REQUEST_BODY_MAX_BYTES });
    const jobs = startJobs(backgroundJobs(deps), logger);
    // Closed in order: jobs, then buffered heartbeats (acknowledged, so they must land), then
    // the bus, then the database.
    closers.unshift(() => jobs.stop(), () => closeHeartbeatProcessor(deps));
    const server = createRegistryServer({
      app,
      logger,
      probes: [
        { name: 'database', enabled: true, check: () => db.ping() },
        { name: 'redis', enabled: bus.kind === 'redis', check: () => bus.ping() },
      ],
    });
    const { port } = await server.listen(env.PORT, env.HOST);
    const mode = { database: db.kind, bus: bus.kind };
    logger.info(
      { port, mode, ...(db.kind === 'pglite' ? { dataDir: env.PGLITE_DATA_DIR } : {}) },
      `service registry listening on :${port} (database: ${db.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'}, events: ${bus.kind === 'memory' ? 'in-process, single replica' : 'Redis'})`,
    );

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        await server.drain(env.SHUTDOWN_TIMEOUT_MS);
        for (const close of closers) await close().catch((error) => logger.warn({ err: error }, 'error while closing'));
      })();
      return stopping;
    };
    return { env, deps, app, server, port, mode, stop };
  } catch (error) {
    for (const close of closers) await close().catch(() => {});
    throw error;
  }
}
