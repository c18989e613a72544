/**
 * One service of an import: registered through registry-core (same validation as the API,
 * source MANIFEST, no instance), its probe set, and a new manifest version written when its
 * payload changed. Errors come back with the service's position in the manifest.
 */
import type { Prisma, RegistryEvent, ServiceManifest } from '../../generated/prisma/client.js';
import type { RegistrySettings } from '../deps.js';
import { HierarchyError, InputError, PayloadTooLargeError } from '../errors.js';
import { upsertHealthCheck } from '../probes/health-check-store.js';
import { registerInTransaction } from '../services/register-service.js';
import { parseRegisterServiceInput } from '../services/service-input.js';
import { checksumOf } from './canonical-json.js';
import type { ImportItem } from './import-types.js';
import type { ManifestService } from './manifest-format.js';

type Tx = Prisma.TransactionClient;

/** What the import read once up front and keeps current as it goes. */
export interface ServiceContext {
  /** The module's active manifest rows before this import. */
  active: ServiceManifest[];
  activeBySlug: Map<string, ServiceManifest>;
  /** Registered services among the slugs the manifest mentions (grows as the import registers). */
  existingBySlug: Map<string, { id: string; slug: string; moduleId: string | null }>;
  maxVersionBySlug: Map<string, number>;
  /** Position of each service in the manifest, for error paths. */
  indexBySlug: Map<string, number>;
  /** Slugs this import has registered or found unchanged so far. */
  registered: Set<string>;
}

export interface ServiceCall extends ServiceContext {
  importId: string;
  at: Date;
  actor: string | null;
  moduleId: string;
  moduleVersion: string;
  /** Second pass: only re-register with the full dependency list. */
  dependenciesOnly?: boolean;
}

export interface ServiceOutcome {
  item: ImportItem;
  events: RegistryEvent[];
  warnings: string[];
  /** Some dependencies named services of this import not registered yet; a second pass sets them. */
  deferredDependencies: boolean;
}

export async function registerManifestService(tx: Tx, settings: RegistrySettings, service: ManifestService, call: ServiceCall): Promise<ServiceOutcome> {
  const { slug } = service;
  const index = call.indexBySlug.get(slug) ?? 0;
  const checksum = checksumOf(service);
  const active = call.activeBySlug.get(slug);
  const existing = call.existingBySlug.get(slug);

  if (!call.dependenciesOnly && active && active.checksum === checksum && existing) {
    call.registered.add(slug);
    return { item: { slug, kind: 'SERVICE', outcome: 'UNCHANGED', version: active.version }, events: [], warnings: [], deferredDependencies: false };
  }

  const later = call.dependenciesOnly
    ? []
    : service.dependencies.filter((dependency) => call.indexBySlug.has(dependency) && !call.registered.has(dependency) && !call.existingBySlug.has(dependency));
  const result = await withServicePosition(index, slug, async () => {
    const input = parseRegisterServiceInput(
      {
        slug,
        name: service.name,
        kind: service.kind,
        // The manifest is the whole truth about the service: what it leaves out is cleared.
        parentSlug: service.parent ?? null,
        version: service.version ?? null,
        description: service.description ?? null,
        tags: service.tags,
        dependencies: service.dependencies.filter((dependency) => !later.includes(dependency)),
        metadata: service.metadata,
        interfaces: service.interfaces,
        source: 'MANIFEST',
      },
      settings,
    );
    return registerInTransaction(tx, settings, input, { actor: call.actor, withInstance: false });
  });
  const warnings = result.warnings.map((warning) => `${slug}: ${warning}`);
  if (call.dependenciesOnly) {
    return { item: { slug, kind: 'SERVICE', outcome: 'UPDATED', version: null }, events: result.events, warnings, deferredDependencies: false };
  }

  const serviceId = result.service.id;
  call.registered.add(slug);
  call.existingBySlug.set(slug, { id: serviceId, slug, moduleId: call.moduleId });
  if (result.service.moduleId !== call.moduleId) await tx.service.update({ where: { id: serviceId }, data: { moduleId: call.moduleId } });
  await upsertHealthCheck(tx, serviceId, service.healthCheck ?? null);

  // One active row per module and slug, whichever module version wrote the previous one.
  await tx.serviceManifest.updateMany({ where: { moduleId: call.moduleId, serviceSlug: slug, supersededAt: null }, data: { supersededAt: call.at } });
  const version = (call.maxVersionBySlug.get(slug) ?? 0) + 1;
  call.maxVersionBySlug.set(slug, version);
  await tx.serviceManifest.create({
    data: {
      moduleId: call.moduleId,
      moduleVersion: call.moduleVersion,
      serviceSlug: slug,
      serviceId,
      version,
      checksum,
      payload: service as unknown as Prisma.InputJsonValue,
      importId: call.importId,
      importedAt: call.at,
    },
  });
  return {
    item: { slug, kind: 'SERVICE', outcome: active ? 'UPDATED' : 'CREATED', version },
    events: result.events,
    warnings,
    deferredDependencies: later.length > 0,
  };
}

const INPUT_PATHS: Record<string, string> = { parentSlug: 'parent' };

/** Re-raises registry-core's errors with the service's place in the manifest. */
async function withServicePosition<T>(index: number, slug: string, work: () => Promise<T>): Promise<T> {
  const where = `services.${index} (${slug})`;
  try {
    return await work();
  } catch (error) {
    if (error instanceof InputError) {
      const issues = error.issues.map((issue) => {
        const [head, ...rest] = issue.path.split('.');
        return { ...issue, path: ['services', String(index), INPUT_PATHS[head!] ?? head, ...rest].join('.') };
      });
      throw new InputError(`${where}: ${error.message}`, issues);
    }
    if (error instanceof HierarchyError) throw new HierarchyError(error.rule, `${where}: ${error.message}`);
    if (error instanceof PayloadTooLargeError) throw new PayloadTooLargeError(`services.${index}.${error.field}`, error.limitBytes, error.actualBytes);
    throw error;
  }
}
