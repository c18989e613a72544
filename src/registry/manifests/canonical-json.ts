/** Canonical JSON (keys sorted at every level), its sha256, and a field-level deep diff. */
import { createHash } from 'node:crypto';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** JSON with object keys in code-point order, so equal values always serialise equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort()
        .map((key) => [key, sortKeys(record[key])]),
    );
  }
  return value;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function checksumOf(value: unknown): string {
  return sha256(canonicalJson(value));
}

export interface FieldChange {
  /** Dotted path (array elements by index); empty for the whole value. */
  path: string;
  /** null when the field was absent before. */
  before: Json | null;
  /** null when the field is absent after. */
  after: Json | null;
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Every leaf-level difference between two JSON values. Objects are compared key by key and
 * arrays index by index; a value whose type changed is reported whole at its path.
 */
export function diffJson(before: unknown, after: unknown, path: string[] = []): FieldChange[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diffJson(before[key], after[key], [...path, key]));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    return Array.from({ length }, (_, index) => diffJson(before[index], after[index], [...path, String(index)])).flat();
  }
  if (canonicalJson(before) === canonicalJson(after)) return [];
  return [{ path: path.join('.'), before: (before ?? null) as Json | null, after: (after ?? null) as Json | null }];
}
