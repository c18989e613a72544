/** Manifests in the graph: versions per service, imports, modules, diffs, import and rollback. */
import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';
import type { ServiceManifest } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { writeErrors } from '../../graphql/errors.js';
import { byUuid } from '../../graphql/node-ids.js';
import { activeManifestsBySlug } from '../cache/cached-reads.js';
import { InputError, NotFoundError } from '../errors.js';
import type { FieldChange } from './canonical-json.js';
import { importManifest } from './import-manifest.js';
import { IMPORT_ITEM_KINDS, IMPORT_OUTCOMES, type ImportCounts, type ImportItem, type ImportReport } from './import-types.js';
import { MANIFEST_FORMATS } from './manifest-format.js';
import { IMPORT_ORDER, MANIFEST_ORDER, manifestDiff, manifestWhere, moduleSummaries, type ManifestDiff, type ManifestFilter, type ModuleSummary } from './manifest-queries.js';
import { rollbackManifest } from './rollback-manifest.js';

const ManifestFormatEnum = builder.enumType('ManifestFormat', { values: MANIFEST_FORMATS });
const ImportItemKindEnum = builder.enumType('ManifestItemKind', { values: IMPORT_ITEM_KINDS });
const ImportOutcomeEnum = builder.enumType('ManifestItemOutcome', { values: IMPORT_OUTCOMES });

const ManifestVarRef = builder.objectRef<{ key: string; value: string }>('ManifestVar').implement({
  fields: (t) => ({ key: t.exposeString('key'), value: t.exposeString('value') }),
});

export const ServiceManifestRef = builder.prismaNode('ServiceManifest', {
  description: "One version of a service's manifest payload within a module. supersededAt null: the active one.",
  id: { field: 'id' },
  findUnique: byUuid('ServiceManifest'),
  fields: (t) => ({
    moduleId: t.exposeString('moduleId'),
    moduleVersion: t.exposeString('moduleVersion', { description: 'The module version whose import wrote this payload.' }),
    serviceSlug: t.exposeString('serviceSlug'),
    version: t.exposeInt('version', { description: 'Increases by one per change of the payload, per module and service.' }),
    checksum: t.exposeString('checksum', { description: 'sha256 of the payload as JSON with sorted keys.' }),
    payload: t.field({ type: 'JSONObject', resolve: (row) => row.payload as Record<string, unknown> }),
    active: t.boolean({ resolve: (row) => row.supersededAt === null }),
    importedAt: t.expose('importedAt', { type: 'DateTime' }),
    supersededAt: t.expose('supersededAt', { type: 'DateTime', nullable: true }),
    service: t.relation('service', { nullable: true, description: 'null once the service is gone.' }),
    import: t.relation('import'),
  }),
});

export const ManifestImportRef = builder.prismaNode('ManifestImport', {
  description: 'One import of a module (mutation, backfill or rollback).',
  id: { field: 'id' },
  findUnique: byUuid('ManifestImport'),
  fields: (t) => ({
    importId: t.exposeString('id', { description: 'The raw id, as rollbackManifest takes it.' }),
    moduleId: t.exposeString('moduleId'),
    moduleVersion: t.exposeString('moduleVersion'),
    actor: t.exposeString('actor', { nullable: true }),
    format: t.exposeString('format'),
    checksum: t.exposeString('checksum', { description: 'sha256 of the imported source (of the restored payloads for a rollback).' }),
    vars: t.field({ type: [ManifestVarRef], resolve: (row) => row.vars as Array<{ key: string; value: string }> }),
    created: t.exposeInt('created', { description: 'Services (networks are in the MANIFEST_IMPORTED event).' }),
    updated: t.exposeInt('updated'),
    unchanged: t.exposeInt('unchanged'),
    removed: t.exposeInt('removed'),
    rollbackOfId: t.exposeString('rollbackOfId', { nullable: true, description: 'For a rollback: the import whose state it restored.' }),
    importedAt: t.expose('importedAt', { type: 'DateTime' }),
    manifests: t.relation('manifests', { description: 'Manifest versions this import wrote.', query: { orderBy: { serviceSlug: 'asc' } } }),
  }),
});

