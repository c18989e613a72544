/** Validation of service registration input, shared by the API, manifests and heartbeats. */
import { z } from 'zod';
import { InputError, PayloadTooLargeError, type InputIssue } from '../errors.js';
import type { RegistrySettings } from '../deps.js';
import { ServiceKind, ServiceSource } from '../../generated/prisma/enums.js';

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SLUG_RULE = 'must be 1-63 characters of a-z, 0-9 and "-", starting with a letter or digit';

export const slugSchema = z.string().regex(SLUG_PATTERN, { message: SLUG_RULE });

const metadataSchema = z.record(z.string(), z.unknown());

export const instanceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, { message: 'must be 1-128 characters of letters, digits and . _ : @ -' });

/** REST, GRAPHQL, GRPC, MCP, CLI, …: any short upper-case name, normalised to upper case. */
const interfaceTypeSchema = z
  .string()
  .trim()
  .transform((value) => value.toUpperCase())
  .pipe(z.string().regex(/^[A-Z][A-Z0-9_]{0,31}$/, { message: 'must be a short name such as REST, GRAPHQL, GRPC, MCP or CLI' }));

export const registerServiceSchema = z.object({
  slug: slugSchema,
  name: z.string().trim().min(1, 'must not be empty').max(200),
  kind: z.enum(ServiceKind).optional(),
  parentSlug: slugSchema.nullish(),
  version: z.string().trim().min(1).max(64).nullish(),
  description: z.string().max(4_000).nullish(),
  tags: z.array(z.string().trim().min(1).max(64)).max(64).optional(),
  dependencies: z.array(slugSchema).max(256).optional(),
  metadata: metadataSchema.nullish(),
  source: z.enum(ServiceSource).optional(),
  protected: z.boolean().optional(),
  // The instance that registers itself along with the service.
  instanceId: instanceIdSchema.nullish(),
  interfaces: z
    .array(z.object({ type: interfaceTypeSchema, endpoint: z.string().trim().min(1).max(2_048) }))
    .max(32)
    .refine((list) => new Set(list.map((item) => item.type)).size === list.length, { message: 'each interface type may appear once' })
    .nullish(),
  ttlSeconds: z.number().int().min(1, 'must be a positive number of seconds').max(86_400).nullish(),
  deregisterAfterSeconds: z.number().int().min(60, 'must be at least 60 seconds').max(2_592_000).nullish(),
  host: z.string().trim().min(1).max(255).nullish(),
});

export type RegisterServiceInput = z.input<typeof registerServiceSchema>;
export type ValidRegisterServiceInput = z.output<typeof registerServiceSchema>;

function toIssues(error: z.ZodError): InputIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(input)', message: issue.message }));
}

export function jsonSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

/** Parses input or throws InputError listing every problem (PayloadTooLargeError for metadata). */
export function parseRegisterServiceInput(input: unknown, settings: Pick<RegistrySettings, 'metadataMaxBytes'>): ValidRegisterServiceInput {
  const result = registerServiceSchema.safeParse(input);
  if (!result.success) {
    const issues = toIssues(result.error);
    throw new InputError(`invalid service registration: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
  }
  const value = result.data;
  const metadataBytes = jsonSize(value.metadata ?? {});
  if (metadataBytes > settings.metadataMaxBytes) throw new PayloadTooLargeError('metadata', settings.metadataMaxBytes, metadataBytes);
  if (value.dependencies?.includes(value.slug)) {
    throw new InputError('a service cannot depend on itself', [{ path: 'dependencies', message: `contains the service's own slug ${value.slug}` }]);
  }
  if (value.parentSlug === value.slug) {
    throw new InputError('a service cannot be its own parent', [{ path: 'parentSlug', message: 'equals slug' }]);
  }
  return {
    ...value,
    tags: value.tags && [...new Set(value.tags)],
    dependencies: value.dependencies && [...new Set(value.dependencies)],
  };
}
