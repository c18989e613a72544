/** Every background job this process runs, given its settings. */
import type { RegistryDeps } from '../deps.js';
import type { BackgroundJob } from './scheduler.js';

export function backgroundJobs(deps: RegistryDeps): BackgroundJob[] {
  const jobs: BackgroundJob[] = [];
  void deps;
  return jobs;
}
