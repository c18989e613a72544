/** Prisma's known request errors mapped once, at the database edge, onto registry errors. */
import { ConflictError, NotFoundError } from '../../registry/errors.js';

interface PrismaKnownError {
  code: string;
  meta?: Record<string, unknown>;
}

function isPrismaKnownError(error: unknown): error is PrismaKnownError {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' && /^P\d{4}$/.test((error as { code: string }).code);
}

export function mapDatabaseError(error: unknown, context: { resource: string; key: string }): unknown {
  if (!isPrismaKnownError(error)) return error;
  if (error.code === 'P2002') return new ConflictError(`${context.resource} ${JSON.stringify(context.key)} already exists`);
  if (error.code === 'P2025') return new NotFoundError(context.resource, context.key);
  return error;
}

/** Runs database work and rethrows unique / missing-row failures as registry errors. */
export async function withDatabaseErrors<T>(context: { resource: string; key: string }, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw mapDatabaseError(error, context);
  }
}

/**
 * The database could not be reached in time (pool exhausted, transaction could not start, connect
 * timeout): not the client's fault and not a bug, so clients are told to retry rather than
 * shown a masked internal error.
 */
export function isDatabaseBusy(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 6; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === 'P2028' || code === 'P2024' || code === 'P1001' || code === 'P1008') return true;
    const message = String((current as { message?: unknown }).message ?? '');
    if (/timeout exceeded when trying to connect|Unable to start a transaction in the given time/i.test(message)) return true;
    current = (current as { originalError?: unknown; cause?: unknown }).originalError ?? (current as { cause?: unknown }).cause;
  }
  return false;
}
