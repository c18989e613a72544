/**
 * One bus subscription per topic per process, shared by every local subscriber: each message
 * is read (and enriched) once, then handed to the subscribers' queues synchronously, so a
 * slow subscriber never holds up the others. The bus subscription opens with the first
 * subscriber and closes with the last.
 */
import type { BusEvents, BusTopic } from '../../infra/bus/event-bus.js';
import type { RegistryDeps } from '../deps.js';

export interface HubListener<T> {
  /** Must not block: push into a queue and return. */
  message(message: T): void;
  /** The bus came back from an outage: messages may have been lost meanwhile. */
  reconnected(): void;
}

/**
 * Waits until the bus really listens. graphql-redis-subscriptions subscribes on the first
 * `next()` and exposes the acknowledgement as `subscribeAll()`; the in-process bus listens
 * as soon as `next()` was called.
 */
async function whenSubscribed(iterator: AsyncIterator<unknown>): Promise<void> {
  const subscribeAll = (iterator as { subscribeAll?: () => Promise<unknown> }).subscribeAll;
  if (typeof subscribeAll === 'function') await subscribeAll.call(iterator);
}

export class TopicHub<T extends BusTopic, M = BusEvents[T]> {
  private readonly listeners = new Set<HubListener<M>>();
  private iterator: AsyncIterator<BusEvents[T]> | undefined;
  private ready: Promise<void> = Promise.resolve();
  private offReconnect: (() => void) | undefined;

  constructor(
    private readonly deps: RegistryDeps,
    private readonly topic: T,
    /** Turns a bus message into what listeners get; null drops it. Runs once per message. */
    private readonly enrich: (message: BusEvents[T]) => M | null | Promise<M | null>,
  ) {}

  /** Resolves once the bus listens, so anything published afterwards reaches `listener`. */
  async attach(listener: HubListener<M>): Promise<() => void> {
    this.listeners.add(listener);
    if (!this.iterator) this.open();
    await this.ready;
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.shut();
    };
  }

  get size(): number {
    return this.listeners.size;
  }

  private open(): void {
    const iterator = this.deps.bus.subscribe(this.topic)[Symbol.asyncIterator]();
    this.iterator = iterator;
    const first = iterator.next();
    this.ready = whenSubscribed(iterator).catch((error) => this.deps.logger.warn({ err: error, topic: this.topic }, 'bus subscription failed'));
    this.offReconnect = this.deps.bus.onReconnect(() => {
      for (const listener of [...this.listeners]) listener.reconnected();
    });
    void this.pump(iterator, first);
  }

  private shut(): void {
    const iterator = this.iterator;
    this.iterator = undefined;
    this.offReconnect?.();
    this.offReconnect = undefined;
    void iterator?.return?.().catch(() => {});
  }

  private async pump(iterator: AsyncIterator<BusEvents[T]>, first: Promise<IteratorResult<BusEvents[T]>>): Promise<void> {
    let pending = first;
    while (this.iterator === iterator) {
      const next = await pending.catch((error) => {
        this.deps.logger.warn({ err: error, topic: this.topic }, 'bus subscription ended');
        return { done: true as const, value: undefined };
      });
      if (next.done || this.iterator !== iterator) return;
      try {
        const message = await this.enrich(next.value);
        if (message !== null) for (const listener of [...this.listeners]) listener.message(message);
      } catch (error) {
        this.deps.logger.warn({ err: error, topic: this.topic }, 'dropping a bus message that could not be prepared');
      }
      pending = iterator.next();
    }
  }
}
