/**
 * Applies prisma/migrations/* exactly as `prisma migrate deploy` would, for machines and
 * modes where Prisma's native schema engine is unavailable (embedded PGlite, these CI
 * machines). Each migration runs in its own transaction together with its
 * `_prisma_migrations` row, so a failure leaves neither a half-applied schema nor a
 * half-recorded row. The advisory lock key is Prisma's own, so this and
 * `prisma migrate deploy` exclude each other too.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../project-root.js';
import type { Database, SqlConnection } from './database.js';

/** The key `prisma migrate` locks on; sharing it serializes us with Prisma's CLI. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
  /** Recorded migrations whose file changed since it was applied. */
  checksumMismatches: string[];
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    readonly migration: string,
    message: string,
  ) {
    super(message);
  }
}

export function defaultMigrationsDir(): string {
  return path.join(projectRoot(), 'prisma', 'migrations');
}

export function readMigrations(dir = defaultMigrationsDir()): MigrationFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(path.join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

// Same definition Prisma Migrate creates.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum"            VARCHAR(64) NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface RecordedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export async function migrate(db: Database, options: { dir?: string } = {}): Promise<MigrationReport> {
  const migrations = readMigrations(options.dir);
  return db.withConnection(async (connection) => {
    await connection.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    try {
      return await applyPending(connection, migrations);
    } finally {
      await connection.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    }
  });
}

async function applyPending(connection: SqlConnection, migrations: MigrationFile[]): Promise<MigrationReport> {
  await connection.exec(CREATE_MIGRATIONS_TABLE);
  const rows = await connection.query<RecordedRow>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
  );
  const failed = rows.find((row) => row.finished_at === null);
  if (failed) {
    throw new MigrationError(
      failed.migration_name,
      `migration ${failed.migration_name} is recorded as started but never finished; resolve it (prisma migrate resolve) before applying more`,
    );
  }
  const recorded = new Map(rows.map((row) => [row.migration_name, row]));
  const report: MigrationReport = { applied: [], alreadyApplied: [], checksumMismatches: [] };

  for (const migration of migrations) {
    const row = recorded.get(migration.name);
    if (row) {
      report.alreadyApplied.push(migration.name);
      if (row.checksum !== migration.checksum) report.checksumMismatches.push(migration.name);
      continue;
    }
    const startedAt = new Date();
    await connection.exec('BEGIN');
    try {
      await connection.exec(migration.sql);
      await connection.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, $4, clock_timestamp(), 1)`,
        [randomUUID(), migration.checksum, migration.name, startedAt],
      );
      await connection.exec('COMMIT');
    } catch (error) {
      await connection.exec('ROLLBACK').catch(() => {});
      const reason = error instanceof Error ? error.message : String(error);
      throw new MigrationError(migration.name, `migration ${migration.name} failed and was rolled back: ${reason}`);
    }
    report.applied.push(migration.name);
  }
  return report;
}
