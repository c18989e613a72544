/** The backfill script as a real child process against its own database. */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './testkit/databases.js';
import { childEnv } from './testkit/process.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase('backfill');
});
afterAll(async () => {
  await database?.drop();
});

function backfill(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/backfill-service-registry.ts', ...args], {
      env: childEnv({ DATABASE_URL: database.url, LOG_LEVEL: 'warn', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const count = async (sql: string) => (await database.query<{ n: number }>(sql))[0]!.n;

describe('backfill-service-registry', () => {
  it('imports the observatory example, and a second run changes nothing and says so', async () => {
    const first = await backfill(['--path', 'examples/modules/observatory', '--module', 'observatory']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('backfill: module observatory 1.0.0');
    expect(first.stdout).toContain('services: 6 created, 0 updated, 0 unchanged, 0 removed');
    expect(first.stdout).toContain('networks: 1 created');
    const services = await database.query("SELECT slug, kind, source, module_id FROM services ORDER BY slug");
    expect(services).toHaveLength(6);
    expect(services.every((row) => row.source === 'MANIFEST' && row.module_id === 'observatory')).toBe(true);
    const checks = await database.query("SELECT s.slug, h.url FROM health_checks h JOIN services s ON s.id = h.service_id WHERE s.slug = 'observatory-poller'");
    expect(checks).toEqual([{ slug: 'observatory-poller', url: 'http://localhost:4310/poller/healthz' }]);
    const members = await database.query('SELECT service_slug FROM service_network_members ORDER BY position');
    expect(members.map((row) => row.service_slug)).toEqual([
      'observatory-store',
      'observatory-poller',
      'observatory-agent',
      'observatory-http-checker',
      'observatory-dns-checker',
      'observatory-dashboard',
    ]);
    const manifestRows = await count('SELECT count(*)::int AS n FROM service_manifests');
    const revisions = await database.query('SELECT slug, revision FROM services ORDER BY slug');

    const second = await backfill(['--path', 'examples/modules/observatory']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('services: 0 created, 0 updated, 6 unchanged, 0 removed');
    expect(second.stdout).toContain('no changes: 7 items already up to date');
    expect(await count('SELECT count(*)::int AS n FROM service_manifests')).toBe(manifestRows);
    expect(await database.query('SELECT slug, revision FROM services ORDER BY slug')).toEqual(revisions);
  });

  it('applies --var overrides as a new version, and --dry-run writes nothing', async () => {
    const before = await count('SELECT count(*)::int AS n FROM service_manifests');
    const dry = await backfill(['--path', 'examples/modules/observatory', '--var', 'OBSERVATORY_HOST=obs.internal', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing was written');
    expect(await count('SELECT count(*)::int AS n FROM service_manifests')).toBe(before);

    const real = await backfill(['--path', 'examples/modules/observatory', '--var', 'OBSERVATORY_HOST=obs.internal', '--no-bootstrap']);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/updated\s+service observatory-poller\s+v2/);
    expect(real.stdout).toContain('networks: skipped (--no-bootstrap)');
    const [check] = await database.query("SELECT h.url FROM health_checks h JOIN services s ON s.id = h.service_id WHERE s.slug = 'observatory-poller'");
    expect(check!.url).toBe('http://obs.internal:4310/poller/healthz');
  });

  it('exits non-zero with one line for a missing path, missing placeholders and malformed files', async () => {
    const missing = await backfill(['--path', 'examples/modules/does-not-exist']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim()).toBe('backfill-service-registry: no such module path: examples/modules/does-not-exist');

    const dir = mkdtempSync(path.join(tmpdir(), 'backfill-'));
    mkdirSync(path.join(dir, 'service-manifests'));
    writeFileSync(
      path.join(dir, 'service-manifests', 'service-manifest.yaml'),
      'schemaVersion: 1\nid: needs-vars\nversion: "1"\nservices:\n  - slug: nv-a\n    name: A\n    description: ${FIRST} ${SECOND}\n',
    );
    const placeholders = await backfill(['--path', dir]);
    expect(placeholders.code).not.toBe(0);
    expect(placeholders.stderr.trim().split('\n')).toHaveLength(1);
    expect(placeholders.stderr).toContain('missing placeholder values: FIRST, SECOND');

    const noManifest = await backfill(['--path', mkdtempSync(path.join(tmpdir(), 'backfill-empty-'))]);
    expect(noManifest.code).not.toBe(0);
    expect(noManifest.stderr).toContain('no manifest in');

    const usage = await backfill([]);
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toContain('--path is required');
  });
});
