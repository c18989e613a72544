/**
 * The only module that reads process.env. Every variable is parsed and documented here;
 * a bad value stops the process with one line naming each offending variable.
 */
import { z } from 'zod';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .refine((value) => /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max, {
      message: `expected an integer from ${min} to ${max}`,
    })
    .transform(Number);

const url = (protocols: string[], example: string) =>
  z
    .string()
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      { message: `expected a ${protocols.join(' or ')}// URL such as ${example}` },
    )
    .optional();

const schema = z.object({
  /** @default development */
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'expected development, production or test' }).default('development'),
  /** @default 4000 */
  PORT: int(4000, 0, 65535),
  /** @default 0.0.0.0 */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** PostgreSQL URL. Unset: embedded PGlite under PGLITE_DATA_DIR. */
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgresql://user@host:5432/db'),
  /** @default 10 */
  DATABASE_POOL_MAX: int(10, 1, 200),
  /** Where the embedded database keeps its files. @default .data/pglite */
  PGLITE_DATA_DIR: z.string().min(1).default('.data/pglite'),
  /** Redis URL. Unset: in-process event bus (single replica). */
  REDIS_URL: url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  /** Prefix of the registry's Redis channels (lets several registries share a Redis). @default registry: */
  REDIS_CHANNEL_PREFIX: z.string().min(1).default('registry:'),
  /** How long start-up waits for Redis before exiting. @default 5000 */
  REDIS_CONNECT_TIMEOUT_MS: int(5_000, 100, 120_000),
  /** Base of the Redis connection names (`<name>-pub-<pid>`, `<name>-sub-<pid>`) shown by CLIENT LIST. @default registry */
  REDIS_CLIENT_NAME: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, { message: 'expected 1 to 64 letters, digits or . _ : -' }).default('registry'),
  /** How long a cached service, isKnown answer or active manifest is trusted without hearing from the bus. @default 30000 */
  CACHE_TTL_MS: int(30_000, 100, 3_600_000),
  /** Log the cache counters this often (one `[service-registry] cache hit/miss` line); 0 = never. @default 60000 */
  CACHE_STATS_LOG_MS: int(60_000, 0, 86_400_000),
  /** Apply pending migrations at start-up. @default true */
  MIGRATE_ON_START: bool(true),
  /** @default info */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'expected fatal, error, warn, info, debug, trace or silent' }).default('info'),
  /** How long in-flight requests may take to finish after SIGTERM. @default 8000 */
  SHUTDOWN_TIMEOUT_MS: int(8000, 0, 120_000),
  /** GraphiQL at /graphql. @default true outside production */
  GRAPHIQL: z.enum(['true', 'false'], { message: 'expected true or false' }).optional(),
  /** Largest accepted service metadata, serialized as JSON. @default 10240 */
  METADATA_MAX_BYTES: int(10_240, 256, 1_048_576),
  /** Unknown declared dependencies: reject the registration, or accept it with a warning. @default reject */
  DEPENDENCY_VALIDATION: z.enum(['reject', 'warn'], { message: 'expected reject or warn' }).default('reject'),
  /** TTL of an instance that does not state its own. @default 30 */
  HEARTBEAT_TTL_SECONDS: int(30, 1, 86_400),
  /** Buffering of last-seen updates before one batched write. @default 250 */
  HEARTBEAT_FLUSH_MS: int(250, 10, 10_000),
  /** Run the TTL health monitor in this process. @default true */
  MONITOR_ENABLED: bool(true),
  /** How often the monitor sweeps. @default 5000 */
  MONITOR_INTERVAL_MS: int(5_000, 50, 60_000),
  /** Seconds after the last heartbeat at which a silent instance is DOWN. @default 60 */
  HEALTH_DOWN_AFTER_SECONDS: int(60, 1, 86_400),
  /** Run lifecycle jobs (mark inactive, archive, prune events) in this process. @default true */
  LIFECYCLE_JOBS_ENABLED: bool(true),
  /** How often lifecycle jobs tick. @default 60000 */
  LIFECYCLE_INTERVAL_MS: int(60_000, 100, 86_400_000),
  /** No heartbeat for this long → INACTIVE. @default 86400 */
  INACTIVE_AFTER_SECONDS: int(86_400, 1, 31_536_000),
  /** INACTIVE this long → REVOKED. @default 7776000 */
  ARCHIVE_AFTER_SECONDS: int(7_776_000, 1, 315_360_000),
  /** Registry events kept this long. @default 7776000 */
  EVENT_RETENTION_SECONDS: int(7_776_000, 60, 315_360_000),
  /** Run the HTTP health-probe poller in this process. @default true */
  PROBES_ENABLED: bool(true),
  /** How often the probe poller looks for due checks. @default 1000 */
  PROBE_TICK_MS: int(1_000, 50, 60_000),
  /** Most probes in flight at once in this process. @default 16 */
  PROBE_CONCURRENCY: int(16, 1, 1_000),
  /** Service health changes within FLAP_WINDOW_SECONDS above which a service is flapping. @default 5 */
  FLAP_THRESHOLD: int(5, 1, 10_000),
  /** Window over which health changes are counted for flap detection. @default 600 */
  FLAP_WINDOW_SECONDS: int(600, 1, 86_400),
  /** Health snapshots kept this many days. @default 30 */
  SNAPSHOT_RETENTION_DAYS: int(30, 1, 3_650),
  /** Largest accepted request body. @default 2097152 */
  REQUEST_BODY_MAX_BYTES: int(2_097_152, 1024, 67_108_864),
});

export type Env = ReturnType<typeof finish>;

function finish(parsed: z.infer<typeof schema>) {
  return {
    ...parsed,
    GRAPHIQL: parsed.GRAPHIQL === undefined ? parsed.NODE_ENV !== 'production' : parsed.GRAPHIQL === 'true',
  };
}

export class EnvError extends Error {
  override readonly name = 'EnvError';
}

/** Parses an environment; throws EnvError whose message is one line covering every problem. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  // Empty strings mean "unset", as in most shells' `FOO= cmd`.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      const got = cleaned[name];
      return `${name}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(redactUrl(got))})`}`;
    });
    throw new EnvError(`invalid environment: ${problems.join('; ')}`);
  }
  return finish(result.data);
}

function redactUrl(value: string): string {
  return value.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** Reads process.env, or prints the problem line and exits 1. */
export function loadEnv(): Env {
  try {
    return parseEnv(process.env);
  } catch (error) {
    if (error instanceof EnvError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
