/** A real registry on its own database, listening on a free loopback port. */
import { parseEnv } from '../../src/config/env.js';
import { createLogger } from '../../src/infra/logger/logger.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { createGraphQLClient, type GraphQLClient } from './graphql.js';

export interface TestRegistry {
  runtime: Runtime;
  database: TestDatabase;
  baseUrl: string;
  client: GraphQLClient;
  /** Runs `work` and returns how many SQL statements Prisma sent meanwhile. */
  countStatements(work: () => Promise<unknown>): Promise<{ count: number; statements: string[] }>;
  close(): Promise<void>;
}

export async function startTestRegistry(options: { label?: string; env?: Record<string, string> } = {}): Promise<TestRegistry> {
  const database = await createTestDatabase(options.label);
  // Background jobs off unless a test asks: their ticks would add statements to counts.
  const env = parseEnv({
    DATABASE_URL: database.url,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    MONITOR_ENABLED: 'false',
    LIFECYCLE_JOBS_ENABLED: 'false',
    PROBES_ENABLED: 'false',
    ...options.env,
  });
  const runtime = await startRuntime(env, { logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), captureQueries: true });
  const baseUrl = `http://127.0.0.1:${runtime.port}`;
  return {
    runtime,
    database,
    baseUrl,
    client: createGraphQLClient(`${baseUrl}/graphql`),
    async countStatements(work) {
      const statements: string[] = [];
      const off = runtime.deps.db.onQuery((event) => statements.push(event.query));
      try {
        await work();
      } finally {
        off();
      }
      return { count: statements.length, statements };
    },
    async close() {
      await runtime.stop();
      await database.drop();
    },
  };
}
