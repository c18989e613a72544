import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseEnv } from '../src/config/env.js';
import { createLogger } from '../src/infra/logger/logger.js';
import { lifecycleJobs, type LifecycleTickResult } from '../src/registry/lifecycle/lifecycle-jobs.js';
import { pruneRegistryEvents } from '../src/registry/lifecycle/prune-events.js';
import { startRuntime, type Runtime } from '../src/runtime.js';
import { createGraphQLClient, type GraphQLClient } from './testkit/graphql.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

// Thresholds in hours and days, so "just below" and "well past" are far apart and never flaky.
const THRESHOLDS = { INACTIVE_AFTER_SECONDS: '3600', ARCHIVE_AFTER_SECONDS: '86400', EVENT_RETENTION_SECONDS: '86400' };

const RUN = /* GraphQL */ `
  mutation Run($job: MaintenanceJob!) {
    runMaintenance(job: $job) {
      __typename
      ... on RunMaintenancePayload { job affected ranAt }
      ... on RegistryError { code message }
    }
  }
`;
const SERVICE = /* GraphQL */ `
  query Service($slug: String!) { service(slug: $slug) { slug status previousStatus statusSince revision protected } }
`;

interface EventRow {
  type: string;
  service_slug: string;
  from_value: string;
  to_value: string;
  cause: string;
  actor: string;
  revision: number;
  details: Record<string, unknown>;
  at: Date;
}

let registry: TestRegistry;
/** A second replica on the same database. */
let replica: Runtime;
let replicaClient: GraphQLClient;

beforeAll(async () => {
  registry = await startTestRegistry({ label: 'lifecycle', env: { ...THRESHOLDS, LIFECYCLE_JOBS_ENABLED: 'false' } });
  const env = parseEnv({ DATABASE_URL: registry.database.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', NODE_ENV: 'test', ...THRESHOLDS, LIFECYCLE_JOBS_ENABLED: 'false' });
  replica = await startRuntime(env, { logger: createLogger({ level: 'silent' }) });
  replicaClient = createGraphQLClient(`http://127.0.0.1:${replica.port}/graphql`);
});
afterAll(async () => {
  await replica?.stop();
  await registry?.close();
});

interface Seed {
  status?: 'PENDING' | 'ACTIVE' | 'INACTIVE' | 'REVOKED';
  /** SQL interval before now(), or null for never. */
  heartbeatAgo?: string | null;
  statusSinceAgo?: string;
  protected?: boolean;
  revision?: number;
  previousStatus?: string | null;
}

async function seedService(slug: string, seed: Seed = {}): Promise<void> {
  await registry.database.query(
    `INSERT INTO services (slug, name, status, previous_status, last_heartbeat_at, status_since, protected, revision)
     VALUES ($1, $1, $2::"ServiceStatus", $3::"ServiceStatus",
             CASE WHEN $4::interval IS NULL THEN NULL ELSE now() - $4::interval END,
             now() - $5::interval, $6, $7)`,
    [slug, seed.status ?? 'ACTIVE', seed.previousStatus ?? null, seed.heartbeatAgo === undefined ? '2 hours' : seed.heartbeatAgo, seed.statusSinceAgo ?? '3 days', seed.protected ?? false, seed.revision ?? 0],
  );
}

async function run(job: string, options: { client?: GraphQLClient; actor?: string } = {}) {
  const client = options.client ?? registry.client;
  const result = await client.request<{ runMaintenance: Record<string, any> }>(RUN, { job }, options.actor ? { 'x-actor': options.actor } : {});
  expect(result.errors).toBeUndefined();
  expect(result.data!.runMaintenance.__typename).toBe('RunMaintenancePayload');
  return result.data!.runMaintenance as { job: string; affected: number; ranAt: string };
}

async function service(slug: string) {
  return (await registry.client.data<{ service: Record<string, any> }>(SERVICE, { slug })).service;
}

function eventsOf(slugPattern: string): Promise<EventRow[]> {
  return registry.database.query<EventRow>(
    `SELECT type, service_slug, from_value, to_value, cause, actor, revision, details, at
     FROM registry_events WHERE service_slug LIKE $1 AND type IN ('STATUS_CHANGED', 'REVOKED') ORDER BY id`,
    [slugPattern],
  );
}

describe('below the thresholds', () => {
  it('changes nothing and deletes nothing', async () => {
    await seedService('calm-active', { heartbeatAgo: '50 minutes' });
    await seedService('calm-inactive', { status: 'INACTIVE', statusSinceAgo: '20 hours' });
    await registry.database.query(`INSERT INTO registry_events (type, service_slug, at) VALUES ('UPDATED', 'calm-active', now() - interval '20 hours')`);

    for (const job of ['MARK_INACTIVE', 'ARCHIVE_INACTIVE', 'PRUNE_EVENTS']) {
      expect(await run(job)).toMatchObject({ job, affected: 0 });
    }
    expect(await service('calm-active')).toMatchObject({ status: 'ACTIVE', revision: 0 });
    expect(await service('calm-inactive')).toMatchObject({ status: 'INACTIVE', revision: 0 });
    expect(await eventsOf('calm-%')).toEqual([]);
    const [kept] = await registry.database.query<{ n: string }>(`SELECT count(*) AS n FROM registry_events WHERE service_slug = 'calm-active'`);
    expect(Number(kept!.n)).toBe(1);
  });
});

describe('MARK_INACTIVE', () => {
  it('moves ACTIVE services without a recent heartbeat to INACTIVE, with one event each', async () => {
    await seedService('stale-api', { heartbeatAgo: '2 hours', revision: 3, previousStatus: 'PENDING' });
    await seedService('fresh-api', { heartbeatAgo: '5 minutes' });
    await seedService('pending-api', { status: 'PENDING', heartbeatAgo: '2 hours' });
    await seedService('silent-api', { heartbeatAgo: null });
    const publish = vi.spyOn(registry.runtime.deps.bus, 'publish');

    const result = await run('MARK_INACTIVE', { actor: 'alice' });

    expect(result).toMatchObject({ job: 'MARK_INACTIVE', affected: 1 });
    const stale = await service('stale-api');
    expect(stale).toMatchObject({ status: 'INACTIVE', previousStatus: 'ACTIVE', revision: 4 });
    // status_since and the event time are the statement's now(), i.e. the database clock.
    expect(Math.abs(Date.parse(stale.statusSince) - Date.parse(result.ranAt))).toBeLessThanOrEqual(1);

    const events = await eventsOf('%-api');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'STATUS_CHANGED',
      service_slug: 'stale-api',
      from_value: 'ACTIVE',
      to_value: 'INACTIVE',
      cause: 'INACTIVITY',
      actor: 'alice',
      revision: 4,
      details: { inactiveAfterSeconds: 3600, lastHeartbeatAt: expect.any(String) },
    });
    expect(Math.abs(events[0]!.at.getTime() - Date.parse(result.ranAt))).toBeLessThanOrEqual(1);

    for (const slug of ['fresh-api', 'silent-api']) expect(await service(slug)).toMatchObject({ status: 'ACTIVE', revision: 0 });
    expect(await service('pending-api')).toMatchObject({ status: 'PENDING' });

    expect(publish).toHaveBeenCalledWith('registry.event', expect.objectContaining({ serviceSlug: 'stale-api', toValue: 'INACTIVE', revision: 4 }));
    expect(publish).toHaveBeenCalledWith('service.changed', { slug: 'stale-api' });
    publish.mockRestore();

    expect(await run('MARK_INACTIVE')).toMatchObject({ affected: 0 });
  });
});

