import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterServiceInput!) {
    registerService(input: $input) {
      __typename
      ... on RegisterServicePayload { created service { id slug name kind status health source registeredAt revision tags metadata parent { slug } } }
      ... on RegistryError { code message }
      ... on InputError { issues { path message } }
      ... on HierarchyError { rule }
      ... on NotFoundError { resource key }
      ... on PayloadTooLargeError { field limitBytes actualBytes }
    }
  }
`;

let registry: TestRegistry;

beforeAll(async () => {
  registry = await startTestRegistry({ label: 'services' });
});
afterAll(async () => {
  await registry?.close();
});

async function register(input: Record<string, unknown>) {
  const data = await registry.client.data<{ registerService: Record<string, any> }>(REGISTER, { input });
  return data.registerService;
}

async function rowCounts() {
  const [row] = await registry.database.query<{ services: string; events: string }>(
    'SELECT (SELECT count(*) FROM services) AS services, (SELECT count(*) FROM registry_events) AS events',
  );
  return { services: Number(row!.services), events: Number(row!.events) };
}

describe('registerService', () => {
  it('registers a service and records a REGISTERED event', async () => {
    const result = await register({ slug: 'billing-api', name: 'Billing API', tags: ['payments', 'payments'], metadata: { team: 'money' } });
    expect(result.__typename).toBe('RegisterServicePayload');
    expect(result.created).toBe(true);
    expect(result.service).toMatchObject({ slug: 'billing-api', kind: 'SERVICE', status: 'PENDING', health: 'UNKNOWN', source: 'API', tags: ['payments'], metadata: { team: 'money' }, parent: null, revision: 0 });
    const events = await registry.database.query<{ type: string; service_slug: string }>("SELECT type, service_slug FROM registry_events WHERE service_slug = 'billing-api'");
    expect(events).toEqual([
      { type: 'REGISTERED', service_slug: 'billing-api' },
      { type: 'INSTANCE_REGISTERED', service_slug: 'billing-api' },
    ]);
  });

  it('is idempotent for a known slug: updates fields, keeps registeredAt, bumps the revision', async () => {
    const first = await register({ slug: 'ledger', name: 'Ledger', version: '1.0.0', tags: ['core'] });
    const second = await register({ slug: 'ledger', name: 'Ledger v2', version: '1.1.0' });
    expect(second.created).toBe(false);
    expect(second.service.id).toBe(first.service.id);
    expect(second.service.registeredAt).toBe(first.service.registeredAt);
    expect(second.service.name).toBe('Ledger v2');
    expect(second.service.tags).toEqual(['core']);
    expect(second.service.revision).toBe(first.service.revision + 1);
  });

  it('builds the poller → agent → checker hierarchy', async () => {
    await register({ slug: 'poller-1', name: 'Poller', kind: 'POLLER' });
    await register({ slug: 'agent-1', name: 'Agent', kind: 'AGENT', parentSlug: 'poller-1' });
    const checker = await register({ slug: 'checker-1', name: 'Checker', kind: 'CHECKER', parentSlug: 'agent-1' });
    expect(checker.service.parent).toEqual({ slug: 'agent-1' });
  });

  describe('bad input gets a typed error and writes nothing', () => {
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ['bad slug', { slug: 'Bad_Slug', name: 'x' }, { __typename: 'InputError', code: 'INVALID_INPUT' }],
      ['empty name', { slug: 'empty-name', name: '  ' }, { __typename: 'InputError', code: 'INVALID_INPUT' }],
      ['unknown parent', { slug: 'orphan', name: 'x', parentSlug: 'no-such-parent' }, { __typename: 'NotFoundError', code: 'NOT_FOUND', key: 'no-such-parent' }],
      ['agent without poller', { slug: 'lonely-agent', name: 'x', kind: 'AGENT' }, { __typename: 'HierarchyError', rule: 'AGENT_PARENT_MUST_BE_POLLER' }],
      ['checker under poller', { slug: 'bad-checker', name: 'x', kind: 'CHECKER', parentSlug: 'poller-1' }, { __typename: 'HierarchyError', rule: 'CHECKER_PARENT_MUST_BE_AGENT' }],
      ['poller with parent', { slug: 'sub-poller', name: 'x', kind: 'POLLER', parentSlug: 'billing-api' }, { __typename: 'HierarchyError', rule: 'POLLER_HAS_NO_PARENT' }],
      ['service under agent', { slug: 'svc-under-agent', name: 'x', parentSlug: 'agent-1' }, { __typename: 'HierarchyError', rule: 'SERVICE_PARENT_MUST_BE_SERVICE' }],
      ['metadata over 10 KB', { slug: 'fat', name: 'x', metadata: { blob: 'x'.repeat(11_000) } }, { __typename: 'PayloadTooLargeError', code: 'PAYLOAD_TOO_LARGE', field: 'metadata', limitBytes: 10_240 }],
      ['self dependency', { slug: 'selfish', name: 'x', dependencies: ['selfish'] }, { __typename: 'InputError' }],
      ['kind change that strands children', { slug: 'poller-1', name: 'Poller', kind: 'SERVICE' }, { __typename: 'HierarchyError', rule: 'CHILD_KIND_MISMATCH' }],
    ];
    it.each(cases)('%s', async (_label, input, expected) => {
      const before = await rowCounts();
      const result = await register(input);
      expect(result).toMatchObject(expected);
      expect(typeof result.message).toBe('string');
      expect(await rowCounts()).toEqual(before);
    });

    it('lists every problem of an invalid input at once', async () => {
      const result = await register({ slug: '-x', name: '', dependencies: ['UPPER'] });
      expect(result.__typename).toBe('InputError');
      expect(result.issues.map((issue: { path: string }) => issue.path).sort()).toEqual(['dependencies.0', 'name', 'slug']);
    });

    it('rejects a parent that would close a loop in the hierarchy', async () => {
      await register({ slug: 'loop-a', name: 'A' });
      await register({ slug: 'loop-b', name: 'B', parentSlug: 'loop-a' });
      const before = await rowCounts();
      const result = await register({ slug: 'loop-a', name: 'A', parentSlug: 'loop-b' });
      expect(result).toMatchObject({ __typename: 'HierarchyError', rule: 'PARENT_CYCLE' });
      expect(await rowCounts()).toEqual(before);
    });

    it('answers a wrongly typed variable with a GraphQL validation error, not a 500', async () => {
      const result = await registry.client.request(REGISTER, { input: { slug: 'typed', name: 'x', kind: 'MAINFRAME' } });
      expect(result.status).toBe(400);
      expect(result.errors?.[0]?.message).toMatch(/MAINFRAME/);
    });
  });
});

describe('reading services', () => {
  beforeAll(async () => {
    for (let i = 0; i < 12; i++) {
      await register({ slug: `catalog-${String(i).padStart(2, '0')}`, name: `Catalog ${i}`, tags: i % 2 ? ['odd'] : ['even'], description: i === 7 ? 'Holds the SEARCH index' : null });
    }
  });

  it('finds a service by slug, and null for an unknown one', async () => {
    const data = await registry.client.data(`{ known: service(slug: "catalog-03") { slug name } unknown: service(slug: "nope") { slug } }`);
    expect(data).toEqual({ known: { slug: 'catalog-03', name: 'Catalog 3' }, unknown: null });
  });

  it('resolves global ids through node()', async () => {
    const { service } = await registry.client.data(`{ service(slug: "catalog-05") { id } }`);
    const data = await registry.client.data(`query($id: ID!) { node(id: $id) { __typename ... on Service { slug } } }`, { id: service.id });
    expect(data.node).toEqual({ __typename: 'Service', slug: 'catalog-05' });
  });

  it('answers a malformed global id with INVALID_INPUT', async () => {
    for (const id of ['not-base64!!', Buffer.from('Service:not-a-uuid').toString('base64')]) {
      const result = await registry.client.request(`query($id: ID!) { node(id: $id) { id } }`, { id });
      expect(result.errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
    }
  });

  it('pages through services with a cursor and a total count', async () => {
    const query = `query($after: String) { services(first: 5, after: $after, filter: { search: "catalog" }) { totalCount pageInfo { hasNextPage endCursor } edges { node { slug } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const { services }: any = await registry.client.data(query, { after });
      expect(services.totalCount).toBe(12);
      seen.push(...services.edges.map((edge: any) => edge.node.slug));
      after = services.pageInfo.hasNextPage ? services.pageInfo.endCursor : null;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `catalog-${String(i).padStart(2, '0')}`));
  });

  it('filters by kind, status, health, tag and search', async () => {
    const count = async (filter: string) => (await registry.client.data(`{ services(filter: ${filter}) { totalCount } }`)).services.totalCount;
    expect(await count('{ kind: POLLER }')).toBe(1);
    expect(await count('{ kind: AGENT }')).toBe(1);
    expect(await count('{ tag: "odd", search: "catalog" }')).toBe(6);
    expect(await count('{ search: "search index" }')).toBe(1);
    expect(await count('{ status: ACTIVE }')).toBe(0);
    expect(await count('{ health: UNKNOWN, search: "catalog-1" }')).toBe(2);
  });
});
