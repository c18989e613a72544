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
    serviceId: event.serviceId,
    instanceId: event.instanceId,
    details: event.details,
  };
}

/** Fans committed events out; a bus failure is logged by the caller, never undoes the write. */
export async function publishEvents(bus: EventBus, events: RegistryEvent[]): Promise<void> {
  // Every message is attempted even when one fails (Redis down): a publish also evicts this
  // replica's cache on the way out, and that must not stop at the first failure.
  const failures: unknown[] = [];
  const attempt = (publish: Promise<void>) => publish.catch((error: unknown) => void failures.push(error));
  for (const event of events) {
    await attempt(bus.publish('registry.event', toEventMessage(event)));
    if (event.serviceSlug) await attempt(bus.publish('service.changed', { slug: event.serviceSlug }));
  }
  if (failures.length > 0) {
    throw new AggregateError(failures, `${failures.length} event message(s) could not be published: ${String((failures[0] as Error)?.message ?? failures[0])}`);
  }
}

/** The row a bus message stands for, so live events resolve like stored ones. */
export function fromEventMessage(message: RegistryEventMessage): RegistryEvent {
  return {
    id: BigInt(message.id),
    type: message.type as RegistryEventType,
    serviceId: message.serviceId ?? null,
    serviceSlug: message.serviceSlug,
    instanceId: message.instanceId ?? null,
    fromValue: message.fromValue,
    toValue: message.toValue,
    cause: message.cause as TransitionCause | null,
    actor: message.actor,
    details: (message.details ?? {}) as RegistryEvent['details'],
    revision: message.revision,
    at: new Date(message.at),
  };
}