describe('ARCHIVE_INACTIVE', () => {
  it('revokes services INACTIVE past the threshold and skips protected ones', async () => {
    await seedService('old-worker', { status: 'INACTIVE', previousStatus: 'ACTIVE', statusSinceAgo: '2 days', revision: 5 });
    await seedService('old-guarded-worker', { status: 'INACTIVE', statusSinceAgo: '30 days', protected: true });
    await seedService('new-worker', { status: 'INACTIVE', statusSinceAgo: '1 hour' });
    await seedService('old-active-worker', { status: 'ACTIVE', heartbeatAgo: '1 minute', statusSinceAgo: '60 days' });

    const result = await run('ARCHIVE_INACTIVE');

    expect(result).toMatchObject({ job: 'ARCHIVE_INACTIVE', affected: 1 });
    expect(await service('old-worker')).toMatchObject({ status: 'REVOKED', previousStatus: 'INACTIVE', revision: 6 });
    expect(await service('old-guarded-worker')).toMatchObject({ status: 'INACTIVE', protected: true, revision: 0 });
    expect(await service('new-worker')).toMatchObject({ status: 'INACTIVE', revision: 0 });
    expect(await service('old-active-worker')).toMatchObject({ status: 'ACTIVE', revision: 0 });
    expect(await eventsOf('%worker')).toEqual([
      expect.objectContaining({
        type: 'REVOKED',
        service_slug: 'old-worker',
        from_value: 'INACTIVE',
        to_value: 'REVOKED',
        cause: 'ARCHIVED',
        actor: 'system:maintenance',
        revision: 6,
        details: { archiveAfterSeconds: 86400 },
      }),
    ]);
  });
});

