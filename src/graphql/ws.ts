/**
 * GraphQL over WebSocket (the graphql-ws protocol) on the HTTP server's /graphql, executed by
 * the same yoga instance (its plugins, context and error masking) through `getEnveloped`.
 *
 * Slow subscribers: every socket has one budget of queued messages over all its
 * subscriptions. A client that stops reading fills it; past the limit the socket's queues are
 * dropped and the socket is closed with SLOW_SUBSCRIBER_CLOSE_CODE, then cut if its peer does
 * not take the close within `cutAfterMs`. Other sockets are not affected.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RegistryApp } from '../app.js';
import type { Logger } from '../infra/logger/logger.js';
import { ConnectionBudget, DEFAULT_QUEUE_LIMIT } from '../registry/subscriptions/subscriber-queue.js';

/**
 * Close code of a socket whose client did not keep up. Not 4429: graphql-ws clients take that
 * one (TooManyInitialisationRequests) as fatal and never reconnect; a slow client may.
 */
export const SLOW_SUBSCRIBER_CLOSE_CODE = 4413;

export interface GraphQLWebSocketOptions {
  app: RegistryApp;
  logger: Logger;
  /** @default /graphql */
  path?: string;
  /** Messages one socket may have waiting, over all its subscriptions. @default 1000 */
  queueLimit?: number;
  /** How long a socket closed for being slow may take to go before it is cut. @default 5000 */
  cutAfterMs?: number;
}

export interface GraphQLWebSocket {
  /** Closes every socket (1001 going away) and stops accepting new ones. */
  close(): Promise<void>;
}

type SocketExtra = {
  socket: WebSocket;
  request: IncomingMessage;
};

export function attachGraphQLWebSocket(http: Server, options: GraphQLWebSocketOptions): GraphQLWebSocket {
  const path = options.path ?? '/graphql';
  const limit = options.queueLimit ?? DEFAULT_QUEUE_LIMIT;
  const cutAfterMs = options.cutAfterMs ?? 5_000;
  const wss = new WebSocketServer({ noServer: true });
  const budgets = new WeakMap<WebSocket, ConnectionBudget>();

  const budgetOf = (socket: WebSocket) => {
    let budget = budgets.get(socket);
    if (!budget) {
      budget = new ConnectionBudget(limit, (reason) => {
        options.logger.warn({ reason, limit }, 'closing a slow WebSocket subscriber');
        socket.close(SLOW_SUBSCRIBER_CLOSE_CODE, 'subscriber too slow: queue overflow');
        setTimeout(() => socket.terminate(), cutAfterMs).unref();
      });
      budgets.set(socket, budget);
    }
    return budget;
  };

  const server = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const { request, socket } = ctx.extra;
        // The app's context reads headers from a fetch Request, as over HTTP.
        const headers = new Headers();
        for (const [name, value] of Object.entries(request.headers)) {
          if (typeof value === 'string') headers.set(name, value);
          else if (Array.isArray(value)) for (const item of value) headers.append(name, item);
        }
        const enveloped = options.app.getEnveloped({
          request: new Request(`http://localhost${request.url ?? path}`, { headers }),
          params: payload,
          subscriptionBudget: budgetOf(socket),
        } as never);
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError(String(error))];
        }
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
        const errors = enveloped.validate(args.schema, args.document);
        return errors.length > 0 ? errors : args;
      },
    },
    wss,
  );

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((request.url ?? '/').split('?')[0] !== path) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  http.on('upgrade', onUpgrade);

  return {
    async close() {
      http.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'server going away');
      // A client that does not answer the close (it stopped reading) is cut.
      const deadline = Date.now() + 1_000;
      while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      for (const client of wss.clients) client.terminate();
      await server.dispose();
    },
  };
}

interface Enveloped {
  execute: (args: ExecutionArgs) => ReturnType<NonNullable<Parameters<typeof useServer>[0]['execute']>>;
  subscribe: (args: ExecutionArgs) => ReturnType<NonNullable<Parameters<typeof useServer>[0]['subscribe']>>;
}
