/**
 * Finds the PostgreSQL (and later Redis) the tests run against, in this order: explicit
 * env URLs, local services on the default ports, testcontainers (a laptop with Docker),
 * else one clear failure saying what to provide.
 */
import net from 'node:net';
import pg from 'pg';

export interface ResolvedService {
  url: string;
  origin: 'env' | 'local' | 'testcontainers';
  stop?: () => Promise<void>;
}

async function canConnectPostgres(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function resolvePostgres(env: NodeJS.ProcessEnv): Promise<ResolvedService> {
  const explicit = env.TEST_DATABASE_URL ?? env.DATABASE_URL;
  if (explicit) {
    if (await canConnectPostgres(explicit)) return { url: explicit, origin: 'env' };
    throw new Error(`TEST_DATABASE_URL/DATABASE_URL is set but PostgreSQL does not answer there`);
  }
  const local = 'postgresql://postgres@127.0.0.1:5432/postgres';
  if (await canConnectPostgres(local)) return { url: local, origin: 'local' };
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:15-alpine').start();
    return { url: container.getConnectionUri(), origin: 'testcontainers', stop: async () => void (await container.stop()) };
  } catch (error) {
    throw new Error(
      'No PostgreSQL for the tests: set TEST_DATABASE_URL to a server where this user may CREATE DATABASE, ' +
        'run PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), or start Docker for testcontainers. ' +
        `(testcontainers said: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    );
  }
}

export async function resolveRedis(env: NodeJS.ProcessEnv): Promise<ResolvedService> {
  const explicit = env.TEST_REDIS_URL ?? env.REDIS_URL;
  if (explicit) return { url: explicit, origin: 'env' };
  if (await portOpen('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', origin: 'local' };
  try {
    const { GenericContainer } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    return {
      url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
      origin: 'testcontainers',
      stop: async () => void (await container.stop()),
    };
  } catch (error) {
    throw new Error(
      'No Redis for the tests: set TEST_REDIS_URL, run Redis on 127.0.0.1:6379, or start Docker for testcontainers. ' +
        `(testcontainers said: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    );
  }
}
