/**
 * Rolling a module back to an earlier import: the service payloads that were active right
 * after that import are imported again, as a new import (new version rows, rollbackOfId set,
 * a MANIFEST_ROLLED_BACK event) through the same code as any import. Networks are left as
 * they are: the data model keeps only their current definition.
 */
import type { RegistryDeps } from '../deps.js';
import { NotFoundError } from '../errors.js';
import { checksumOf } from './canonical-json.js';
import { runImport } from './import-manifest.js';
import type { ImportReport } from './import-types.js';
import { manifestServiceSchema, type ManifestService } from './manifest-format.js';

export interface RollbackManifestInput {
  moduleId: string;
  toImportId: string;
  /** @default false */
  dryRun?: boolean | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function rollbackManifest(deps: RegistryDeps, input: RollbackManifestInput, options: { actor?: string | null } = {}): Promise<ImportReport> {
  const target = UUID.test(input.toImportId) ? await deps.db.client.manifestImport.findUnique({ where: { id: input.toImportId } }) : null;
  if (!target || target.moduleId !== input.moduleId) throw new NotFoundError('manifest import', input.toImportId);

  // Active right after the target: written by then, and not superseded by then. Import
  // instants are strictly increasing per module (see importInTransaction).
  const rows = await deps.db.client.serviceManifest.findMany({
    where: {
      moduleId: input.moduleId,
      importedAt: { lte: target.importedAt },
      OR: [{ supersededAt: null }, { supersededAt: { gt: target.importedAt } }],
    },
    orderBy: [{ serviceSlug: 'asc' }, { version: 'desc' }],
  });
  const services: ManifestService[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.serviceSlug)) continue;
    seen.add(row.serviceSlug);
    services.push(manifestServiceSchema.parse(row.payload));
  }
  return runImport(
    deps,
    {
      moduleId: target.moduleId,
      moduleVersion: target.moduleVersion,
      format: target.format,
      sourceChecksum: checksumOf(services),
      vars: [],
      services,
      networks: null,
      rollbackOfId: target.id,
    },
    { actor: options.actor ?? null, dryRun: input.dryRun ?? false },
  );
}
