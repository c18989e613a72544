import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

let registry: TestRegistry;
beforeAll(async () => {
  registry = await startTestRegistry({ label: 'admin' });
});
afterAll(async () => {
  await registry?.close();
});

const gql = (query: string, variables?: Record<string, unknown>) => registry.client.data(query, variables);
const asAdmin = (query: string, variables?: Record<string, unknown>) => registry.client.request(query, variables, { 'x-actor': 'ops:alice' });
const counts = async () =>
  (await registry.database.query('SELECT (SELECT count(*)::int FROM services) s, (SELECT count(*)::int FROM service_instances WHERE deregistered_at IS NULL) i, (SELECT count(*)::int FROM registry_events) e'))[0];

describe('updateServiceStatus', () => {
  it('overrides the status and records actor, reason and cause', async () => {
    await gql(`mutation { registerService(input: { slug: "override-me", name: "O" }) { __typename } }`);
    const result = await asAdmin(
      `mutation { updateServiceStatus(slug: "override-me", status: REVOKED, reason: "compromised key") { __typename ... on Service { status previousStatus statusSince revision } } }`,
    );
    expect(result.data?.updateServiceStatus).toMatchObject({ __typename: 'Service', status: 'REVOKED', previousStatus: 'PENDING', revision: 1 });
    const [event] = await registry.database.query("SELECT type, from_value, to_value, cause, actor, details FROM registry_events WHERE service_slug = 'override-me' AND type = 'REVOKED'");
    expect(event).toEqual({ type: 'REVOKED', from_value: 'PENDING', to_value: 'REVOKED', cause: 'ADMIN_OVERRIDE', actor: 'ops:alice', details: { reason: 'compromised key' } });
    // Re-activated by an admin, the service takes heartbeats again.
    await asAdmin(`mutation { updateServiceStatus(slug: "override-me", status: ACTIVE) { __typename } }`);
    const ack = await gql(`mutation { heartbeat(input: { slug: "override-me", instanceId: "o-1" }) { __typename } }`);
    expect(ack.heartbeat.__typename).toBe('HeartbeatAck');
  });

  it('answers an unknown slug with NOT_FOUND and writes nothing', async () => {
    const before = await counts();
    const result = await gql(`mutation { updateServiceStatus(slug: "ghost", status: ACTIVE) { __typename ... on NotFoundError { code resource key } } }`);
    expect(result.updateServiceStatus).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND', resource: 'service', key: 'ghost' });
    expect(await counts()).toEqual(before);
  });
});

describe('deregistration', () => {
  it('deregisters an instance and re-derives service health', async () => {
    await gql(`mutation { heartbeat(input: { slug: "pair", instanceId: "p1" }) { __typename } }`);
    await gql(`mutation { heartbeat(input: { slug: "pair", instanceId: "p2", status: UNHEALTHY }) { __typename } }`);
    expect((await gql(`{ service(slug: "pair") { health } }`)).service.health).toBe('DEGRADED');
    const result = await asAdmin(`mutation { deregisterInstance(slug: "pair", instanceId: "p2") { __typename ... on ServiceInstance { instanceId deregisteredAt } } }`);
    expect(result.data?.deregisterInstance.deregisteredAt).toBeTruthy();
    expect((await gql(`{ service(slug: "pair") { health instances { instanceId } } }`)).service).toEqual({ health: 'UP', instances: [{ instanceId: 'p1' }] });
  });

  it('answers an unknown instance with NOT_FOUND and writes nothing', async () => {
    const before = await counts();
    const result = await gql(`mutation { deregisterInstance(slug: "pair", instanceId: "nope") { __typename ... on RegistryError { code } } }`);
    expect(result.deregisterInstance).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    expect(await counts()).toEqual(before);
  });

  it('deregisters a service but keeps its audit trail; refuses protected services and parents', async () => {
    await gql(`mutation { registerService(input: { slug: "short-lived", name: "S" }) { __typename } }`);
    const gone = await asAdmin(`mutation { deregisterService(slug: "short-lived") { __typename ... on DeregisteredService { slug } } }`);
    expect(gone.data?.deregisterService).toEqual({ __typename: 'DeregisteredService', slug: 'short-lived' });
    expect((await gql(`{ service(slug: "short-lived") { slug } }`)).service).toBeNull();
    const trail = await registry.database.query("SELECT type, service_id FROM registry_events WHERE service_slug = 'short-lived' ORDER BY id");
    expect(trail.map((row) => row.type)).toEqual(['REGISTERED', 'INSTANCE_REGISTERED', 'DEREGISTERED']);
    expect(trail.every((row) => row.service_id === null)).toBe(true);

    await gql(`mutation { registerService(input: { slug: "keep-me", name: "K", protected: true }) { __typename } }`);
    await gql(`mutation { registerService(input: { slug: "parent-svc", name: "P" }) { __typename } }`);
    await gql(`mutation { registerService(input: { slug: "child-svc", name: "C", parentSlug: "parent-svc" }) { __typename } }`);
    const before = await counts();
    expect((await gql(`mutation { deregisterService(slug: "keep-me") { __typename ... on RegistryError { code } } }`)).deregisterService).toEqual({ __typename: 'NotAllowedError', code: 'NOT_ALLOWED' });
    expect((await gql(`mutation { deregisterService(slug: "parent-svc") { __typename ... on HierarchyError { rule } } }`)).deregisterService).toEqual({ __typename: 'HierarchyError', rule: 'HAS_CHILDREN' });
    expect(await counts()).toEqual(before);
  });
});

describe('setMaintenance', () => {
  it('flags the service, records the change and clears it again', async () => {
    await gql(`mutation { registerService(input: { slug: "under-repair", name: "U" }) { __typename } }`);
    const on = await asAdmin(`mutation { setMaintenance(slug: "under-repair", enabled: true, reason: "disk swap") { ... on Service { inMaintenance maintenanceReason maintenanceSince } } }`);
    expect(on.data?.setMaintenance).toMatchObject({ inMaintenance: true, maintenanceReason: 'disk swap' });
    expect(on.data?.setMaintenance.maintenanceSince).toBeTruthy();
    const off = await asAdmin(`mutation { setMaintenance(slug: "under-repair", enabled: false) { ... on Service { inMaintenance maintenanceReason maintenanceSince } } }`);
    expect(off.data?.setMaintenance).toEqual({ inMaintenance: false, maintenanceReason: null, maintenanceSince: null });
    const events = await registry.database.query("SELECT from_value, to_value, actor FROM registry_events WHERE type = 'MAINTENANCE_CHANGED' ORDER BY id");
    expect(events).toEqual([
      { from_value: 'false', to_value: 'true', actor: 'ops:alice' },
      { from_value: 'true', to_value: 'false', actor: 'ops:alice' },
    ]);
  });

  it('refuses an over-long reason', async () => {
    const result = await gql(`mutation($r: String) { setMaintenance(slug: "under-repair", enabled: true, reason: $r) { __typename ... on RegistryError { code } } }`, { r: 'x'.repeat(1001) });
    expect(result.setMaintenance).toEqual({ __typename: 'InputError', code: 'INVALID_INPUT' });
  });
});
