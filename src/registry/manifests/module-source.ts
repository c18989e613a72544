/** Finding a module's manifest on disk: `<module>/service-manifests/service-manifest.{json,yaml,yml}`. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ManifestFormat } from './manifest-format.js';

export const MANIFEST_FILE_NAMES = ['service-manifest.json', 'service-manifest.yaml', 'service-manifest.yml'] as const;

export interface ModuleSource {
  file: string;
  format: ManifestFormat;
  source: string;
}

export class ModuleSourceError extends Error {
  override readonly name = 'ModuleSourceError';
}

/** Reads the manifest of the module at `modulePath` (a module directory, or the manifest file itself). */
export function readModuleManifest(modulePath: string): ModuleSource {
  const resolved = path.resolve(modulePath);
  if (!existsSync(resolved)) throw new ModuleSourceError(`no such module path: ${modulePath}`);
  let file = resolved;
  if (statSync(resolved).isDirectory()) {
    const dir = path.join(resolved, 'service-manifests');
    const found = MANIFEST_FILE_NAMES.map((name) => path.join(dir, name)).find((candidate) => existsSync(candidate));
    if (!found) throw new ModuleSourceError(`no manifest in ${modulePath}: expected service-manifests/${MANIFEST_FILE_NAMES.join(' | ')}`);
    file = found;
  }
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ModuleSourceError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { file, format: /\.ya?ml$/i.test(file) ? 'YAML' : 'JSON', source };
}
