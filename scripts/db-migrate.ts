/** Applies pending migrations to DATABASE_URL (or the embedded database) and says what it did. */
import { loadEnv } from '../src/config/env.js';
import { createDatabase } from '../src/infra/db/database.js';
import { migrate, MigrationError } from '../src/infra/db/migrator.js';

const env = loadEnv();
const db = await createDatabase({ url: env.DATABASE_URL, pgliteDataDir: env.PGLITE_DATA_DIR });
console.log(`migrating ${db.kind === 'pglite' ? `embedded database at ${env.PGLITE_DATA_DIR}` : 'PostgreSQL'}`);
try {
  const report = await migrate(db);
  for (const name of report.applied) console.log(`  applied  ${name}`);
  for (const name of report.checksumMismatches) console.log(`  WARNING  ${name} changed on disk after it was applied`);
  console.log(`${report.applied.length} applied, ${report.alreadyApplied.length} already applied`);
} catch (error) {
  console.error(error instanceof MigrationError ? error.message : error);
  process.exitCode = 1;
} finally {
  await db.close();
}
