/** Discovery through GraphQL over HTTP: filters, ordering, hierarchy and dependency walks, stats, isKnown. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServiceCache, getServiceCache } from '../src/registry/discovery/service-cache.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

// Unknown dependencies are accepted (warned) so fixtures can name missing slugs; no background
// job may change rows under the assertions.
const ENV = { DEPENDENCY_VALIDATION: 'warn', LIFECYCLE_JOBS_ENABLED: 'false', MONITOR_ENABLED: 'false' };

let registry: TestRegistry;

beforeAll(async () => {
  registry = await startTestRegistry({ label: 'discovery', env: ENV });
});
afterAll(async () => {
  if (registry) await closeServiceCache(registry.runtime.deps);
  await registry?.close();
});

interface Fixture {
  slug: string;
  parent?: string;
  tags?: string[];
  dependencies?: string[];
  version?: string | null;
  source?: string;
  kind?: string;
  status?: string;
  health?: string;
  name?: string;
  description?: string;
  inMaintenance?: boolean;
  /** SQL expressions evaluated by the database, e.g. "now() - interval '2 hours'". */
  lastHeartbeatAt?: string;
  registeredAt?: string;
  healthSince?: string;
}

/** Inserts services in order (parents first), straight into the table: this file is about reads. */
async function insertServices(database: TestRegistry['database'], fixtures: Fixture[]): Promise<void> {
  for (const f of fixtures) {
    await database.query(
      `INSERT INTO services (slug, name, parent_id, tags, dependencies, version, source, kind, status, health, in_maintenance, description,
         last_heartbeat_at, registered_at, health_since)
       VALUES ($1, $2, (SELECT id FROM services WHERE slug = $3), $4, $5, $6, $7::"ServiceSource", $8::"ServiceKind", $9::"ServiceStatus",
         $10::"HealthStatus", $11, $12, ${f.lastHeartbeatAt ?? 'NULL'}, ${f.registeredAt ?? 'now()'}, ${f.healthSince ?? 'now()'})`,
      [
        f.slug,
        f.name ?? f.slug,
        f.parent ?? null,
        f.tags ?? [],
        f.dependencies ?? [],
        f.version ?? null,
        f.source ?? 'API',
        f.kind ?? 'SERVICE',
        f.status ?? 'PENDING',
        f.health ?? 'UNKNOWN',
        f.inMaintenance ?? false,
        f.description ?? null,
      ],
    );
  }
}

const slugsOf = (connection: { edges: Array<{ node: { slug: string } }> }) => connection.edges.map((edge) => edge.node.slug);

async function filtered(filter: Record<string, unknown>): Promise<string[]> {
  const data = await registry.client.data(`query($filter: ServiceFilter) { services(first: 100, filter: $filter) { totalCount edges { node { slug } } } }`, {
    filter,
  });
  expect(data.services.totalCount).toBe(data.services.edges.length);
  return slugsOf(data.services);
}

