import { builder } from '../../graphql/builder.js';
import { writeErrors } from '../../graphql/errors.js';
import { listMaintenanceJobs, MAINTENANCE_JOBS, runMaintenance, type MaintenanceJobState, type MaintenanceRun } from './run-maintenance.js';

export const MaintenanceJobEnum = builder.enumType('MaintenanceJob', {
  description: 'A lifecycle job of the registry.',
  values: {
    MARK_INACTIVE: { description: 'ACTIVE services without a heartbeat for INACTIVE_AFTER_SECONDS become INACTIVE.' },
    ARCHIVE_INACTIVE: { description: 'Services INACTIVE for ARCHIVE_AFTER_SECONDS become REVOKED; protected ones are kept.' },
    PRUNE_EVENTS: { description: 'Registry events older than EVENT_RETENTION_SECONDS are deleted.' },
  } satisfies Record<(typeof MAINTENANCE_JOBS)[number], { description: string }>,
});

const RunMaintenancePayload = builder.objectRef<MaintenanceRun>('RunMaintenancePayload').implement({
  fields: (t) => ({
    job: t.expose('job', { type: MaintenanceJobEnum }),
    affected: t.exposeInt('affected', { description: 'Services transitioned, or events deleted.' }),
    ranAt: t.expose('ranAt', { type: 'DateTime', description: 'Database time of the run.' }),
  }),
});

const MaintenanceJobStateRef = builder.objectRef<MaintenanceJobState>('MaintenanceJobState').implement({
  fields: (t) => ({
    name: t.expose('job', { type: MaintenanceJobEnum }),
    lastRunAt: t.expose('lastRunAt', { type: 'DateTime', nullable: true, description: 'Start of the last run, scheduled or manual.' }),
    lastResult: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What the last run reported: { affected, ranAt, trigger, actor }, or { failed: true }.',
      resolve: (state) => state.lastResult,
    }),
  }),
});

builder.queryFields((t) => ({
  maintenanceJobs: t.field({
    type: [MaintenanceJobStateRef],
    description: 'Every lifecycle job with its last run.',
    resolve: (_root, _args, ctx) => listMaintenanceJobs(ctx.deps),
  }),
}));

builder.mutationFields((t) => ({
  runMaintenance: t.field({
    type: RunMaintenancePayload,
    description: 'Runs a lifecycle job now, regardless of its schedule. Each transition is still recorded once.',
    args: { job: t.arg({ type: MaintenanceJobEnum, required: true }) },
    errors: { types: writeErrors },
    resolve: (_root, args, ctx) => runMaintenance(ctx.deps, args.job, { actor: ctx.actor }),
  }),
}));
