/** Probes in the graph: flap state on Service, external readings, and probing on demand. */
import { builder } from '../../graphql/builder.js';
import { writeErrors } from '../../graphql/errors.js';
import { HealthSnapshotRef } from '../history/history.graphql.js';
import { HealthStatusEnum } from '../services/service-enums.graphql.js';
import { probeServiceNow } from './probe-poller.js';
import { recordExternalReading } from './record-snapshot.js';

builder.prismaObjectFields('Service', (t) => ({
  flapping: t.exposeBoolean('flapping', {
    description: 'More health changes than FLAP_THRESHOLD within FLAP_WINDOW_SECONDS, as of the last probe or external reading.',
  }),
  flapCount: t.exposeInt('flapCount', { description: 'Health changes within the flap window when last evaluated.' }),
}));

const RecordHealthSnapshotInput = builder.inputType('RecordHealthSnapshotInput', {
  description:
    'A reading from an external checker. With a health check configured it moves the check like a probe ' +
    '(UP/DEGRADED pass, UNHEALTHY/DOWN fail, UNKNOWN neither); without one it counts once in the service health.',
  fields: (t) => ({
    slug: t.string({ required: true }),
    status: t.field({ type: HealthStatusEnum, required: true }),
    latencyMs: t.int({ required: false }),
    statusCode: t.int({ required: false }),
    message: t.string({ required: false }),
    checkedAt: t.field({ type: 'DateTime', required: false, description: 'Default: now.' }),
    metadata: t.field({ type: 'JSONObject', required: false }),
  }),
});

builder.mutationFields((t) => ({
  recordHealthSnapshot: t.field({
    type: HealthSnapshotRef,
    args: { input: t.arg({ type: RecordHealthSnapshotInput, required: true }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => recordExternalReading(ctx.deps, args.input, ctx.actor),
  }),
  probeService: t.field({
    type: HealthSnapshotRef,
    description: "Probes the service's health check now and returns the resulting snapshot.",
    args: { slug: t.arg.string({ required: true }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => probeServiceNow(ctx.deps, args.slug, ctx.actor),
  }),
}));
