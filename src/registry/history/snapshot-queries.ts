/**
 * Reads of service_health_snapshots: the latest service-level snapshot of many services at
 * once (one LATERAL … LIMIT 1 over the (service_id, checked_at desc) index), and keyset pages
 * of one service's history, newest first.
 *
 * "Service-level" means instance_id IS NULL: readings of the whole service (probes, external
 * checkers) and the service's derived health. Instance snapshots are only in the history when
 * asked for.
 */
import { Prisma, type HealthSnapshot } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { InputError } from '../errors.js';

export interface SnapshotRow {
  id: bigint;
  service_id: string;
  instance_id: string | null;
  status: HealthSnapshot['status'];
  latency_ms: number | null;
  status_code: number | null;
  message: string | null;
  checked_at: Date;
  version: number;
  source: HealthSnapshot['source'];
  cause: HealthSnapshot['cause'];
  metadata: HealthSnapshot['metadata'];
}

/** The Prisma model's shape, so the HealthSnapshot node type serves raw rows too. */
export function toSnapshot(row: SnapshotRow): HealthSnapshot {
  return {
    id: BigInt(row.id),
    serviceId: row.service_id,
    instanceId: row.instance_id,
    status: row.status,
    latencyMs: row.latency_ms,
    statusCode: row.status_code,
    message: row.message,
    checkedAt: new Date(row.checked_at),
    version: row.version,
    source: row.source,
    cause: row.cause,
    metadata: row.metadata,
  };
}

const COLUMNS = Prisma.sql`h.id, h.service_id::text AS service_id, h.instance_id::text AS instance_id, h.status, h.latency_ms,
  h.status_code, h.message, h.checked_at, h.version, h.source, h.cause, h.metadata`;

/** Latest service-level snapshot per service id (absent when a service has none). */
export async function latestSnapshots(deps: RegistryDeps, serviceIds: readonly string[]): Promise<Map<string, HealthSnapshot>> {
  const rows = await deps.db.client.$queryRaw<SnapshotRow[]>`
    SELECT ${COLUMNS}
    FROM unnest(${serviceIds as string[]}::uuid[]) AS k(service_id)
    CROSS JOIN LATERAL (
      SELECT * FROM service_health_snapshots s
      WHERE s.service_id = k.service_id AND s.instance_id IS NULL
      ORDER BY s.checked_at DESC, s.version DESC
      LIMIT 1
    ) h`;
  return new Map(rows.map((row) => [row.service_id, toSnapshot(row)]));
}

export interface HistoryPageRequest {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

export interface HistoryFilter {
  from?: Date | null;
  to?: Date | null;
  includeInstances?: boolean | null;
}

/** Cursor of a history entry: checked_at (ms) and version, which orders ties. */
export function encodeHistoryCursor(snapshot: HealthSnapshot): string {
  return Buffer.from(`${snapshot.checkedAt.getTime()}:${snapshot.version}`).toString('base64url');
}

function decodeHistoryCursor(cursor: string, arg: string): { at: Date; version: number } {
  const match = /^(\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new InputError(`malformed ${arg} cursor`, [{ path: arg, message: 'not a cursor issued by healthHistory' }]);
  return { at: new Date(Number(match[1])), version: Number(match[2]) };
}

export async function pageHistory(deps: RegistryDeps, serviceId: string, filter: HistoryFilter, request: HistoryPageRequest): Promise<HealthSnapshot[]> {
  const conditions = [Prisma.sql`h.service_id = ${serviceId}::uuid`];
  if (!filter.includeInstances) conditions.push(Prisma.sql`h.instance_id IS NULL`);
  if (filter.from) conditions.push(Prisma.sql`h.checked_at >= ${filter.from}`);
  if (filter.to) conditions.push(Prisma.sql`h.checked_at < ${filter.to}`);
  // Newest first: "after" a cursor means older.
  if (request.after) {
    const { at, version } = decodeHistoryCursor(request.after, 'after');
    conditions.push(Prisma.sql`h.checked_at <= ${at} AND (h.checked_at, h.version) < (${at}::timestamptz, ${version}::int)`);
  }
  if (request.before) {
    const { at, version } = decodeHistoryCursor(request.before, 'before');
    conditions.push(Prisma.sql`h.checked_at >= ${at} AND (h.checked_at, h.version) > (${at}::timestamptz, ${version}::int)`);
  }
  const direction = request.inverted ? Prisma.sql`ASC` : Prisma.sql`DESC`;
  const rows = await deps.db.client.$queryRaw<SnapshotRow[]>`
    SELECT ${COLUMNS} FROM service_health_snapshots h
    WHERE ${Prisma.join(conditions, ' AND ')}
    ORDER BY h.checked_at ${direction}, h.version ${direction}
    LIMIT ${request.limit}::int`;
  return rows.map(toSnapshot);
}
