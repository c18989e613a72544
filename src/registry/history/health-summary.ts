/**
 * Health summaries over a window ending now (database clock), computed in one SQL statement
 * from the service-level snapshots (instance_id IS NULL):
 *
 * - Each snapshot's status holds from its checked_at until the next snapshot of the same
 *   service (or now). The last snapshot before the window gives the state at its start.
 * - uptimeRatio = time in UP or DEGRADED (DEGRADED still serves) / time with a known state in
 *   the window. Time before a service's first snapshot is not counted either way; null when
 *   no time is covered.
 * - latencyP50/P95/P99: percentile_cont over latency_ms of the snapshots in the window (ms).
 * - transitions: snapshots in the window whose status differs from the previous snapshot's.
 * - incidents: transitions into DOWN or UNHEALTHY from any other status (DOWN → UNHEALTHY is
 *   the same incident).
 * - mttrSeconds: mean time from an incident's start to the next UP snapshot, over the
 *   incidents that recovered; null when none did.
 * A network's summary is the same over all its member services together: time-weighted
 * uptime over the members' covered time, percentiles over all their snapshots, counts summed.
 */
import { Prisma } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { InputError } from '../errors.js';

export interface HealthSummary {
  windowSeconds: number;
  uptimeRatio: number | null;
  latencyP50: number | null;
  latencyP95: number | null;
  latencyP99: number | null;
  transitions: number;
  incidents: number;
  mttrSeconds: number | null;
}

/** Longest window accepted. */
export const MAX_WINDOW_SECONDS = 366 * 86_400;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 };

/** "90s", "15m", "24h", "7d", "1h30m" → seconds. */
export function parseDuration(value: string, path = 'window'): number {
  const text = value.trim().toLowerCase();
  if (!/^(\d+[smhdw])+$/.test(text)) {
    throw new InputError(`malformed duration ${JSON.stringify(value)}`, [{ path, message: 'expected a duration such as 90s, 15m, 24h, 7d or 1h30m' }]);
  }
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  return checkWindow(seconds, path);
}

export function checkWindow(seconds: number, path = 'windowSeconds'): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_WINDOW_SECONDS) {
    throw new InputError(`window out of range`, [{ path, message: `expected 1 s to ${MAX_WINDOW_SECONDS} s` }]);
  }
  return seconds;
}

interface SummaryRow {
  up_seconds: number | null;
  covered_seconds: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  transitions: number;
  incidents: number;
  mttr: number | null;
}

/** `members` is a query yielding one column, service_id. */
async function summarize(deps: RegistryDeps, members: Prisma.Sql, windowSeconds: number): Promise<HealthSummary> {
  const [row] = await deps.db.client.$queryRaw<SummaryRow[]>`
    WITH bounds AS (SELECT now() AS t1, now() - make_interval(secs => ${windowSeconds}::int) AS t0),
    members AS (${members}),
    carried AS (
      SELECT c.* FROM members m CROSS JOIN bounds b CROSS JOIN LATERAL (
        SELECT h.service_id, h.status, b.t0 AS at, h.version, NULL::int AS latency_ms, false AS in_window
        FROM service_health_snapshots h
        WHERE h.service_id = m.service_id AND h.instance_id IS NULL AND h.checked_at < b.t0
        ORDER BY h.checked_at DESC, h.version DESC
        LIMIT 1
      ) c
    ),
    inside AS (
      SELECT h.service_id, h.status, h.checked_at AS at, h.version, h.latency_ms, true AS in_window
      FROM service_health_snapshots h CROSS JOIN bounds b
      WHERE h.service_id IN (SELECT service_id FROM members) AND h.instance_id IS NULL
        AND h.checked_at >= b.t0 AND h.checked_at <= b.t1
    ),
    ordered AS (
      SELECT s.*,
        lag(s.status) OVER forward AS prev,
        coalesce(lead(s.at) OVER forward, (SELECT t1 FROM bounds)) AS until,
        -- Walking backwards in time, the smallest UP time seen so far is the next UP.
        min(s.at) FILTER (WHERE s.status = 'UP') OVER (
          PARTITION BY s.service_id ORDER BY s.at DESC, s.version DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS next_up
      FROM (SELECT * FROM carried UNION ALL SELECT * FROM inside) s
      WINDOW forward AS (PARTITION BY s.service_id ORDER BY s.at, s.version)
    ),
    marked AS (
      SELECT o.*,
        o.in_window AND o.prev IS NOT NULL AND o.status <> o.prev AS is_transition,
        o.in_window AND o.prev IS NOT NULL AND o.status IN ('DOWN', 'UNHEALTHY') AND o.prev NOT IN ('DOWN', 'UNHEALTHY') AS is_incident
      FROM ordered o
    )
    SELECT
      sum(extract(epoch FROM until - at)) FILTER (WHERE status IN ('UP', 'DEGRADED'))::float8 AS up_seconds,
      sum(extract(epoch FROM until - at))::float8 AS covered_seconds,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE in_window) AS p50,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE in_window) AS p95,
      percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE in_window) AS p99,
      count(*) FILTER (WHERE is_transition)::int AS transitions,
      count(*) FILTER (WHERE is_incident)::int AS incidents,
      avg(extract(epoch FROM next_up - at)) FILTER (WHERE is_incident AND next_up IS NOT NULL)::float8 AS mttr
    FROM marked`;
  const covered = row?.covered_seconds ?? 0;
  return {
    windowSeconds,
    uptimeRatio: covered > 0 ? (row!.up_seconds ?? 0) / covered : null,
    latencyP50: row?.p50 ?? null,
    latencyP95: row?.p95 ?? null,
    latencyP99: row?.p99 ?? null,
    transitions: row?.transitions ?? 0,
    incidents: row?.incidents ?? 0,
    mttrSeconds: row?.mttr ?? null,
  };
}

export function serviceHealthSummary(deps: RegistryDeps, serviceId: string, windowSeconds: number): Promise<HealthSummary> {
  return summarize(deps, Prisma.sql`SELECT ${serviceId}::uuid AS service_id`, checkWindow(windowSeconds));
}

/**
 * The summary of a network over its member services (service_network_members.service_slug;
 * members not registered as services are left out). For ServiceNetwork.healthSummary.
 */
export function networkHealthSummary(deps: RegistryDeps, networkId: string, windowSeconds: number): Promise<HealthSummary> {
  return summarize(
    deps,
    Prisma.sql`SELECT s.id AS service_id FROM service_network_members nm JOIN services s ON s.slug = nm.service_slug WHERE nm.network_id = ${networkId}::uuid`,
    checkWindow(windowSeconds),
  );
}
