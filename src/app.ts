/**
 * The GraphQL application, built apart from any listener: tests call `app.fetch` directly,
 * src/server.ts mounts it on node:http.
 */
import { randomUUID } from 'node:crypto';
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { GraphQLError } from 'graphql';
import { createYoga, maskError as defaultMaskError, useErrorHandler, type YogaServerInstance } from 'graphql-yoga';
import { useBodyLimit } from './graphql/body-limit.js';
import type { GraphQLContext } from './graphql/context.js';
import { schema } from './graphql/schema.js';
import { isDatabaseBusy } from './infra/db/errors.js';
import type { Logger } from './infra/logger/logger.js';
import type { RegistryDeps } from './registry/deps.js';
import { RegistryError } from './registry/errors.js';
import { sharedSubscriptions } from './registry/subscriptions/shared-execution.js';

/** What the HTTP layer hands to every request. */
export interface ServerContext {
  requestId?: string;
  logger?: Logger;
}

export interface AppOptions {
  /** Serve GraphiQL on GET /graphql. @default false */
  graphiql?: boolean;
  /** Deepest selection accepted. @default 12 */
  maxDepth?: number;
  /** Most aliases in one operation. @default 30 */
  maxAliases?: number;
  /** Most tokens in one document. @default 5000 */
  maxTokens?: number;
  /** Largest request body accepted. @default 2 MiB */
  maxBodyBytes?: number;
}

export type RegistryApp = YogaServerInstance<ServerContext, GraphQLContext>;

/**
 * Finds a RegistryError behind however many GraphQLError wrappers. Walks `originalError`
 * rather than testing `instanceof GraphQLError`: graphql ships CJS and ESM builds, and a
 * wrapper made by the other build fails that test.
 */
function registryErrorOf(error: unknown): RegistryError | null {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof RegistryError) return current;
    current = (current as { originalError?: unknown }).originalError;
  }
  return null;
}

export function createApp(deps: RegistryDeps, options: AppOptions = {}): RegistryApp {
  const armor = new EnvelopArmor({
    maxDepth: { n: options.maxDepth ?? 12 },
    maxAliases: { n: options.maxAliases ?? 30 },
    maxTokens: { n: options.maxTokens ?? 5000 },
    maxDirectives: { n: 50 },
    costLimit: { maxCost: 20_000 },
    blockFieldSuggestion: { enabled: true },
  });

  return createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: options.graphiql ?? false,
    landingPage: false,
    // Replaced by useBodyLimit below, which does the same without a stream per request.
    maxRequestBodySize: false,
    logging: false,
    maskedErrors: {
      // Expected registry errors keep their message and get a code; the rest is masked.
      maskError(error, message, isDev) {
        const registryError = registryErrorOf(error);
        if (registryError) {
          const located = error as Partial<GraphQLError>;
          return new GraphQLError(registryError.message, {
            nodes: located.nodes,
            path: located.path,
            extensions: { code: registryError.code },
          });
        }
        if (isDatabaseBusy(error)) {
          const located = error as Partial<GraphQLError>;
          return new GraphQLError('The registry is overloaded or cannot reach its database; retry shortly.', {
            nodes: located.nodes,
            path: located.path,
            extensions: { code: 'UNAVAILABLE' },
          });
        }
        return defaultMaskError(error, message, isDev);
      },
    },
    context: ({ request, requestId, logger }): GraphQLContext => {
      const id = requestId ?? request.headers.get('x-request-id') ?? randomUUID();
      return {
        deps,
        requestId: id,
        logger: logger ?? deps.logger.child({ reqId: id }),
        actor: request.headers.get('x-actor'),
      };
    },
    plugins: [
      useBodyLimit(options.maxBodyBytes ?? 2_097_152),
      ...armor.protect().plugins,
      useErrorHandler(({ errors, context }) => {
        const log = (context as Partial<GraphQLContext>).logger ?? deps.logger;
        for (const error of errors) {
          if (registryErrorOf(error)) continue;
          const { originalError, path } = error as Partial<GraphQLError>;
          // Client mistakes (syntax, validation) carry no original error; only log failures of ours.
          if (originalError) log.error({ err: originalError, path }, 'unexpected error in operation');
        }
      }),
      // Last, so the subscribe function it shares is the one every other plugin prepared.
      sharedSubscriptions(deps).plugin,
    ],
  });
}
