/**
 * Deletes registry events older than `eventRetentionSeconds`, a bounded batch per statement
 * so a large backlog never becomes one long transaction holding millions of row locks.
 */
import type { RegistryDeps } from '../deps.js';

export interface PruneOutcome {
  affected: number;
  ranAt: Date;
}

/** Rows deleted per statement. @default 10000 */
export const PRUNE_BATCH_SIZE = 10_000;

export async function pruneRegistryEvents(deps: RegistryDeps, options: { batchSize?: number } = {}): Promise<PruneOutcome> {
  const batchSize = options.batchSize ?? PRUNE_BATCH_SIZE;
  const seconds = deps.settings.lifecycle.eventRetentionSeconds;
  // The cutoff is fixed once, from the database clock, so the loop ends even while time moves
  // on; kept as text so no precision or time zone is lost on the way through JavaScript.
  const [clock] = await deps.db.client.$queryRaw<Array<{ ran_at: Date; cutoff: string }>>`
    SELECT now() AS ran_at, (now() - ${seconds}::int * interval '1 second')::text AS cutoff`;
  const cutoff = clock!.cutoff;

  let affected = 0;
  for (;;) {
    const deleted = await deps.db.client.$executeRaw`
      DELETE FROM registry_events
      WHERE id IN (
        SELECT id FROM registry_events WHERE at < ${cutoff}::timestamptz ORDER BY at LIMIT ${batchSize}::int
      )`;
    affected += deleted;
    if (deleted < batchSize) break;
  }
  return { affected, ranAt: new Date(clock!.ran_at) };
}
