import { builder } from '../../graphql/builder.js';
import { byUuid } from '../../graphql/node-ids.js';
import { HealthStatusEnum, TransitionCauseEnum } from '../services/service-enums.graphql.js';

export interface InstanceInterface {
  type: string;
  endpoint: string;
}

/** Stored as a JSON object { TYPE: endpoint }; exposed as a list of pairs. */
export function interfacesFromJson(value: unknown): InstanceInterface[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([type, endpoint]) => ({ type, endpoint }))
    .sort((a, b) => a.type.localeCompare(b.type));
}

export const InstanceInterfaceRef = builder.objectRef<InstanceInterface>('InstanceInterface').implement({
  description: 'How to reach an instance: REST, GRAPHQL, GRPC, MCP, CLI, …',
  fields: (t) => ({ type: t.exposeString('type'), endpoint: t.exposeString('endpoint') }),
});

export const ServiceInstanceRef = builder.prismaNode('ServiceInstance', {
  id: { field: 'id' },
  findUnique: byUuid('ServiceInstance'),
  fields: (t) => ({
    instanceId: t.exposeString('instanceId', { description: 'Unique within its service.' }),
    version: t.exposeString('version', { nullable: true }),
    interfaces: t.field({ type: [InstanceInterfaceRef], resolve: (instance) => interfacesFromJson(instance.interfaces) }),
    health: t.expose('health', { type: HealthStatusEnum }),
    previousHealth: t.expose('previousHealth', { type: HealthStatusEnum, nullable: true }),
    healthSince: t.expose('healthSince', { type: 'DateTime' }),
    healthCause: t.expose('healthCause', { type: TransitionCauseEnum, nullable: true }),
    reachable: t.exposeBoolean('reachable', { description: 'false when an ancestor of its service is DOWN.' }),
    ttlSeconds: t.exposeInt('ttlSeconds'),
    deregisterAfterSeconds: t.exposeInt('deregisterAfterSeconds', { nullable: true }),
    metadata: t.field({ type: 'JSONObject', resolve: (instance) => instance.metadata as Record<string, unknown> }),
    host: t.exposeString('host', { nullable: true }),
    sourceIp: t.exposeString('sourceIp', { nullable: true }),
    revision: t.exposeInt('revision'),
    lastHeartbeatAt: t.expose('lastHeartbeatAt', { type: 'DateTime', nullable: true }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'Last heartbeat + TTL.' }),
    registeredAt: t.expose('registeredAt', { type: 'DateTime' }),
    deregisteredAt: t.expose('deregisteredAt', { type: 'DateTime', nullable: true }),
    service: t.relation('service'),
  }),
});

builder.prismaObjectField('Service', 'instances', (t) =>
  t.relation('instances', {
    description: 'Live instances, oldest first (deregistered ones only when asked).',
    args: { includeDeregistered: t.arg.boolean({ defaultValue: false }) },
    query: (args) => ({
      where: args.includeDeregistered ? {} : { deregisteredAt: null },
      orderBy: [{ registeredAt: 'asc' }, { instanceId: 'asc' }],
    }),
  }),
);

builder.prismaObjectField('Service', 'expiresAt', (t) =>
  t.field({
    type: 'DateTime',
    nullable: true,
    description: 'When the last of its live instances expires without a heartbeat (last heartbeat + TTL); null without instances.',
    select: { instances: { where: { deregisteredAt: null }, select: { expiresAt: true } } },
    resolve: (service) => {
      const times = service.instances.map((instance) => instance.expiresAt?.getTime() ?? 0).filter((time) => time > 0);
      return times.length ? new Date(Math.max(...times)) : null;
    },
  }),
);
