/** Every background job this process runs, given its settings. */
import type { RegistryDeps } from '../deps.js';
import { healthMonitorJob } from '../health/health-monitor.js';
import { snapshotRetentionJob } from '../history/snapshot-retention.js';
import { lifecycleJobs } from '../lifecycle/lifecycle-jobs.js';
import { probePollerJob } from '../probes/probe-poller.js';
import type { BackgroundJob } from './scheduler.js';

export function backgroundJobs(deps: RegistryDeps): BackgroundJob[] {
  const jobs: BackgroundJob[] = [];
  if (deps.settings.monitor.enabled) jobs.push(healthMonitorJob(deps));
  if (deps.settings.lifecycle.enabled) jobs.push(...lifecycleJobs(deps), snapshotRetentionJob(deps));
  if (deps.settings.probes.enabled) jobs.push(probePollerJob(deps));
  return jobs;
}
