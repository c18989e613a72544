/** Subscriptions over real sockets (graphql-ws, graphql-sse) against a registry on the in-process bus. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOW_SUBSCRIBER_CLOSE_CODE } from '../src/graphql/ws.js';
import { sharedSubscriptions } from '../src/registry/subscriptions/shared-execution.js';
import { IMPORT, manifestOf } from './testkit/manifests.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';
import { until } from './testkit/wait.js';
import { lastSequence, listening, liveSubscribers, sleep, sseSubscribe, wsClient, type WsHandle, floodEvents } from './testkit/subscriptions.js';

let registry: TestRegistry;
let ws: WsHandle;

beforeAll(async () => {
  registry = await startTestRegistry({ label: 'subscriptions' });
  ws = wsClient(registry);
});
afterAll(async () => {
  await ws?.client.dispose();
  await registry?.close();
});

const BEATS = /* GraphQL */ `
  mutation Beats($input: [HeartbeatInput!]!) { heartbeats(input: $input) { __typename ... on HeartbeatBatchPayload { accepted } } }
`;
const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterServiceInput!) { registerService(input: $input) { __typename } }
`;
const HEARTBEATS = /* GraphQL */ `
  subscription Beats($filter: HeartbeatSubscriptionFilter) {
    heartbeats(filter: $filter) { __typename ... on HeartbeatEvent { slug instanceId kind parentSlug health beats transitioned } ... on SubscriptionResync { reason } }
  }
`;
const EVENTS = /* GraphQL */ `
  subscription Events($types: [RegistryEventType!], $after: String) {
    registryEvents(types: $types, after: $after) { sequence type serviceSlug }
  }
