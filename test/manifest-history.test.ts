/** Reading manifests back: connection, modules, imports, diffs, and rollback to an earlier import. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importManifest, manifestOf, outcomes } from './testkit/manifests.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

let registry: TestRegistry;
beforeAll(async () => {
  registry = await startTestRegistry({ label: 'manifest_history' });
});
afterAll(async () => {
  await registry?.close();
});

const ROLLBACK = /* GraphQL */ `
  mutation Rollback($moduleId: String!, $toImportId: String!) {
    rollbackManifest(moduleId: $moduleId, toImportId: $toImportId) {
      __typename
      ... on ImportManifestPayload { importId rollbackOfId items { slug kind outcome version } services { created updated unchanged removed } }
      ... on RegistryError { code message }
    }
  }
`;

describe('rollback', () => {
  it('re-imports the payloads active after an earlier import as a new import', async () => {
    const first = await importManifest(registry, manifestOf('rb', [{ slug: 'rb-a', description: 'one' }, { slug: 'rb-b' }]));
    await importManifest(registry, manifestOf('rb', [{ slug: 'rb-a', description: 'two' }, { slug: 'rb-c' }], { version: '2.0.0' }));
    const { rollbackManifest: result } = await registry.client.data(ROLLBACK, { moduleId: 'rb', toImportId: first.importId });
    expect(result.__typename).toBe('ImportManifestPayload');
    expect(result.rollbackOfId).toBe(first.importId);
    expect(outcomes(result)).toEqual({ 'rb-a': 'UPDATED v3', 'rb-b': 'CREATED v2', 'rb-c': 'REMOVED v1' });
    const active = await registry.database.query(
      "SELECT service_slug, version, module_version, payload->>'description' AS description FROM service_manifests WHERE module_id = 'rb' AND superseded_at IS NULL ORDER BY service_slug",
    );
    expect(active).toEqual([
      { service_slug: 'rb-a', version: 3, module_version: '1.0.0', description: 'one' },
      { service_slug: 'rb-b', version: 2, module_version: '1.0.0', description: null },
    ]);
    const [row] = await registry.database.query('SELECT rollback_of_id, updated, created, removed FROM manifest_imports WHERE id = $1', [result.importId]);
    expect(row).toEqual({ rollback_of_id: first.importId, updated: 1, created: 1, removed: 1 });
    const events = await registry.database.query("SELECT details->>'rollbackOfId' AS of FROM registry_events WHERE type = 'MANIFEST_ROLLED_BACK'");
    expect(events).toEqual([{ of: first.importId }]);
    const { service } = await registry.client.data('{ service(slug: "rb-a") { description manifest { version } } }');
    expect(service).toEqual({ description: 'one', manifest: { version: 3 } });
  });

  it('answers NotFoundError for an import of another module or an unknown id', async () => {
    const other = await importManifest(registry, manifestOf('rb-other', [{ slug: 'rbo-a' }]));
    for (const toImportId of [other.importId, '00000000-0000-0000-0000-000000000000', 'not-a-uuid']) {
      const { rollbackManifest: result } = await registry.client.data(ROLLBACK, { moduleId: 'rb', toImportId });
      expect(result).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    }
  });
});

describe('manifestDiff', () => {
  it('lists field-level changes between two versions', async () => {
    await importManifest(registry, manifestOf('diff', [{ slug: 'diff-a', tags: ['x', 'y'], metadata: { team: 'a', keep: 1 }, healthCheck: { url: 'http://a/' } }]));
    await importManifest(registry, manifestOf('diff', [{ slug: 'diff-a', tags: ['x'], metadata: { team: 'b', keep: 1 }, description: 'new' }]));
    const { manifestDiff } = await registry.client.data(/* GraphQL */ `
      {
        manifestDiff(slug: "diff-a", fromVersion: 1, toVersion: 2) {
          __typename
          ... on ManifestDiff { slug moduleId fromVersion toVersion changes { path before after } }
        }
      }
    `);
    expect(manifestDiff).toMatchObject({ __typename: 'ManifestDiff', moduleId: 'diff', fromVersion: 1, toVersion: 2 });
    expect(manifestDiff.changes).toEqual([
      { path: 'description', before: null, after: 'new' },
      { path: 'healthCheck', before: { url: 'http://a/' }, after: null },
      { path: 'metadata.team', before: 'a', after: 'b' },
      { path: 'tags.1', before: 'y', after: null },
    ]);
    const missing = await registry.client.data('{ manifestDiff(slug: "diff-a", fromVersion: 1, toVersion: 9) { __typename ... on NotFoundError { key } } }');
    expect(missing.manifestDiff).toEqual({ __typename: 'NotFoundError', key: 'diff-a@9' });
  });
});

