/**
 * Coalesces last-seen updates: heartbeats that change nothing but "still alive" are held for
 * a short interval and written as one multi-row UPDATE per table. Timestamps are the
 * database's: each entry carries its age, and the write uses now() minus that age.
 */
import type { Database } from '../../infra/db/database.js';
import type { Logger } from '../../infra/logger/logger.js';
import type { HealthStatus } from '../../generated/prisma/enums.js';

export interface BufferedBeat {
  instanceRowId: string;
  serviceId: string;
  /** process.hrtime.bigint() at receipt. */
  receivedAt: bigint;
  reported: HealthStatus;
  slug: string;
  instanceId: string;
}

/** What the database held when a buffered beat was written, for beats that need more than a timestamp. */
export interface FlushedRow {
  beat: BufferedBeat;
  /** null: the instance was deregistered meanwhile. */
  health: HealthStatus | null;
}

const DEADLOCK = /deadlock detected|40P01/;

export class HeartbeatBuffer {
  private pending = new Map<string, BufferedBeat>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    /** Called with beats whose instance changed under them (health differs, or deregistered). */
    private readonly onStale: (rows: FlushedRow[]) => Promise<void>,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add(beat: BufferedBeat): void {
    // A newer beat for the same instance replaces the older one: only the latest matters.
    this.pending.set(beat.instanceRowId, beat);
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Writes everything buffered so far; resolves when it is in the database. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending.values()];
    this.pending.clear();
    this.flushing = this.flushing.then(() => (batch.length ? this.write(batch) : undefined));
    return this.flushing;
  }

  private async write(batch: BufferedBeat[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.writeOnce(batch);
        return;
      } catch (error) {
        if (attempt < 3 && DEADLOCK.test(String((error as Error)?.message))) continue;
        // Nothing else to do with the beats: the next heartbeat or the monitor settles state.
        this.logger.error({ err: error, beats: batch.length }, 'heartbeat flush failed');
        return;
      }
    }
  }

  private async writeOnce(batch: BufferedBeat[]): Promise<void> {
    const now = process.hrtime.bigint();
    const age = (beat: BufferedBeat) => Number(now - beat.receivedAt) / 1e9;
    // Sorted ids give concurrent flushes (other replicas) one lock order.
    const beats = [...batch].sort((a, b) => (a.instanceRowId < b.instanceRowId ? -1 : 1));
    const services = new Map<string, number>();
    for (const beat of beats) services.set(beat.serviceId, Math.min(services.get(beat.serviceId) ?? Infinity, age(beat)));
    const serviceIds = [...services.keys()].sort();

    // Straight through the driver rather than Prisma: these two statements carry arrays of
    // hundreds of ids every flush, and Prisma's parameter handling was the costliest part of
    // the hot path (bench:heartbeat). Services before instances: the lock order every writer follows.
    const rows = await this.db.withConnection(async (connection) => {
      await connection.query(
        `UPDATE services s
         SET last_heartbeat_at = greatest(s.last_heartbeat_at, now() - make_interval(secs => v.age))
         FROM unnest($1::uuid[], $2::float8[]) AS v(id, age)
         WHERE s.id = v.id`,
        [serviceIds, serviceIds.map((id) => services.get(id)!)],
      );
      return connection.query<{ id: string; health: HealthStatus }>(
        `UPDATE service_instances i
         SET last_heartbeat_at = now() - make_interval(secs => v.age),
             expires_at = now() - make_interval(secs => v.age) + make_interval(secs => i.ttl_seconds)
         FROM unnest($1::uuid[], $2::float8[]) AS v(id, age)
         WHERE i.id = v.id AND i.deregistered_at IS NULL
           AND (i.last_heartbeat_at IS NULL OR i.last_heartbeat_at < now() - make_interval(secs => v.age))
         RETURNING i.id::text AS id, i.health`,
        [beats.map((b) => b.instanceRowId), beats.map(age)],
      );
    });
    const written = new Map(rows.map((row) => [row.id, row.health]));
    const stale: FlushedRow[] = [];
    for (const beat of beats) {
      const health = written.get(beat.instanceRowId);
      if (health === undefined) {
        // Not written: either deregistered meanwhile, or a newer beat already landed.
        stale.push({ beat, health: null });
      } else if (health !== beat.reported) {
        stale.push({ beat, health });
      }
    }
    if (stale.length) await this.onStale(stale);
  }
}
