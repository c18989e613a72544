/** Networks from manifests: ordered members, stored manifest and checksum, health rollup. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importManifest, manifestOf, outcomes, tableCounts } from './testkit/manifests.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

let registry: TestRegistry;
beforeAll(async () => {
  registry = await startTestRegistry({ label: 'networks' });
});
afterAll(async () => {
  await registry?.close();
});

const NETWORK = /* GraphQL */ `
  query N($slug: String!) {
    network(slug: $slug) {
      slug name description moduleId checksum manifest metadata
      members { position serviceSlug service { slug kind } }
      healthRollup { total up degraded unhealthy down unknown status }
    }
  }
`;
const network = async (slug: string) => (await registry.client.data(NETWORK, { slug })).network;

const services = [{ slug: 'net-db' }, { slug: 'net-api', dependencies: ['net-db'] }, { slug: 'net-web', dependencies: ['net-api'] }];

describe('networks', () => {
  it('are created with members in launch order, updated in place, and removed with the manifest entry', async () => {
    const first = await importManifest(
      registry,
      manifestOf('netmod', services, { networks: [{ slug: 'shop', name: 'Shop', members: ['net-db', 'net-api', 'net-web'], metadata: { tier: 1 } }] }),
    );
    expect(outcomes(first)['network:shop']).toBe('CREATED');
    expect(first.networks).toEqual({ created: 1, updated: 0, unchanged: 0, removed: 0 });
    const created = await network('shop');
    expect(created).toMatchObject({ slug: 'shop', name: 'Shop', moduleId: 'netmod', metadata: { tier: 1 }, manifest: { slug: 'shop', members: ['net-db', 'net-api', 'net-web'] } });
    expect(created.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(created.members.map((member: any) => [member.position, member.service.slug])).toEqual([
      [0, 'net-db'],
      [1, 'net-api'],
      [2, 'net-web'],
    ]);

    const same = await importManifest(
      registry,
      manifestOf('netmod', services, { networks: [{ slug: 'shop', name: 'Shop', members: ['net-db', 'net-api', 'net-web'], metadata: { tier: 1 } }] }),
    );
    expect(outcomes(same)['network:shop']).toBe('UNCHANGED');

    const reordered = await importManifest(
      registry,
      manifestOf('netmod', services, { networks: [{ slug: 'shop', name: 'Shop', members: ['net-web', 'net-db'] }, { slug: 'shop-lite', name: 'Lite', members: ['net-api'] }] }),
    );
    expect(outcomes(reordered)).toMatchObject({ 'network:shop': 'UPDATED', 'network:shop-lite': 'CREATED' });
    const updated = await network('shop');
    expect(updated.members.map((member: any) => member.serviceSlug)).toEqual(['net-web', 'net-db']);
    expect(updated.checksum).not.toBe(created.checksum);
    const [changedEvents] = await registry.database.query("SELECT count(*)::int AS n FROM registry_events WHERE type = 'NETWORK_CHANGED'");
    expect(changedEvents!.n).toBe(3);

    const dropped = await importManifest(registry, manifestOf('netmod', services, { networks: [{ slug: 'shop-lite', name: 'Lite', members: ['net-api'] }] }));
    expect(outcomes(dropped)['network:shop']).toBe('REMOVED');
    expect(await network('shop')).toBeNull();
  });

  it('refuses members that name no service, listing each, and writes nothing', async () => {
    const before = await tableCounts(registry);
    const result = await importManifest(
      registry,
      manifestOf('netbad', [{ slug: 'netbad-a' }], { networks: [{ slug: 'bad-net', name: 'Bad', members: ['netbad-a', 'ghost-1', 'ghost-2'] }] }),
    );
    expect(result).toMatchObject({ __typename: 'InputError', message: 'unknown network members: ghost-1, ghost-2' });
    expect(result.issues.map((issue: { path: string }) => issue.path)).toEqual(['networks.0.members.1', 'networks.0.members.2']);
    expect(await tableCounts(registry)).toEqual(before);
  });

  it('refuses a network slug another module owns', async () => {
    await importManifest(registry, manifestOf('net-owner', [{ slug: 'own-a' }], { networks: [{ slug: 'owned-net', name: 'O', members: ['own-a'] }] }));
    const result = await importManifest(registry, manifestOf('net-thief', [{ slug: 'thief-a' }], { networks: [{ slug: 'owned-net', name: 'T', members: ['thief-a'] }] }));
    expect(result).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  });

  it('rolls up member health in one statement for a whole page of networks', async () => {
    const members = ['rl-1', 'rl-2', 'rl-3', 'rl-4'];
    await importManifest(
      registry,
      manifestOf('rollup', members.map((slug) => ({ slug })), {
        networks: [
          { slug: 'rollup-mixed', name: 'Mixed', members },
          { slug: 'rollup-up', name: 'Up', members: ['rl-1', 'rl-2'] },
          { slug: 'rollup-down', name: 'Down', members: ['rl-4'] },
        ],
      }),
    );
    await registry.database.query("UPDATE services SET health = 'UP' WHERE slug IN ('rl-1', 'rl-2')");
    await registry.database.query("UPDATE services SET health = 'UNHEALTHY' WHERE slug = 'rl-3'");
    await registry.database.query("UPDATE services SET health = 'DOWN' WHERE slug = 'rl-4'");
    expect((await network('rollup-mixed')).healthRollup).toEqual({ total: 4, up: 2, degraded: 0, unhealthy: 1, down: 1, unknown: 0, status: 'DEGRADED' });
    expect((await network('rollup-up')).healthRollup.status).toBe('UP');
    expect((await network('rollup-down')).healthRollup.status).toBe('DOWN');

    const query = '{ networks(first: 50) { totalCount edges { node { slug healthRollup { total status } members { position service { slug } } } } } }';
    const { count, statements } = await registry.countStatements(() => registry.client.data(query));
    expect(statements.filter((sql) => sql.includes('service_network_members') && sql.includes('count('))).toHaveLength(1);
    expect(count).toBeLessThanOrEqual(6);
    const page = (await registry.client.data(query)).networks;
    expect(page.edges.map((edge: any) => edge.node.slug)).toEqual([...page.edges.map((edge: any) => edge.node.slug)].sort());
  });
});
