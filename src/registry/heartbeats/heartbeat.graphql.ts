import { builder } from '../../graphql/builder.js';
import { writeErrors } from '../../graphql/errors.js';
import { RegistryError } from '../errors.js';
import { HealthStatusEnum, ServiceKindEnum, ServiceStatusEnum } from '../services/service-enums.graphql.js';
import { heartbeatProcessor, type HeartbeatAck } from './heartbeat-processor.js';

const HeartbeatInput = builder.inputType('HeartbeatInput', {
  description: 'An unknown service or instance is registered by its first heartbeat (source IMPLICIT).',
  fields: (t) => ({
    slug: t.string({ required: true }),
    instanceId: t.string({ required: true }),
    kind: t.field({ type: ServiceKindEnum, required: false, description: 'Used only when the heartbeat registers the service.' }),
    parentSlug: t.string({ required: false, description: 'Used only when the heartbeat registers the service.' }),
    status: t.field({ type: HealthStatusEnum, required: false, description: "The instance's own view of its health (default UP)." }),
    latencyMs: t.int({ required: false }),
    message: t.string({ required: false }),
  }),
});

const HeartbeatAckRef = builder.objectRef<HeartbeatAck>('HeartbeatAck').implement({
  fields: (t) => ({
    slug: t.exposeString('slug'),
    instanceId: t.exposeString('instanceId'),
    serviceStatus: t.expose('serviceStatus', { type: ServiceStatusEnum }),
    health: t.expose('health', { type: HealthStatusEnum, description: "The instance's health after this heartbeat." }),
    registered: t.exposeBoolean('registered', { description: 'This heartbeat registered the service or the instance.' }),
    transitioned: t.exposeBoolean('transitioned', { description: 'This heartbeat changed status or health (recorded and published).' }),
  }),
});

/**
 * graphql-js treats an Error instance returned inside a list as a field error, so per-item
 * failures travel as plain copies tagged with their type name.
 */
function asPlainError(error: RegistryError): RegistryError {
  return Object.assign(Object.create(null), error, { __typename: error.name, name: error.name, code: error.code, message: error.message });
}

const HeartbeatItemResult = builder.unionType('HeartbeatItemResult', {
  types: [HeartbeatAckRef, ...writeErrors],
  resolveType: (value) => ('__typename' in value ? (value as { __typename: string }).__typename : 'HeartbeatAck'),
});

const HeartbeatBatchPayload = builder
  .objectRef<{ accepted: number; rejected: number; results: Array<HeartbeatAck | RegistryError> }>('HeartbeatBatchPayload')
  .implement({
    fields: (t) => ({
      accepted: t.exposeInt('accepted'),
      rejected: t.exposeInt('rejected'),
      results: t.field({ type: [HeartbeatItemResult], description: 'One per input item, in order.', resolve: (payload) => payload.results as never }),
    }),
  });

builder.mutationFields((t) => ({
  heartbeat: t.field({
    type: HeartbeatAckRef,
    args: { input: t.arg({ type: HeartbeatInput, required: true }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => heartbeatProcessor(ctx.deps).beat(args.input, ctx.actor),
  }),
  heartbeats: t.field({
    type: HeartbeatBatchPayload,
    description: 'Up to 1,000 heartbeats; valid items apply even when others fail.',
    args: { input: t.arg({ type: [HeartbeatInput], required: true }) },
    errors: { types: writeErrors },
    resolve: async (_root, args, ctx) => {
      const outcomes = await heartbeatProcessor(ctx.deps).beatMany(args.input, ctx.actor);
      const results = outcomes.map((outcome) => (outcome.ok ? outcome.ack : asPlainError(outcome.error)));
      const accepted = outcomes.filter((outcome) => outcome.ok).length;
      return { accepted, rejected: outcomes.length - accepted, results };
    },
  }),
}));
