/** importManifest: outcomes and versions, formats, placeholders, refusals that write nothing, dry runs, races. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importManifest, manifestOf, outcomes, tableCounts } from './testkit/manifests.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

let registry: TestRegistry;
beforeAll(async () => {
  registry = await startTestRegistry({ label: 'manifests' });
});
afterAll(async () => {
  await registry?.close();
});

const SERVICE = /* GraphQL */ `
  query Service($slug: String!) {
    service(slug: $slug) {
      slug kind source moduleId description tags dependencySlugs revision parent { slug }
      manifest { version moduleVersion active checksum payload supersededAt }
      manifestHistory { version active supersededAt payload }
    }
  }
`;
const service = async (slug: string) => (await registry.client.data(SERVICE, { slug })).service;

// Children listed before their parents: the import orders them.
const hierarchy = (p: string) => [
  { slug: `${p}-check`, kind: 'CHECKER' as const, parent: `${p}-agent` },
  { slug: `${p}-agent`, kind: 'AGENT' as const, parent: `${p}-poller` },
  { slug: `${p}-poller`, kind: 'POLLER' as const, healthCheck: { url: 'http://poller:8080/healthz', intervalSeconds: 10 } },
  { slug: `${p}-web`, dependencies: [`${p}-db`], tags: ['ui'] },
  { slug: `${p}-db`, description: 'database' },
];