describe('PRUNE_EVENTS', () => {
  it('deletes events past the retention and keeps recent ones', async () => {
    await registry.database.query(
      `INSERT INTO registry_events (type, service_slug, at)
       SELECT 'UPDATED'::"RegistryEventType", 'pruned-svc', now() - interval '2 days' - n * interval '1 minute' FROM generate_series(1, 3) n
       UNION ALL
       SELECT 'UPDATED', 'pruned-svc', now() - interval '1 hour' FROM generate_series(1, 2)`,
    );
    expect(await run('PRUNE_EVENTS')).toMatchObject({ job: 'PRUNE_EVENTS', affected: 3 });
    const rows = await registry.database.query<{ at: Date }>(`SELECT at FROM registry_events WHERE service_slug = 'pruned-svc'`);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(Date.now() - row.at.getTime()).toBeLessThan(2 * 3600_000);
  });

  it('deletes a backlog in bounded batches, one statement per batch', async () => {
    await registry.database.query(
      `INSERT INTO registry_events (type, service_slug, at)
       SELECT 'UPDATED', 'backlog-svc', now() - interval '3 days' FROM generate_series(1, 5)`,
    );
    const { count, statements } = await registry.countStatements(async () => {
      expect(await pruneRegistryEvents(registry.runtime.deps, { batchSize: 2 })).toMatchObject({ affected: 5 });
    });
    // 2 + 2 + 1: the short batch says the backlog is gone.
    expect(statements.filter((sql) => /DELETE FROM registry_events/.test(sql))).toHaveLength(3);
    expect(count).toBe(4);
    const [left] = await registry.database.query<{ n: string }>(`SELECT count(*) AS n FROM registry_events WHERE service_slug = 'backlog-svc'`);
    expect(Number(left!.n)).toBe(0);
  });
});

