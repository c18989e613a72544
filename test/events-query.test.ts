/** Reading the audit trail through GraphQL over HTTP: RegistryEvent nodes, connections, filters. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

let registry: TestRegistry;
/** Above 2^53: a sequence that a JavaScript number would corrupt. */
const BIG = 9_007_199_254_740_993n;

beforeAll(async () => {
  registry = await startTestRegistry({ label: 'events_query', env: { LIFECYCLE_JOBS_ENABLED: 'false', MONITOR_ENABLED: 'false' } });
  await registry.database.query(`
    INSERT INTO services (slug, name) VALUES ('ev-alpha', 'Alpha'), ('ev-beta', 'Beta'), ('ev-gone', 'Gone');
    SELECT setval(pg_get_serial_sequence('registry_events', 'id'), ${BIG - 1n});
    -- 30 events: alpha gets every third type change, beta the rest; one per minute, oldest first.
    INSERT INTO registry_events (type, service_id, service_slug, instance_id, from_value, to_value, cause, actor, details, revision, at)
    SELECT (ARRAY['REGISTERED','STATUS_CHANGED','HEALTH_CHANGED'])[1 + n % 3]::"RegistryEventType",
           s.id, s.slug, CASE WHEN n % 5 = 0 THEN 'inst-' || n END,
           'from-' || n, 'to-' || n,
           CASE WHEN n % 3 = 2 THEN 'PROBE_FAILED'::"TransitionCause" END,
           'tester', json_build_object('n', n)::jsonb, n,
           timestamptz '2026-05-01T00:00:00Z' + n * interval '1 minute'
    FROM generate_series(0, 29) n
    JOIN services s ON s.slug = CASE WHEN n % 3 = 0 THEN 'ev-alpha' ELSE 'ev-beta' END
    ORDER BY n;
    INSERT INTO registry_events (type, service_id, service_slug, at)
    SELECT 'DEREGISTERED', id, slug, timestamptz '2026-05-02T00:00:00Z' FROM services WHERE slug = 'ev-gone';
    DELETE FROM services WHERE slug = 'ev-gone';`);
});
afterAll(async () => {
  await registry?.close();
});

async function allSequences(where = 'true'): Promise<string[]> {
  const rows = await registry.database.query<{ id: string }>(`SELECT id::text AS id FROM registry_events WHERE ${where} ORDER BY id DESC`);
  return rows.map((row) => row.id);
}

const EVENTS = `query($first: Int, $after: String, $last: Int, $before: String, $filter: RegistryEventFilter) {
  events(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id sequence type serviceSlug } }
  }
}`;

async function pageAll(variables: Record<string, unknown>, size = 7): Promise<string[]> {
  const seen: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const { events }: any = await registry.client.data(EVENTS, { ...variables, first: size, after });
    seen.push(...events.edges.map((edge: any) => edge.node.sequence));
    if (!events.pageInfo.hasNextPage) break;
    after = events.pageInfo.endCursor;
  }
  return seen;
}

