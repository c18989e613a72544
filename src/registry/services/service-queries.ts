/** Read side of services: the filters and orderings the graph offers, as Prisma queries. */
import semver from 'semver';
import type { Prisma, Service } from '../../generated/prisma/client.js';
import type { HealthStatus, ServiceKind, ServiceSource, ServiceStatus } from '../../generated/prisma/enums.js';
import type { RegistryDeps } from '../deps.js';
import { InputError } from '../errors.js';

export interface ServiceFilter {
  kind?: ServiceKind | null;
  status?: ServiceStatus | null;
  health?: HealthStatus | null;
  source?: ServiceSource | null;
  tag?: string | null;
  /** Case-insensitive substring of slug, name or description. */
  search?: string | null;
  /** Direct children of this slug. */
  parentSlug?: string | null;
  /** A semver range; services whose version is not semver never match. */
  versionRange?: string | null;
  /** Last heartbeat before this instant, or never. */
  heartbeatOlderThan?: Date | null;
  inMaintenance?: boolean | null;
  /** Every one matches (an empty list matches everything). */
  and?: ServiceFilter[] | null;
  /** At least one matches (an empty list matches nothing). */
  or?: ServiceFilter[] | null;
  not?: ServiceFilter | null;
}

/** Bounds on a composed filter, so one request cannot ask for an unbounded amount of planning. */
const MAX_FILTER_DEPTH = 8;
const MAX_FILTER_NODES = 64;

/**
 * The Prisma `where` of a filter. Everything but `versionRange` maps onto columns; each
 * `versionRange` costs one statement (the distinct versions among the candidates that match
 * the rest of its filter node), however many rows there are.
 */
export async function resolveServiceWhere(deps: RegistryDeps, filter: ServiceFilter | null | undefined): Promise<Prisma.ServiceWhereInput> {
  if (!filter) return {};
  // Validate the whole tree before the first statement: a malformed range costs nothing.
  let nodes = 0;
  const check = (node: ServiceFilter, path: string, depth: number) => {
    nodes++;
    if (depth > MAX_FILTER_DEPTH) throw new InputError('filter is nested too deeply', [{ path, message: `at most ${MAX_FILTER_DEPTH} levels of and/or/not` }]);
    if (nodes > MAX_FILTER_NODES) throw new InputError('filter is too large', [{ path, message: `at most ${MAX_FILTER_NODES} filter objects` }]);
    if (node.versionRange != null) checkVersionRange(node.versionRange, `${path}.versionRange`);
    node.and?.forEach((child, i) => check(child, `${path}.and.${i}`, depth + 1));
    node.or?.forEach((child, i) => check(child, `${path}.or.${i}`, depth + 1));
    if (node.not) check(node.not, `${path}.not`, depth + 1);
  };
  check(filter, 'filter', 1);
  return nodeWhere(deps, filter);
}

/** Longest range accepted: far beyond any real one, short enough to parse in no time. */
const MAX_RANGE_LENGTH = 256;

function checkVersionRange(range: string, path: string): void {
  const normalized = range.trim() === '' || range.length > MAX_RANGE_LENGTH ? null : semver.validRange(range);
  if (normalized === null) {
    throw new InputError(`malformed version range ${JSON.stringify(range)}`, [{ path, message: 'not a semver range, e.g. ">=1.2.0 <2"' }]);
  }
}

async function nodeWhere(deps: RegistryDeps, filter: ServiceFilter): Promise<Prisma.ServiceWhereInput> {
  const [and, or, not] = await Promise.all([
    filter.and ? Promise.all(filter.and.map((child) => nodeWhere(deps, child))) : undefined,
    filter.or ? Promise.all(filter.or.map((child) => nodeWhere(deps, child))) : undefined,
    filter.not ? nodeWhere(deps, filter.not) : undefined,
  ]);
  const conditions = columnConditions(filter);
  if (and) conditions.push(...and.filter((child) => !matchesAll(child)));
  // Spelled out rather than left to Prisma: an empty OR is false, an OR with a branch that
  // matches everything is true, NOT of an empty filter is false.
  if (or) {
    if (or.length === 0) conditions.push(MATCH_NONE);
    else if (!or.some(matchesAll)) conditions.push({ OR: or });
  }
  if (not) conditions.push(matchesAll(not) ? MATCH_NONE : { NOT: not });
  const kept = conditions.filter((condition) => !matchesAll(condition));
  const rest: Prisma.ServiceWhereInput = kept.length === 0 ? {} : kept.length === 1 ? kept[0]! : { AND: kept };
  if (filter.versionRange == null) return rest;

  const versions = await deps.db.client.service.groupBy({ by: ['version'], where: { AND: [rest, { version: { not: null } }] } });
  const matching = versions
    .map((row) => row.version)
    .filter((version): version is string => version !== null && semver.valid(version) !== null && semver.satisfies(version, filter.versionRange!));
  // `not null` beside `in`: under NOT, a null version must count as "does not match", not as unknown.
  return { AND: [rest, { version: { not: null, in: matching } }] };
}