`;

const beats = (input: Array<Record<string, unknown>>) => registry.client.data(BEATS, { input });
const register = (slug: string, extra: Record<string, unknown> = {}) => registry.client.data(REGISTER, { input: { slug, name: slug, ...extra } });

async function registeredSequences(after: string, prefix: string): Promise<string[]> {
  const rows = await registry.database.query<{ id: string }>(
    "SELECT id::text AS id FROM registry_events WHERE id > $1::bigint AND type = 'REGISTERED' AND service_slug LIKE $2 ORDER BY registry_events.id",
    [after, `${prefix}%`],
  );
  return rows.map((row) => row.id);
}

describe('heartbeats', () => {
  it('sends each subscriber the heartbeats matching its filter, steady ones coalesced per instance', async () => {
    await register('hb-poller', { kind: 'POLLER' });
    await register('hb-agent', { kind: 'AGENT', parentSlug: 'hb-poller' });
    const under = ws.subscribe(HEARTBEATS, { filter: { parentSlug: 'hb-poller' } });
    const agents = sseSubscribe(registry, HEARTBEATS, { filter: { kind: 'AGENT', slug: 'hb-agent' } });
    const plain = ws.subscribe(HEARTBEATS, { filter: { slug: 'hb-plain' } });
    await listening(registry, 'heartbeats', 3);

    // First beats register the instances: sent at once, as transitions.
    await beats([{ slug: 'hb-agent', instanceId: 'a-1' }, { slug: 'hb-plain', instanceId: 'p-1' }]);
    await under.waitFor(1);
    await sleep(50);
    // Five steady beats of one instance in one window: one event.
    await beats(Array.from({ length: 5 }, () => ({ slug: 'hb-agent', instanceId: 'a-1' })));
    await under.waitFor(2);
    await agents.waitFor(2);
    await plain.waitFor(1);
    await sleep(400); // a window later: nothing more
    expect(under.items).toEqual([
      { __typename: 'HeartbeatEvent', slug: 'hb-agent', instanceId: 'a-1', kind: 'AGENT', parentSlug: 'hb-poller', health: 'UP', beats: 1, transitioned: true },
      { __typename: 'HeartbeatEvent', slug: 'hb-agent', instanceId: 'a-1', kind: 'AGENT', parentSlug: 'hb-poller', health: 'UP', beats: 5, transitioned: false },
    ]);
    expect(agents.items).toEqual(under.items);
    expect(plain.items).toEqual([expect.objectContaining({ slug: 'hb-plain', kind: 'SERVICE', parentSlug: null, transitioned: true })]);
    for (const received of [under, agents, plain]) received.dispose();
  });
});

describe('serviceStatusChanged, healthChanged, manifestImported', () => {
  it('derive from registry events, filtered by slug, kind and module', async () => {
    await register('st-agent-parent', { kind: 'POLLER' });
    const statusByKind = ws.subscribe(
      `subscription($filter: ServiceChangeFilter) { serviceStatusChanged(filter: $filter) { __typename ... on ServiceStatusChange { slug kind from to cause actor type sequence } } }`,
      { filter: { kind: 'AGENT' } },
    );
    const healthBySlug = sseSubscribe(
      registry,
      `subscription($filter: ServiceChangeFilter) { healthChanged(filter: $filter) { __typename ... on HealthChange { slug kind scope instanceId from to cause snapshot { status cause source version instance { instanceId } } } } }`,
      { filter: { slug: 'st-agent' } },
    );
    const imports = ws.subscribe(
      `subscription($moduleId: String) { manifestImported(moduleId: $moduleId) { __typename ... on ManifestImportedEvent { moduleId moduleVersion services { created updated unchanged removed } networks { created } } } }`,
      { moduleId: 'mod-live' },
    );
    await listening(registry, 'events', 3);

    await beats([{ slug: 'st-agent', instanceId: 'x-1', kind: 'AGENT', parentSlug: 'st-agent-parent' }]);
    await beats([{ slug: 'st-other', instanceId: 'o-1' }]);
    await registry.client.data(`mutation { updateServiceStatus(slug: "st-agent", status: INACTIVE, reason: "test") { __typename } }`);
    await registry.client.data(`mutation { updateServiceStatus(slug: "st-other", status: INACTIVE) { __typename } }`);
    await beats([{ slug: 'st-agent', instanceId: 'x-1', status: 'DOWN' }]);
    for (const id of ['mod-other', 'mod-live']) {
      const manifest = manifestOf(id, [{ slug: `${id}-svc` }]);
      const result = await registry.client.data(IMPORT, { input: { moduleId: id, moduleVersion: '1.0.0', format: 'JSON', source: JSON.stringify(manifest) } });
      expect(result.importManifest.__typename).toBe('ImportManifestPayload');
    }

    const statuses = await statusByKind.waitFor(3);
    await sleep(200);
    expect(statuses.map((s) => [s.slug, s.kind, s.type, s.from, s.to])).toEqual([
      ['st-agent', 'AGENT', 'ACTIVATED', 'PENDING', 'ACTIVE'],
      ['st-agent', 'AGENT', 'STATUS_CHANGED', 'ACTIVE', 'INACTIVE'],
      ['st-agent', 'AGENT', 'STATUS_CHANGED', 'INACTIVE', 'ACTIVE'],
    ]);
    expect(statuses[1]).toMatchObject({ cause: 'ADMIN_OVERRIDE' });

    const health = await healthBySlug.waitFor(4);
    expect(health.every((h) => h.slug === 'st-agent' && h.kind === 'AGENT')).toBe(true);
    expect(health.map((h) => [h.scope, h.from, h.to])).toEqual([
      ['INSTANCE', 'UNKNOWN', 'UP'],
      ['SERVICE', 'UNKNOWN', 'UP'],
      ['INSTANCE', 'UP', 'DOWN'],
      ['SERVICE', 'UP', 'DOWN'],
    ]);
    expect(health[0].instanceId).toBe('x-1');
    // Each carries the snapshot its transition wrote: the instance's reading, then the service's.
    expect(health.map((h) => [h.snapshot.status, h.snapshot.cause, h.snapshot.source, h.snapshot.instance?.instanceId ?? null])).toEqual([
      ['UP', 'HEARTBEAT_RECEIVED', 'HEARTBEAT', 'x-1'],
      ['UP', 'HEARTBEAT_RECEIVED', 'HEARTBEAT', null],
      ['DOWN', 'HEARTBEAT_RECEIVED', 'HEARTBEAT', 'x-1'],
      ['DOWN', 'HEARTBEAT_RECEIVED', 'HEARTBEAT', null],
    ]);
    const stored = await registry.database.query<{ version: number; status: string; instance_id: string | null }>(
      "SELECT h.version, h.status, h.instance_id::text AS instance_id FROM service_health_snapshots h JOIN services s ON s.id = h.service_id WHERE s.slug = 'st-agent' ORDER BY h.version",
    );
    expect(health.map((h) => [h.snapshot.version, h.snapshot.status])).toEqual(stored.map((row) => [row.version, row.status]));

    const [imported] = await imports.waitFor(1);
    await sleep(100);
    expect(imports.items).toHaveLength(1);
    expect(imported).toEqual({
      __typename: 'ManifestImportedEvent',
      moduleId: 'mod-live',
      moduleVersion: '1.0.0',
      services: { created: 1, updated: 0, unchanged: 0, removed: 0 },
      networks: { created: 0 },
    });
    for (const received of [statusByKind, healthBySlug, imports]) received.dispose();
  });
});

describe('registryEvents', () => {
  it('replays what was written while the client was away, then goes live, without gap or duplicate', async () => {
    const start = await lastSequence(registry);
    for (let i = 0; i < 5; i++) await register(`re-before-${i}`);
    // Writers keep writing while the subscription replays and switches to live.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing && i < 200; i++) await register(`re-during-${i}`);
    })();
    await sleep(30);
    const sse = sseSubscribe(registry, EVENTS, { types: ['REGISTERED'], after: start });
    const overWs = ws.subscribe(EVENTS, { types: ['REGISTERED'], after: start });
    await sleep(300);
    writing = false;
    await writer;
    for (let i = 0; i < 5; i++) await register(`re-after-${i}`);

    const expected = await registeredSequences(start, 're-');
    for (const received of [sse, overWs]) {
      await received.waitFor(expected.length);
      await sleep(100);
      const sequences = received.items.map((event) => event.sequence);
      expect(sequences).toEqual(expected);
      expect(received.items.every((event) => event.type === 'REGISTERED')).toBe(true);
      received.dispose();
    }
  });

  it('resumed with the last sequence it got, misses nothing and repeats nothing', async () => {
    const start = await lastSequence(registry);
    const first = ws.subscribe(EVENTS, { types: ['REGISTERED'], after: start });
    await listening(registry, 'events', 1);
    for (let i = 0; i < 3; i++) await register(`rs-a-${i}`);
    const got = await first.waitFor(3);
    first.dispose();
    for (let i = 0; i < 4; i++) await register(`rs-b-${i}`); // while disconnected
    const resumed = sseSubscribe(registry, EVENTS, { types: ['REGISTERED'], after: got[got.length - 1].sequence });
    await resumed.waitFor(4);
    await register('rs-c-0');
    await resumed.waitFor(5);
    await sleep(100);
    expect([...got, ...resumed.items].map((event) => event.sequence)).toEqual(await registeredSequences(start, 'rs-'));
    resumed.dispose();
  });

  it('refuses a malformed cursor', async () => {
    const bad = ws.subscribe(EVENTS, { after: 'yesterday' });
    await sleep(200);
    expect(JSON.stringify(bad.errors)).toMatch(/malformed event sequence/);
    bad.dispose();
  });
});

describe('slow subscribers', () => {
  it('closes the socket of a client that stopped reading, and only that one', async () => {
    const slow = wsClient(registry);
    const fast = wsClient(registry);
    const doc = `subscription { registryEvents(types: [NETWORK_CHANGED]) { sequence details } }`;
    const baseline = liveSubscribers(registry, 'events');
    const slowItems = slow.subscribe(doc);
    const fastItems = fast.subscribe(doc);
    const closed = new Promise<number>((resolve) => slow.client.on('closed', (event) => resolve((event as { code: number }).code)));
    await listening(registry, 'events', baseline + 2);
    await sleep(100);
    const socket = slow.sockets[0]!;
    (socket as unknown as { _socket: import('node:net').Socket })._socket.pause();

    const total = 6_000;
    await floodEvents(registry, total, 10_000_000, fastItems);
    await fastItems.waitFor(total, 20_000);
    // The slow subscription was dropped server-side (its queue freed) while its client slept.
    expect(liveSubscribers(registry, 'events')).toBe(baseline + 1);
    (socket as unknown as { _socket: import('node:net').Socket })._socket.resume();
    expect(await closed).toBe(SLOW_SUBSCRIBER_CLOSE_CODE);
    expect(slowItems.items.length).toBeLessThan(total);
    expect(fastItems.items.map((item) => Number(item.sequence) - 10_000_000)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    fastItems.dispose();
    await fast.client.dispose();
    await slow.client.dispose();
  }, 60_000);
});

describe('shared execution', () => {
  it('runs one execution per distinct live operation, delivers to every member, and stops with the last', async () => {
    const shared = sharedSubscriptions(registry.runtime.deps);
    const STATUS = `subscription($filter: ServiceChangeFilter) { serviceStatusChanged(filter: $filter) { __typename ... on ServiceStatusChange { slug to sequence } } }`;
    const other = wsClient(registry);
    const same = [ws.subscribe(STATUS, { filter: { slug: 'sh-a' } }), other.subscribe(STATUS, { filter: { slug: 'sh-a' } }), sseSubscribe(registry, STATUS, { filter: { slug: 'sh-a' } })];
    const different = ws.subscribe(STATUS, { filter: { slug: 'sh-b' } });
    // A replay cursor is per subscriber: never shared.
    const resumed = ws.subscribe(EVENTS, { types: ['ACTIVATED'], after: await lastSequence(registry) });
    await listening(registry, 'events', 5);
    expect(shared.stats().get('serviceStatusChanged')).toEqual({ executions: 2, members: 4 });
    expect(shared.stats().get('registryEvents')).toBeUndefined();

    await beats([{ slug: 'sh-a', instanceId: 'a-1' }, { slug: 'sh-b', instanceId: 'b-1' }]);
    const [first] = await same[0]!.waitFor(1);
    for (const received of same) expect(await received.waitFor(1)).toEqual([{ __typename: 'ServiceStatusChange', slug: 'sh-a', to: 'ACTIVE', sequence: first.sequence }]);
    expect(await different.waitFor(1)).toEqual([expect.objectContaining({ slug: 'sh-b', to: 'ACTIVE' })]);
    expect((await resumed.waitFor(2)).map((event) => event.serviceSlug).sort()).toEqual(['sh-a', 'sh-b']);

    // A member that leaves does not end the others' stream.
    same[0]!.dispose();
    await until(() => shared.stats().get('serviceStatusChanged')?.members === 3, 5_000, 'the member to leave');
    await registry.client.data(`mutation { updateServiceStatus(slug: "sh-a", status: INACTIVE) { __typename } }`);
    for (const received of same.slice(1)) expect((await received.waitFor(2))[1]).toMatchObject({ slug: 'sh-a', to: 'INACTIVE' });
    await sleep(100);
    expect(same[0]!.items).toHaveLength(1);
    for (const received of [...same, different, resumed]) received.dispose();
    await until(() => !shared.stats().has('serviceStatusChanged'), 5_000, 'the shared execution to stop');
    await other.client.dispose();
  });
});

