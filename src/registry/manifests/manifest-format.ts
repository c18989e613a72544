/**
 * The module manifest format, version 1: what a module declares about its services and the
 * networks that launch them. docs/manifest-format.md is the prose version of this file.
 */
import { z } from 'zod';
import { ServiceKind } from '../../generated/prisma/enums.js';
import { slugSchema } from '../services/service-input.js';

export const MANIFEST_SCHEMA_VERSION = 1;
/** Largest manifest source accepted, in bytes (UTF-8). */
export const MANIFEST_MAX_SOURCE_BYTES = 1_048_576;
/** Most services one import may declare. */
export const MANIFEST_MAX_SERVICES = 5_000;
export const MANIFEST_MAX_NETWORKS = 500;

export const MANIFEST_FORMATS = ['JSON', 'YAML'] as const;
export type ManifestFormat = (typeof MANIFEST_FORMATS)[number];

/** Placeholder names: shell-like identifiers. */
export const PLACEHOLDER_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

const moduleIdSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, { message: 'must be 1-128 characters of a-z, 0-9, ".", "_" and "-"' });
const metadataSchema = z.record(z.string(), z.unknown());

export const manifestHealthCheckSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
  intervalSeconds: z.number().int().min(1).max(86_400).optional(),
  timeoutMs: z.number().int().min(1).max(120_000).optional(),
  expectStatus: z.number().int().min(100).max(599).optional(),
  successBeforePassing: z.number().int().min(1).max(100).optional(),
  failuresBeforeCritical: z.number().int().min(1).max(100).optional(),
});

export const manifestServiceSchema = z.strictObject({
  slug: slugSchema,
  name: z.string().trim().min(1, 'must not be empty').max(200),
  /** @default SERVICE */
  kind: z.enum(ServiceKind).default(ServiceKind.SERVICE),
  /** Slug of the parent: in this manifest or already registered. */
  parent: slugSchema.optional(),
  version: z.string().trim().min(1).max(64).optional(),
  description: z.string().max(4_000).optional(),
  tags: z.array(z.string().trim().min(1).max(64)).max(64).default([]),
  dependencies: z.array(slugSchema).max(256).default([]),
  interfaces: z.array(z.strictObject({ type: z.string().trim().min(1).max(32), endpoint: z.string().trim().min(1).max(2_048) })).max(32).default([]),
  healthCheck: manifestHealthCheckSchema.optional(),
  metadata: metadataSchema.default({}),
});

export const manifestNetworkSchema = z.strictObject({
  slug: slugSchema,
  name: z.string().trim().min(1, 'must not be empty').max(200),
  description: z.string().max(4_000).optional(),
  /** Service slugs in launch order (first launches first). */
  members: z
    .array(slugSchema)
    .min(1, 'must list at least one service')
    .max(MANIFEST_MAX_SERVICES)
    .refine((members) => new Set(members).size === members.length, { message: 'each service may appear once' }),
  metadata: metadataSchema.default({}),
});

export const moduleManifestSchema = z.strictObject({
  schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION, { message: `must be ${MANIFEST_SCHEMA_VERSION}` }),
  id: moduleIdSchema,
  version: z.string().trim().min(1).max(64),
  /** Values for placeholders that the import's vars do not set. */
  defaults: z.record(z.string().regex(PLACEHOLDER_KEY_PATTERN, { message: 'must be a placeholder name' }), z.string()).default({}),
  services: z.array(manifestServiceSchema).max(MANIFEST_MAX_SERVICES).default([]),
  networks: z.array(manifestNetworkSchema).max(MANIFEST_MAX_NETWORKS).default([]),
});

export type ModuleManifest = z.output<typeof moduleManifestSchema>;
export type ManifestService = z.output<typeof manifestServiceSchema>;
export type ManifestNetwork = z.output<typeof manifestNetworkSchema>;
