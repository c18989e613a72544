/** Read side of manifests: filters, module summaries and version diffs. */
import type { ManifestImport, Prisma } from '../../generated/prisma/client.js';
import type { RegistryDeps } from '../deps.js';
import { InputError, NotFoundError } from '../errors.js';
import { diffJson, type FieldChange } from './canonical-json.js';

export interface ManifestFilter {
  moduleId?: string | null;
  serviceSlug?: string | null;
  /** @default false */
  includeSuperseded?: boolean | null;
}

export function manifestWhere(filter: ManifestFilter | null | undefined): Prisma.ServiceManifestWhereInput {
  return {
    ...(filter?.moduleId ? { moduleId: filter.moduleId } : {}),
    ...(filter?.serviceSlug ? { serviceSlug: filter.serviceSlug } : {}),
    ...(filter?.includeSuperseded ? {} : { supersededAt: null }),
  };
}

export const MANIFEST_ORDER: Prisma.ServiceManifestOrderByWithRelationInput[] = [{ moduleId: 'asc' }, { serviceSlug: 'asc' }, { version: 'desc' }];
export const IMPORT_ORDER: Prisma.ManifestImportOrderByWithRelationInput[] = [{ importedAt: 'desc' }, { id: 'desc' }];

export interface ModuleSummary {
  id: string;
  /** Module versions imported, in the order first seen. */
  versions: string[];
  lastImport: ManifestImport;
  activeServiceCount: number;
}

/** Every module ever imported: three statements however many modules there are. */
export async function moduleSummaries(deps: RegistryDeps): Promise<ModuleSummary[]> {
  const { client } = deps.db;
  const rows = await client.$queryRaw<Array<{ module_id: string; versions: string[]; last_import_id: string; active: number }>>`
    WITH seen AS (
      SELECT module_id, module_version, min(imported_at) AS first_at FROM manifest_imports GROUP BY module_id, module_version
    ), latest AS (
      SELECT DISTINCT ON (module_id) module_id, id FROM manifest_imports ORDER BY module_id, imported_at DESC, id DESC
    )
    SELECT seen.module_id,
           array_agg(seen.module_version ORDER BY seen.first_at) AS versions,
           (SELECT latest.id::text FROM latest WHERE latest.module_id = seen.module_id) AS last_import_id,
           (SELECT count(*)::int FROM service_manifests m WHERE m.module_id = seen.module_id AND m.superseded_at IS NULL) AS active
    FROM seen GROUP BY seen.module_id ORDER BY seen.module_id`;
  const imports = await client.manifestImport.findMany({ where: { id: { in: rows.map((row) => row.last_import_id) } } });
  const byId = new Map(imports.map((row) => [row.id, row]));
  return rows.map((row) => ({ id: row.module_id, versions: row.versions, lastImport: byId.get(row.last_import_id)!, activeServiceCount: row.active }));
}

export interface ManifestDiffInput {
  slug: string;
  fromVersion: number;
  toVersion: number;
  /** Needed only when the slug has manifests in several modules. */
  moduleId?: string | null;
}

export interface ManifestDiff {
  slug: string;
  moduleId: string;
  fromVersion: number;
  toVersion: number;
  changes: FieldChange[];
}

/** Field-level changes between two manifest versions of one service (payloads compared deeply). */
export async function manifestDiff(deps: RegistryDeps, input: ManifestDiffInput): Promise<ManifestDiff> {
  const rows = await deps.db.client.serviceManifest.findMany({
    where: { serviceSlug: input.slug, version: { in: [input.fromVersion, input.toVersion] }, ...(input.moduleId ? { moduleId: input.moduleId } : {}) },
    orderBy: { importedAt: 'desc' },
  });
  const modules = [...new Set(rows.map((row) => row.moduleId))];
  if (modules.length > 1) {
    throw new InputError(`${input.slug} has manifests in several modules (${modules.join(', ')}): say which`, [{ path: 'moduleId', message: 'required here' }]);
  }
  const find = (version: number) => {
    const row = rows.find((candidate) => candidate.version === version);
    if (!row) throw new NotFoundError('manifest version', `${input.slug}@${version}`);
    return row;
  };
  const from = find(input.fromVersion);
  const to = find(input.toVersion);
  return { slug: input.slug, moduleId: from.moduleId, fromVersion: from.version, toVersion: to.version, changes: diffJson(from.payload, to.payload) };
}