describe('outcomes and versions', () => {
  it('creates, updates (superseding and keeping the old row), leaves identical payloads alone, and retires what left', async () => {
    const first = await importManifest(registry, manifestOf('lifecycle', hierarchy('lc')));
    expect(first.__typename).toBe('ImportManifestPayload');
    expect(outcomes(first)).toEqual({
      'lc-check': 'CREATED v1',
      'lc-agent': 'CREATED v1',
      'lc-poller': 'CREATED v1',
      'lc-web': 'CREATED v1',
      'lc-db': 'CREATED v1',
    });
    expect(first.services).toEqual({ created: 5, updated: 0, unchanged: 0, removed: 0 });
    const poller = await service('lc-poller');
    expect(poller).toMatchObject({ kind: 'POLLER', source: 'MANIFEST', moduleId: 'lifecycle', manifest: { version: 1, active: true, moduleVersion: '1.0.0' } });
    expect((await service('lc-check')).parent.slug).toBe('lc-agent');
    const [check] = await registry.database.query(
      "SELECT h.url, h.interval_seconds FROM health_checks h JOIN services s ON s.id = h.service_id WHERE s.slug = 'lc-poller'",
    );
    expect(check).toEqual({ url: 'http://poller:8080/healthz', interval_seconds: 10 });
    const [importRow] = await registry.database.query('SELECT * FROM manifest_imports WHERE id = $1', [first.importId]);
    expect(importRow).toMatchObject({ module_id: 'lifecycle', created: 5, updated: 0, format: 'JSON' });
    const events = await registry.database.query("SELECT service_slug, details FROM registry_events WHERE type = 'MANIFEST_IMPORTED' AND details->>'importId' = $1", [
      first.importId,
    ]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ service_slug: null, details: { moduleId: 'lifecycle', services: { created: 5, updated: 0, unchanged: 0, removed: 0 } } });

    const changed = hierarchy('lc').map((entry) => (entry.slug === 'lc-db' ? { ...entry, description: 'primary database' } : entry));
    const second = await importManifest(registry, manifestOf('lifecycle', changed));
    expect(outcomes(second)).toMatchObject({ 'lc-db': 'UPDATED v2', 'lc-web': 'UNCHANGED v1', 'lc-poller': 'UNCHANGED v1' });
    const db = await service('lc-db');
    expect(db.description).toBe('primary database');
    expect(db.manifest.version).toBe(2);
    expect(db.manifestHistory.map((row: { version: number; active: boolean }) => [row.version, row.active])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(db.manifestHistory[1].supersededAt).not.toBeNull();

    const before = await tableCounts(registry);
    const revisions = await registry.database.query("SELECT slug, revision FROM services WHERE slug LIKE 'lc-%' ORDER BY slug");
    const third = await importManifest(registry, manifestOf('lifecycle', changed));
    expect(third.changed).toBe(false);
    expect(third.services).toEqual({ created: 0, updated: 0, unchanged: 5, removed: 0 });
    const after = await tableCounts(registry);
    expect(after.manifests).toBe(before.manifests);
    expect(after.services).toBe(before.services);
    expect(await registry.database.query("SELECT slug, revision FROM services WHERE slug LIKE 'lc-%' ORDER BY slug")).toEqual(revisions);

    const fourth = await importManifest(registry, manifestOf('lifecycle', changed.filter((entry) => entry.slug !== 'lc-web')));
    expect(outcomes(fourth)['lc-web']).toBe('REMOVED v1');
    const web = await service('lc-web');
    expect(web).toMatchObject({ source: 'MANIFEST', moduleId: 'lifecycle', manifest: null });
    expect(web.manifestHistory).toEqual([expect.objectContaining({ version: 1, active: false })]);
  });

  it('treats a new module version as a change of owner version: one active row per module and service', async () => {
    await importManifest(registry, manifestOf('versioned', [{ slug: 'ver-a' }, { slug: 'ver-b' }]));
    const next = await importManifest(registry, manifestOf('versioned', [{ slug: 'ver-a', description: 'v2' }, { slug: 'ver-b' }], { version: '2.0.0' }));
    expect(outcomes(next)).toEqual({ 'ver-a': 'UPDATED v2', 'ver-b': 'UNCHANGED v1' });
    const active = await registry.database.query(
      "SELECT service_slug, module_version, version FROM service_manifests WHERE module_id = 'versioned' AND superseded_at IS NULL ORDER BY service_slug",
    );
    expect(active).toEqual([
      { service_slug: 'ver-a', module_version: '2.0.0', version: 2 },
      { service_slug: 'ver-b', module_version: '1.0.0', version: 1 },
    ]);
  });

  it('accepts YAML, and the same services in YAML are unchanged from their JSON import', async () => {
    const yaml = [
      'schemaVersion: 1',
      'id: yamlmod',
      'version: "1.0.0"',
      'services:',
      '  - slug: yaml-api',
      '    name: API',
      '    tags: [api, public]',
      '    metadata:',
      '      owner: team-a',
      '  - slug: yaml-worker',
      '    name: Worker',
      '    dependencies: [yaml-api]',
      '',
    ].join('\n');
    const fromYaml = await importManifest(registry, yaml, { moduleId: 'yamlmod', moduleVersion: '1.0.0', format: 'YAML' });
    expect(outcomes(fromYaml)).toEqual({ 'yaml-api': 'CREATED v1', 'yaml-worker': 'CREATED v1' });
    expect((await service('yaml-worker')).dependencySlugs).toEqual(['yaml-api']);
    const asJson = manifestOf('yamlmod', [
      { slug: 'yaml-worker', name: 'Worker', dependencies: ['yaml-api'] },
      { metadata: { owner: 'team-a' }, tags: ['api', 'public'], name: 'API', slug: 'yaml-api' },
    ]);
    const again = await importManifest(registry, asJson);
    expect(again.services).toEqual({ created: 0, updated: 0, unchanged: 2, removed: 0 });
  });

  it('refuses a manifest for another module or version than the input names', async () => {
    const result = await importManifest(registry, manifestOf('named', [{ slug: 'named-a' }]), { moduleId: 'other', moduleVersion: '9' });
    expect(result.__typename).toBe('InputError');
    expect(result.issues.map((issue: { path: string }) => issue.path)).toEqual(['moduleId', 'moduleVersion']);
  });

  it('refuses to take over a service another module manages', async () => {
    await importManifest(registry, manifestOf('owner-a', [{ slug: 'owned-svc' }]));
    const result = await importManifest(registry, manifestOf('owner-b', [{ slug: 'free-svc' }, { slug: 'owned-svc' }]));
    expect(result).toMatchObject({ __typename: 'InputError', issues: [{ path: 'services.1.slug', message: 'managed by module owner-a' }] });
  });
});

