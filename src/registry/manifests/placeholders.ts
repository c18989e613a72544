/**
 * `${KEY}` and `${KEY:-default}` in string values. A value comes from the import's vars, then
 * the module's `defaults`, then the inline default; `$${` is a literal `${`. Keys (object
 * property names) are never substituted.
 */
import { InputError, type InputIssue } from '../errors.js';

const PLACEHOLDER = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface PlaceholderSources {
  vars: ReadonlyMap<string, string>;
  defaults: Readonly<Record<string, string>>;
}

/** Returns `document` with every placeholder resolved, or throws one InputError naming every missing key. */
export function resolvePlaceholders(document: unknown, sources: PlaceholderSources): unknown {
  const missing = new Map<string, string[]>();
  const substitute = (text: string, path: string): string =>
    text.replace(PLACEHOLDER, (match, key: string | undefined, inline: string | undefined) => {
      if (key === undefined) return '${';
      const value = sources.vars.get(key) ?? (Object.hasOwn(sources.defaults, key) ? sources.defaults[key] : undefined) ?? inline;
      if (value === undefined) {
        const paths = missing.get(key) ?? [];
        paths.push(path);
        missing.set(key, paths);
        return match;
      }
      return value;
    });
  const walk = (value: unknown, path: string[]): unknown => {
    if (typeof value === 'string') return substitute(value, path.join('.') || '(manifest)');
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, String(index)]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, [...path, key])]));
    }
    return value;
  };
  const resolved = walk(document, []);
  if (missing.size > 0) {
    const keys = [...missing.keys()].sort();
    const issues: InputIssue[] = keys.flatMap((key) => missing.get(key)!.map((path) => ({ path, message: `no value for placeholder ${key}` })));
    throw new InputError(`missing placeholder values: ${keys.join(', ')} (pass them as vars or give the module defaults)`, issues);
  }
  return resolved;
}
