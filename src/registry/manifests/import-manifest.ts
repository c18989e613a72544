/**
 * Importing a module's manifest: one transaction, all or nothing, serialised per module. Each
 * service's canonical payload checksum decides its outcome (new → version 1, changed → next
 * version with the previous row superseded, identical → untouched); services the module no
 * longer lists have their manifest row retired. The mutation, the rollback and the backfill
 * script all come through `runImport`.
 */
import type { Prisma, RegistryEvent } from '../../generated/prisma/client.js';
import { withDatabaseErrors } from '../../infra/db/errors.js';
import type { RegistryDeps, RegistrySettings } from '../deps.js';
import { InputError, type InputIssue } from '../errors.js';
import { publishEvents, recordEvent } from '../events/record-event.js';
import { importNetworks } from '../networks/network-import.js';
import { checksumOf, sha256 } from './canonical-json.js';
import { countOutcomes, type ImportItem, type ImportReport } from './import-types.js';
import type { ManifestFormat, ManifestNetwork, ManifestService } from './manifest-format.js';
import { parseManifest, type ManifestVar } from './parse-manifest.js';
import { registerManifestService, type ServiceContext } from './register-manifest-service.js';
import { registrationOrder } from './service-order.js';

type Tx = Prisma.TransactionClient;

/** Everything one import writes, already validated. */
export interface ImportPlan {
  moduleId: string;
  moduleVersion: string;
  format: string;
  /** sha256 of the source text (of the restored payloads for a rollback). */
  sourceChecksum: string;
  vars: readonly ManifestVar[];
  services: readonly ManifestService[];
  /** null: leave the module's networks as they are (rollback, backfill --no-bootstrap). */
  networks: readonly ManifestNetwork[] | null;
  rollbackOfId?: string | null;
}

export interface ImportManifestInput {
  moduleId: string;
  moduleVersion: string;
  source: string;
  format: ManifestFormat;
  vars?: readonly ManifestVar[] | null;
  /** @default false */
  dryRun?: boolean | null;
}

export interface ImportOptions {
  actor?: string | null;
  /** Do not create, change or delete the module's networks. @default false */
  skipNetworks?: boolean;
}

/** Long imports (thousands of services) and waiting for the module lock both need more than Prisma's 5 s default. */
const TRANSACTION_OPTIONS = { maxWait: 10_000, timeout: 300_000 };

export async function importManifest(deps: RegistryDeps, input: ImportManifestInput, options: ImportOptions = {}): Promise<ImportReport> {
  const manifest = parseManifest(input);
  const issues: InputIssue[] = [];
  if (manifest.id !== input.moduleId) issues.push({ path: 'moduleId', message: `the manifest's id is ${manifest.id}` });
  if (manifest.version !== input.moduleVersion) issues.push({ path: 'moduleVersion', message: `the manifest's version is ${manifest.version}` });
  if (issues.length > 0) throw new InputError('the manifest is for another module or version', issues);
  const plan: ImportPlan = {
    moduleId: manifest.id,
    moduleVersion: manifest.version,
    format: input.format,
    sourceChecksum: sha256(input.source),
    vars: input.vars ?? [],
    services: manifest.services,
    networks: options.skipNetworks ? null : manifest.networks,
  };
  return runImport(deps, plan, { actor: options.actor ?? null, dryRun: input.dryRun ?? false });
}

class DryRunRollback extends Error {
  constructor(readonly report: ImportReport) {
    super('dry run');
  }
}

/** Runs a plan in its own transaction; a dry run computes the same report and rolls it all back. */
export async function runImport(deps: RegistryDeps, plan: ImportPlan, options: { actor: string | null; dryRun: boolean }): Promise<ImportReport> {
  const work = () =>
    deps.db.client.$transaction(async (tx) => {
      const outcome = await importInTransaction(tx, deps.settings, plan, options.actor);
      if (options.dryRun) throw new DryRunRollback({ ...outcome.report, importId: null, dryRun: true });
      return outcome;
    }, TRANSACTION_OPTIONS);
  try {
    const outcome = await withDatabaseErrors({ resource: 'manifest item', key: plan.moduleId }, work);
    await publishEvents(deps.bus, outcome.events).catch((error) => deps.logger.warn({ err: error }, 'event publish failed'));
    return outcome.report;
  } catch (error) {
    if (error instanceof DryRunRollback) return error.report;
    throw error;
  }
}

