/**
 * Writes a new migration into prisma/migrations/<timestamp>_<name>/migration.sql from the
 * difference between the schema at the last commit and the working-tree schema, using
 * Prisma's own schema engine (WebAssembly build: the native one cannot be downloaded here).
 * No database is touched.
 *
 *   npm run db:diff -- --name add_widgets [--from-empty] [--print]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const SCHEMA_PATH = 'prisma/schema.prisma';
const { values } = parseArgs({
  options: { name: { type: 'string' }, 'from-empty': { type: 'boolean' }, print: { type: 'boolean' } },
});
if (!values.name && !values.print) {
  console.error('usage: npm run db:diff -- --name <migration_name> [--from-empty] [--print]');
  process.exit(2);
}

async function loadEngineModule() {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm'));
  const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const { instance } = await WebAssembly.instantiate(readFileSync(path.join(dir, 'schema_engine_bg.wasm')), {
    './schema_engine_bg.js': bindings as unknown as WebAssembly.ModuleImports,
  });
  (bindings as unknown as { __wbg_set_wasm(w: unknown): void }).__wbg_set_wasm(instance.exports);
  return bindings;
}

function previousSchema(): string | null {
  if (values['from-empty']) return null;
  try {
    return execFileSync('git', ['show', `HEAD:${SCHEMA_PATH}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

const current = readFileSync(SCHEMA_PATH, 'utf8');
const before = previousSchema();
const { SchemaEngine } = await loadEngineModule();
// The constructor wants a migration-aware adapter and reads its connection info; the diff
// itself compares two datamodels and runs no statement against this database.
const connectionString = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString }, { schema: 'public' }));
const engine = await SchemaEngine.new({ datamodels: [[SCHEMA_PATH, current]] } as never, () => {}, adapter);
const target = (content: string) => ({ tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content }] });
const result = await engine.diff({
  from: before === null ? { tag: 'empty' } : target(before),
  to: target(current),
  script: true,
  exitCode: false,
  filters: { externalTables: [], externalEnums: [] },
} as never);
const sql = (result.stdout ?? '').trim();

if (!sql || sql === '-- This is an empty migration.') {
  console.log('schema unchanged since the last commit: no migration written');
  process.exit(0);
}
if (values.print) {
  console.log(sql);
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
const dir = path.join('prisma/migrations', `${stamp}_${values.name}`);
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'migration.sql'), `${sql}\n`);
console.log(`wrote ${dir}/migration.sql (${sql.split('\n').length} lines); review it before committing`);
