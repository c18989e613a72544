/** Enums shared by several domains' GraphQL files. */
import { builder } from '../../graphql/builder.js';
import { HealthStatus, RegistryEventType, ServiceKind, ServiceSource, ServiceStatus, TransitionCause } from '../../generated/prisma/enums.js';

export const ServiceKindEnum = builder.enumType(ServiceKind, {
  name: 'ServiceKind',
  description: 'Place in the hierarchy: pollers → agents → checkers; SERVICE is a plain service.',
});
export const ServiceStatusEnum = builder.enumType(ServiceStatus, { name: 'ServiceStatus', description: 'Lifecycle status.' });
export const HealthStatusEnum = builder.enumType(HealthStatus, { name: 'HealthStatus' });
export const ServiceSourceEnum = builder.enumType(ServiceSource, { name: 'ServiceSource', description: 'How the service entered the registry.' });
export const TransitionCauseEnum = builder.enumType(TransitionCause, { name: 'TransitionCause', description: 'Why a status or health transition happened.' });
export const RegistryEventTypeEnum = builder.enumType(RegistryEventType, { name: 'RegistryEventType' });