/** The whole import inside the caller's transaction; events are returned for publishing after commit. */
export async function importInTransaction(
  tx: Tx,
  settings: RegistrySettings,
  plan: ImportPlan,
  actor: string | null,
): Promise<{ report: ImportReport; events: RegistryEvent[] }> {
  const { moduleId, moduleVersion } = plan;
  // Imports of one module queue here; the clock is read after the lock so that timestamps
  // follow the order in which imports actually applied.
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('manifest:' || ${moduleId}))`;
  // Strictly increasing per module, even within one millisecond: rollback reconstructs a
  // past state by comparing these instants.
  const [{ at }] = (await tx.$queryRaw<{ at: Date }[]>`
    SELECT GREATEST(
      date_trunc('milliseconds', clock_timestamp()),
      (SELECT max(imported_at) + interval '1 millisecond' FROM manifest_imports WHERE module_id = ${moduleId})
    ) AS at`) as [{ at: Date }];

  const importRow = await tx.manifestImport.create({
    data: {
      moduleId,
      moduleVersion,
      actor,
      format: plan.format,
      checksum: plan.sourceChecksum,
      vars: plan.vars.map(({ key, value }) => ({ key, value })),
      rollbackOfId: plan.rollbackOfId ?? null,
      importedAt: at,
    },
  });

  const context: ServiceContext = await loadServiceContext(tx, plan, settings);
  const items: ImportItem[] = [];
  const events: RegistryEvent[] = [];
  const warnings: string[] = [];
  const deferred: ManifestService[] = [];
  for (const service of registrationOrder(plan.services)) {
    const result = await registerManifestService(tx, settings, service, { ...context, importId: importRow.id, at, actor, moduleId, moduleVersion });
    items.push(result.item);
    events.push(...result.events);
    warnings.push(...result.warnings);
    if (result.deferredDependencies) deferred.push(service);
  }
  // Dependencies on services of this import that were not registered yet (a loop of
  // dependencies): now that every service exists, set them in full; registry-core refuses real cycles.
  for (const service of deferred) {
    const result = await registerManifestService(tx, settings, service, { ...context, importId: importRow.id, at, actor, moduleId, moduleVersion, dependenciesOnly: true });
    events.push(...result.events);
  }

  const declared = new Set(plan.services.map((service) => service.slug));
  const retired = context.active.filter((row) => !declared.has(row.serviceSlug));
  if (retired.length > 0) await tx.serviceManifest.updateMany({ where: { id: { in: retired.map((row) => row.id) } }, data: { supersededAt: at } });
  for (const row of retired.sort((a, b) => a.serviceSlug.localeCompare(b.serviceSlug))) {
    items.push({ slug: row.serviceSlug, kind: 'SERVICE', outcome: 'REMOVED', version: row.version });
  }

  if (plan.networks) {
    const networks = await importNetworks(tx, plan.networks, { moduleId, moduleVersion, actor, manifestServiceSlugs: declared });
    items.push(...networks.items);
    events.push(...networks.events);
  }

  const services = countOutcomes(items, 'SERVICE');
  const networks = countOutcomes(items, 'NETWORK');
  await tx.manifestImport.update({ where: { id: importRow.id }, data: services });
  events.push(
    await recordEvent(tx, {
      type: plan.rollbackOfId ? 'MANIFEST_ROLLED_BACK' : 'MANIFEST_IMPORTED',
      serviceSlug: null,
      cause: 'MANIFEST_IMPORT',
      actor,
      toValue: moduleVersion,
      details: { moduleId, moduleVersion, importId: importRow.id, rollbackOfId: plan.rollbackOfId ?? null, services: { ...services }, networks: { ...networks } },
    }),
  );
  const report: ImportReport = {
    importId: importRow.id,
    dryRun: false,
    moduleId,
    moduleVersion,
    rollbackOfId: plan.rollbackOfId ?? null,
    items,
    services,
    networks,
    warnings,
  };
  return { report, events };
}

/** One read of each kind for the whole import, whatever its size. */
async function loadServiceContext(tx: Tx, plan: ImportPlan, settings: RegistrySettings): Promise<ServiceContext> {
  const slugs = plan.services.map((service) => service.slug);
  const referenced = [...new Set(plan.services.flatMap((service) => [service.slug, ...(service.parent ? [service.parent] : []), ...service.dependencies]))];
  // One connection per transaction: these run one after another.
  const active = await tx.serviceManifest.findMany({ where: { moduleId: plan.moduleId, supersededAt: null } });
  const foreign = await tx.serviceManifest.findMany({
    where: { serviceSlug: { in: slugs }, supersededAt: null, moduleId: { not: plan.moduleId } },
    select: { serviceSlug: true, moduleId: true },
  });
  const existing = await tx.service.findMany({ where: { slug: { in: referenced } }, select: { id: true, slug: true, moduleId: true } });
  const versions = await tx.serviceManifest.groupBy({
    by: ['serviceSlug'],
    where: { moduleId: plan.moduleId, serviceSlug: { in: slugs } },
    _max: { version: true },
  });
  if (foreign.length > 0) {
    const list = foreign.map((row) => `${row.serviceSlug} (module ${row.moduleId})`).join(', ');
    throw new InputError(
      `services are managed by other modules: ${list}`,
      foreign.map((row) => ({ path: `services.${slugs.indexOf(row.serviceSlug)}.slug`, message: `managed by module ${row.moduleId}` })),
    );
  }
  const existingBySlug = new Map(existing.map((row) => [row.slug, row]));
  const declared = new Set(slugs);
  const issues: InputIssue[] = [];
  plan.services.forEach((service, index) => {
    if (service.parent && !declared.has(service.parent) && !existingBySlug.has(service.parent)) {
      issues.push({ path: `services.${index}.parent`, message: `no service has slug ${service.parent}` });
    }
    if (settings.dependencyValidation === 'reject') {
      service.dependencies.forEach((slug, position) => {
        if (!declared.has(slug) && !existingBySlug.has(slug)) issues.push({ path: `services.${index}.dependencies.${position}`, message: `no service has slug ${slug}` });
      });
    }
  });
  if (issues.length > 0) throw new InputError(`unknown services referenced: ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`, issues);
  return {
    active,
    activeBySlug: new Map(active.map((row) => [row.serviceSlug, row])),
    existingBySlug,
    maxVersionBySlug: new Map(versions.map((row) => [row.serviceSlug, row._max.version ?? 0])),
    indexBySlug: new Map(slugs.map((slug, index) => [slug, index])),
    registered: new Set(),
  };
}
