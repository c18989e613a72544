import { builder } from '../../graphql/builder.js';
import { ServiceRef } from '../services/service.graphql.js';
import { impactOf, type Impact } from './impact.js';

const ImpactRef = builder.objectRef<Impact>('Impact').implement({
  description: 'What breaks if a service goes down.',
  fields: (t) => ({
    service: t.field({ type: ServiceRef, resolve: (impact) => impact.service }),
    subtree: t.field({ type: [ServiceRef], description: 'Its hierarchy below it (unreachable while it is DOWN), breadth-first.', resolve: (impact) => impact.subtree }),
    dependents: t.field({ type: [ServiceRef], description: 'Services depending on it, directly or transitively.', resolve: (impact) => impact.dependents }),
    affectedCount: t.exposeInt('affectedCount', { description: 'Distinct services in subtree and dependents together.' }),
  }),
});

builder.queryField('impact', (t) =>
  t.field({
    type: ImpactRef,
    nullable: true,
    description: 'null when no service has this slug.',
    args: { slug: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => impactOf(ctx.deps, args.slug),
  }),
);