const ImportItemRef = builder.objectRef<ImportItem>('ManifestImportItem').implement({
  fields: (t) => ({
    slug: t.exposeString('slug'),
    kind: t.expose('kind', { type: ImportItemKindEnum }),
    outcome: t.expose('outcome', { type: ImportOutcomeEnum }),
    version: t.exposeInt('version', { nullable: true, description: 'Manifest version after the import (the retired one for REMOVED); null for networks.' }),
  }),
});

const ImportCountsRef = builder.objectRef<ImportCounts>('ManifestImportCounts').implement({
  fields: (t) => ({
    created: t.exposeInt('created'),
    updated: t.exposeInt('updated'),
    unchanged: t.exposeInt('unchanged'),
    removed: t.exposeInt('removed'),
  }),
});

const ImportManifestPayload = builder.objectRef<ImportReport>('ImportManifestPayload').implement({
  fields: (t) => ({
    importId: t.exposeString('importId', { nullable: true, description: 'null for a dry run.' }),
    import: t.prismaField({
      type: 'ManifestImport',
      nullable: true,
      resolve: (query, report, _args, ctx) =>
        report.importId ? ctx.deps.db.client.manifestImport.findUnique({ ...query, where: { id: report.importId } }) : null,
    }),
    dryRun: t.exposeBoolean('dryRun', { description: 'true: computed in a transaction that was rolled back; nothing was written.' }),
    moduleId: t.exposeString('moduleId'),
    moduleVersion: t.exposeString('moduleVersion'),
    rollbackOfId: t.exposeString('rollbackOfId', { nullable: true }),
    items: t.field({ type: [ImportItemRef], resolve: (report) => report.items }),
    services: t.field({ type: ImportCountsRef, resolve: (report) => report.services }),
    networks: t.field({ type: ImportCountsRef, resolve: (report) => report.networks }),
    changed: t.boolean({ description: 'false when every item was unchanged.', resolve: (report) => report.items.some((item) => item.outcome !== 'UNCHANGED') }),
    warnings: t.exposeStringList('warnings'),
  }),
});

const ManifestVarInput = builder.inputType('ManifestVarInput', {
  fields: (t) => ({ key: t.string({ required: true }), value: t.string({ required: true }) }),
});

const ImportManifestInput = builder.inputType('ImportManifestInput', {
  fields: (t) => ({
    moduleId: t.string({ required: true, description: "Must equal the manifest's id." }),
    moduleVersion: t.string({ required: true, description: "Must equal the manifest's version." }),
    source: t.string({ required: true, description: 'The manifest text, at most 1 MB.' }),
    format: t.field({ type: ManifestFormatEnum, required: true }),
    vars: t.field({ type: [ManifestVarInput], required: false, description: 'Placeholder values; they win over the module defaults.' }),
    dryRun: t.boolean({ required: false, defaultValue: false, description: 'Compute the report, write nothing.' }),
  }),
});

const ManifestFilterInput = builder.inputRef<ManifestFilter>('ManifestFilter').implement({
  fields: (t) => ({
    moduleId: t.string({ required: false }),
    serviceSlug: t.string({ required: false }),
    includeSuperseded: t.boolean({ required: false, defaultValue: false }),
  }),
});

const FieldChangeRef = builder.objectRef<FieldChange>('ManifestFieldChange').implement({
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Dotted path in the payload; array elements by index.' }),
    before: t.field({ type: 'JSON', nullable: true, description: 'null: absent before.', resolve: (change) => change.before }),
    after: t.field({ type: 'JSON', nullable: true, description: 'null: absent after.', resolve: (change) => change.after }),
  }),
});

const ManifestDiffRef = builder.objectRef<ManifestDiff>('ManifestDiff').implement({
  fields: (t) => ({
    slug: t.exposeString('slug'),
    moduleId: t.exposeString('moduleId'),
    fromVersion: t.exposeInt('fromVersion'),
    toVersion: t.exposeInt('toVersion'),
    changes: t.field({ type: [FieldChangeRef], resolve: (diff) => diff.changes }),
  }),
});

