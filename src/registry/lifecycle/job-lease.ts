/**
 * Rows of job_leases: which replica runs a periodic job this tick, and what its last run did.
 *
 * A claim is one INSERT … ON CONFLICT DO UPDATE … WHERE statement. Two replicas claiming at
 * once serialise on the row; the second re-evaluates the WHERE against the first one's
 * committed row, sees a fresh last_run_at and gets nothing back. No session state is kept,
 * so it is safe through the pooled Prisma connection.
 */
import type { Database } from '../../infra/db/database.js';

export interface LeaseClaim {
  name: string;
  owner: string;
  /** A run claims only when the previous one started at least this long ago. */
  minGapMs: number;
  /** Upper bound on one run: a crashed holder blocks the job at most this long. */
  leaseMs: number;
}

/** true when this caller won the tick and must run the job, then call finishJobLease. */
export async function claimJobLease(db: Database, claim: LeaseClaim): Promise<boolean> {
  const rows = await db.client.$queryRaw<Array<{ name: string }>>`
    INSERT INTO job_leases AS l (name, owner, leased_until, last_run_at)
    VALUES (${claim.name}, ${claim.owner}, now() + ${claim.leaseMs}::int * interval '1 millisecond', now())
    ON CONFLICT (name) DO UPDATE
      SET owner = EXCLUDED.owner, leased_until = EXCLUDED.leased_until, last_run_at = EXCLUDED.last_run_at
      WHERE (l.last_run_at IS NULL OR l.last_run_at < now() - ${claim.minGapMs}::int * interval '1 millisecond')
        AND (l.leased_until IS NULL OR l.leased_until < now())
    RETURNING l.name`;
  return rows.length === 1;
}

/** Records the run's result and frees the lease, unless another owner has taken it since. */
export async function finishJobLease(db: Database, lease: { name: string; owner: string }, result: unknown): Promise<void> {
  await db.client.$executeRaw`
    UPDATE job_leases SET leased_until = NULL, last_result = ${JSON.stringify(result)}::jsonb
    WHERE name = ${lease.name} AND owner = ${lease.owner}`;
}

/** Records a run that did not go through a claim (a manual run); the lease is left as it is. */
export async function recordJobRun(db: Database, name: string, result: unknown): Promise<void> {
  await db.client.$executeRaw`
    INSERT INTO job_leases (name, last_run_at, last_result) VALUES (${name}, now(), ${JSON.stringify(result)}::jsonb)
    ON CONFLICT (name) DO UPDATE SET last_run_at = EXCLUDED.last_run_at, last_result = EXCLUDED.last_result`;
}

export interface JobLeaseState {
  name: string;
  lastRunAt: Date | null;
  lastResult: unknown;
  leasedUntil: Date | null;
}

export async function readJobLeases(db: Database, names: readonly string[]): Promise<JobLeaseState[]> {
  const rows = await db.client.jobLease.findMany({ where: { name: { in: [...names] } } });
  return rows.map((row) => ({ name: row.name, lastRunAt: row.lastRunAt, lastResult: row.lastResult, leasedUntil: row.leasedUntil }));
}