describe('services(filter)', () => {
  beforeAll(async () => {
    const tags = ['flt'];
    await insertServices(registry.database, [
      { slug: 'flt-a', tags, version: '1.2.3', lastHeartbeatAt: "now() - interval '2 hours'" },
      { slug: 'flt-b', tags, version: '1.5.0', source: 'MANIFEST', inMaintenance: true, description: 'Holds the ledger' },
      { slug: 'flt-c', tags, version: '2.0.0', source: 'K8S', parent: 'flt-a', lastHeartbeatAt: "now() - interval '10 minutes'" },
      { slug: 'flt-d', tags, version: 'not-a-version', parent: 'flt-a', lastHeartbeatAt: "now() - interval '5 days'" },
      { slug: 'flt-e', tags, version: null, source: 'CONFIG', lastHeartbeatAt: 'now()' },
      { slug: 'flt-f', tags, version: '1.2.0-beta.1', lastHeartbeatAt: 'now()' },
    ]);
  });

  const scoped = (filter: Record<string, unknown>) => filtered({ and: [{ tag: 'flt' }, filter] });

  it('filters by source, parentSlug and inMaintenance', async () => {
    expect(await scoped({ source: 'MANIFEST' })).toEqual(['flt-b']);
    expect(await scoped({ parentSlug: 'flt-a' })).toEqual(['flt-c', 'flt-d']);
    expect(await scoped({ parentSlug: 'no-such-parent' })).toEqual([]);
    expect(await scoped({ inMaintenance: true })).toEqual(['flt-b']);
    expect(await scoped({ inMaintenance: false })).toEqual(['flt-a', 'flt-c', 'flt-d', 'flt-e', 'flt-f']);
  });

  it('filters by heartbeatOlderThan: before the instant, or never', async () => {
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    expect(await scoped({ heartbeatOlderThan: hourAgo })).toEqual(['flt-a', 'flt-b', 'flt-d']);
  });

  it('filters by semver range; non-semver and missing versions never match, prereleases only when the range says so', async () => {
    expect(await scoped({ versionRange: '>=1.2.0 <2' })).toEqual(['flt-a', 'flt-b']);
    expect(await scoped({ versionRange: '^2' })).toEqual(['flt-c']);
    expect(await scoped({ versionRange: '*' })).toEqual(['flt-a', 'flt-b', 'flt-c']);
    expect(await scoped({ versionRange: '>=1.2.0-beta.0 <1.3.0' })).toEqual(['flt-a', 'flt-f']);
  });

  it('composes with and / or / not, at any depth', async () => {
    expect(await scoped({ and: [{ source: 'API' }, { versionRange: '>=1' }] })).toEqual(['flt-a']);
    expect(await scoped({ or: [{ source: 'MANIFEST' }, { parentSlug: 'flt-a' }] })).toEqual(['flt-b', 'flt-c', 'flt-d']);
    expect(await scoped({ not: { versionRange: '>=1.0.0' } })).toEqual(['flt-d', 'flt-e', 'flt-f']);
    expect(
      await scoped({
        or: [{ and: [{ versionRange: '<2' }, { inMaintenance: false }] }, { not: { or: [{ source: 'API' }, { source: 'MANIFEST' }] } }],
      }),
    ).toEqual(['flt-a', 'flt-c', 'flt-e']);
    // Rows with nulls in the negated column still count as "not matching".
    expect(await scoped({ not: { parentSlug: 'flt-a' } })).toEqual(['flt-a', 'flt-b', 'flt-e', 'flt-f']);
    expect(await scoped({ not: { search: 'holds' } })).toEqual(['flt-a', 'flt-c', 'flt-d', 'flt-e', 'flt-f']);
    expect(await scoped({ or: [] })).toEqual([]);
    expect(await scoped({ not: {} })).toEqual([]);
    expect(await scoped({ or: [{}, { source: 'K8S' }] })).toEqual(['flt-a', 'flt-b', 'flt-c', 'flt-d', 'flt-e', 'flt-f']);
    expect(await scoped({ and: [] })).toEqual(['flt-a', 'flt-b', 'flt-c', 'flt-d', 'flt-e', 'flt-f']);
  });

  it('answers a malformed range with INVALID_INPUT before touching the database', async () => {
    for (const filter of [{ versionRange: '>=1.2.0 <<2' }, { or: [{ kind: 'SERVICE' }, { not: { versionRange: 'not a range' } }] }, { versionRange: '  ' }]) {
      let result: Awaited<ReturnType<TestRegistry['client']['request']>> | undefined;
      const { count } = await registry.countStatements(async () => {
        result = await registry.client.request(`query($filter: ServiceFilter) { services(filter: $filter) { totalCount } }`, { filter });
      });
      expect(result!.errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
      expect(result!.errors?.[0]?.message).toMatch(/malformed version range/);
      expect(count).toBe(0);
    }
  });

  it('costs one extra statement per versionRange, whatever the number of rows', async () => {
    const run = (filter: Record<string, unknown>) =>
      registry.countStatements(() => registry.client.data(`query($filter: ServiceFilter) { services(first: 50, filter: $filter) { totalCount edges { node { slug } } } }`, { filter }));
    const plain = await run({ tag: 'flt' });
    const ranged = await run({ tag: 'flt', versionRange: '>=1' });
    const twoRanges = await run({ or: [{ tag: 'flt', versionRange: '>=1' }, { tag: 'flt', versionRange: '<1' }] });
    expect(plain.count).toBe(2); // page + totalCount
    expect(ranged.count).toBe(3);
    expect(twoRanges.count).toBe(4);
  });
});

describe('services(orderBy) pages by keyset', () => {
  const FIELDS = ['SLUG', 'NAME', 'REGISTERED_AT', 'LAST_HEARTBEAT_AT', 'HEALTH_SINCE'] as const;
  const COLUMN: Record<(typeof FIELDS)[number], string> = {
    SLUG: 'slug',
    NAME: 'name',
    REGISTERED_AT: 'registered_at',
    LAST_HEARTBEAT_AT: 'last_heartbeat_at',
    HEALTH_SINCE: 'health_since',
  };

  beforeAll(async () => {
    // 23 services with many ties in every column and some never-heartbeated ones.
    const words = ['delta', 'alpha', 'charlie', 'bravo'];
    await insertServices(
      registry.database,
      Array.from({ length: 23 }, (_, i) => ({
        slug: `ord-${String((i * 7) % 23).padStart(2, '0')}`,
        name: words[i % 4]!,
        tags: ['ord'],
        registeredAt: `timestamptz '2026-01-01T00:00:00Z' + interval '${i % 5} minutes'`,
        lastHeartbeatAt: i % 3 === 0 ? 'NULL' : `timestamptz '2026-02-01T00:00:00Z' + interval '${i % 4} seconds'`,
        healthSince: `timestamptz '2026-03-01T00:00:00Z' + interval '${(i * 13) % 6} milliseconds'`,
      })),
    );
  });

  /** The order the API promises, as the database itself sorts it: slug breaks ties, nulls last. */
  async function expected(field: (typeof FIELDS)[number], direction: 'ASC' | 'DESC'): Promise<string[]> {
    const rows = await registry.database.query<{ slug: string }>(
      `SELECT slug FROM services WHERE 'ord' = ANY(tags) ORDER BY ${COLUMN[field]} ${direction} NULLS LAST, slug ${direction}`,
    );
    return rows.map((row) => row.slug);
  }

  const PAGE = `query($first: Int, $after: String, $last: Int, $before: String, $orderBy: ServiceOrder) {
    services(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: { tag: "ord" }) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { slug } }
    }
  }`;

  for (const field of FIELDS) {
    for (const direction of ['ASC', 'DESC'] as const) {
      it(`${field} ${direction}: forward and backward pages cover every row once, in order`, async () => {
        const orderBy = { field, direction };
        const forward: string[] = [];
        let after: string | null = null;
        for (let pages = 0; pages < 20; pages++) {
          const { services }: any = await registry.client.data(PAGE, { first: 4, after, orderBy });
          expect(services.totalCount).toBe(23);
          forward.push(...slugsOf(services));
          if (!services.pageInfo.hasNextPage) break;
          after = services.pageInfo.endCursor;
        }
        const want = await expected(field, direction);
        expect(forward).toEqual(want);

        const backward: string[] = [];
        let before: string | null = null;
        for (let pages = 0; pages < 20; pages++) {
          const { services }: any = await registry.client.data(PAGE, { last: 5, before, orderBy });
          backward.unshift(...slugsOf(services));
          if (!services.pageInfo.hasPreviousPage) break;
          before = services.pageInfo.startCursor;
        }
        expect(backward).toEqual(want);
      });
    }
  }

  it('defaults to slug ascending', async () => {
    const { services }: any = await registry.client.data(PAGE, { first: 30 });
    expect(slugsOf(services)).toEqual(await expected('SLUG', 'ASC'));
  });

  it('pages between two cursors', async () => {
    const orderBy = { field: 'LAST_HEARTBEAT_AT', direction: 'DESC' };
    const all: any = await registry.client.data(PAGE, { first: 30, orderBy });
    const edges = all.services.edges;
    const between: any = await registry.client.data(PAGE, { first: 30, after: edges[3].cursor, before: edges[19].cursor, orderBy });
    expect(slugsOf(between.services)).toEqual(slugsOf(all.services).slice(4, 19));
  });

  it('refuses a cursor issued for another ordering, or not issued at all', async () => {
    const first: any = await registry.client.data(PAGE, { first: 2, orderBy: { field: 'NAME', direction: 'ASC' } });
    for (const variables of [
      { first: 2, after: first.services.pageInfo.endCursor, orderBy: { field: 'NAME', direction: 'DESC' } },
      { first: 2, after: 'bm90IGEgY3Vyc29y' },
    ]) {
      const result = await registry.client.request(PAGE, variables);
      expect(result.errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
    }
  });
});

describe('hierarchy and dependency walks', () => {
  beforeAll(async () => {
    await insertServices(registry.database, [
      { slug: 'h-root', tags: ['hier'] },
      { slug: 'h-mid', parent: 'h-root' },
      { slug: 'h-mid2', parent: 'h-root' },
      { slug: 'h-leaf', parent: 'h-mid' },
      { slug: 'h-leaf2', parent: 'h-mid2' },
      { slug: 'h-leaf0', parent: 'h-mid2' },
      // dependencies: web → app → api → db, app → db, app → ghost (unknown)
      { slug: 'd-db' },
      { slug: 'd-api', dependencies: ['d-db'] },
      { slug: 'd-app', dependencies: ['d-api', 'd-ghost', 'd-db'] },
      { slug: 'd-web', dependencies: ['d-app'] },
      // a cycle x → y → z → x, and w outside it needing z
      { slug: 'c-x', dependencies: ['c-y'] },
      { slug: 'c-y', dependencies: ['c-z'] },
      { slug: 'c-z', dependencies: ['c-x'] },
      { slug: 'c-w', dependencies: ['c-z'] },
    ]);
  });

  const one = async (slug: string, selection: string) => (await registry.client.data(`{ service(slug: "${slug}") { ${selection} } }`)).service;
  const slugs = (list: Array<{ slug: string }>) => list.map((service) => service.slug);

  it('lists ancestors nearest first', async () => {
    expect(slugs((await one('h-leaf', 'ancestors { slug }')).ancestors)).toEqual(['h-mid', 'h-root']);
    expect((await one('h-root', 'ancestors { slug }')).ancestors).toEqual([]);
  });

  it('lists descendants level by level, and stops at maxDepth', async () => {
    const root = await one('h-root', 'all: descendants { slug } children: descendants(maxDepth: 1) { slug }');
    expect(slugs(root.all)).toEqual(['h-mid', 'h-mid2', 'h-leaf', 'h-leaf0', 'h-leaf2']);
    expect(slugs(root.children)).toEqual(['h-mid', 'h-mid2']);
    expect(slugs((await one('h-mid2', 'descendants { slug }')).descendants)).toEqual(['h-leaf0', 'h-leaf2']);
    const bad = await registry.client.request(`{ service(slug: "h-root") { descendants(maxDepth: 0) { slug } } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
  });

  it('resolves declared dependencies in declared order, skipping unknown slugs', async () => {
    const app = await one('d-app', 'dependencySlugs dependencies { slug }');
    expect(app.dependencySlugs).toEqual(['d-api', 'd-ghost', 'd-db']);
    expect(slugs(app.dependencies)).toEqual(['d-api', 'd-db']);
  });

  it('lists direct and transitive dependents without duplicates', async () => {
    const db = await one('d-db', 'direct: dependents { slug } all: dependents(transitive: true) { slug }');
    expect(slugs(db.direct)).toEqual(['d-api', 'd-app']);
    expect(slugs(db.all)).toEqual(['d-api', 'd-app', 'd-web']);
    expect(slugs((await one('d-web', 'dependents(transitive: true) { slug }')).dependents)).toEqual([]);
  });

  it('walks transitive dependents around a cycle and stops', async () => {
    const x = await one('c-x', 'direct: dependents { slug } all: dependents(transitive: true) { slug }');
    expect(slugs(x.direct)).toEqual(['c-z']);
    expect(slugs(x.all)).toEqual(['c-w', 'c-y', 'c-z']);
  });

  it('survives a hierarchy loop inserted behind the registry\'s back', async () => {
    await insertServices(registry.database, [{ slug: 'loop-1' }, { slug: 'loop-2', parent: 'loop-1' }]);
    await registry.database.query(`UPDATE services SET parent_id = (SELECT id FROM services WHERE slug = 'loop-2') WHERE slug = 'loop-1'`);
    const loop = await one('loop-1', 'ancestors { slug } descendants { slug }');
    expect(slugs(loop.ancestors)).toEqual(['loop-2']);
    expect(slugs(loop.descendants)).toEqual(['loop-2']);
  });
});

describe('isKnown', () => {
  const IS_KNOWN = `query($slug: String!) { isKnown(slug: $slug) }`;
  const isKnown = async (slug: string) => (await registry.client.data(IS_KNOWN, { slug })).isKnown as boolean;

  it('answers true for a registered slug and false otherwise, from the cache the second time', async () => {
    await insertServices(registry.database, [{ slug: 'known-one' }]);
    expect(await isKnown('known-one')).toBe(true);
    expect(await isKnown('never-registered')).toBe(false);
    const again = await registry.countStatements(async () => {
      expect(await isKnown('known-one')).toBe(true);
      expect(await isKnown('never-registered')).toBe(false);
    });
    expect(again.count).toBe(0);
    // Not even a slug: false without a query.
    const malformed = await registry.countStatements(async () => expect(await isKnown('Not A Slug!')).toBe(false));
    expect(malformed.count).toBe(0);
  });

  it('forgets a cached "unknown" as soon as the slug registers', async () => {
    expect(await isKnown('late-comer')).toBe(false);
    const registered = await registry.client.data(
      `mutation { registerService(input: { slug: "late-comer", name: "Late" }) { __typename ... on RegistryError { code message } } }`,
    );
    expect(registered.registerService.__typename).toBe('RegisterServicePayload');
    expect(await isKnown('late-comer')).toBe(true);
    expect(getServiceCache(registry.runtime.deps).known.stats().invalidations).toBeGreaterThan(0);
  });

  it('keeps one cache per runtime, closed at shutdown and reopened on next use', async () => {
    const deps = registry.runtime.deps;
    const first = getServiceCache(deps);
    expect(getServiceCache(deps)).toBe(first);
    await closeServiceCache(deps);
    await closeServiceCache(deps); // twice is harmless
    const second = getServiceCache(deps);
    expect(second).not.toBe(first);
    // The new cache subscribes again: a registration still evicts a cached "unknown".
    expect(await isKnown('after-reopen')).toBe(false);
    await registry.client.data(`mutation { registerService(input: { slug: "after-reopen", name: "Again" }) { __typename } }`);
    expect(await isKnown('after-reopen')).toBe(true);
  });
});

describe('registryStats and dependencyGraph on a registry of their own', () => {
  let exact: TestRegistry;

  beforeAll(async () => {
    exact = await startTestRegistry({ label: 'discovery_exact', env: ENV });
  });
  afterAll(async () => {
    await exact?.close();
  });

  it('has empty figures on an empty registry', async () => {
    const { registryStats, dependencyGraph } = await exact.client.data(
      `{ registryStats { totalServices liveInstances oldestHeartbeatAgeSeconds transitionsLast24h byHealth { health count } }
         dependencyGraph { startupOrder cycles } }`,
    );
    expect(registryStats).toMatchObject({ totalServices: 0, liveInstances: 0, oldestHeartbeatAgeSeconds: null, transitionsLast24h: 0 });
    expect(registryStats.byHealth.every((entry: { count: number }) => entry.count === 0)).toBe(true);
    expect(dependencyGraph).toEqual({ startupOrder: [], cycles: [] });
  });

  it('counts by kind × status and health, live instances, heartbeat age and recent transitions', async () => {
    await insertServices(exact.database, [
      { slug: 'p1', kind: 'POLLER', status: 'ACTIVE', health: 'UP', lastHeartbeatAt: "now() - interval '90 seconds'" },
      { slug: 'a1', kind: 'AGENT', parent: 'p1', status: 'ACTIVE', health: 'DEGRADED', lastHeartbeatAt: "now() - interval '1 hour'" },
      { slug: 'a2', kind: 'AGENT', parent: 'p1', status: 'INACTIVE', health: 'DOWN' },
      { slug: 's1', status: 'ACTIVE', health: 'UP', lastHeartbeatAt: 'now()' },
      { slug: 's2', status: 'PENDING', health: 'UNKNOWN' },
    ]);
    await exact.database.query(`
      INSERT INTO service_instances (service_id, instance_id, deregistered_at)
      SELECT id, 'i1', NULL::timestamptz FROM services WHERE slug = 'p1'
      UNION ALL SELECT id, 'i2', NULL FROM services WHERE slug = 'p1'
      UNION ALL SELECT id, 'i3', now() FROM services WHERE slug = 'a1'
      UNION ALL SELECT id, 'i4', NULL FROM services WHERE slug = 's1'`);
    await exact.database.query(`
      INSERT INTO registry_events (type, service_slug, at) VALUES
        ('STATUS_CHANGED', 'p1', now() - interval '1 hour'),
        ('HEALTH_CHANGED', 'a1', now() - interval '23 hours'),
        ('ACTIVATED', 's1', now()),
        ('REVOKED', 's2', now() - interval '2 minutes'),
        ('HEALTH_CHANGED', 'a2', now() - interval '25 hours'),
        ('REGISTERED', 's1', now()),
        ('UPDATED', 's1', now())`);

    const { registryStats: stats } = await exact.client.data(`{ registryStats {
      totalServices liveInstances oldestHeartbeatAgeSeconds transitionsLast24h
      byKindStatus { kind status count } byHealth { health count } } }`);
    expect(stats.totalServices).toBe(5);
    expect(stats.liveInstances).toBe(3);
    expect(stats.transitionsLast24h).toBe(4);
    // a1's heartbeat is an hour old, by the database's clock.
    expect(stats.oldestHeartbeatAgeSeconds).toBeGreaterThanOrEqual(3600);
    expect(stats.oldestHeartbeatAgeSeconds).toBeLessThan(3660);
    expect(stats.byKindStatus).toHaveLength(16);
    expect(stats.byKindStatus.filter((entry: { count: number }) => entry.count > 0)).toEqual([
      { kind: 'SERVICE', status: 'PENDING', count: 1 },
      { kind: 'SERVICE', status: 'ACTIVE', count: 1 },
      { kind: 'POLLER', status: 'ACTIVE', count: 1 },
      { kind: 'AGENT', status: 'ACTIVE', count: 1 },
      { kind: 'AGENT', status: 'INACTIVE', count: 1 },
    ]);
    expect(stats.byHealth).toEqual([
      { health: 'UP', count: 2 },
      { health: 'DEGRADED', count: 1 },
      { health: 'UNHEALTHY', count: 0 },
      { health: 'DOWN', count: 1 },
      { health: 'UNKNOWN', count: 1 },
    ]);
    const one = await exact.countStatements(() => exact.client.data(`{ registryStats { totalServices byHealth { count } } }`));
    expect(one.count).toBe(1);
  });

  it('orders start-up by dependencies and reports cycles', async () => {
    await exact.database.query('DELETE FROM service_instances; DELETE FROM services WHERE parent_id IS NOT NULL; DELETE FROM services;');
    await insertServices(exact.database, [
      { slug: 'web', dependencies: ['api', 'auth'] },
      { slug: 'api', dependencies: ['db', 'cache', 'missing'] },
      { slug: 'auth', dependencies: ['db'] },
      { slug: 'db' },
      { slug: 'cache' },
      { slug: 'loop-b', dependencies: ['loop-a'] },
      { slug: 'loop-a', dependencies: ['loop-b', 'db'] },
      { slug: 'after-loop', dependencies: ['loop-a'] },
    ]);
    const { dependencyGraph } = await exact.client.data(`{ dependencyGraph { startupOrder cycles cyclesTruncated } }`);
    expect(dependencyGraph).toEqual({
      startupOrder: ['cache', 'db', 'api', 'auth', 'web', 'loop-a', 'loop-b', 'after-loop'],
      cycles: [['loop-a', 'loop-b']],
      cyclesTruncated: false,
    });
  });
});

describe('batching', () => {
  beforeAll(async () => {
    // 120 services: 12 roots with 9 children each, each child depending on its root and the
    // previous child; every root has two live instances. Slugs sort before every other fixture.
    await registry.database.query(`
      INSERT INTO services (slug, name, tags)
        SELECT '0bulk-' || lpad(r::text, 2, '0'), 'Root ' || r, ARRAY['bulk'] FROM generate_series(0, 11) r;
      INSERT INTO services (slug, name, parent_id, dependencies)
        SELECT '0bulk-' || lpad(r::text, 2, '0') || '-' || c, 'Child',
               (SELECT id FROM services WHERE slug = '0bulk-' || lpad(r::text, 2, '0')),
               ARRAY['0bulk-' || lpad(r::text, 2, '0')] || CASE WHEN c > 1 THEN ARRAY['0bulk-' || lpad(r::text, 2, '0') || '-' || (c - 1)] ELSE ARRAY[]::text[] END
        FROM generate_series(0, 11) r, generate_series(1, 9) c;
      INSERT INTO service_instances (service_id, instance_id)
        SELECT id, slug || '-i' || n FROM services, generate_series(1, 2) n WHERE slug ~ '^0bulk-[0-9]+$';`);
  });

  const LIST = `query($first: Int!) {
    services(first: $first) {
      edges { node { slug instances { instanceId } parent { slug } children { slug } dependencies { slug } dependents { slug } ancestors { slug } } }
    }
  }`;

  async function statementsFor(first: number) {
    let nodes: any[] = [];
    const { count, statements } = await registry.countStatements(async () => {
      nodes = (await registry.client.data(LIST, { first })).services.edges.map((edge: any) => edge.node);
    });
    return { count, statements, nodes };
  }

  it('resolves every nested field of 100 services in as many statements as for 10', async () => {
    const small = await statementsFor(10);
    const large = await statementsFor(100);
    expect(small.nodes).toHaveLength(10);
    expect(large.nodes).toHaveLength(100);
    // The page really exercises every field.
    expect(large.nodes.every((node) => node.slug.startsWith('0bulk-'))).toBe(true);
    expect(large.nodes.filter((node) => node.instances.length === 2).length).toBeGreaterThan(5);
    expect(large.nodes.filter((node) => node.parent !== null && node.ancestors.length === 1).length).toBeGreaterThan(50);
    expect(large.nodes.filter((node) => node.children.length === 9).length).toBeGreaterThan(5);
    expect(large.nodes.filter((node) => node.dependencies.length === 2).length).toBeGreaterThan(50);
    expect(large.nodes.filter((node) => node.dependents.length >= 9).length).toBeGreaterThan(5);
    expect(large.count).toBe(small.count);
    // page, instances, parent, children (one Prisma query with three relation reads),
    // dependencies, dependents, ancestors (walk + rows).
    expect(large.count).toBe(8);
  });

  it('loads the relations of the services these fields return with them, not per row', async () => {
    const query = `query($first: Int!) { services(first: $first) { edges { node { slug
      ancestors { parent { slug } instances { instanceId } }
      dependencies { children { slug } }
      dependents(transitive: true) { parent { slug } dependencies { slug } } } } } }`;
    const small = await registry.countStatements(() => registry.client.data(query, { first: 10 }));
    const large = await registry.countStatements(() => registry.client.data(query, { first: 100 }));
    expect(large.count).toBe(small.count);
    // page; ancestors walk + rows + their parent + instances; dependencies rows + children;
    // transitive walk + rows + parent; the dependents' own dependencies by slug.
    expect(large.count).toBe(11);
  });

  it('keeps descendants and transitive dependents constant too', async () => {
    const query = `query($first: Int!) { services(first: $first) { edges { node { slug descendants { slug } dependents(transitive: true) { slug } } } } }`;
    const small = await registry.countStatements(() => registry.client.data(query, { first: 10 }));
    const large = await registry.countStatements(() => registry.client.data(query, { first: 100 }));
    expect(large.count).toBe(small.count);
    expect(large.count).toBe(5);
  });
});
