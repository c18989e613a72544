/**
 * GraphQL faces of the registry's error classes. Fields list the ones they can produce in
 * their `errors` option and return a union; a RegistryError thrown elsewhere surfaces as a
 * GraphQL error with extensions.code (see maskError in app.ts); anything else is masked.
 */
import {
  ConflictError,
  DependencyCycleError,
  HierarchyError,
  InputError,
  NotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  REGISTRY_ERROR_CODES,
  RegistryError,
  type InputIssue,
} from '../registry/errors.js';
import { builder } from './builder.js';

export const RegistryErrorCodeEnum = builder.enumType('RegistryErrorCode', { values: REGISTRY_ERROR_CODES });

export const RegistryErrorInterface = builder.interfaceRef<RegistryError>('RegistryError').implement({
  description: 'An expected failure: the request was understood and refused; nothing was written.',
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.field({ type: RegistryErrorCodeEnum, resolve: (error) => error.code }),
  }),
});

const InputIssueRef = builder.objectRef<InputIssue>('InputIssue').implement({
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Dotted path of the offending input field.' }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(InputError, {
  name: 'InputError',
  interfaces: [RegistryErrorInterface],
  fields: (t) => ({ issues: t.field({ type: [InputIssueRef], resolve: (error) => error.issues }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [RegistryErrorInterface],
  fields: (t) => ({ resource: t.exposeString('resource'), key: t.exposeString('key') }),
});

builder.objectType(ConflictError, { name: 'ConflictError', interfaces: [RegistryErrorInterface], fields: () => ({}) });

builder.objectType(HierarchyError, {
  name: 'HierarchyError',
  interfaces: [RegistryErrorInterface],
  fields: (t) => ({ rule: t.exposeString('rule', { description: 'The hierarchy rule that was broken.' }) }),
});

builder.objectType(PayloadTooLargeError, {
  name: 'PayloadTooLargeError',
  interfaces: [RegistryErrorInterface],
  fields: (t) => ({
    field: t.exposeString('field'),
    limitBytes: t.exposeInt('limitBytes'),
    actualBytes: t.exposeInt('actualBytes'),
  }),
});

builder.objectType(NotAllowedError, { name: 'NotAllowedError', interfaces: [RegistryErrorInterface], fields: () => ({}) });

builder.objectType(DependencyCycleError, {
  name: 'DependencyCycleError',
  interfaces: [RegistryErrorInterface],
  fields: (t) => ({ cycle: t.exposeStringList('cycle', { description: 'The loop, first slug repeated at the end.' }) }),
});

/** The errors any write may answer with. */
export const writeErrors = [InputError, NotFoundError, ConflictError, HierarchyError, PayloadTooLargeError, NotAllowedError, DependencyCycleError];