describe('queries', () => {
  it('manifests: active by default, history on request, paged', async () => {
    await importManifest(registry, manifestOf('paged', [{ slug: 'pg-a' }, { slug: 'pg-b' }, { slug: 'pg-c' }]));
    await importManifest(registry, manifestOf('paged', [{ slug: 'pg-a', description: 'x' }, { slug: 'pg-b' }, { slug: 'pg-c' }]));
    const QUERY = /* GraphQL */ `
      query M($filter: ManifestFilter, $after: String) {
        manifests(filter: $filter, first: 2, after: $after) {
          totalCount
          pageInfo { hasNextPage endCursor }
          edges { node { serviceSlug version active import { moduleId } service { slug } } }
        }
      }
    `;
    const active = (await registry.client.data(QUERY, { filter: { moduleId: 'paged' } })).manifests;
    expect(active.totalCount).toBe(3);
    expect(active.edges.map((edge: any) => `${edge.node.serviceSlug}@${edge.node.version}`)).toEqual(['pg-a@2', 'pg-b@1']);
    const next = (await registry.client.data(QUERY, { filter: { moduleId: 'paged' }, after: active.pageInfo.endCursor })).manifests;
    expect(next.edges.map((edge: any) => edge.node.serviceSlug)).toEqual(['pg-c']);
    const all = (await registry.client.data(QUERY, { filter: { moduleId: 'paged', serviceSlug: 'pg-a', includeSuperseded: true } })).manifests;
    expect(all.edges.map((edge: any) => [edge.node.version, edge.node.active])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(all.edges[0].node).toMatchObject({ import: { moduleId: 'paged' }, service: { slug: 'pg-a' } });
  });

  it('modules and imports', async () => {
    await importManifest(registry, manifestOf('modq', [{ slug: 'modq-a' }, { slug: 'modq-b' }]));
    await importManifest(registry, manifestOf('modq', [{ slug: 'modq-a' }], { version: '1.1.0' }));
    const data = await registry.client.request(
      /* GraphQL */ `
        {
          modules { id versions activeServiceCount lastImport { moduleVersion actor removed } }
          imports(moduleId: "modq", first: 5) { totalCount edges { node { moduleVersion actor created unchanged removed format vars { key } } } }
        }
      `,
      undefined,
      { 'x-actor': 'alice' },
    );
    const module = (data.data as any).modules.find((entry: { id: string }) => entry.id === 'modq');
    expect(module).toEqual({ id: 'modq', versions: ['1.0.0', '1.1.0'], activeServiceCount: 1, lastImport: { moduleVersion: '1.1.0', actor: null, removed: 1 } });
    const imports = (data.data as any).imports;
    expect(imports.totalCount).toBe(2);
    expect(imports.edges.map((edge: any) => edge.node)).toEqual([
      { moduleVersion: '1.1.0', actor: null, created: 0, unchanged: 1, removed: 1, format: 'JSON', vars: [] },
      { moduleVersion: '1.0.0', actor: null, created: 2, unchanged: 0, removed: 0, format: 'JSON', vars: [] },
    ]);
  });

  it('records the actor of an import', async () => {
    const input = { moduleId: 'actor-mod', moduleVersion: '1.0.0', source: JSON.stringify(manifestOf('actor-mod', [{ slug: 'actor-a' }])), format: 'JSON' };
    const result = await registry.client.request(
      'mutation($input: ImportManifestInput!) { importManifest(input: $input) { ... on ImportManifestPayload { import { actor } } } }',
      { input },
      { 'x-actor': 'alice' },
    );
    expect((result.data as any).importManifest.import.actor).toBe('alice');
  });

  it('Service.manifest and manifestHistory load for a whole list in a bounded number of statements', async () => {
    await importManifest(registry, manifestOf('batch', Array.from({ length: 12 }, (_, index) => ({ slug: `batch-${index}` }))));
    const query = '{ services(first: 50, filter: { search: "batch-" }) { edges { node { slug manifest { version } manifestHistory { version } } } } }';
    const { count } = await registry.countStatements(() => registry.client.data(query));
    expect(count).toBeLessThanOrEqual(6);
  });
});
