import type { RegistryEventMessage, EventBus } from '../../infra/bus/event-bus.js';
import type { Prisma, RegistryEvent } from '../../generated/prisma/client.js';
import type { RegistryEventType, TransitionCause } from '../../generated/prisma/enums.js';

type Tx = Prisma.TransactionClient;

export interface NewRegistryEvent {
  type: RegistryEventType;
  serviceId?: string | null;
  serviceSlug?: string | null;
  instanceId?: string | null;
  fromValue?: string | null;
  toValue?: string | null;
  cause?: TransitionCause | null;
  actor?: string | null;
  details?: Prisma.InputJsonValue;
  revision?: number | null;
}

/** Writes an audit entry inside the caller's transaction; publish it after commit. */
export function recordEvent(tx: Tx, event: NewRegistryEvent): Promise<RegistryEvent> {
  return tx.registryEvent.create({ data: { ...event, details: event.details ?? {} } });
}

export function toEventMessage(event: RegistryEvent): RegistryEventMessage {
  return {
    id: event.id.toString(),
    type: event.type,
    serviceSlug: event.serviceSlug,
    fromValue: event.fromValue,
    toValue: event.toValue,
    cause: event.cause,
    actor: event.actor,
    revision: event.revision,
    at: event.at.toISOString(),
  };
}

/** Fans committed events out; a bus failure is logged by the caller, never undoes the write. */
export async function publishEvents(bus: EventBus, events: RegistryEvent[]): Promise<void> {
  for (const event of events) {
    await bus.publish('registry.event', toEventMessage(event));
    if (event.serviceSlug) await bus.publish('service.changed', { slug: event.serviceSlug });
  }
}
