/**
 * The lifecycle jobs as background jobs. Every replica ticks; a job_leases claim decides
 * which one runs the job for this interval.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RegistryDeps } from '../deps.js';
import type { BackgroundJob } from '../jobs/scheduler.js';
import { claimJobLease, finishJobLease } from './job-lease.js';
import { LIFECYCLE_ACTOR, MAINTENANCE_JOBS, executeMaintenanceJob, leaseName, runResult, type MaintenanceJob } from './run-maintenance.js';

/**
 * The scheduler waits 0.9–1.1 × interval between ticks. Requiring a full interval since the
 * last run would make a tick that comes early skip, and a lone replica would run every other
 * interval; allowing the early tenth keeps it at one run per interval.
 */
const MIN_GAP_FACTOR = 0.9;
/** How long a claimed run may hold the job before another replica may take it over. @default 300000 */
const LEASE_MS = 5 * 60_000;

export type LifecycleTickResult = { ran: false } | { ran: true; affected: number };

export interface LifecycleJobsOptions {
  /** Identifies this process in job_leases.owner. @default host:pid:random */
  owner?: string;
}

export function lifecycleJobs(deps: RegistryDeps, options: LifecycleJobsOptions = {}): BackgroundJob[] {
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const intervalMs = deps.settings.lifecycle.intervalMs;
  return MAINTENANCE_JOBS.map((job) => ({
    name: leaseName(job),
    intervalMs,
    run: () => lifecycleTick(deps, job, { owner, minGapMs: Math.floor(intervalMs * MIN_GAP_FACTOR) }),
  }));
}

async function lifecycleTick(deps: RegistryDeps, job: MaintenanceJob, tick: { owner: string; minGapMs: number }): Promise<LifecycleTickResult> {
  const lease = { name: leaseName(job), owner: tick.owner };
  if (!(await claimJobLease(deps.db, { ...lease, minGapMs: tick.minGapMs, leaseMs: LEASE_MS }))) return { ran: false };
  try {
    const run = await executeMaintenanceJob(deps, job, LIFECYCLE_ACTOR);
    await finishJobLease(deps.db, lease, runResult(run, 'schedule', LIFECYCLE_ACTOR));
    if (run.affected > 0) deps.logger.info({ job, affected: run.affected }, 'lifecycle job ran');
    return { ran: true, affected: run.affected };
  } catch (error) {
    // Free the lease so the next tick may retry instead of waiting out LEASE_MS.
    await finishJobLease(deps.db, lease, { failed: true, trigger: 'schedule' }).catch(() => {});
    throw error;
  }
}
