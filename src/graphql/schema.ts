/** Assembles the schema: importing a domain's *.graphql.ts registers its types and fields. */
import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
import './errors.js';
import '../registry/services/service-enums.graphql.js';
import '../registry/services/service.graphql.js';
import '../registry/instances/instance.graphql.js';
import '../registry/services/register-service.graphql.js';
import '../registry/heartbeats/heartbeat.graphql.js';
import '../registry/services/admin-actions.graphql.js';
import '../registry/health/impact.graphql.js';
import '../registry/lifecycle/maintenance.graphql.js';
import '../registry/discovery/discovery.graphql.js';
import '../registry/events/event.graphql.js';
import '../registry/history/history.graphql.js';
import '../registry/probes/probe.graphql.js';
import '../registry/manifests/manifest.graphql.js';
import '../registry/networks/network.graphql.js';
import '../registry/subscriptions/subscription.graphql.js';
import '../registry/subscriptions/registry-events.graphql.js';
import '../registry/cache/cache.graphql.js';

export const schema = builder.toSchema();

/** The committed schema.graphql: sorted so that moving code around does not churn it. */
export function printRegistrySchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
