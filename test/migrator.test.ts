import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/infra/db/database.js';
import { defaultMigrationsDir, migrate, MigrationError } from '../src/infra/db/migrator.js';
import { createTestDatabase, type TestDatabase } from './testkit/databases.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function freshDatabase(label: string): Promise<{ test: TestDatabase; open(): Promise<Database> }> {
  const test = await createTestDatabase(label);
  cleanups.push(() => test.drop());
  return {
    test,
    async open() {
      const db = await createDatabase({ url: test.url, poolMax: 2 });
      cleanups.unshift(() => db.close());
      return db;
    },
  };
}

const migrationNames = readdirSync(defaultMigrationsDir(), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe('migrator', () => {
  it('applies every migration once and records it as Prisma does', async () => {
    const { test, open } = await freshDatabase('migrate');
    const db = await open();
    const first = await migrate(db);
    expect(first.applied).toEqual(migrationNames);

    const second = await migrate(db);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(migrationNames);

    const rows = await test.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number; logs: string | null }>(
      'SELECT migration_name, checksum, finished_at, applied_steps_count, logs FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((row) => row.migration_name)).toEqual(migrationNames);
    for (const row of rows) {
      const file = readFileSync(path.join(defaultMigrationsDir(), row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(file).digest('hex'));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
      expect(row.logs).toBeNull();
    }
    // The hand-written partial unique index made it in.
    const indexes = await test.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'service_manifests_active_key'");
    expect(indexes[0]?.indexdef).toMatch(/WHERE \(superseded_at IS NULL\)/);
  });

  it('applies each migration once when two migrators start together', async () => {
    const { test, open } = await freshDatabase('migrate_race');
    const [a, b] = [await open(), await open()];
    const reports = await Promise.all([migrate(a), migrate(b)]);
    expect(reports.flatMap((report) => report.applied).sort()).toEqual(migrationNames);
    const [row] = await test.query<{ count: string }>('SELECT count(*) FROM _prisma_migrations');
    const count = row!.count;
    expect(Number(count)).toBe(migrationNames.length);
  });

  it('rolls a failing migration back whole and records nothing for it', async () => {
    const { test, open } = await freshDatabase('migrate_fail');
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    cpSync(defaultMigrationsDir(), dir, { recursive: true });
    mkdirSync(path.join(dir, '99990101000000_broken'));
    writeFileSync(
      path.join(dir, '99990101000000_broken', 'migration.sql'),
      'CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n',
    );
    const db = await open();
    const failure = await migrate(db, { dir }).catch((error) => error);
    expect(failure).toBeInstanceOf(MigrationError);
    expect(failure.migration).toBe('99990101000000_broken');
    expect(failure.message).toMatch(/99990101000000_broken failed and was rolled back: .*no_such_table/);

    const recorded = await test.query<{ migration_name: string }>('SELECT migration_name FROM _prisma_migrations ORDER BY 1');
    expect(recorded.map((row) => row.migration_name)).toEqual(migrationNames);
    const [row] = await test.query<{ exists: boolean }>("SELECT to_regclass('public.half_done') IS NOT NULL AS exists");
    const exists = row!.exists;
    expect(exists).toBe(false);
  });

  it('reports a recorded migration whose file changed since', async () => {
    const { test, open } = await freshDatabase('migrate_drift');
    const db = await open();
    await migrate(db);
    await test.query("UPDATE _prisma_migrations SET checksum = repeat('0', 64) WHERE migration_name = $1", [migrationNames[0]]);
    const report = await migrate(db);
    expect(report.checksumMismatches).toEqual([migrationNames[0]]);
    expect(report.applied).toEqual([]);
  });

  it('refuses to continue past a migration Prisma recorded as failed', async () => {
    const { test, open } = await freshDatabase('migrate_stuck');
    const db = await open();
    await migrate(db);
    await test.query("INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES ('x', 'y', '99990101000000_stuck', now())");
    await expect(migrate(db)).rejects.toThrow(/99990101000000_stuck is recorded as started but never finished/);
  });
});
