/**
 * The probe poller. Every replica ticks; each tick claims due checks with one UPDATE … WHERE id
 * IN (SELECT … FOR UPDATE SKIP LOCKED) that also moves next_run_at one interval (plus up to
 * 10 % jitter) ahead, so a target is probed once per interval across replicas. Probes run with
 * bounded concurrency; their readings are applied in one transaction, and only while this
 * replica still owns the claim (lease_owner). All times come from the database clock.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { HealthSnapshot } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { publishEvents } from '../events/record-event.js';
import type { BackgroundJob } from '../jobs/scheduler.js';
import { applyCheckReadings, type CheckReading } from './check-readings.js';
import { mapWithConcurrency, probeHttp, type ProbeOutcome } from './http-probe.js';

const POLLER_JOB = 'probe-poller';
const PROBE_ACTOR = 'system:probe';
/** Checks claimed per tick, as a multiple of PROBE_CONCURRENCY. */
const CLAIM_FACTOR = 4;

export interface ClaimedCheck {
  id: string;
  service_id: string;
  url: string;
  timeout_ms: number;
  expect_status: number;
}

/**
 * Claims up to `limit` due checks for `owner`. The lease covers the worst wait of a claimed
 * check behind the others of its batch (CLAIM_FACTOR rounds of timeouts) plus time to write.
 */
export function claimDueChecks(deps: RegistryDeps, owner: string, limit: number): Promise<ClaimedCheck[]> {
  return deps.db.client.$queryRaw<ClaimedCheck[]>`
    UPDATE health_checks c SET
      leased_until = now() + (c.timeout_ms * ${CLAIM_FACTOR}::int + 5000) * interval '1 millisecond',
      lease_owner = ${owner},
      next_run_at = now() + c.interval_seconds * (1 + random() * 0.1) * interval '1 second'
    WHERE c.id IN (
      SELECT id FROM health_checks
      WHERE next_run_at <= now() AND (leased_until IS NULL OR leased_until < now())
      ORDER BY next_run_at
      LIMIT ${limit}::int
      FOR UPDATE SKIP LOCKED
    )
    RETURNING c.id::text AS id, c.service_id::text AS service_id, c.url, c.timeout_ms, c.expect_status`;
}

export function probeReading(check: { id: string; service_id: string }, outcome: ProbeOutcome, leaseOwner: string | null): CheckReading {
  return {
    serviceId: check.service_id,
    checkId: check.id,
    passed: outcome.passed,
    status: outcome.passed ? 'UP' : 'DOWN',
    latencyMs: outcome.latencyMs,
    statusCode: outcome.statusCode,
    message: outcome.message,
    metadata: { passed: outcome.passed },
    leaseOwner,
  };
}

export interface ProbeTickReport {
  claimed: number;
  applied: number;
  events: number;
}

export async function runProbeTick(deps: RegistryDeps, owner: string): Promise<ProbeTickReport> {
  const claimed = await claimDueChecks(deps, owner, deps.settings.probes.concurrency * CLAIM_FACTOR);
  if (claimed.length === 0) return { claimed: 0, applied: 0, events: 0 };
  const outcomes = await mapWithConcurrency(claimed, deps.settings.probes.concurrency, (check) =>
    probeHttp({ url: check.url, timeoutMs: check.timeout_ms, expectStatus: check.expect_status }),
  );
  const readings = claimed.map((check, index) => probeReading(check, outcomes[index]!, owner));
  const outcome = await deps.db.client.$transaction(
    (tx) => applyCheckReadings(tx, readings, { source: 'PROBE', actor: PROBE_ACTOR, flapping: deps.settings.flapping }),
    { timeout: 60_000 },
  );
  await publishEvents(deps.bus, outcome.events).catch((error) => deps.logger.warn({ err: error }, 'event publish failed'));
  return { claimed: claimed.length, applied: outcome.snapshots.filter(Boolean).length, events: outcome.events.length };
}

export interface ProbePollerOptions {
  /** Identifies this process in health_checks.lease_owner. @default host:pid:random */
  owner?: string;
}

export function probePollerJob(deps: RegistryDeps, options: ProbePollerOptions = {}): BackgroundJob {
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  return {
    name: POLLER_JOB,
    intervalMs: deps.settings.probes.tickMs,
    run: async () => {
      const report = await runProbeTick(deps, owner);
      return report.claimed > 0 ? report : undefined;
    },
  };
}

/**
 * Probes a service's check now, outside its schedule (which is left as it is), and applies
 * the reading like any other. Unknown slug, or a service without a check → NotFoundError.
 */
export async function probeServiceNow(deps: RegistryDeps, slug: string, actor: string | null): Promise<HealthSnapshot> {
  const service = await deps.db.client.service.findUnique({ where: { slug }, select: { id: true, healthCheck: true } });
  if (!service) throw new NotFoundError('Service', slug);
  const check = service.healthCheck;
  if (!check) throw new NotFoundError('HealthCheck', slug);
  const outcome = await probeHttp({ url: check.url, timeoutMs: check.timeoutMs, expectStatus: check.expectStatus });
  const result = await deps.db.client.$transaction((tx) =>
    applyCheckReadings(tx, [probeReading({ id: check.id, service_id: service.id }, outcome, null)], {
      source: 'PROBE',
      actor: actor ?? PROBE_ACTOR,
      flapping: deps.settings.flapping,
    }),
  );
  await publishEvents(deps.bus, result.events).catch((error) => deps.logger.warn({ err: error }, 'event publish failed'));
  const snapshot = result.snapshots[0];
  // The check can only vanish between the read and the write if a manifest removed it.
  if (!snapshot) throw new NotFoundError('HealthCheck', slug);
  return snapshot;
}
