import { builder } from '../../graphql/builder.js';
import { writeErrors } from '../../graphql/errors.js';
import { ServiceInstanceRef } from '../instances/instance.graphql.js';
import { deregisterInstance, deregisterService, setMaintenance, updateServiceStatus } from './admin-actions.js';
import { ServiceStatusEnum } from './service-enums.graphql.js';
import { ServiceRef } from './service.graphql.js';

const DeregisteredService = builder.objectRef<{ slug: string }>('DeregisteredService').implement({
  fields: (t) => ({ slug: t.exposeString('slug') }),
});

builder.mutationFields((t) => ({
  deregisterInstance: t.field({
    type: ServiceInstanceRef,
    args: { slug: t.arg.string({ required: true }), instanceId: t.arg.string({ required: true }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => deregisterInstance(ctx.deps, args.slug, args.instanceId, ctx.actor),
  }),
  deregisterService: t.field({
    type: DeregisteredService,
    description: 'Removes the service, its instances and health history; its audit events stay.',
    args: { slug: t.arg.string({ required: true }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => deregisterService(ctx.deps, args.slug, ctx.actor),
  }),
  updateServiceStatus: t.field({
    type: ServiceRef,
    description: 'Admin override of the lifecycle status (recorded with actor and reason).',
    args: { slug: t.arg.string({ required: true }), status: t.arg({ type: ServiceStatusEnum, required: true }), reason: t.arg.string({ required: false }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => updateServiceStatus(ctx.deps, args.slug, args.status, args.reason, ctx.actor),
  }),
  setMaintenance: t.field({
    type: ServiceRef,
    args: { slug: t.arg.string({ required: true }), enabled: t.arg.boolean({ required: true }), reason: t.arg.string({ required: false }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => setMaintenance(ctx.deps, args.slug, args.enabled, args.reason, ctx.actor),
  }),
}));
