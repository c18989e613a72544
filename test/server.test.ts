/** HTTP behaviour of a real server on PostgreSQL: probes, ids, limits, masking, draining. */
import { request } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from './testkit/registry.js';

let registry: TestRegistry;
beforeAll(async () => {
  registry = await startTestRegistry({ label: 'server' });
});
afterAll(async () => {
  await registry?.close();
});

describe('probes', () => {
  it('answers liveness and readiness with each dependency state', async () => {
    expect((await fetch(`${registry.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${registry.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: { status: 'up' }, redis: { status: 'disabled' } } });
  });
});

describe('requests', () => {
  it('gives every response a request id, reusing the caller\'s', async () => {
    const own = await fetch(`${registry.baseUrl}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(own.headers.get('x-request-id')).toBe('abc-123');
    const generated = await fetch(`${registry.baseUrl}/healthz`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses an oversized body with 413 before parsing it', async () => {
    const response = await fetch(`${registry.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(3_000_000) } }),
    });
    expect(response.status).toBe(413);
    expect((await response.json()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('counts a body sent without Content-Length (chunked) and refuses it past the limit', async () => {
    const chunked = (parts: string[]) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = request(`${registry.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        for (const part of parts) req.write(part);
        req.end();
      });
    const small = await chunked(['{"query":', '"{ __typename }"}']);
    expect(small).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
    const pad = 'x'.repeat(500_000);
    const big = await chunked(['{"query":"{ __typename }","variables":{', ...Array.from({ length: 5 }, (_, i) => `"p${i}":"${pad}",`), '"end":1}}']);
    expect(big.status).toBe(413);
    expect(big.body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('rejects hostile queries: too deep, too many aliases', async () => {
    const deep = `{ services { edges { node { parent { parent { parent { parent { parent { parent { parent { parent { parent { parent { slug } } } } } } } } } } } } } }`;
    const tooDeep = await registry.client.request(deep);
    expect(tooDeep.data).toBeUndefined();
    expect(tooDeep.errors?.[0]?.message).toMatch(/depth/i);

    const aliases = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: service(slug: "x") { slug }`).join(' ')} }`;
    const tooMany = await registry.client.request(aliases);
    expect(tooMany.errors?.[0]?.message).toMatch(/aliases/i);
  });

  it('hides field suggestions from unknown-field errors', async () => {
    const result = await registry.client.request('{ servces { totalCount } }');
    expect(result.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });
});

describe('shutdown', () => {
  it('lets an in-flight request finish before closing', async () => {
    const local = await startTestRegistry({ label: 'drain' });
    try {
      await local.client.data(`mutation { registerService(input: { slug: "slow", name: "Slow" }) { __typename } }`);
      // Hold the row lock from outside so the next update is genuinely in flight.
      const blocker = new pg.Client({ connectionString: local.database.url });
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query("SELECT * FROM services WHERE slug = 'slow' FOR UPDATE");
      const inFlight = local.client.data(`mutation { registerService(input: { slug: "slow", name: "Slower" }) { ... on RegisterServicePayload { service { name } } } }`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const stopped = local.runtime.stop();
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Draining: new connections are refused while the old request waits.
      await expect(fetch(`${local.baseUrl}/healthz`)).rejects.toThrow();
      await blocker.query('COMMIT');
      await blocker.end();
      expect(await inFlight).toEqual({ registerService: { service: { name: 'Slower' } } });
      await stopped;
    } finally {
      await local.close();
    }
  });
});

describe('when the database is saturated', () => {
  it('tells clients to retry (UNAVAILABLE) instead of masking the timeout as an internal error', async () => {
    const tight = await startTestRegistry({ label: 'saturated', env: { DATABASE_POOL_MAX: '1' } });
    const blocker = new pg.Client({ connectionString: tight.database.url });
    try {
      for (const slug of ['held', 'other']) await tight.client.data(`mutation { registerService(input: { slug: "${slug}", name: "x" }) { __typename } }`);
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query("SELECT * FROM services WHERE slug = 'held' FOR UPDATE");
      // The first override waits on the row lock while holding the pool's only connection.
      const stuck = tight.client.request(`mutation { updateServiceStatus(slug: "held", status: ACTIVE) { __typename } }`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const starved = await tight.client.request(`mutation { updateServiceStatus(slug: "other", status: ACTIVE) { __typename } }`);
      expect(starved.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
      expect(starved.errors?.[0]?.message).toMatch(/retry/);
      await blocker.query('COMMIT');
      expect((await stuck).data?.updateServiceStatus).toEqual({ __typename: 'Service' });
    } finally {
      await blocker.end().catch(() => {});
      await tight.close();
    }
  });
});

describe('when the database goes away', () => {
  it('reports not ready and masks the failure from clients', async () => {
    const doomed = await startTestRegistry({ label: 'doomed' });
    try {
      await doomed.database.drop();
      const ready = await fetch(`${doomed.baseUrl}/readyz`);
      expect(ready.status).toBe(503);
      const body = await ready.json();
      expect(body.checks.database.status).toBe('down');

      const result = await doomed.client.request('{ services(first: 1) { totalCount } }');
      expect(result.errors?.[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      expect(JSON.stringify(result)).not.toMatch(/database|postgres|SELECT|stack/i);
    } finally {
      await doomed.runtime.stop();
    }
  });
});
