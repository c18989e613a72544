/**
 * Bounded delivery queues. Events are pushed as they arrive from the bus and pulled as the
 * transport manages to write them; a client that stops reading makes its queues grow. Every
 * queue of one connection draws on one budget: past the limit the connection's queues are
 * emptied (their memory freed), each stream ends with SUBSCRIBER_TOO_SLOW, and the
 * transport is told to close the connection. Other connections are never waited for.
 */
import { GraphQLError } from 'graphql';

/** Messages one connection may have queued, over all its subscriptions. */
export const DEFAULT_QUEUE_LIMIT = 1_000;

/** The last item of a stream that failed (overflow, lost replay); resolvers throw its error. */
export class StreamFailure {
  constructor(readonly error: GraphQLError) {}
}
export type Queued<T> = T | StreamFailure;

export function overflowError(limit: number): GraphQLError {
  return new GraphQLError(`subscriber too slow: more than ${limit} messages waited to be sent; the stream was closed (resubscribe, resuming from the last sequence where the subscription has one)`, {
    extensions: { code: 'SUBSCRIBER_TOO_SLOW' },
  });
}

/** Passes a payload through, or throws the stream's failure in its place. */
export function delivered<T>(payload: Queued<T>): T {
  if (payload instanceof StreamFailure) throw payload.error;
  return payload;
}

export class ConnectionBudget {
  private queued = 0;
  private readonly queues = new Set<SubscriberQueue<unknown>>();
  overflowed = false;

  constructor(
    readonly limit: number,
    /** Closes the connection; called once, on the first overflow. */
    private readonly onOverflow: (reason: string) => void,
  ) {}

  register(queue: SubscriberQueue<unknown>): void {
    this.queues.add(queue);
  }

  unregister(queue: SubscriberQueue<unknown>, held: number): void {
    this.queues.delete(queue);
    this.queued -= held;
  }

  /** Reserves room for one message; false once the limit is passed (and the connection is cut). */
  take(): boolean {
    if (this.overflowed) return false;
    if (this.queued >= this.limit) {
      this.overflowed = true;
      for (const queue of this.queues) queue.overflow();
      this.onOverflow(`subscriber too slow: more than ${this.limit} messages queued`);
      return false;
    }
    this.queued += 1;
    return true;
  }

  release(count: number): void {
    this.queued -= count;
  }
}

/** A pull-based stream of pushed items; `onClose` runs once when the consumer stops. */
export class SubscriberQueue<T> implements AsyncIterableIterator<Queued<T>> {
  private items: Array<Queued<T>> = [];
  private waiters: Array<(result: IteratorResult<Queued<T>>) => void> = [];
  private roomWaiters: Array<{ below: number; resolve: () => void }> = [];
  private ended = false;
  private closed = false;

  constructor(
    private readonly budget: ConnectionBudget,
    private readonly onClose: () => void,
  ) {
    budget.register(this as SubscriberQueue<unknown>);
    if (budget.overflowed) this.overflow();
  }

  get isClosed(): boolean {
    return this.closed || this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter) return waiter({ value: item, done: false });
    if (this.budget.take()) this.items.push(item);
  }

  get size(): number {
    return this.items.length;
  }

  /** Resolves once fewer than `below` items wait (or the stream ended): producers that can wait, wait. */
  room(below: number): Promise<void> {
    if (this.items.length < below || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ below, resolve }));
  }

  overflow(): void {
    this.fail(overflowError(this.budget.limit));
  }

  /** Drops what is queued; the consumer gets the error, then the end. */
  fail(error: GraphQLError): void {
    if (this.ended) return;
    this.budget.release(this.items.length);
    this.items = [];
    this.ended = true;
    const waiter = this.waiters.shift();
    if (waiter) waiter({ value: new StreamFailure(error), done: false });
    else this.items.push(new StreamFailure(error));
    this.wakeProducers();
    this.stop();
  }

  /** The producer is done: the consumer gets what is queued, then the end. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.items.length === 0) for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
    this.wakeProducers();
    this.stop();
  }

  next(): Promise<IteratorResult<Queued<T>>> {
    if (this.items.length > 0) {
      const value = this.items.shift()!;
      if (!(value instanceof StreamFailure)) this.budget.release(1);
      this.wakeProducers();
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<Queued<T>>> {
    if (!this.ended) this.budget.release(this.items.filter((item) => !(item instanceof StreamFailure)).length);
    this.ended = true;
    this.items = [];
    for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
    this.wakeProducers();
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<Queued<T>>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private wakeProducers(): void {
    if (this.roomWaiters.length === 0) return;
    const still: typeof this.roomWaiters = [];
    for (const waiter of this.roomWaiters) {
      if (this.ended || this.items.length < waiter.below) waiter.resolve();
      else still.push(waiter);
    }
    this.roomWaiters = still;
  }

  private stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.budget.unregister(this as SubscriberQueue<unknown>, 0);
    this.onClose();
  }
}
