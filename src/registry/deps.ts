import type { EventBus } from '../infra/bus/event-bus.js';
import type { Clock } from '../infra/clock.js';
import type { Database } from '../infra/db/database.js';
import type { Logger } from '../infra/logger/logger.js';

export interface RegistryLimits {
  /** @default 10240 */
  metadataMaxBytes: number;
}

/** What every use-case may touch. Passed explicitly; nothing reaches for globals. */
export interface RegistryDeps {
  db: Database;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  limits: RegistryLimits;
}

export const defaultLimits: RegistryLimits = { metadataMaxBytes: 10_240 };