const MATCH_NONE: Prisma.ServiceWhereInput = { id: { in: [] } };

function matchesAll(where: Prisma.ServiceWhereInput): boolean {
  return Object.keys(where).length === 0;
}

function columnConditions(filter: ServiceFilter): Prisma.ServiceWhereInput[] {
  const conditions: Prisma.ServiceWhereInput[] = [];
  if (filter.kind) conditions.push({ kind: filter.kind });
  if (filter.status) conditions.push({ status: filter.status });
  // A service in maintenance is never offered as healthy: asking for UP leaves it out.
  if (filter.health) conditions.push(filter.health === 'UP' ? { health: 'UP', inMaintenance: false } : { health: filter.health });
  if (filter.source) conditions.push({ source: filter.source });
  if (filter.tag) conditions.push({ tags: { has: filter.tag } });
  // Conditions on nullable columns carry `not: null` so that they are false, never SQL-unknown,
  // for null rows: NOT (unknown) would drop those rows from a `not` filter.
  if (filter.parentSlug) conditions.push({ parentId: { not: null }, parent: { is: { slug: filter.parentSlug } } });
  if (filter.inMaintenance != null) conditions.push({ inMaintenance: filter.inMaintenance });
  if (filter.heartbeatOlderThan) {
    conditions.push({ OR: [{ lastHeartbeatAt: { lt: filter.heartbeatOlderThan } }, { lastHeartbeatAt: null }] });
  }
  const search = filter.search?.trim();
  if (search) {
    conditions.push({
      OR: [
        { slug: { contains: search, mode: 'insensitive' } },
        { name: { contains: search, mode: 'insensitive' } },
        { description: { not: null, contains: search, mode: 'insensitive' } },
      ],
    });
  }
  return conditions;
}

export function countServices(deps: RegistryDeps, where: Prisma.ServiceWhereInput): Promise<number> {
  return deps.db.client.service.count({ where });
}

// --- Ordering and keyset pagination -------------------------------------------------------

export const SERVICE_ORDER_FIELDS = ['SLUG', 'NAME', 'REGISTERED_AT', 'LAST_HEARTBEAT_AT', 'HEALTH_SINCE'] as const;
export type ServiceOrderField = (typeof SERVICE_ORDER_FIELDS)[number];
export type OrderDirection = 'ASC' | 'DESC';

export interface ServiceOrder {
  field: ServiceOrderField;
  direction: OrderDirection;
}

export const DEFAULT_SERVICE_ORDER: ServiceOrder = { field: 'SLUG', direction: 'ASC' };

type SortColumn = 'slug' | 'name' | 'registeredAt' | 'lastHeartbeatAt' | 'healthSince';

const ORDER_COLUMNS: Record<ServiceOrderField, { column: SortColumn; kind: 'string' | 'date'; nullable: boolean }> = {
  SLUG: { column: 'slug', kind: 'string', nullable: false },
  NAME: { column: 'name', kind: 'string', nullable: false },
  REGISTERED_AT: { column: 'registeredAt', kind: 'date', nullable: false },
  LAST_HEARTBEAT_AT: { column: 'lastHeartbeatAt', kind: 'date', nullable: true },
  HEALTH_SINCE: { column: 'healthSince', kind: 'date', nullable: false },
};

/** One sort key as the query walks it; `inverted` pages walk the order backwards. */
interface SortKey {
  column: SortColumn;
  kind: 'string' | 'date';
  nullable: boolean;
  descending: boolean;
  nullsFirst: boolean;
}

type CursorValue = string | Date | null;

const CURSOR_COLUMNS = { slug: true, name: true, registeredAt: true, lastHeartbeatAt: true, healthSince: true } as const;

/**
 * The sort keys of an order: the column, then slug (unique) as tie-breaker, so the order is
 * total and a cursor names exactly one position. Nulls (services that never sent a heartbeat)
 * sort last in either direction.
 */
function sortKeys(order: ServiceOrder, inverted: boolean): SortKey[] {
  const primary = ORDER_COLUMNS[order.field];
  const descending = order.direction === 'DESC';
  const keys: SortKey[] = [{ ...primary, descending, nullsFirst: false }];
  if (primary.column !== 'slug') keys.push({ column: 'slug', kind: 'string', nullable: false, descending, nullsFirst: false });
  return inverted ? keys.map((key) => ({ ...key, descending: !key.descending, nullsFirst: !key.nullsFirst })) : keys;
}

function orderByOf(keys: SortKey[]): Prisma.ServiceOrderByWithRelationInput[] {
  return keys.map((key) => {
    const sort = key.descending ? 'desc' : 'asc';
    return { [key.column]: key.nullable ? { sort, nulls: key.nullsFirst ? 'first' : 'last' } : sort };
  });
}

