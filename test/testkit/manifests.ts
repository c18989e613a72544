/** Manifest builders and the GraphQL documents the manifest tests share. */
import type { TestRegistry } from './registry.js';

export interface ServiceEntry {
  slug: string;
  name?: string;
  kind?: 'SERVICE' | 'POLLER' | 'AGENT' | 'CHECKER';
  parent?: string;
  [key: string]: unknown;
}

export function manifestOf(id: string, services: ServiceEntry[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 1,
    id,
    version: '1.0.0',
    services: services.map((service) => ({ name: service.slug, ...service })),
    ...extra,
  };
}

export const IMPORT = /* GraphQL */ `
  mutation Import($input: ImportManifestInput!) {
    importManifest(input: $input) {
      __typename
      ... on ImportManifestPayload {
        importId dryRun moduleId moduleVersion rollbackOfId changed warnings
        items { slug kind outcome version }
        services { created updated unchanged removed }
        networks { created updated unchanged removed }
      }
      ... on RegistryError { code message }
      ... on InputError { issues { path message } }
      ... on HierarchyError { rule }
      ... on DependencyCycleError { cycle }
      ... on PayloadTooLargeError { field limitBytes actualBytes }
    }
  }
`;

export interface ImportArgs {
  moduleId?: string;
  moduleVersion?: string;
  format?: 'JSON' | 'YAML';
  vars?: Array<{ key: string; value: string }>;
  dryRun?: boolean;
}

/** Imports a manifest object (as JSON) or source text; returns the union result. */
export async function importManifest(registry: TestRegistry, manifest: Record<string, unknown> | string, args: ImportArgs = {}) {
  const source = typeof manifest === 'string' ? manifest : JSON.stringify(manifest, null, 2);
  const id = typeof manifest === 'string' ? undefined : (manifest.id as string);
  const version = typeof manifest === 'string' ? undefined : (manifest.version as string);
  const input = {
    moduleId: args.moduleId ?? id,
    moduleVersion: args.moduleVersion ?? version,
    source,
    format: args.format ?? 'JSON',
    vars: args.vars ?? [],
    dryRun: args.dryRun ?? false,
  };
  return (await registry.client.data(IMPORT, { input })).importManifest;
}

/** Row counts of every table an import may write. */
export async function tableCounts(registry: TestRegistry) {
  const [row] = await registry.database.query(`
    SELECT (SELECT count(*)::int FROM services) AS services,
           (SELECT count(*)::int FROM service_manifests) AS manifests,
           (SELECT count(*)::int FROM manifest_imports) AS imports,
           (SELECT count(*)::int FROM registry_events) AS events,
           (SELECT count(*)::int FROM health_checks) AS checks,
           (SELECT count(*)::int FROM service_networks) AS networks,
           (SELECT count(*)::int FROM service_network_members) AS members`);
  return row!;
}

export const outcomes = (result: { items: Array<{ slug: string; kind: string; outcome: string; version: number | null }> }) =>
  Object.fromEntries(result.items.map((item) => [`${item.kind === 'NETWORK' ? 'network:' : ''}${item.slug}`, `${item.outcome}${item.version === null ? '' : ` v${item.version}`}`]));
