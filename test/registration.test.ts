/** registerService with instances and dependencies; operator actions. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterServiceInput!) {
    registerService(input: $input) {
      __typename
      ... on RegisterServicePayload {
        created warnings
        service { slug registeredAt dependencySlugs protected }
        instance { instanceId ttlSeconds deregisterAfterSeconds host interfaces { type endpoint } registeredAt expiresAt }
      }
      ... on RegistryError { code message }
      ... on InputError { issues { path message } }
      ... on DependencyCycleError { cycle }
      ... on HierarchyError { rule }
    }
  }
`;

let registry: TestRegistry;
let warnRegistry: TestRegistry;
beforeAll(async () => {
  [registry, warnRegistry] = await Promise.all([
    startTestRegistry({ label: 'registration' }),
    startTestRegistry({ label: 'registration_warn', env: { DEPENDENCY_VALIDATION: 'warn' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([registry?.close(), warnRegistry?.close()]);
});

const register = async (input: Record<string, unknown>, on = registry) => (await on.client.data(REGISTER, { input })).registerService;
const counts = async () =>
  (
    await registry.database.query<{ s: number; i: number; e: number }>(
      'SELECT (SELECT count(*)::int FROM services) s, (SELECT count(*)::int FROM service_instances) i, (SELECT count(*)::int FROM registry_events) e',
    )
  )[0];

describe('instances', () => {
  it('generates an instance id when absent and returns it', async () => {
    const result = await register({ slug: 'gen-id', name: 'G' });
    expect(result.instance.instanceId).toMatch(/^gen-id-[0-9a-f]{12}$/);
    expect(result.instance.ttlSeconds).toBe(30);
  });

  it('stores interfaces, TTL and host; the same instance re-registering refreshes it', async () => {
    const first = await register({
      slug: 'api-gw',
      name: 'Gateway',
      instanceId: 'gw-1',
      ttlSeconds: 15,
      host: 'node-a',
      interfaces: [{ type: 'rest', endpoint: 'http://a:8080' }, { type: 'GRAPHQL', endpoint: 'http://a:8080/graphql' }],
    });
    expect(first.instance.interfaces).toEqual([{ type: 'GRAPHQL', endpoint: 'http://a:8080/graphql' }, { type: 'REST', endpoint: 'http://a:8080' }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const again = await register({ slug: 'api-gw', name: 'Gateway', instanceId: 'gw-1', ttlSeconds: 20, interfaces: [{ type: 'GRPC', endpoint: 'a:9090' }] });
    expect(again.created).toBe(false);
    expect(again.instance).toMatchObject({ instanceId: 'gw-1', ttlSeconds: 20, host: 'node-a', interfaces: [{ type: 'GRPC', endpoint: 'a:9090' }], registeredAt: first.instance.registeredAt });
    expect(new Date(again.instance.expiresAt).getTime()).toBeGreaterThan(new Date(first.instance.expiresAt).getTime());
    const [row] = await registry.database.query<{ n: number }>("SELECT count(*)::int AS n FROM service_instances WHERE instance_id = 'gw-1'");
    expect(row!.n).toBe(1);
    const events = await registry.database.query("SELECT type FROM registry_events WHERE service_slug = 'api-gw' ORDER BY id");
    expect(events.map((event) => event.type)).toEqual(['REGISTERED', 'INSTANCE_REGISTERED', 'UPDATED']);
  });
});

describe('dependencies', () => {
  it('requires every dependency to exist, listing the unknown ones', async () => {
    await register({ slug: 'db', name: 'DB' });
    const before = await counts();
    const result = await register({ slug: 'needs-stuff', name: 'N', dependencies: ['db', 'cache', 'queue'] });
    expect(result).toMatchObject({ __typename: 'InputError', code: 'INVALID_INPUT' });
    expect(result.issues).toEqual([
      { path: 'dependencies.1', message: 'no service has slug cache' },
      { path: 'dependencies.2', message: 'no service has slug queue' },
    ]);
    expect(await counts()).toEqual(before);
  });

  it('accepts unknown dependencies with a warning under DEPENDENCY_VALIDATION=warn', async () => {
    const result = await register({ slug: 'optimist', name: 'O', dependencies: ['not-yet'] }, warnRegistry);
    expect(result.__typename).toBe('RegisterServicePayload');
    expect(result.warnings).toEqual(['dependency not-yet is not registered']);
    expect(result.service.dependencySlugs).toEqual(['not-yet']);
  });

  it('rejects a registration that would close a dependency cycle, naming the cycle', async () => {
    await register({ slug: 'cyc-a', name: 'A' });
    await register({ slug: 'cyc-b', name: 'B', dependencies: ['cyc-a'] });
    await register({ slug: 'cyc-c', name: 'C', dependencies: ['cyc-b'] });
    const before = await counts();
    const result = await register({ slug: 'cyc-a', name: 'A', dependencies: ['cyc-c'] });
    expect(result).toMatchObject({ __typename: 'DependencyCycleError', code: 'DEPENDENCY_CYCLE', cycle: ['cyc-a', 'cyc-c', 'cyc-b', 'cyc-a'] });
    expect(result.message).toContain('cyc-a → cyc-c → cyc-b → cyc-a');
    expect(await counts()).toEqual(before);
  });

  it('serialises racing registrations so that together they cannot form a cycle', async () => {
    await register({ slug: 'race-x', name: 'X' });
    await register({ slug: 'race-y', name: 'Y' });
    const results = await Promise.all([
      register({ slug: 'race-x', name: 'X', dependencies: ['race-y'] }),
      register({ slug: 'race-y', name: 'Y', dependencies: ['race-x'] }),
    ]);
    expect(results.map((result) => result.__typename).sort()).toEqual(['DependencyCycleError', 'RegisterServicePayload']);
  });
});

describe('bad instance input writes nothing', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['negative TTL', { slug: 'neg-ttl', name: 'x', ttlSeconds: -5 }, 'ttlSeconds'],
    ['zero TTL', { slug: 'zero-ttl', name: 'x', ttlSeconds: 0 }, 'ttlSeconds'],
    ['auto-deregistration under 60 s', { slug: 'quick-dereg', name: 'x', deregisterAfterSeconds: 30 }, 'deregisterAfterSeconds'],
    ['bad instance id', { slug: 'bad-inst', name: 'x', instanceId: '../etc' }, 'instanceId'],
    ['duplicate interface type', { slug: 'dup-if', name: 'x', interfaces: [{ type: 'REST', endpoint: 'a' }, { type: 'rest', endpoint: 'b' }] }, 'interfaces'],
    ['bad interface type', { slug: 'bad-if', name: 'x', interfaces: [{ type: '1nope', endpoint: 'a' }] }, 'interfaces.0.type'],
  ];
  it.each(cases)('%s', async (_label, input, path) => {
    const before = await counts();
    const result = await register(input);
    expect(result.__typename).toBe('InputError');
    expect(result.issues.map((issue: { path: string }) => issue.path)).toContain(path);
    expect(await counts()).toEqual(before);
  });
});