const ModuleRef = builder.objectRef<ModuleSummary>('ManifestModule').implement({
  fields: (t) => ({
    id: t.exposeString('id'),
    versions: t.exposeStringList('versions', { description: 'Module versions imported, in the order first seen.' }),
    lastImport: t.field({ type: ManifestImportRef, resolve: (module) => module.lastImport }),
    activeServiceCount: t.exposeInt('activeServiceCount'),
  }),
});

builder.queryFields((t) => ({
  manifests: t.prismaConnection({
    type: 'ServiceManifest',
    cursor: 'id',
    description: 'Manifest versions by module, service, newest version first. Active ones only unless includeSuperseded.',
    args: { filter: t.arg({ type: ManifestFilterInput, required: false }) },
    maxSize: 500,
    resolve: (query, _root, args, ctx) => ctx.deps.db.client.serviceManifest.findMany({ ...query, where: manifestWhere(args.filter), orderBy: MANIFEST_ORDER }),
    totalCount: (_connection, args, ctx) => ctx.deps.db.client.serviceManifest.count({ where: manifestWhere(args.filter) }),
  }),
  imports: t.prismaConnection({
    type: 'ManifestImport',
    cursor: 'id',
    description: 'Import history, newest first.',
    args: { moduleId: t.arg.string({ required: false }) },
    maxSize: 200,
    resolve: (query, _root, args, ctx) =>
      ctx.deps.db.client.manifestImport.findMany({ ...query, where: args.moduleId ? { moduleId: args.moduleId } : {}, orderBy: IMPORT_ORDER }),
    totalCount: (_connection, args, ctx) => ctx.deps.db.client.manifestImport.count({ where: args.moduleId ? { moduleId: args.moduleId } : {} }),
  }),
  modules: t.field({
    type: [ModuleRef],
    description: 'Every module ever imported, by id.',
    resolve: (_root, _args, ctx) => moduleSummaries(ctx.deps),
  }),
  manifestDiff: t.field({
    type: ManifestDiffRef,
    description: "Field-level changes between two versions of a service's manifest.",
    args: {
      slug: t.arg.string({ required: true }),
      fromVersion: t.arg.int({ required: true }),
      toVersion: t.arg.int({ required: true }),
      moduleId: t.arg.string({ required: false, description: 'Needed only when the slug has manifests in several modules.' }),
    },
    errors: { types: [NotFoundError, InputError] },
    resolve: (_root, args, ctx) => manifestDiff(ctx.deps, args),
  }),
}));

builder.mutationFields((t) => ({
  importManifest: t.field({
    type: ImportManifestPayload,
    description: "Imports a module's manifest: all or nothing, one import at a time per module.",
    args: { input: t.arg({ type: ImportManifestInput, required: true }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => importManifest(ctx.deps, args.input, { actor: ctx.actor }),
  }),
  rollbackManifest: t.field({
    type: ImportManifestPayload,
    description: "Re-activates the service payloads that were active right after an earlier import, as a new import. Networks stay as they are.",
    args: {
      moduleId: t.arg.string({ required: true }),
      toImportId: t.arg.string({ required: true, description: 'ManifestImport.importId (the raw id).' }),
      dryRun: t.arg.boolean({ required: false, defaultValue: false }),
    },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => rollbackManifest(ctx.deps, args, { actor: ctx.actor }),
  }),
}));

// Through the registry cache: one statement for the slugs it misses, none when warm.
const activeManifestLoader = createContextCache(
  (ctx: GraphQLContext) =>
    new DataLoader<string, ServiceManifest | null>(async (slugs) => {
      const bySlug = await activeManifestsBySlug(ctx.deps, slugs);
      return slugs.map((slug) => bySlug.get(slug)?.[0] ?? null);
    }),
);

builder.prismaObjectField('Service', 'manifest', (t) =>
  t.field({
    type: ServiceManifestRef,
    nullable: true,
    description: 'The active manifest version, when a module manages this service.',
    resolve: (service, _args, ctx) => activeManifestLoader(ctx).load(service.slug),
  }),
);

builder.prismaObjectField('Service', 'manifestHistory', (t) =>
  t.relation('manifests', {
    description: 'Every manifest version of this service, newest first (superseded ones included).',
    query: { orderBy: [{ importedAt: 'desc' }, { version: 'desc' }] },
  }),
);
