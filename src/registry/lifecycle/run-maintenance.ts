/**
 * The lifecycle jobs by name, and running one on demand. A manual run skips the tick lease
 * (an operator asked for it now) but not the exactly-once guarantee, which lives in the
 * statements themselves.
 */
import type { RegistryDeps } from '../deps.js';
import { archiveInactiveServices } from './archive-inactive.js';
import { readJobLeases, recordJobRun, type JobLeaseState } from './job-lease.js';
import { markInactiveServices } from './mark-inactive.js';
import { pruneRegistryEvents } from './prune-events.js';

export const MAINTENANCE_JOBS = ['MARK_INACTIVE', 'ARCHIVE_INACTIVE', 'PRUNE_EVENTS'] as const;
export type MaintenanceJob = (typeof MAINTENANCE_JOBS)[number];

/** Actor of scheduled runs, in events and job results. */
export const LIFECYCLE_ACTOR = 'system:lifecycle';
/** Actor of manual runs when the request names nobody. */
export const MAINTENANCE_ACTOR = 'system:maintenance';

export interface MaintenanceRun {
  job: MaintenanceJob;
  /** Services transitioned, or events deleted. */
  affected: number;
  /** Database time at which the job ran. */
  ranAt: Date;
}

export interface MaintenanceJobState {
  job: MaintenanceJob;
  lastRunAt: Date | null;
  lastResult: unknown;
}

export function leaseName(job: MaintenanceJob): string {
  return `lifecycle:${job}`;
}

/** Runs a job once, with no lease and no bookkeeping. */
export async function executeMaintenanceJob(deps: RegistryDeps, job: MaintenanceJob, actor: string): Promise<MaintenanceRun> {
  switch (job) {
    case 'MARK_INACTIVE':
      return { job, ...(await markInactiveServices(deps, { actor })) };
    case 'ARCHIVE_INACTIVE':
      return { job, ...(await archiveInactiveServices(deps, { actor })) };
    case 'PRUNE_EVENTS':
      return { job, ...(await pruneRegistryEvents(deps)) };
  }
}

export function runResult(run: MaintenanceRun, trigger: 'schedule' | 'manual', actor: string) {
  return { affected: run.affected, ranAt: run.ranAt.toISOString(), trigger, actor };
}

/** Runs a job now on behalf of `actor` and records it as the job's last run. */
export async function runMaintenance(deps: RegistryDeps, job: MaintenanceJob, options: { actor?: string | null } = {}): Promise<MaintenanceRun> {
  const actor = options.actor ?? MAINTENANCE_ACTOR;
  const run = await executeMaintenanceJob(deps, job, actor);
  await recordJobRun(deps.db, leaseName(job), runResult(run, 'manual', actor)).catch((error) =>
    deps.logger.warn({ err: error, job }, 'could not record the maintenance run'),
  );
  deps.logger.info({ job, affected: run.affected, actor }, 'maintenance run');
  return run;
}

/** Every job, in declaration order, with what job_leases knows of its last run. */
export async function listMaintenanceJobs(deps: RegistryDeps): Promise<MaintenanceJobState[]> {
  const leases = new Map<string, JobLeaseState>((await readJobLeases(deps.db, MAINTENANCE_JOBS.map(leaseName))).map((lease) => [lease.name, lease]));
  return MAINTENANCE_JOBS.map((job) => {
    const lease = leases.get(leaseName(job));
    return { job, lastRunAt: lease?.lastRunAt ?? null, lastResult: lease?.lastResult ?? null };
  });
}
