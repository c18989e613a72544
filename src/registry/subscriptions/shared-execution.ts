/**
 * One execution per distinct live subscription per process.
 *
 * A thousand clients watching `healthChanged(filter: {kind: AGENT})` would otherwise each
 * run the same filter and execute the same selection set for every event. Here subscribers
 * whose operation is the same (document, operation name and variables) join one shared
 * execution: the subscription is set up once, each event is executed once, and the result
 * is handed to every member's own bounded queue (drawing on the member's connection budget,
 * so a slow member overflows alone, exactly as with a private stream).
 *
 * Only live-only operations are shared: one with per-subscriber state (a replay cursor such
 * as `registryEvents(after:)`) keeps a private execution. A member receives what the shared
 * execution produces after it joined; joining an execution that is already running needs no
 * new bus subscription, so nothing published after the join acknowledgement is missed.
 *
 * The shared execution runs with the first member's context, but with a budget of its own
 * (the pump drains it continuously), so neither that member's connection nor its leaving
 * affects the others; the execution stops when its last member leaves.
 */
import type { Plugin } from '@envelop/core';
import { Kind, print, type DocumentNode, type ExecutionArgs, type ExecutionResult, type FieldNode, type OperationDefinitionNode } from 'graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { PerRegistry, type RegistryDeps } from '../deps.js';
import { connectionBudget } from './connection-budget.js';
import { ConnectionBudget, StreamFailure, SubscriberQueue } from './subscriber-queue.js';

/** Root fields whose named arguments, when given, make a subscription per-subscriber. */
const PRIVATE_WHEN_GIVEN: Record<string, readonly string[]> = { registryEvents: ['after'] };

/** Results the shared execution may hold before its members' queues take them (normally 0–1). */
const SOURCE_LIMIT = 10_000;

type SubscribeFunction = (args: ExecutionArgs) => unknown;
type Started = { iterator: AsyncIterator<ExecutionResult> } | { result: ExecutionResult };

const documentKeys = new WeakMap<DocumentNode, string>();

/** Printing once per parsed document: yoga's parser cache hands out the same object per query text. */
function documentKey(document: DocumentNode): string {
  let key = documentKeys.get(document);
  if (key === undefined) {
    key = print(document);
    documentKeys.set(document, key);
  }
  return key;
}

function operationOf(args: ExecutionArgs): OperationDefinitionNode | undefined {
  const operations = args.document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  return args.operationName ? operations.find((operation) => operation.name?.value === args.operationName) : operations.length === 1 ? operations[0] : undefined;
}

/**
 * The root field of a subscription whose subscribers can share an execution (see
 * PRIVATE_WHEN_GIVEN); null for anything else.
 */
export function shareableField(args: ExecutionArgs): string | null {
  const operation = operationOf(args);
  if (!operation || operation.operation !== 'subscription') return null;
  const variables = (args.variableValues ?? {}) as Record<string, unknown>;
  for (const selection of operation.selectionSet.selections) {
    // Fragments at the root are rare; keep such operations private rather than resolve them here.
    if (selection.kind !== Kind.FIELD) return null;
    for (const argument of (selection as FieldNode).arguments ?? []) {
      if (!PRIVATE_WHEN_GIVEN[selection.name.value]?.includes(argument.name.value)) continue;
      const value = argument.value;
      const given = value.kind === Kind.VARIABLE ? variables[value.name.value] != null : value.kind !== Kind.NULL;
      if (given) return null;
    }
  }
  const [root] = operation.selectionSet.selections;
  return root?.kind === Kind.FIELD ? root.name.value : null;
}

function failureResult(failure: StreamFailure): ExecutionResult {
  return { data: null, errors: [failure.error] };
}

class SharedExecution {
  readonly members = new Set<SubscriberQueue<ExecutionResult>>();
  private iterator: AsyncIterator<ExecutionResult> | undefined;
  /** The last member left and the source was closed. */
  stopped = false;
  /** The source stream has ended: members that join late end at once. */
  finished = false;
  readonly started: Promise<Started>;

  constructor(
    private readonly key: string,
    private readonly registry: Map<string, SharedExecution>,
    private readonly deps: RegistryDeps,
    /** The subscription's root field. */
    readonly field: string,
    subscribe: SubscribeFunction,
    args: ExecutionArgs,
  ) {
    this.started = this.start(subscribe, args);
  }

