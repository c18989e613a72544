import type { Logger } from '../infra/logger/logger.js';
import type { RegistryDeps } from '../registry/deps.js';

/** Per-request context. Resolvers hand `deps` to use-cases; they do not query on their own. */
export interface GraphQLContext {
  deps: RegistryDeps;
  requestId: string;
  logger: Logger;
  /** Who is acting, for the audit trail (from the x-actor header until auth lands). */
  actor: string | null;
}
