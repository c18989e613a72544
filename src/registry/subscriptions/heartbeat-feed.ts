/**
 * Heartbeat events for subscribers, cheap enough for the fast path (no SQL, no per-beat
 * publish). The rule:
 *
 * - A steady heartbeat (acknowledged without SQL) is held; within one window of
 *   HEARTBEAT_FLUSH_MS an instance's steady heartbeats become one message (the latest, with
 *   `beats` counting them), and every window's messages go out as one bus publish.
 * - A heartbeat that registered or changed something is published at once, after its commit,
 *   and replaces whatever steady beat of that instance was held (that one is older), so an
 *   instance never gets two messages for the same heartbeat.
 *
 * So per instance and window: at most one steady message, plus one per state-changing beat.
 */
import type { EventBus, HeartbeatMessage } from '../../infra/bus/event-bus.js';
import type { Logger } from '../../infra/logger/logger.js';

const key = (slug: string, instanceId: string) => `${slug}\u0000${instanceId}`;

/** A heartbeat as the feed takes it: the message without its count, with the receipt time as a Date. */
export type FeedBeat = Omit<HeartbeatMessage, 'beats' | 'transitioned' | 'at'> & { at: Date };

interface Held {
  beat: FeedBeat;
  beats: number;
}

function message(held: Held, transitioned: boolean): HeartbeatMessage {
  const { at, ...rest } = held.beat;
  return { ...rest, at: at.toISOString(), beats: held.beats, transitioned };
}

export class HeartbeatFeed {
  // Held as given and formatted once per window: steady beats are the hot path.
  private held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly windowMs: number,
  ) {}

  steady(beat: FeedBeat): void {
    const id = key(beat.slug, beat.instanceId);
    const previous = this.held.get(id);
    if (previous) {
      previous.beat = beat;
      previous.beats += 1;
    } else {
      this.held.set(id, { beat, beats: 1 });
    }
    this.timer ??= setTimeout(() => void this.flush(), this.windowMs);
  }

  transition(beat: FeedBeat): void {
    const id = key(beat.slug, beat.instanceId);
    const previous = this.held.get(id);
    this.held.delete(id);
    this.send([message({ beat, beats: (previous?.beats ?? 0) + 1 }, true)]);
  }

  /** Publishes what is held now (the window's end, tests, shutdown). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held.size === 0) return Promise.resolve();
    const beats = [...this.held.values()].map((held) => message(held, false));
    this.held = new Map();
    return this.send(beats);
  }

  private send(beats: HeartbeatMessage[]): Promise<void> {
    // At most once, like every bus message: a failed publish is logged, never retried.
    return this.bus.publish('heartbeat.batch', { beats }).catch((error) => this.logger.warn({ err: error, beats: beats.length }, 'heartbeat publish failed'));
  }
}