describe('placeholders', () => {
  const withPlaceholders = (id: string) =>
    manifestOf(
      id,
      [
        {
          slug: `${id}-svc`,
          description: 'host=${HOST} port=${PORT:-8080} scheme=${SCHEME:-http} literal=$${HOST}',
          healthCheck: { url: '${SCHEME:-http}://${HOST}:${PORT:-8080}/healthz' },
        },
      ],
      { defaults: { HOST: 'default-host', PORT: '9000' } },
    );

  it('resolves vars first, then module defaults, then inline defaults', async () => {
    const result = await importManifest(registry, withPlaceholders('ph-one'), { vars: [{ key: 'HOST', value: 'from-vars' }] });
    expect(result.__typename).toBe('ImportManifestPayload');
    expect((await service('ph-one-svc')).description).toBe('host=from-vars port=9000 scheme=http literal=${HOST}');
    const [check] = await registry.database.query("SELECT url FROM health_checks h JOIN services s ON s.id = h.service_id WHERE s.slug = 'ph-one-svc'");
    expect(check!.url).toBe('http://from-vars:9000/healthz');
    const [importRow] = await registry.database.query('SELECT vars FROM manifest_imports WHERE id = $1', [result.importId]);
    expect(importRow!.vars).toEqual([{ key: 'HOST', value: 'from-vars' }]);
  });

  it('lists every missing key in one InputError and writes nothing', async () => {
    const before = await tableCounts(registry);
    const manifest = manifestOf('ph-missing', [
      { slug: 'ph-missing-a', description: '${ALPHA} and ${BETA}', healthCheck: { url: 'http://${GAMMA}/' } },
      { slug: 'ph-missing-b', tags: ['${ALPHA}', '${DELTA:-fine}'] },
    ]);
    const result = await importManifest(registry, manifest);
    expect(result.__typename).toBe('InputError');
    expect(result.message).toContain('ALPHA, BETA, GAMMA');
    expect(result.message).not.toContain('DELTA');
    expect(result.issues).toEqual(
      expect.arrayContaining([
        { path: 'services.0.description', message: 'no value for placeholder ALPHA' },
        { path: 'services.1.tags.0', message: 'no value for placeholder ALPHA' },
        { path: 'services.0.description', message: 'no value for placeholder BETA' },
        { path: 'services.0.healthCheck.url', message: 'no value for placeholder GAMMA' },
      ]),
    );
    expect(await tableCounts(registry)).toEqual(before);
  });
});

describe('refusals write nothing', () => {
  const refuse = async (manifest: Record<string, unknown> | string, args: Parameters<typeof importManifest>[2] = {}) => {
    const before = await tableCounts(registry);
    const result = await importManifest(registry, manifest, args);
    expect(await tableCounts(registry)).toEqual(before);
    return result;
  };

  it('malformed JSON: line and column', async () => {
    const source = '{\n  "schemaVersion": 1,\n  "id": "broken"\n  "version": "1"\n}';
    const result = await refuse(source, { moduleId: 'broken', moduleVersion: '1' });
    expect(result.__typename).toBe('InputError');
    expect(result.message).toMatch(/^malformed JSON at line 4, column 3: /);
    expect(result.issues).toEqual([{ path: 'source:4:3', message: expect.any(String) }]);
  });

  it('truncated JSON: reported at the end', async () => {
    const result = await refuse('{\n  "id": "x",\n', { moduleId: 'x', moduleVersion: '1' });
    expect(result.message).toMatch(/line 3, column 1/);
  });

  it('malformed YAML: line and column', async () => {
    const source = 'schemaVersion: 1\nid: broken\nservices:\n  - slug: a\n    name: [unclosed\n';
    const result = await refuse(source, { moduleId: 'broken', moduleVersion: '1', format: 'YAML' });
    expect(result.__typename).toBe('InputError');
    expect(result.message).toMatch(/^malformed YAML at line \d+, column \d+: /);
    expect(result.issues[0].path).toMatch(/^source:\d+:\d+$/);
    const duplicate = await refuse('id: a\nid: b\n', { moduleId: 'a', moduleVersion: '1', format: 'YAML' });
    expect(duplicate.issues[0].path).toBe('source:2:1');
  });

  it('schema violations: every path with its reason', async () => {
    const result = await refuse({
      schemaVersion: 2,
      id: 'Bad Id',
      version: '1',
      services: [
        { slug: 'Not_A_Slug', name: '' },
        { slug: 'ok-one', name: 'ok', kind: 'GATEWAY', healthCheck: { url: 'ftp://x', intervalSeconds: 0 }, surprise: true },
        { slug: 'ok-one', name: 'duplicate' },
      ],
      networks: [{ slug: 'n', name: 'n', members: [] }],
    }, { moduleId: 'bad', moduleVersion: '1' });
    expect(result.__typename).toBe('InputError');
    const paths = result.issues.map((issue: { path: string }) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'schemaVersion',
        'id',
        'services.0.slug',
        'services.0.name',
        'services.1.kind',
        'services.1.healthCheck.url',
        'services.1.healthCheck.intervalSeconds',
        'services.1',
        'networks.0.members',
      ]),
    );
  });

  it('duplicate slugs in one manifest', async () => {
    const result = await refuse(manifestOf('dups', [{ slug: 'dup-a' }, { slug: 'dup-a' }]));
    expect(result).toMatchObject({ __typename: 'InputError', issues: [{ path: 'services.1.slug', message: 'dup-a is already declared at services.0' }] });
  });

  it('source over 1 MB: PayloadTooLargeError', async () => {
    const big = JSON.stringify(manifestOf('big', [{ slug: 'big-a', description: 'x'.repeat(1_048_600) }]));
    const result = await refuse(big, { moduleId: 'big', moduleVersion: '1.0.0' });
    expect(result).toMatchObject({ __typename: 'PayloadTooLargeError', code: 'PAYLOAD_TOO_LARGE', field: 'source', limitBytes: 1_048_576 });
  });

  it('more than 5,000 services', async () => {
    const services = Array.from({ length: 5_001 }, (_, index) => ({ slug: `m${index}`, name: 'm' }));
    const result = await refuse(JSON.stringify({ schemaVersion: 1, id: 'many', version: '1', services }), { moduleId: 'many', moduleVersion: '1' });
    expect(result).toMatchObject({ __typename: 'InputError', issues: [{ path: 'services', message: 'at most 5000 services per import (got 5001)' }] });
  });

  it('a hierarchy violation inside the manifest: HierarchyError, even after earlier services registered', async () => {
    const result = await refuse(manifestOf('hier', [{ slug: 'hier-poller', kind: 'POLLER' }, { slug: 'hier-check', kind: 'CHECKER', parent: 'hier-poller' }]));
    expect(result).toMatchObject({ __typename: 'HierarchyError', rule: 'CHECKER_PARENT_MUST_BE_AGENT' });
    expect(result.message).toContain('services.1 (hier-check)');
  });

  it('parents forming a loop', async () => {
    const result = await refuse(manifestOf('loop', [{ slug: 'loop-a', parent: 'loop-b' }, { slug: 'loop-b', parent: 'loop-a' }]));
    expect(result).toMatchObject({ __typename: 'HierarchyError', rule: 'PARENT_CYCLE' });
  });

  it('unknown parents and dependencies: all listed', async () => {
    const result = await refuse(manifestOf('unknown', [{ slug: 'unk-a', parent: 'nowhere' }, { slug: 'unk-b', dependencies: ['unk-a', 'ghost'] }]));
    expect(result).toMatchObject({ __typename: 'InputError' });
    expect(result.issues).toEqual([
      { path: 'services.0.parent', message: 'no service has slug nowhere' },
      { path: 'services.1.dependencies.1', message: 'no service has slug ghost' },
    ]);
  });

  it('a dependency cycle inside the manifest: DependencyCycleError', async () => {
    const result = await refuse(manifestOf('depcycle', [{ slug: 'dc-a', dependencies: ['dc-b'] }, { slug: 'dc-b', dependencies: ['dc-a'] }]));
    expect(result.__typename).toBe('DependencyCycleError');
    expect(result.cycle[0]).toBe(result.cycle[result.cycle.length - 1]);
  });

  it('metadata over the limit: PayloadTooLargeError with the service path', async () => {
    const result = await refuse(manifestOf('fat', [{ slug: 'fat-a', metadata: { blob: 'x'.repeat(11_000) } }]));
    expect(result).toMatchObject({ __typename: 'PayloadTooLargeError', field: 'services.0.metadata' });
  });
});

