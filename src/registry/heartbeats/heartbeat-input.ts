import { z } from 'zod';
import { HealthStatus, ServiceKind } from '../../generated/prisma/enums.js';
import { InputError } from '../errors.js';
import { instanceIdSchema, slugSchema } from '../services/service-input.js';

export const heartbeatSchema = z.object({
  slug: slugSchema,
  instanceId: instanceIdSchema,
  /** Only used when the heartbeat registers the service implicitly. */
  kind: z.enum(ServiceKind).nullish(),
  parentSlug: slugSchema.nullish(),
  /** The instance's own view of its health. @default UP */
  status: z.enum(HealthStatus).nullish(),
  latencyMs: z.number().int().min(0).max(3_600_000).nullish(),
  message: z.string().max(1_024).nullish(),
});

export type HeartbeatInput = z.output<typeof heartbeatSchema>;

export function parseHeartbeat(input: unknown, path = ''): HeartbeatInput {
  const result = heartbeatSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ path: [path, ...issue.path.map(String)].filter(Boolean).join('.'), message: issue.message }));
  throw new InputError(`invalid heartbeat: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
}
