/**
 * Deletes health snapshots older than SNAPSHOT_RETENTION_DAYS in bounded batches (one short
 * statement each, oldest first over the checked_at index). Once per interval across replicas:
 * a job_leases claim decides which replica runs it.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RegistryDeps } from '../deps.js';
import type { BackgroundJob } from '../jobs/scheduler.js';
import { claimJobLease, finishJobLease } from '../lifecycle/job-lease.js';

export const SNAPSHOT_RETENTION_JOB = 'snapshot-retention';
/** Rows deleted per statement. @default 10000 */
export const SNAPSHOT_PRUNE_BATCH = 10_000;
/** A crashed holder blocks the job at most this long. */
const LEASE_MS = 5 * 60_000;

export async function pruneHealthSnapshots(deps: RegistryDeps, options: { batchSize?: number } = {}): Promise<{ affected: number }> {
  const batchSize = options.batchSize ?? SNAPSHOT_PRUNE_BATCH;
  // Fixed once from the database clock, so the loop ends even while time moves on.
  const [clock] = await deps.db.client.$queryRaw<Array<{ cutoff: string }>>`
    SELECT (now() - ${deps.settings.history.snapshotRetentionDays}::int * interval '1 day')::text AS cutoff`;
  let affected = 0;
  for (;;) {
    const deleted = await deps.db.client.$executeRaw`
      DELETE FROM service_health_snapshots
      WHERE id IN (SELECT id FROM service_health_snapshots WHERE checked_at < ${clock!.cutoff}::timestamptz ORDER BY checked_at LIMIT ${batchSize}::int)`;
    affected += deleted;
    if (deleted < batchSize) break;
  }
  return { affected };
}

export type RetentionTickResult = { ran: false } | { ran: true; affected: number };

export async function snapshotRetentionTick(deps: RegistryDeps, owner: string, minGapMs: number, batchSize?: number): Promise<RetentionTickResult> {
  const lease = { name: SNAPSHOT_RETENTION_JOB, owner };
  if (!(await claimJobLease(deps.db, { ...lease, minGapMs, leaseMs: LEASE_MS }))) return { ran: false };
  try {
    const { affected } = await pruneHealthSnapshots(deps, { batchSize });
    await finishJobLease(deps.db, lease, { affected, trigger: 'schedule' });
    if (affected > 0) deps.logger.info({ job: SNAPSHOT_RETENTION_JOB, affected }, 'old health snapshots deleted');
    return { ran: true, affected };
  } catch (error) {
    await finishJobLease(deps.db, lease, { failed: true, trigger: 'schedule' }).catch(() => {});
    throw error;
  }
}

/** Ticks with the lifecycle jobs' interval; runs at most once per 0.9 interval across replicas. */
export function snapshotRetentionJob(deps: RegistryDeps, options: { owner?: string } = {}): BackgroundJob {
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const intervalMs = deps.settings.lifecycle.intervalMs;
  return {
    name: SNAPSHOT_RETENTION_JOB,
    intervalMs,
    run: () => snapshotRetentionTick(deps, owner, Math.floor(intervalMs * 0.9)),
  };
}