/** Rows strictly after (`side` = after) or before the cursor position, in the walked order. */
function keysetWhere(keys: SortKey[], values: CursorValue[], side: 'after' | 'before'): Prisma.ServiceWhereInput {
  const branches: Prisma.ServiceWhereInput[] = [];
  keys.forEach((key, index) => {
    const equalBefore = keys.slice(0, index).map((prior, i) => ({ [prior.column]: values[i] ?? null }) as Prisma.ServiceWhereInput);
    const beyond = strictlyBeyond(key, values[index] ?? null, side);
    if (beyond) branches.push({ AND: [...equalBefore, beyond] });
  });
  return branches.length === 0 ? { id: { in: [] } } : { OR: branches };
}

function strictlyBeyond(key: SortKey, value: CursorValue, side: 'after' | 'before'): Prisma.ServiceWhereInput | null {
  // Walking "before" the cursor is walking "after" it in the reversed order.
  const descending = side === 'after' ? key.descending : !key.descending;
  const nullsFirst = side === 'after' ? key.nullsFirst : !key.nullsFirst;
  if (value === null) return nullsFirst ? { [key.column]: { not: null } } : null;
  const compare = { [key.column]: descending ? { lt: value } : { gt: value } } as Prisma.ServiceWhereInput;
  if (!key.nullable || nullsFirst) return compare;
  return { OR: [compare, { [key.column]: null }] };
}

interface CursorPayload {
  o: string;
  v: Array<string | null>;
}

/** Opaque cursor: the order it belongs to and the row's sort-key values. */
export function encodeServiceCursor(order: ServiceOrder, service: Pick<Service, SortColumn>): string {
  const payload: CursorPayload = {
    o: `${order.field}:${order.direction}`,
    v: sortKeys(order, false).map((key) => {
      const value = service[key.column];
      return value instanceof Date ? value.toISOString() : value == null ? null : String(value);
    }),
  };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function decodeServiceCursor(order: ServiceOrder, cursor: string, argument: string): CursorValue[] {
  const invalid = (message: string) => new InputError(`invalid cursor in ${argument}`, [{ path: argument, message }]);
  let payload: CursorPayload;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorPayload;
  } catch {
    throw invalid('not a cursor issued by services');
  }
  const keys = sortKeys(order, false);
  if (!payload || !Array.isArray(payload.v) || payload.v.length !== keys.length) throw invalid('not a cursor issued by services');
  if (payload.o !== `${order.field}:${order.direction}`) throw invalid(`issued for orderBy ${payload.o}, not ${order.field}:${order.direction}`);
  return keys.map((key, i) => {
    const raw = payload.v[i];
    if (raw === null || raw === undefined) {
      if (!key.nullable) throw invalid('not a cursor issued by services');
      return null;
    }
    if (typeof raw !== 'string') throw invalid('not a cursor issued by services');
    if (key.kind === 'string') return raw;
    const date = new Date(raw);
    if (Number.isNaN(date.getTime())) throw invalid('not a cursor issued by services');
    return date;
  });
}

export interface ServicePageRequest {
  where: Prisma.ServiceWhereInput;
  order: ServiceOrder;
  after?: string;
  before?: string;
  /** Rows to fetch (page size + 1, to learn whether there are more). */
  limit: number;
  /** Walk the order backwards (`last` pages); the caller reverses the rows. */
  inverted: boolean;
}

/**
 * One page by keyset (no offsets): rows strictly between the cursors in the walked order.
 * `query` carries the nested selections the GraphQL layer planned (include/select).
 */
export async function pageServices(
  deps: RegistryDeps,
  request: ServicePageRequest,
  query: Pick<Prisma.ServiceFindManyArgs, 'include' | 'select'>,
): Promise<Service[]> {
  const keys = sortKeys(request.order, request.inverted);
  const conditions: Prisma.ServiceWhereInput[] = [request.where];
  // In an inverted walk "before" the cursor is ahead: the two bounds swap sides.
  const ahead = request.inverted ? request.before : request.after;
  const behind = request.inverted ? request.after : request.before;
  if (ahead !== undefined) conditions.push(keysetWhere(keys, decodeServiceCursor(request.order, ahead, request.inverted ? 'before' : 'after'), 'after'));
  if (behind !== undefined) conditions.push(keysetWhere(keys, decodeServiceCursor(request.order, behind, request.inverted ? 'after' : 'before'), 'before'));
  // Cursors are made from the sort columns, so a narrowed selection must still carry them.
  const shaped = query.select ? { select: { ...query.select, ...CURSOR_COLUMNS } } : query;
  return (await deps.db.client.service.findMany({
    ...shaped,
    where: conditions.length === 1 ? conditions[0]! : { AND: conditions },
    orderBy: orderByOf(keys),
    take: request.limit,
  })) as Service[];
}