describe('dry run', () => {
  it('reports what would happen and writes nothing', async () => {
    const before = await tableCounts(registry);
    const result = await importManifest(registry, manifestOf('dry', hierarchy('dry')), { dryRun: true });
    expect(result).toMatchObject({ __typename: 'ImportManifestPayload', dryRun: true, importId: null, services: { created: 5 } });
    expect(await tableCounts(registry)).toEqual(before);
    expect(await service('dry-poller')).toBeNull();
  });
});

describe('concurrent imports of one module', () => {
  it('serialise: every call gets a typed result, one active row per service, versions without gaps', async () => {
    const variant = (n: number) => manifestOf('racy', [{ slug: 'racy-a', description: `v${n % 3}` }, { slug: 'racy-b' }, { slug: `racy-extra-${n % 2}` }]);
    const results = await Promise.all(Array.from({ length: 8 }, (_, n) => importManifest(registry, variant(n))));
    for (const result of results) expect(result.__typename).toBe('ImportManifestPayload');
    const duplicates = await registry.database.query(
      "SELECT service_slug FROM service_manifests WHERE module_id = 'racy' AND superseded_at IS NULL GROUP BY service_slug HAVING count(*) > 1",
    );
    expect(duplicates).toEqual([]);
    const versions = await registry.database.query<{ versions: number[] }>(
      "SELECT array_agg(version ORDER BY version) AS versions FROM service_manifests WHERE module_id = 'racy' AND service_slug = 'racy-a'",
    );
    const list = versions[0]!.versions;
    expect(list).toEqual(Array.from({ length: list.length }, (_, index) => index + 1));
    const [imports] = await registry.database.query("SELECT count(*)::int AS n FROM manifest_imports WHERE module_id = 'racy'");
    expect(imports!.n).toBe(8);
  });
});
