import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

let registry: TestRegistry;
beforeAll(async () => {
  registry = await startTestRegistry({ label: 'impact' });
  const register = (input: string) => registry.client.data(`mutation { registerService(input: { ${input} }) { __typename ... on RegistryError { message } } }`);
  await register('slug: "im-poller", name: "P", kind: POLLER');
  await register('slug: "im-agent", name: "A", kind: AGENT, parentSlug: "im-poller"');
  await register('slug: "im-checker-1", name: "C1", kind: CHECKER, parentSlug: "im-agent"');
  await register('slug: "im-checker-2", name: "C2", kind: CHECKER, parentSlug: "im-agent"');
  await register('slug: "im-dashboard", name: "D", dependencies: ["im-agent"]');
  await register('slug: "im-reports", name: "R", dependencies: ["im-dashboard"]');
});
afterAll(async () => {
  await registry?.close();
});

it('lists the subtree and the transitive dependents of a service', async () => {
  const data = await registry.client.data(`{
    agent: impact(slug: "im-agent") { service { slug } subtree { slug } dependents { slug } affectedCount }
    poller: impact(slug: "im-poller") { subtree { slug } dependents { slug } affectedCount }
    unknown: impact(slug: "im-nothing") { affectedCount }
  }`);
  expect(data.agent).toEqual({
    service: { slug: 'im-agent' },
    subtree: [{ slug: 'im-checker-1' }, { slug: 'im-checker-2' }],
    dependents: [{ slug: 'im-dashboard' }, { slug: 'im-reports' }],
    affectedCount: 4,
  });
  expect(data.poller).toEqual({ subtree: [{ slug: 'im-agent' }, { slug: 'im-checker-1' }, { slug: 'im-checker-2' }], dependents: [], affectedCount: 3 });
  expect(data.unknown).toBeNull();
});
