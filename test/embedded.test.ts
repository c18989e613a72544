/** The built server as a newcomer runs it: no DATABASE_URL, no REDIS_URL. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGraphQLClient } from './testkit/graphql.js';
import { runToExit, spawnServer } from './testkit/process.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'registry-pglite-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('embedded mode (PGlite, in-process bus)', () => {
  it('serves GraphQL, logs with request ids and redaction, and exits 0 on SIGTERM', async () => {
    const server = await spawnServer({ PGLITE_DATA_DIR: dataDir, LOG_LEVEL: 'info', NODE_ENV: 'production' });
    try {
      const listening = server.logs.find((entry) => /listening/.test(entry.msg ?? ''));
      expect(listening?.mode).toEqual({ database: 'pglite', bus: 'memory' });
      expect(listening?.msg).toContain('embedded PGlite');

      const client = createGraphQLClient(`${server.baseUrl}/graphql`);
      expect(await client.data('{ services(first: 5) { totalCount } }')).toEqual({ services: { totalCount: 0 } });
      const registered = await client.data(`mutation { registerService(input: { slug: "embedded-one", name: "One", kind: POLLER }) { __typename ... on RegisterServicePayload { created } } }`);
      expect(registered.registerService).toEqual({ __typename: 'RegisterServicePayload', created: true });

      const response = await fetch(`${server.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer top-secret-token', cookie: 'session=also-secret', 'x-request-id': 'trace-me-42' },
        body: JSON.stringify({ query: '{ services(first: 5) { totalCount } }' }),
      });
      expect(response.headers.get('x-request-id')).toBe('trace-me-42');
      expect(await response.json()).toEqual({ data: { services: { totalCount: 1 } } });

      const ready = await fetch(`${server.baseUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { database: { status: 'up' }, redis: { status: 'disabled' } } });
    } finally {
      const { code, ms } = await server.stop('SIGTERM');
      expect(code).toBe(0);
      expect(ms).toBeLessThan(10_000);
    }
    const traced = server.logs.find((entry) => entry.reqId === 'trace-me-42' && entry.msg === 'request');
    expect(traced?.req.headers.authorization).toBe('[redacted]');
    expect(traced?.req.headers.cookie).toBe('[redacted]');
    expect(JSON.stringify(server.logs)).not.toContain('top-secret-token');
    expect(server.logs.filter((entry) => entry.msg === 'request').every((entry) => typeof entry.reqId === 'string')).toBe(true);
  });

  it('keeps its data across restarts and does not re-apply migrations', async () => {
    const server = await spawnServer({ PGLITE_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    try {
      const migrations = server.logs.find((entry) => entry.msg === 'migrations up to date');
      expect(migrations?.applied).toEqual([]);
      const client = createGraphQLClient(`${server.baseUrl}/graphql`);
      expect(await client.data('{ service(slug: "embedded-one") { kind } }')).toEqual({ service: { kind: 'POLLER' } });
    } finally {
      expect((await server.stop('SIGINT')).code).toBe(0);
    }
  });

  it('exits 1 with one line naming a bad variable', async () => {
    const result = await runToExit({ PORT: 'abc', PGLITE_DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual(['invalid environment: PORT: expected an integer from 0 to 65535 (got "abc")']);
    const nonsense = await runToExit({ DATABASE_URL: 'nonsense' });
    expect(nonsense.code).toBe(1);
    expect(nonsense.stderr.trim()).toMatch(/^invalid environment: DATABASE_URL: expected a postgres: or postgresql:\/\/ URL/);
  });
});
