/**
 * The registry's expected failures. Each carries a code from a closed set; the GraphQL
 * layer exposes them as typed results (errors plugin) or as errors with extensions.code,
 * and masks everything else.
 */
export const REGISTRY_ERROR_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'INVALID_HIERARCHY',
  'DEPENDENCY_CYCLE',
  'PAYLOAD_TOO_LARGE',
  'NOT_ALLOWED',
] as const;

export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[number];

export abstract class RegistryError extends Error {
  abstract readonly code: RegistryErrorCode;
}

export interface InputIssue {
  /** Dotted path of the offending field within the input, e.g. `metadata` or `tags.2`. */
  path: string;
  message: string;
}

export class InputError extends RegistryError {
  override readonly name = 'InputError';
  readonly code = 'INVALID_INPUT';
  constructor(
    message: string,
    readonly issues: InputIssue[] = [],
  ) {
    super(message);
  }
}

export class NotFoundError extends RegistryError {
  override readonly name = 'NotFoundError';
  readonly code = 'NOT_FOUND';
  constructor(
    readonly resource: string,
    readonly key: string,
  ) {
    super(`${resource} ${JSON.stringify(key)} does not exist`);
  }
}

export class ConflictError extends RegistryError {
  override readonly name = 'ConflictError';
  readonly code = 'CONFLICT';
}

export class HierarchyError extends RegistryError {
  override readonly name = 'HierarchyError';
  readonly code = 'INVALID_HIERARCHY';
  constructor(
    /** The rule that was broken, e.g. `AGENT_PARENT_MUST_BE_POLLER`. */
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}

export class PayloadTooLargeError extends RegistryError {
  override readonly name = 'PayloadTooLargeError';
  readonly code = 'PAYLOAD_TOO_LARGE';
  constructor(
    readonly field: string,
    readonly limitBytes: number,
    readonly actualBytes: number,
  ) {
    super(`${field} is ${actualBytes} bytes; the limit is ${limitBytes}`);
  }
}

export class NotAllowedError extends RegistryError {
  override readonly name = 'NotAllowedError';
  readonly code = 'NOT_ALLOWED';
}

export class DependencyCycleError extends RegistryError {
  override readonly name = 'DependencyCycleError';
  readonly code = 'DEPENDENCY_CYCLE';
  constructor(
    /** The loop, first slug repeated at the end: a → b → a. */
    readonly cycle: string[],
  ) {
    super(`dependencies would form a cycle: ${cycle.join(' → ')}`);
  }
}
