/**
 * From manifest source text to a validated module manifest: size limit → syntax (with line
 * and column) → placeholders → schema → rules that span items. Pure: nothing is read from
 * or written to the database here.
 */
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { InputError, PayloadTooLargeError, type InputIssue } from '../errors.js';
import {
  MANIFEST_MAX_SERVICES,
  MANIFEST_MAX_SOURCE_BYTES,
  moduleManifestSchema,
  PLACEHOLDER_KEY_PATTERN,
  type ManifestFormat,
  type ModuleManifest,
} from './manifest-format.js';
import { resolvePlaceholders } from './placeholders.js';

export interface ManifestVar {
  key: string;
  value: string;
}

export interface ParseManifestInput {
  source: string;
  format: ManifestFormat;
  vars?: readonly ManifestVar[] | null;
}

function position(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, Math.min(offset, source.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

function syntaxError(format: ManifestFormat, problems: Array<{ line: number; column: number; message: string }>): InputError {
  const issues = problems.map((problem) => ({ path: `source:${problem.line}:${problem.column}`, message: problem.message }));
  const first = problems[0]!;
  return new InputError(`malformed ${format} at line ${first.line}, column ${first.column}: ${first.message}`, issues);
}

function parseJson(source: string): unknown {
  try {
    return JSON.parse(source);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // V8 reports a character offset ("… at position 42"); end of input has none.
    const offset = /position (\d+)/.exec(message)?.[1];
    const at = position(source, offset === undefined ? source.length : Number(offset));
    throw syntaxError('JSON', [{ ...at, message: message.replace(/\s*\(line \d+ column \d+\)/, '') }]);
  }
}

function parseYaml(source: string): unknown {
  const lineCounter = new LineCounter();
  const document = parseDocument(source, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    throw syntaxError(
      'YAML',
      document.errors.map((error) => {
        const at = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
        return { line: at.line, column: at.col, message: error.message.split('\n')[0]! };
      }),
    );
  }
  return document.toJS({ maxAliasCount: 100 });
}

function zodIssues(error: z.ZodError): InputIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(manifest)', message: issue.message }));
}

function fail(summary: string, issues: InputIssue[]): never {
  throw new InputError(`${summary}: ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`, issues);
}

function validateVars(vars: readonly ManifestVar[]): Map<string, string> {
  const issues: InputIssue[] = [];
  const map = new Map<string, string>();
  vars.forEach((entry, index) => {
    if (!PLACEHOLDER_KEY_PATTERN.test(entry.key)) issues.push({ path: `vars.${index}.key`, message: 'must be a placeholder name (letters, digits, _)' });
    else if (map.has(entry.key)) issues.push({ path: `vars.${index}.key`, message: `${entry.key} is given twice` });
    map.set(entry.key, entry.value);
  });
  if (issues.length > 0) fail('invalid vars', issues);
  return map;
}

/** Cross-item rules the schema cannot state: unique slugs, parents not forming a loop. */
function checkConsistency(manifest: ModuleManifest): void {
  const issues: InputIssue[] = [];
  const firstIndex = new Map<string, number>();
  manifest.services.forEach((service, index) => {
    const seen = firstIndex.get(service.slug);
    if (seen !== undefined) issues.push({ path: `services.${index}.slug`, message: `${service.slug} is already declared at services.${seen}` });
    else firstIndex.set(service.slug, index);
    if (service.parent === service.slug) issues.push({ path: `services.${index}.parent`, message: 'a service cannot be its own parent' });
    if (service.dependencies.includes(service.slug)) issues.push({ path: `services.${index}.dependencies`, message: 'a service cannot depend on itself' });
  });
  const networkIndex = new Map<string, number>();
  manifest.networks.forEach((network, index) => {
    const seen = networkIndex.get(network.slug);
    if (seen !== undefined) issues.push({ path: `networks.${index}.slug`, message: `${network.slug} is already declared at networks.${seen}` });
    else networkIndex.set(network.slug, index);
  });
  if (issues.length > 0) fail('invalid manifest', issues);
}

/**
 * Parses and validates manifest source. Throws PayloadTooLargeError over 1 MB, InputError for
 * malformed text (line and column), missing placeholders (every key at once) and schema
 * violations (every path at once).
 */
export function parseManifest(input: ParseManifestInput): ModuleManifest {
  const bytes = Buffer.byteLength(input.source, 'utf8');
  if (bytes > MANIFEST_MAX_SOURCE_BYTES) throw new PayloadTooLargeError('source', MANIFEST_MAX_SOURCE_BYTES, bytes);
  const vars = validateVars(input.vars ?? []);
  const raw = input.format === 'JSON' ? parseJson(input.source) : parseYaml(input.source);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('invalid manifest', [{ path: '(manifest)', message: 'must be an object' }]);
  const document = raw as Record<string, unknown>;
  if (Array.isArray(document.services) && document.services.length > MANIFEST_MAX_SERVICES) {
    fail('too many services', [{ path: 'services', message: `at most ${MANIFEST_MAX_SERVICES} services per import (got ${document.services.length})` }]);
  }

  const defaults = moduleManifestSchema.shape.defaults.safeParse(document.defaults);
  if (!defaults.success) fail('invalid manifest', zodIssues(defaults.error).map((issue) => ({ ...issue, path: `defaults.${issue.path}` })));
  const { defaults: _ignored, ...rest } = document;
  const resolved = resolvePlaceholders(rest, { vars, defaults: defaults.data }) as Record<string, unknown>;

  const parsed = moduleManifestSchema.safeParse({ ...resolved, ...(document.defaults === undefined ? {} : { defaults: document.defaults }) });
  if (!parsed.success) fail('invalid manifest', zodIssues(parsed.error));
  checkConsistency(parsed.data);
  return parsed.data;
}
