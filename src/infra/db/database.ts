/**
 * The database seam: one Prisma client over either PostgreSQL (node-postgres pool) or the
 * embedded PGlite. Everything above this module is the same code in both modes.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../../generated/prisma/client.js';

export type DatabaseKind = 'postgres' | 'pglite';

/** One connection, for work that needs session state (advisory locks, multi-statement scripts). */
export interface SqlConnection {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a script of several statements (simple query protocol). */
  exec(sql: string): Promise<void>;
}

export interface QueryEvent {
  query: string;
  durationMs: number;
}

export interface Database {
  readonly kind: DatabaseKind;
  readonly client: PrismaClient;
  withConnection<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T>;
  /** Resolves when the database answers a trivial query within the bound. */
  ping(timeoutMs?: number): Promise<void>;
  /** Subscribes to every SQL statement Prisma sends (only when created with captureQueries). */
  onQuery(listener: (event: QueryEvent) => void): () => void;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; absent means embedded PGlite. */
  url?: string;
  /** Directory of the embedded database's files. @default .data/pglite */
  pgliteDataDir?: string;
  /** @default 10 */
  poolMax?: number;
  /** Emit Prisma query events so tests can count statements. @default false */
  captureQueries?: boolean;
}

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? createPostgres(options.url, options) : createPglite(options.pgliteDataDir ?? '.data/pglite', options);
}

function createClient(adapter: SqlDriverAdapterFactory, captureQueries: boolean) {
  const listeners = new Set<(event: QueryEvent) => void>();
  const client = captureQueries
    ? new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] })
    : new PrismaClient({ adapter });
  if (captureQueries) {
    (client as unknown as { $on(e: 'query', cb: (e: { query: string; duration: number }) => void): void }).$on('query', (event) => {
      for (const listener of listeners) listener({ query: event.query, durationMs: event.duration });
    });
  }
  const onQuery = (listener: (event: QueryEvent) => void) => {
    if (!captureQueries) throw new Error('database was created without captureQueries');
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  return { client: client as PrismaClient, onQuery, counted: captureQueries ? countedQuery(listeners) : <T>(_sql: string, run: () => Promise<T>) => run() };
}

/** Statements sent past Prisma (withConnection) reach the same listeners, so SQL counts stay exact. */
function countedQuery(listeners: Set<(event: QueryEvent) => void>) {
  return async <T>(sql: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      for (const listener of listeners) listener({ query: sql, durationMs: performance.now() - started });
    }
  };
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function createPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolMax ?? 10, connectionTimeoutMillis: 5_000 });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process. The next checkout reconnects.
  pool.on('error', () => {});
  const { client, onQuery, counted } = createClient(new PrismaPg(pool), options.captureQueries ?? false);
  return {
    kind: 'postgres',
    client,
    onQuery,
    async withConnection(work) {
      const connection = await pool.connect();
      try {
        return await work({
          query: async (sql, params) => (await counted(sql, () => connection.query(sql, params as unknown[]))).rows,
          exec: async (sql) => {
            await counted(sql, () => connection.query(sql));
          },
        });
      } finally {
        connection.release();
      }
    },
    async ping(timeoutMs = 2_000) {
      await withTimeout(pool.query('SELECT 1'), timeoutMs, 'PostgreSQL');
    },
    async close() {
      await client.$disconnect();
      await pool.end();
    },
  };
}

async function createPglite(dataDir: string, options: DatabaseOptions): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  const { client, onQuery, counted } = createClient(new PrismaPGlite(pglite), options.captureQueries ?? false);
  return {
    kind: 'pglite',
    client,
    onQuery,
    // PGlite is a single in-process connection: "dedicated" is the only kind there is.
    async withConnection(work) {
      return work({
        query: async (sql, params) => (await counted(sql, () => pglite.query(sql, params as unknown[]))).rows as never,
        exec: async (sql) => {
          await counted(sql, () => pglite.exec(sql));
        },
      });
    },
    async ping(timeoutMs = 2_000) {
      await withTimeout(pglite.query('SELECT 1'), timeoutMs, 'PGlite');
    },
    async close() {
      await client.$disconnect();
      await pglite.close();
    },
  };
}