describe('events', () => {
  it('pages newest first with id cursors: no duplicates, no gaps', async () => {
    const seen = await pageAll({});
    expect(seen).toEqual(await allSequences());
    expect(seen).toHaveLength(31);
    expect(seen[seen.length - 1]).toBe(BIG.toString());
  });

  it('pages backwards with last/before', async () => {
    const seen: string[] = [];
    let before: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const { events }: any = await registry.client.data(EVENTS, { last: 6, before });
      seen.unshift(...events.edges.map((edge: any) => edge.node.sequence));
      if (!events.pageInfo.hasPreviousPage) break;
      before = events.pageInfo.startCursor;
    }
    expect(seen).toEqual(await allSequences());
  });

  it('uses the sequence as cursor, so any sequence can be paged from', async () => {
    const all = await allSequences();
    const { events }: any = await registry.client.data(EVENTS, { first: 3, after: all[9] });
    expect(events.edges.map((edge: any) => edge.cursor)).toEqual(all.slice(10, 13));
    const bad = await registry.client.request(EVENTS, { first: 3, after: 'not-a-sequence' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
  });

  it('filters by types, slug and since, alone and together', async () => {
    expect(await pageAll({ filter: { types: ['STATUS_CHANGED', 'HEALTH_CHANGED'] } })).toEqual(
      await allSequences(`type IN ('STATUS_CHANGED', 'HEALTH_CHANGED')`),
    );
    expect(await pageAll({ filter: { slug: 'ev-alpha' } })).toEqual(await allSequences(`service_slug = 'ev-alpha'`));
    expect(await pageAll({ filter: { since: '2026-05-01T00:20:00Z' } })).toEqual(await allSequences(`at >= '2026-05-01T00:20:00Z'`));
    const combined = await pageAll({ filter: { types: ['REGISTERED'], slug: 'ev-alpha', since: '2026-05-01T00:10:00Z' } }, 3);
    expect(combined).toEqual(await allSequences(`type = 'REGISTERED' AND service_slug = 'ev-alpha' AND at >= '2026-05-01T00:10:00Z'`));
    expect(combined.length).toBeGreaterThan(3);
    expect(await pageAll({ filter: { types: [] } })).toEqual([]);
  });

  it('exposes every field, the sequence exactly, and the service while it exists', async () => {
    const { events } = await registry.client.data(`{ events(last: 1) { edges { node {
      sequence type service { slug } serviceSlug instanceId from to cause actor details revision at } } } }`);
    expect(events.edges[0].node).toEqual({
      sequence: BIG.toString(),
      type: 'REGISTERED',
      service: { slug: 'ev-alpha' },
      serviceSlug: 'ev-alpha',
      instanceId: 'inst-0',
      from: 'from-0',
      to: 'to-0',
      cause: null,
      actor: 'tester',
      details: { n: 0 },
      revision: 0,
      at: '2026-05-01T00:00:00.000Z',
    });
    const gone = await registry.client.data(`{ events(first: 1) { edges { node { type service { slug } serviceSlug cause } } } }`);
    expect(gone.events.edges[0].node).toEqual({ type: 'DEREGISTERED', service: null, serviceSlug: 'ev-gone', cause: null });
  });

  it('resolves RegistryEvent global ids through node(), and refuses malformed ones', async () => {
    const { events } = await registry.client.data(`{ events(last: 1) { edges { node { id sequence } } } }`);
    const { id, sequence } = events.edges[0].node;
    const found = await registry.client.data(`query($id: ID!) { node(id: $id) { __typename ... on RegistryEvent { sequence } } }`, { id });
    expect(found.node).toEqual({ __typename: 'RegistryEvent', sequence });
    const bad = await registry.client.request(`query($id: ID!) { node(id: $id) { id } }`, { id: Buffer.from('RegistryEvent:12x').toString('base64') });
    expect(bad.errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
  });
});

describe('Service.events', () => {
  const SERVICE_EVENTS = `query($slug: String!, $first: Int, $after: String) {
    service(slug: $slug) { events(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { sequence serviceSlug } } } }
  }`;

  it('pages one service\'s trail newest first', async () => {
    for (const slug of ['ev-alpha', 'ev-beta']) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const { service }: any = await registry.client.data(SERVICE_EVENTS, { slug, first: 4, after });
        expect(service.events.edges.every((edge: any) => edge.node.serviceSlug === slug)).toBe(true);
        seen.push(...service.events.edges.map((edge: any) => edge.node.sequence));
        if (!service.events.pageInfo.hasNextPage) break;
        after = service.events.pageInfo.endCursor;
      }
      expect(seen).toEqual(await allSequences(`service_slug = '${slug}'`));
    }
    const oldest: any = await registry.client.data(`{ service(slug: "ev-alpha") { events(last: 2) { edges { node { sequence } } } } }`);
    expect(oldest.service.events.edges.map((edge: any) => edge.node.sequence)).toEqual((await allSequences(`service_slug = 'ev-alpha'`)).slice(-2));
  });

  it('loads the trails of a whole page of services in constant statements', async () => {
    await registry.database.query(`
      INSERT INTO services (slug, name) SELECT 'evb-' || lpad(n::text, 3, '0'), 'Bulk' FROM generate_series(1, 60) n;
      INSERT INTO registry_events (type, service_id, service_slug)
        SELECT 'UPDATED', s.id, s.slug FROM services s, generate_series(1, 4) WHERE s.slug LIKE 'evb-%';`);
    const query = `query($first: Int!) { services(first: $first, filter: { search: "evb-" }) {
      edges { node { slug events(first: 2) { edges { node { sequence type service { slug } } } } } } } }`;
    const counted = async (first: number) => {
      let nodes: any[] = [];
      const { count } = await registry.countStatements(async () => {
        nodes = (await registry.client.data(query, { first })).services.edges.map((edge: any) => edge.node);
      });
      return { count, nodes };
    };
    const small = await counted(5);
    const large = await counted(60);
    expect(large.nodes).toHaveLength(60);
    expect(large.nodes.every((node) => node.events.edges.length === 2 && node.events.edges[0].node.service.slug === node.slug)).toBe(true);
    expect(large.count).toBe(small.count);
    // services page, which events (one LATERAL read), those events, the events' service.
    expect(large.count).toBe(4);
  });
});