  private async start(subscribe: SubscribeFunction, args: ExecutionArgs): Promise<Started> {
    try {
      const outcome = (await subscribe(args)) as AsyncIterable<ExecutionResult> | ExecutionResult;
      if (!(Symbol.asyncIterator in outcome)) {
        this.forget();
        return { result: outcome };
      }
      const iterator = outcome[Symbol.asyncIterator]();
      this.iterator = iterator;
      void this.pump(iterator);
      return { iterator };
    } catch (error) {
      this.forget();
      throw error;
    }
  }

  /** Reads results as they come and hands each to every member's queue, synchronously. */
  private async pump(iterator: AsyncIterator<ExecutionResult>): Promise<void> {
    for (;;) {
      let next: IteratorResult<ExecutionResult>;
      try {
        next = await iterator.next();
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'shared subscription failed; ending its members');
        next = { done: true, value: undefined };
      }
      if (this.stopped) return;
      if (next.done) {
        this.finished = true;
        this.forget();
        for (const member of [...this.members]) member.end();
        return;
      }
      for (const member of this.members) member.push(next.value);
    }
  }

  /** Also called for a queue that closed before it became a member (its budget had overflowed). */
  leave(member: SubscriberQueue<ExecutionResult>): void {
    this.members.delete(member);
    if (this.members.size > 0 || this.stopped) return;
    this.forget();
    this.stopped = true;
    void this.iterator?.return?.().catch(() => {});
  }

  /** New subscribers with this key start a fresh execution from now on. */
  private forget(): void {
    if (this.registry.get(this.key) === this) this.registry.delete(this.key);
  }
}

/** Adapts a member's queue to what transports iterate: failures become error results. */
function memberStream(queue: SubscriberQueue<ExecutionResult>): AsyncIterableIterator<ExecutionResult> {
  const stream: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const item = await queue.next();
      if (item.done || !(item.value instanceof StreamFailure)) return item as IteratorResult<ExecutionResult>;
      return { done: false, value: failureResult(item.value) };
    },
    async return() {
      await queue.return();
      return { done: true, value: undefined };
    },
    async throw(error) {
      await queue.return();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}

export interface SharedSubscriptionStats {
  /** Shared executions running now. */
  executions: number;
  /** Subscribers served by them. */
  members: number;
}

export interface SharedSubscriptions {
  plugin: Plugin<GraphQLContext>;
  /** Per root field (heartbeats, healthChanged, …). */
  stats(): Map<string, SharedSubscriptionStats>;
}

const sharedOf = new PerRegistry(createSharedSubscriptions);

/** The shared executions of one running registry. */
export function sharedSubscriptions(deps: RegistryDeps): SharedSubscriptions {
  return sharedOf.get(deps);
}

function createSharedSubscriptions(deps: RegistryDeps): SharedSubscriptions {
  const { logger } = deps;
  const executions = new Map<string, SharedExecution>();

  const join = async (args: ExecutionArgs, subscribe: SubscribeFunction, field: string, key: string): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const context = args.contextValue as GraphQLContext;
    let execution = executions.get(key);
    if (!execution) {
      const budget = new ConnectionBudget(SOURCE_LIMIT, (reason) => logger.error({ reason }, 'a shared subscription fell behind its source; its members get SUBSCRIBER_TOO_SLOW'));
      // A context of its own: the shared stream must not draw on (or die with) the first member's connection.
      const sharedContext = { ...context, subscriptionBudget: budget, res: undefined };
      execution = new SharedExecution(key, executions, deps, field, subscribe, { ...args, contextValue: sharedContext });
      executions.set(key, execution);
    }
    const started = await execution.started;
    if ('result' in started) return started.result;
    // Stopped while this subscriber waited for it to start: join (or start) a fresh one.
    if (execution.stopped) return join(args, subscribe, field, key);
    const owner = execution;
    const queue: SubscriberQueue<ExecutionResult> = new SubscriberQueue<ExecutionResult>(connectionBudget(context), () => owner.leave(queue));
    if (owner.finished) queue.end();
    else if (!queue.isClosed) owner.members.add(queue);
    return memberStream(queue);
  };

  return {
    plugin: {
      onSubscribe({ args, subscribeFn, setSubscribeFn }) {
        const field = shareableField(args);
        if (field === null) return;
        const key = `${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${documentKey(args.document)}`;
        setSubscribeFn((subscribeArgs) => join(subscribeArgs, subscribeFn as SubscribeFunction, field, key));
      },
    },
    stats() {
      const byField = new Map<string, SharedSubscriptionStats>();
      for (const execution of executions.values()) {
        const entry = byField.get(execution.field) ?? { executions: 0, members: 0 };
        entry.executions += 1;
        entry.members += execution.members.size;
        byField.set(execution.field, entry);
      }
      return byField;
    },
  };
}
