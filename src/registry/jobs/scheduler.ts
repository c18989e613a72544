/**
 * Runs background jobs on an interval in this process. Whether a tick does work once across
 * replicas is the job's own business (row claims, transaction-scoped advisory locks or
 * leases); the scheduler only guarantees one run at a time per process and a clean stop.
 */
import type { Logger } from '../../infra/logger/logger.js';

export interface BackgroundJob {
  name: string;
  intervalMs: number;
  /** One tick. Errors are logged; the next tick runs as planned. */
  run(): Promise<unknown>;
}

export interface JobScheduler {
  /** Stops ticking and waits for runs in progress to end. */
  stop(): Promise<void>;
}

export function startJobs(jobs: BackgroundJob[], logger: Logger): JobScheduler {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();

  const schedule = (job: BackgroundJob, delayMs: number) => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const run = job
        .run()
        .then(
          (result) => {
            if (result !== undefined) logger.debug({ job: job.name, result }, 'job tick');
          },
          (error) => logger.error({ job: job.name, err: error }, 'job tick failed'),
        )
        .finally(() => {
          running.delete(run);
          // ±10 % jitter keeps replicas from ticking in lockstep.
          schedule(job, job.intervalMs * (0.9 + Math.random() * 0.2));
        });
      running.add(run);
    }, delayMs);
    timer.unref();
    timers.add(timer);
  };

  for (const job of jobs) schedule(job, job.intervalMs * Math.random() * 0.2);

  return {
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...running]);
    },
  };
}
