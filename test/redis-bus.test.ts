/** The Redis event bus against real Redis: readiness, fan-out between buses, fail-fast boot. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { EventBus } from '../src/infra/bus/event-bus.js';
import { createRedisBus } from '../src/infra/bus/redis-bus.js';
import { createLogger } from '../src/infra/logger/logger.js';
import { runToExit } from './testkit/process.js';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

const prefix = `test-${randomBytes(4).toString('hex')}:`;
const logger = createLogger({ level: 'silent' });
let registry: TestRegistry;
let listener: EventBus;

beforeAll(async () => {
  registry = await startTestRegistry({ label: 'redis', env: { REDIS_URL: inject('redisUrl'), REDIS_CHANNEL_PREFIX: prefix } });
  listener = await createRedisBus({ url: inject('redisUrl'), channelPrefix: prefix, logger });
});
afterAll(async () => {
  await listener?.close();
  await registry?.close();
});

/** Collects what arrives on a topic until `count` messages came or the time is up. */
async function collect<T>(iterable: AsyncIterable<T>, count: number, withinMs: number): Promise<T[]> {
  const received: T[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  const deadline = Date.now() + withinMs;
  while (received.length < count && Date.now() < deadline) {
    const next = await Promise.race([iterator.next(), new Promise<null>((resolve) => setTimeout(() => resolve(null), deadline - Date.now()))]);
    if (!next || next.done) break;
    received.push(next.value);
  }
  await iterator.return?.();
  return received;
}

describe('with REDIS_URL', () => {
  it('runs on the Redis bus and reports Redis in readiness', async () => {
    expect(registry.runtime.mode.bus).toBe('redis');
    const ready = await fetch(`${registry.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).checks.redis).toEqual({ status: 'up' });
  });

  it('fans a registration out to another process-side bus', async () => {
    const events = listener.subscribe('registry.event');
    const arriving = collect(events, 1, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let SUBSCRIBE reach Redis
    await registry.client.data(`mutation { registerService(input: { slug: "fanned-out", name: "F" }) { __typename } }`);
    const [event] = await arriving;
    expect(event).toMatchObject({ type: 'REGISTERED', serviceSlug: 'fanned-out', cause: 'REGISTERED' });
    expect(Number(event!.id)).toBeGreaterThan(0);
  });

  it('keeps registries with different channel prefixes apart', async () => {
    const other = await createRedisBus({ url: inject('redisUrl'), channelPrefix: `${prefix}other:`, logger });
    try {
      const strayIterable = other.subscribe('service.changed');
      const stray = collect(strayIterable, 1, 1_000);
      const mineIterable = listener.subscribe('service.changed');
      const mine = collect(mineIterable, 1, 5_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await registry.runtime.deps.bus.publish('service.changed', { slug: 'only-mine' });
      expect(await mine).toEqual([{ slug: 'only-mine' }]);
      expect(await stray).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('Redis configured but unreachable', () => {
  it('refuses to start instead of falling back to the in-process bus', async () => {
    const started = Date.now();
    const result = await runToExit({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_CONNECT_TIMEOUT_MS: '1000', DATABASE_URL: inject('postgresAdminUrl'), MIGRATE_ON_START: 'false', LOG_LEVEL: 'info' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Redis at redis:\/\/127\.0\.0\.1:1 is unreachable/);
    expect(result.stdout).not.toMatch(/listening/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
