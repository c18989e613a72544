/**
 * Imports a module's manifest from disk through the same use-case as the importManifest
 * mutation, and says what changed. Running it again with the same files changes nothing.
 *
 *   npm run backfill:service-registry -- --path <module dir> [--module <id>] [--var KEY=VALUE ...] [--no-bootstrap] [--dry-run]
 *
 * --no-bootstrap: import the services only; the module's networks are neither created,
 * changed nor removed. Exit status 0 on success, 1 on any error (one line on stderr).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadEnv } from '../src/config/env.js';
import { createMemoryBus, type EventBus } from '../src/infra/bus/event-bus.js';
import { createRedisBus } from '../src/infra/bus/redis-bus.js';
import { systemClock } from '../src/infra/clock.js';
import { createDatabase, type Database } from '../src/infra/db/database.js';
import { migrate } from '../src/infra/db/migrator.js';
import { createLogger } from '../src/infra/logger/logger.js';
import { settingsFromEnv, type RegistryDeps } from '../src/registry/deps.js';
import { RegistryError } from '../src/registry/errors.js';
import { importManifest } from '../src/registry/manifests/import-manifest.js';
import { isNoop, type ImportCounts, type ImportReport } from '../src/registry/manifests/import-types.js';
import { readModuleManifest } from '../src/registry/manifests/module-source.js';
import { parseManifest, type ManifestVar } from '../src/registry/manifests/parse-manifest.js';

const USAGE = 'usage: backfill-service-registry --path <module dir> [--module <id>] [--var KEY=VALUE ...] [--no-bootstrap] [--dry-run]';

class UsageError extends Error {}

function parseCommandLine(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        path: { type: 'string' },
        module: { type: 'string' },
        var: { type: 'string', multiple: true },
        'no-bootstrap': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  if (parsed.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!parsed.path) throw new UsageError(`--path is required\n${USAGE}`);
  const vars: ManifestVar[] = (parsed.var ?? []).map((entry) => {
    const separator = entry.indexOf('=');
    if (separator <= 0) throw new UsageError(`--var expects KEY=VALUE, got ${JSON.stringify(entry)}`);
    return { key: entry.slice(0, separator), value: entry.slice(separator + 1) };
  });
  return { path: parsed.path, module: parsed.module, vars, bootstrap: !parsed['no-bootstrap'], dryRun: parsed['dry-run'] ?? false };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const countsLine = (counts: ImportCounts) => `${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.removed} removed`;

function printReport(report: ImportReport, bootstrap: boolean): void {
  for (const item of report.items) {
    const version = item.version === null ? '' : `  v${item.version}`;
    console.log(`  ${item.outcome.toLowerCase().padEnd(9)} ${item.kind.toLowerCase().padEnd(7)} ${item.slug}${version}`);
  }
  for (const warning of report.warnings) console.log(`  warning: ${warning}`);
  console.log(`services: ${countsLine(report.services)}`);
  console.log(bootstrap ? `networks: ${countsLine(report.networks)}` : 'networks: skipped (--no-bootstrap)');
  const total = report.items.length;
  if (isNoop(report)) console.log(`no changes: ${plural(total, 'item')} already up to date`);
  console.log(report.dryRun ? 'dry run: nothing was written' : `import ${report.importId} recorded`);
}

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2));
  const module = readModuleManifest(args.path);
  // Parse before touching the database: malformed files and missing placeholders stop here.
  const manifest = parseManifest({ source: module.source, format: module.format, vars: args.vars });
  const moduleId = args.module ?? manifest.id;
  console.log(`backfill: module ${moduleId} ${manifest.version} from ${path.relative(process.cwd(), module.file) || module.file} (${module.format})`);

  const env = loadEnv();
  const logger = createLogger({ level: env.LOG_LEVEL, name: 'backfill-service-registry' });
  let db: Database | undefined;
  let bus: EventBus | undefined;
  try {
    db = await createDatabase({ url: env.DATABASE_URL, pgliteDataDir: env.PGLITE_DATA_DIR, poolMax: env.DATABASE_POOL_MAX });
    const migrations = await migrate(db);
    console.log(`database: ${db.kind === 'pglite' ? `embedded at ${env.PGLITE_DATA_DIR}` : 'PostgreSQL'} (${plural(migrations.applied.length, 'migration')} applied)`);
    // Through Redis when configured, so running replicas hear about the changes.
    bus = env.REDIS_URL
      ? await createRedisBus({ url: env.REDIS_URL, channelPrefix: env.REDIS_CHANNEL_PREFIX, connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS, logger })
      : createMemoryBus();
    const deps: RegistryDeps = { db, bus, clock: systemClock, logger, settings: settingsFromEnv(env) };
    const report = await importManifest(
      deps,
      { moduleId, moduleVersion: manifest.version, source: module.source, format: module.format, vars: args.vars, dryRun: args.dryRun },
      { actor: 'backfill-service-registry', skipNetworks: !args.bootstrap },
    );
    printReport(report, args.bootstrap);
  } finally {
    await bus?.close().catch(() => {});
    await db?.close().catch(() => {});
  }
}

try {
  await main();
} catch (error) {
  const expected = error instanceof RegistryError || error instanceof UsageError || (error instanceof Error && error.name === 'ModuleSourceError');
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`backfill-service-registry: ${expected ? message : `unexpected error: ${message}`}\n`);
  process.exitCode = 1;
}