/** Waits until `count` statements are blocked on a lock, so a race is certain, not likely. */
async function waitForLockWaiters(count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await registry.database.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (Number(row!.n) >= count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} statements waiting on a lock, saw ${row!.n}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Holds a row lock from a separate connection until release() is called. */
async function holdRowLock(sql: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: registry.database.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(sql);
  return {
    async release() {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

describe('two replicas running the same job at the same moment', () => {
  const cases = [
    { job: 'MARK_INACTIVE', prefix: 'race-active', seed: { status: 'ACTIVE', heartbeatAgo: '3 hours' } as Seed, to: 'INACTIVE' },
    { job: 'ARCHIVE_INACTIVE', prefix: 'race-inactive', seed: { status: 'INACTIVE', statusSinceAgo: '3 days' } as Seed, to: 'REVOKED' },
  ];

  it.each(cases)('$job records every transition exactly once', async ({ job, prefix, seed, to }) => {
    const slugs = Array.from({ length: 40 }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
    for (const slug of slugs) await seedService(slug, seed);

    // Both runners queue behind one locked row, then race over the same set once it is freed.
    const lock = await holdRowLock(`SELECT 1 FROM services WHERE slug = '${prefix}-20' FOR UPDATE`);
    const runs = Promise.all([run(job), run(job, { client: replicaClient })]);
    try {
      await waitForLockWaiters(2);
    } finally {
      await lock.release();
    }
    const [first, second] = await runs;

    expect(first.affected + second.affected).toBe(slugs.length);
    const events = await eventsOf(`${prefix}-%`);
    expect(events).toHaveLength(slugs.length);
    expect(new Set(events.map((event) => event.service_slug))).toEqual(new Set(slugs));
    const rows = await registry.database.query<{ status: string; revision: number }>(`SELECT status, revision FROM services WHERE slug LIKE $1`, [`${prefix}-%`]);
    expect(rows.every((row) => row.status === to && row.revision === 1)).toBe(true);
  });
});

describe('the tick lease', () => {
  const markInactiveTick = (runtime: Runtime, owner: string) => lifecycleJobs(runtime.deps, { owner }).find((job) => job.name === 'lifecycle:MARK_INACTIVE')!;

  it('lets exactly one of two simultaneous ticks run, also when the lease row does not exist yet', async () => {
    await registry.database.query(`DELETE FROM job_leases WHERE name = 'lifecycle:MARK_INACTIVE'`);
    await seedService('lease-first', { heartbeatAgo: '3 hours' });

    const results = (await Promise.all([markInactiveTick(registry.runtime, 'replica-a').run(), markInactiveTick(replica, 'replica-b').run()])) as LifecycleTickResult[];

    expect(results.filter((result) => result.ran)).toEqual([{ ran: true, affected: 1 }]);
    expect(await eventsOf('lease-first')).toHaveLength(1);
  });

  it('lets exactly one of two ticks that contend for an expired lease run, and none right after', async () => {
    await registry.database.query(`UPDATE job_leases SET last_run_at = now() - interval '1 hour' WHERE name = 'lifecycle:MARK_INACTIVE'`);
    await seedService('lease-second', { heartbeatAgo: '3 hours' });

    const lock = await holdRowLock(`SELECT 1 FROM job_leases WHERE name = 'lifecycle:MARK_INACTIVE' FOR UPDATE`);
    const ticks = Promise.all([markInactiveTick(registry.runtime, 'replica-a').run(), markInactiveTick(replica, 'replica-b').run()]);
    try {
      await waitForLockWaiters(2);
    } finally {
      await lock.release();
    }
    const results = (await ticks) as LifecycleTickResult[];

    expect(results.filter((result) => result.ran)).toEqual([{ ran: true, affected: 1 }]);
    const winner = results[0]!.ran ? 'replica-a' : 'replica-b';
    const [lease] = await registry.database.query<{ owner: string; leased_until: Date | null; last_result: Record<string, unknown> }>(
      `SELECT owner, leased_until, last_result FROM job_leases WHERE name = 'lifecycle:MARK_INACTIVE'`,
    );
    expect(lease).toMatchObject({ owner: winner, leased_until: null, last_result: { affected: 1, trigger: 'schedule', actor: 'system:lifecycle' } });
    expect(await eventsOf('lease-second')).toEqual([expect.objectContaining({ actor: 'system:lifecycle', cause: 'INACTIVITY' })]);

    // The interval (default 60 s) has not passed: the next tick on either replica does nothing.
    expect(await markInactiveTick(replica, 'replica-b').run()).toEqual({ ran: false });
  });

  it('lists each job with its last run', async () => {
    const { maintenanceJobs } = await registry.client.data<{ maintenanceJobs: Array<Record<string, any>> }>(
      `{ maintenanceJobs { name lastRunAt lastResult } }`,
    );
    expect(maintenanceJobs.map((job) => job.name)).toEqual(['MARK_INACTIVE', 'ARCHIVE_INACTIVE', 'PRUNE_EVENTS']);
    expect(maintenanceJobs[0]).toMatchObject({ lastRunAt: expect.any(String), lastResult: { affected: 1, trigger: 'schedule', actor: 'system:lifecycle' } });
    expect(maintenanceJobs[1]).toMatchObject({ lastRunAt: expect.any(String), lastResult: { trigger: 'manual', actor: 'system:maintenance' } });
    expect(maintenanceJobs[2]).toMatchObject({ lastRunAt: expect.any(String), lastResult: { trigger: 'manual', actor: 'system:maintenance' } });
  });
});

describe('the background scheduler', () => {
  let scheduled: TestRegistry;
  beforeAll(async () => {
    scheduled = await startTestRegistry({
      label: 'lifecycle_sched',
      env: { LIFECYCLE_JOBS_ENABLED: 'true', LIFECYCLE_INTERVAL_MS: '200', INACTIVE_AFTER_SECONDS: '60' },
    });
  });
  afterAll(async () => {
    await scheduled?.close();
  });

  it('runs the lifecycle jobs on its own when enabled', async () => {
    await scheduled.database.query(
      `INSERT INTO services (slug, name, status, last_heartbeat_at) VALUES ('forgotten', 'Forgotten', 'ACTIVE', now() - interval '1 hour')`,
    );
    const deadline = Date.now() + 10_000;
    let events: Array<{ actor: string; cause: string; to_value: string }> = [];
    while (events.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      events = await scheduled.database.query(`SELECT actor, cause, to_value FROM registry_events WHERE service_slug = 'forgotten'`);
    }
    expect(events).toEqual([{ actor: 'system:lifecycle', cause: 'INACTIVITY', to_value: 'INACTIVE' }]);
    const { service } = await scheduled.client.data(`{ service(slug: "forgotten") { status } }`);
    expect(service.status).toBe('INACTIVE');

    // Every job ticks, not only the one that had work.
    let jobs: Array<Record<string, any>> = [];
    while (Date.now() < deadline) {
      jobs = (await scheduled.client.data(`{ maintenanceJobs { name lastRunAt lastResult } }`)).maintenanceJobs;
      if (jobs.every((job) => job.lastResult)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const job of jobs) expect(job).toMatchObject({ lastRunAt: expect.any(String), lastResult: { trigger: 'schedule', actor: 'system:lifecycle' } });
  });
});
