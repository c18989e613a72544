/** Subscriptions at their edges: a slow SSE reader, and a server that drains with streams open. */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startTestRegistry } from './testkit/registry.js';
import { floodEvents, listening, liveSubscribers, sleep, sseSubscribe, wsClient } from './testkit/subscriptions.js';

const DOC = `subscription { registryEvents(types: [NETWORK_CHANGED]) { sequence details } }`;

describe('a slow SSE subscriber', () => {
  it('is cut off when its queue overflows, without holding up the others', async () => {
    const registry = await startTestRegistry({ label: 'sse_slow' });
    try {
      const baseline = liveSubscribers(registry, 'events');
      // A raw event-stream request whose reader stops reading after the headers.
      let body = '';
      const slowResponse = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
        const req = request(`${registry.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } }, resolve);
        req.on('error', reject);
        req.end(JSON.stringify({ query: DOC }));
      });
      expect(slowResponse.headers['content-type']).toMatch(/text\/event-stream/);
      slowResponse.pause();
      const fast = sseSubscribe(registry, DOC);
      await listening(registry, 'events', baseline + 2);

      const total = 6_000;
      await floodEvents(registry, total, 20_000_000, fast);
      const items = await fast.waitFor(total, 30_000);
      expect(items.map((item: any) => Number(item.sequence) - 20_000_000)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      // The slow stream's subscription was dropped server-side while its reader slept.
      expect(liveSubscribers(registry, 'events')).toBe(baseline + 1);
      fast.dispose();

      // Reading again, it finds the stream ended with the reason.
      const ended = new Promise<void>((resolve) => {
        slowResponse.on('end', resolve);
        slowResponse.on('close', resolve);
        slowResponse.on('error', () => resolve());
      });
      slowResponse.setEncoding('utf8');
      slowResponse.on('data', (chunk: string) => {
        body = (body + chunk).slice(-200_000);
      });
      slowResponse.resume();
      await ended;
      const tail = body.slice(-20_000);
      // The last message before `complete` is the error that says why.
      expect(tail).toMatch(/"code":"SUBSCRIBER_TOO_SLOW"[^]*event: complete/);
    } finally {
      await registry.close();
    }
  }, 60_000);
});

describe('draining with subscriptions open', () => {
  it('ends SSE and WebSocket streams and still stops within the bound', async () => {
    const registry = await startTestRegistry({ label: 'sub_drain', env: { SHUTDOWN_TIMEOUT_MS: '5000' } });
    const ws = wsClient(registry);
    const closed = new Promise<number>((resolve) => ws.client.on('closed', (event) => resolve((event as { code: number }).code)));
    const overWs = ws.subscribe(DOC);
    const overSse = sseSubscribe(registry, DOC);
    try {
      await listening(registry, 'events', 2);
      const started = Date.now();
      await registry.runtime.stop();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await closed).toBe(1001);
      const deadline = Date.now() + 3_000;
      while (!overSse.completed && overSse.errors.length === 0 && Date.now() < deadline) await sleep(20);
      expect(overSse.completed || overSse.errors.length > 0).toBe(true);
      expect(overWs.items).toEqual([]);
    } finally {
      overSse.dispose();
      await ws.client.dispose();
      await registry.database.drop();
    }
  }, 30_000);
});
