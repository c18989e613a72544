import { builder } from '../../graphql/builder.js';
import { writeErrors } from '../../graphql/errors.js';
import type { Service, ServiceInstance } from '../../generated/prisma/client.js';
import { ServiceInstanceRef } from '../instances/instance.graphql.js';
import { registerService } from './register-service.js';
import { ServiceKindEnum, ServiceSourceEnum } from './service-enums.graphql.js';
import { ServiceRef } from './service.graphql.js';

const InterfaceInput = builder.inputType('InstanceInterfaceInput', {
  fields: (t) => ({
    type: t.string({ required: true, description: 'REST, GRAPHQL, GRPC, MCP, CLI, … (upper-cased).' }),
    endpoint: t.string({ required: true }),
  }),
});

const RegisterServiceInput = builder.inputType('RegisterServiceInput', {
  description: 'Registering a known slug updates it: omitted fields stay, null clears, registeredAt is kept.',
  fields: (t) => ({
    slug: t.string({ required: true, description: 'Unique key: ^[a-z0-9][a-z0-9-]{0,62}$' }),
    name: t.string({ required: true }),
    kind: t.field({ type: ServiceKindEnum, required: false, description: 'Defaults to SERVICE for a new slug.' }),
    parentSlug: t.string({ required: false }),
    version: t.string({ required: false }),
    description: t.string({ required: false }),
    tags: t.stringList({ required: false }),
    dependencies: t.stringList({ required: false, description: 'Slugs of the services this one needs; each must exist (DEPENDENCY_VALIDATION).' }),
    metadata: t.field({ type: 'JSONObject', required: false, description: 'At most 10 KB as JSON.' }),
    source: t.field({ type: ServiceSourceEnum, required: false, description: 'Defaults to API for a new slug.' }),
    protected: t.boolean({ required: false, description: 'Never auto-deregistered or archived.' }),
    instanceId: t.string({ required: false, description: 'The registering instance; generated (and returned) when absent.' }),
    interfaces: t.field({ type: [InterfaceInput], required: false }),
    ttlSeconds: t.int({ required: false, description: 'Heartbeat TTL of the instance (default HEARTBEAT_TTL_SECONDS).' }),
    deregisterAfterSeconds: t.int({ required: false, description: 'Deregister the instance after it has been DOWN this long (≥ 60; off when absent).' }),
    host: t.string({ required: false }),
  }),
});

const RegisterServicePayload = builder
  .objectRef<{ service: Service; instance: ServiceInstance | null; created: boolean; warnings: string[] }>('RegisterServicePayload')
  .implement({
    fields: (t) => ({
      service: t.field({ type: ServiceRef, resolve: (payload) => payload.service }),
      instance: t.field({ type: ServiceInstanceRef, nullable: true, resolve: (payload) => payload.instance }),
      created: t.exposeBoolean('created', { description: 'false when the slug was already registered and got updated.' }),
      warnings: t.exposeStringList('warnings', { description: 'Accepted problems, e.g. unknown dependencies under DEPENDENCY_VALIDATION=warn.' }),
    }),
  });

builder.mutationFields((t) => ({
  registerService: t.field({
    type: RegisterServicePayload,
    args: { input: t.arg({ type: RegisterServiceInput, required: true }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => registerService(ctx.deps, args.input, { actor: ctx.actor }),
  }),
}));
