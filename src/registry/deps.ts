import type { EventBus } from '../infra/bus/event-bus.js';
import type { Clock } from '../infra/clock.js';
import type { Database } from '../infra/db/database.js';
import type { Logger } from '../infra/logger/logger.js';
import type { Env } from '../config/env.js';

/** Tunables of the registry's behaviour, derived once from the environment. */
export interface RegistrySettings {
  /** Largest service metadata, as JSON. @default 10240 */
  metadataMaxBytes: number;
  /** What an unknown declared dependency does to a registration. @default reject */
  dependencyValidation: 'reject' | 'warn';
  heartbeat: {
    /** TTL of an instance that does not state its own. @default 30 */
    defaultTtlSeconds: number;
    /** How long last-seen updates are buffered before one batched write. @default 250 */
    flushIntervalMs: number;
    /** Most items in one `heartbeats` call. @default 1000 */
    maxBatch: number;
  };
  monitor: {
    /** Run the TTL monitor in this process. @default true */
    enabled: boolean;
    /** How often it sweeps. @default 5000 */
    intervalMs: number;
    /** Seconds after the last heartbeat at which a missed instance is DOWN (UNHEALTHY before). @default 60 */
    downAfterSeconds: number;
  };
  lifecycle: {
    /** Run lifecycle jobs (mark inactive, archive, prune events) in this process. @default true */
    enabled: boolean;
    /** How often each job ticks. @default 60000 */
    intervalMs: number;
    /** No heartbeat for this long → INACTIVE. @default 86400 (24 h) */
    inactiveAfterSeconds: number;
    /** INACTIVE for this long → REVOKED. @default 7776000 (90 d) */
    archiveAfterSeconds: number;
    /** Registry events older than this are deleted. @default 7776000 (90 d) */
    eventRetentionSeconds: number;
  };
  probes: {
    /** Run the HTTP probe poller in this process. @default true */
    enabled: boolean;
    /** How often the poller claims due checks. @default 1000 */
    tickMs: number;
    /** Most probes in flight at once per process. @default 16 */
    concurrency: number;
  };
  flapping: {
    /** More service health changes than this within the window → flapping. @default 5 */
    threshold: number;
    /** @default 600 */
    windowSeconds: number;
  };
  history: {
    /** Health snapshots older than this are deleted. @default 30 */
    snapshotRetentionDays: number;
  };
}

/** What every use-case may touch. Passed explicitly; nothing reaches for globals. */
export interface RegistryDeps {
  db: Database;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  settings: RegistrySettings;
}

export function settingsFromEnv(env: Env): RegistrySettings {
  return {
    metadataMaxBytes: env.METADATA_MAX_BYTES,
    dependencyValidation: env.DEPENDENCY_VALIDATION,
    heartbeat: { defaultTtlSeconds: env.HEARTBEAT_TTL_SECONDS, flushIntervalMs: env.HEARTBEAT_FLUSH_MS, maxBatch: 1_000 },
    monitor: { enabled: env.MONITOR_ENABLED, intervalMs: env.MONITOR_INTERVAL_MS, downAfterSeconds: env.HEALTH_DOWN_AFTER_SECONDS },
    lifecycle: {
      enabled: env.LIFECYCLE_JOBS_ENABLED,
      intervalMs: env.LIFECYCLE_INTERVAL_MS,
      inactiveAfterSeconds: env.INACTIVE_AFTER_SECONDS,
      archiveAfterSeconds: env.ARCHIVE_AFTER_SECONDS,
      eventRetentionSeconds: env.EVENT_RETENTION_SECONDS,
    },
    probes: { enabled: env.PROBES_ENABLED, tickMs: env.PROBE_TICK_MS, concurrency: env.PROBE_CONCURRENCY },
    flapping: { threshold: env.FLAP_THRESHOLD, windowSeconds: env.FLAP_WINDOW_SECONDS },
    history: { snapshotRetentionDays: env.SNAPSHOT_RETENTION_DAYS },
  };
}

/**
 * One value per running registry (per deps object, i.e. per runtime: tests run several runtimes
 * in one process), created on first use.
 */
export class PerRegistry<T> {
  private readonly values = new WeakMap<RegistryDeps, T>();

  constructor(private readonly create: (deps: RegistryDeps) => T) {}

  get(deps: RegistryDeps): T {
    let value = this.values.get(deps);
    if (value === undefined) {
      value = this.create(deps);
      this.values.set(deps, value);
    }
    return value;
  }

  /** The value if there is one; never creates it. */
  peek(deps: RegistryDeps): T | undefined {
    return this.values.get(deps);
  }

  set(deps: RegistryDeps, value: T): void {
    this.values.set(deps, value);
  }

  /** Removes the value and hands it back, for closing. */
  take(deps: RegistryDeps): T | undefined {
    const value = this.values.get(deps);
    this.values.delete(deps);
    return value;
  }
}
