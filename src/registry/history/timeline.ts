/**
 * A service's timeline: its health snapshots, its audit events and the versions of its
 * manifests in one list, newest first, read with one UNION ALL statement per page.
 *
 * Order (and cursor) is (at, kind, key) descending, where key is a snapshot's or event's id
 * zero-padded to 20 digits, or a manifest row's uuid, compared bytewise (COLLATE "C"), so
 * equal timestamps still order totally. Each branch is bounded by the cursor and limited
 * before the union, so a page reads at most `limit` rows of each kind.
 */
import { Prisma, type HealthSnapshot, type RegistryEvent } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { InputError } from '../errors.js';
import { toSnapshot, type SnapshotRow } from './snapshot-queries.js';

export type TimelineKind = 'event' | 'manifest' | 'snapshot';

/** One version of a service's manifest, as far as the timeline needs it. */
export interface ManifestVersionEntry {
  id: string;
  moduleId: string;
  moduleVersion: string;
  version: number;
  checksum: string;
  importedAt: Date;
  supersededAt: Date | null;
}

export type TimelineItem =
  | { kind: 'snapshot'; at: Date; key: string; value: HealthSnapshot }
  | { kind: 'event'; at: Date; key: string; value: RegistryEvent }
  | { kind: 'manifest'; at: Date; key: string; value: ManifestVersionEntry };

export interface TimelinePageRequest {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

interface Position {
  at: Date;
  kind: TimelineKind;
  key: string;
}

export function encodeTimelineCursor(item: Pick<TimelineItem, 'at' | 'kind' | 'key'>): string {
  return Buffer.from(JSON.stringify([item.at.getTime(), item.kind, item.key])).toString('base64url');
}

function decodeTimelineCursor(cursor: string, arg: string): Position {
  try {
    const [ms, kind, key] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown, unknown];
    if (typeof ms === 'number' && Number.isFinite(ms) && (kind === 'event' || kind === 'manifest' || kind === 'snapshot') && typeof key === 'string') {
      return { at: new Date(ms), kind, key };
    }
  } catch {
    // fall through
  }
  throw new InputError(`malformed ${arg} cursor`, [{ path: arg, message: 'not a cursor issued by timeline' }]);
}

interface UnionRow {
  kind: TimelineKind;
  key: string;
  at: Date;
  payload: Record<string, any>;
}

export async function pageTimeline(deps: RegistryDeps, service: { id: string; slug: string }, request: TimelinePageRequest): Promise<TimelineItem[]> {
  const after = request.after ? decodeTimelineCursor(request.after, 'after') : null;
  const before = request.before ? decodeTimelineCursor(request.before, 'before') : null;
  const direction = request.inverted ? Prisma.sql`ASC` : Prisma.sql`DESC`;
  const limit = request.limit;

  // Bounds for one branch: `at` and `key` are that branch's column expressions.
  const bounded = (kind: TimelineKind, at: Prisma.Sql, key: Prisma.Sql) => {
    const parts: Prisma.Sql[] = [];
    // Newest first: "after" a cursor means older, a smaller position.
    if (after) parts.push(Prisma.sql`${at} <= ${after.at} AND (${at}, ${kind}::text COLLATE "C", ${key} COLLATE "C") < (${after.at}::timestamptz, ${after.kind}::text COLLATE "C", ${after.key}::text COLLATE "C")`);
    if (before) parts.push(Prisma.sql`${at} >= ${before.at} AND (${at}, ${kind}::text COLLATE "C", ${key} COLLATE "C") > (${before.at}::timestamptz, ${before.kind}::text COLLATE "C", ${before.key}::text COLLATE "C")`);
    return parts.length ? Prisma.sql`AND ${Prisma.join(parts, ' AND ')}` : Prisma.empty;
  };
  const snapshotKey = Prisma.sql`lpad(h.id::text, 20, '0')`;
  const eventKey = Prisma.sql`lpad(e.id::text, 20, '0')`;
  const manifestKey = Prisma.sql`m.id::text`;

  const rows = await deps.db.client.$queryRaw<UnionRow[]>`
    SELECT kind, key, at, payload FROM (
      (SELECT 'snapshot'::text AS kind, ${snapshotKey} AS key, h.checked_at AS at,
          jsonb_build_object('id', h.id, 'service_id', h.service_id, 'instance_id', h.instance_id, 'status', h.status,
            'latency_ms', h.latency_ms, 'status_code', h.status_code, 'message', h.message, 'checked_at', h.checked_at,
            'version', h.version, 'source', h.source, 'cause', h.cause, 'metadata', h.metadata) AS payload
        FROM service_health_snapshots h
        WHERE h.service_id = ${service.id}::uuid ${bounded('snapshot', Prisma.sql`h.checked_at`, snapshotKey)}
        ORDER BY h.checked_at ${direction}, h.id ${direction}
        LIMIT ${limit}::int)
      UNION ALL
      (SELECT 'event'::text, ${eventKey}, e.at, to_jsonb(e)
        FROM registry_events e
        WHERE e.service_id = ${service.id}::uuid ${bounded('event', Prisma.sql`e.at`, eventKey)}
        ORDER BY e.at ${direction}, e.id ${direction}
        LIMIT ${limit}::int)
      UNION ALL
      (SELECT 'manifest'::text, ${manifestKey}, m.imported_at,
          jsonb_build_object('id', m.id, 'module_id', m.module_id, 'module_version', m.module_version, 'version', m.version,
            'checksum', m.checksum, 'imported_at', m.imported_at, 'superseded_at', m.superseded_at)
        FROM service_manifests m
        WHERE (m.service_id = ${service.id}::uuid OR m.service_slug = ${service.slug}) ${bounded('manifest', Prisma.sql`m.imported_at`, manifestKey)}
        ORDER BY m.imported_at ${direction}, m.id::text COLLATE "C" ${direction}
        LIMIT ${limit}::int)
    ) t
    ORDER BY at ${direction}, kind COLLATE "C" ${direction}, key COLLATE "C" ${direction}
    LIMIT ${limit}::int`;
  return rows.map(toItem);
}

function toItem(row: UnionRow): TimelineItem {
  const at = new Date(row.at);
  const p = row.payload;
  switch (row.kind) {
    case 'snapshot':
      return { kind: 'snapshot', at, key: row.key, value: toSnapshot({ ...(p as SnapshotRow), id: BigInt(row.key), checked_at: new Date(p.checked_at) }) };
    case 'event':
      return {
        kind: 'event',
        at,
        key: row.key,
        value: {
          id: BigInt(row.key),
          type: p.type,
          serviceId: p.service_id,
          serviceSlug: p.service_slug,
          instanceId: p.instance_id,
          fromValue: p.from_value,
          toValue: p.to_value,
          cause: p.cause,
          actor: p.actor,
          details: p.details,
          revision: p.revision,
          at: new Date(p.at),
        },
      };
    case 'manifest':
      return {
        kind: 'manifest',
        at,
        key: row.key,
        value: {
          id: p.id,
          moduleId: p.module_id,
          moduleVersion: p.module_version,
          version: p.version,
          checksum: p.checksum,
          importedAt: new Date(p.imported_at),
          supersededAt: p.superseded_at ? new Date(p.superseded_at) : null,
        },
      };
  }
}
