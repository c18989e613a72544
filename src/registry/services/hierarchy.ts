/**
 * Which kinds may sit under which. Pollers are roots; agents report to a poller; checkers
 * run under an agent; plain services may nest under other plain services (or stand alone).
 */
import { HierarchyError } from '../errors.js';
import { ServiceKind } from '../../generated/prisma/enums.js';

const REQUIRED_PARENT: Partial<Record<ServiceKind, ServiceKind>> = {
  [ServiceKind.AGENT]: ServiceKind.POLLER,
  [ServiceKind.CHECKER]: ServiceKind.AGENT,
};

/** Throws HierarchyError when a service of `kind` may not have `parentKind` (null: no parent). */
export function assertParentAllowed(slug: string, kind: ServiceKind, parentKind: ServiceKind | null): void {
  if (kind === ServiceKind.POLLER) {
    if (parentKind !== null) throw new HierarchyError('POLLER_HAS_NO_PARENT', `${slug} is a POLLER; pollers are roots and take no parent`);
    return;
  }
  const required = REQUIRED_PARENT[kind];
  if (required) {
    if (parentKind !== required) {
      const got = parentKind === null ? 'no parent' : `a ${parentKind} parent`;
      throw new HierarchyError(`${kind}_PARENT_MUST_BE_${required}`, `${slug} is a ${kind}; its parent must be a ${required}, got ${got}`);
    }
    return;
  }
  if (parentKind !== null && parentKind !== ServiceKind.SERVICE) {
    throw new HierarchyError('SERVICE_PARENT_MUST_BE_SERVICE', `${slug} is a SERVICE; its parent may only be another SERVICE, got a ${parentKind}`);
  }
}

/** The kinds a service of `kind` may have as children, so a kind change cannot orphan them. */
export function allowedChildKinds(kind: ServiceKind): ServiceKind[] {
  switch (kind) {
    case ServiceKind.POLLER:
      return [ServiceKind.AGENT];
    case ServiceKind.AGENT:
      return [ServiceKind.CHECKER];
    case ServiceKind.SERVICE:
      return [ServiceKind.SERVICE];
    default:
      return [];
  }
}
