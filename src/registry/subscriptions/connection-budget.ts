/**
 * Which budget a subscription draws on. The WebSocket server puts one per socket in the
 * context (`subscriptionBudget`), closing the socket on overflow. Over SSE (graphql-sse
 * distinct connections: one operation per request) the request is the connection: its budget
 * ends the stream with SUBSCRIBER_TOO_SLOW and cuts the response if the client still does not
 * read after a grace period.
 */
import type { ServerResponse } from 'node:http';
import type { GraphQLContext } from '../../graphql/context.js';
import { ConnectionBudget, DEFAULT_QUEUE_LIMIT } from './subscriber-queue.js';

/** How long an overflowed SSE response may take to deliver its error before it is cut. */
const SSE_CUT_AFTER_MS = 5_000;

/** What transports may add to the context. */
export interface SubscriptionTransportContext {
  subscriptionBudget?: ConnectionBudget;
  /** node:http's response, present over HTTP (SSE). */
  res?: ServerResponse;
}

const perRequest = new WeakMap<object, ConnectionBudget>();

export function connectionBudget(ctx: GraphQLContext): ConnectionBudget {
  const transport = ctx as GraphQLContext & SubscriptionTransportContext;
  if (transport.subscriptionBudget) return transport.subscriptionBudget;
  let budget = perRequest.get(ctx);
  if (!budget) {
    budget = new ConnectionBudget(DEFAULT_QUEUE_LIMIT, (reason) => {
      ctx.logger.warn({ reason }, 'closing a slow SSE subscriber');
      const res = transport.res;
      if (res) setTimeout(() => res.destroy(), SSE_CUT_AFTER_MS).unref();
    });
    perRequest.set(ctx, budget);
  }
  return budget;
}
