/**
 * recordHealthSnapshot: a reading from an external checker. It goes through the same logic
 * as a probe: with a health check row, it moves the check's counters and damped status
 * (UP/DEGRADED pass, UNHEALTHY/DOWN fail, UNKNOWN neither); without one, the reading is one
 * member of this derivation of the service's health (there is no row to keep it in, so the
 * next instance-driven derivation no longer counts it). Snapshot source MANUAL.
 */
import type { HealthSnapshot } from '../../generated/prisma/client.js';
import type { HealthStatus } from '../../generated/prisma/enums.js';
import type { RegistryDeps } from '../deps.js';
import { InputError, NotFoundError, PayloadTooLargeError, type InputIssue } from '../errors.js';
import { publishEvents } from '../events/record-event.js';
import { applyCheckReadings } from './check-readings.js';

export interface ExternalReadingInput {
  slug: string;
  status: HealthStatus;
  latencyMs?: number | null;
  statusCode?: number | null;
  message?: string | null;
  checkedAt?: Date | null;
  metadata?: Record<string, unknown> | null;
}

/** A reading may be stamped at most this far ahead of the registry's clock. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const MAX_MESSAGE_LENGTH = 2_000;

function validate(deps: RegistryDeps, input: ExternalReadingInput): void {
  const issues: InputIssue[] = [];
  if (input.latencyMs != null && (input.latencyMs < 0 || input.latencyMs > 3_600_000)) {
    issues.push({ path: 'latencyMs', message: 'expected 0 to 3600000' });
  }
  if (input.statusCode != null && (input.statusCode < 100 || input.statusCode > 599)) {
    issues.push({ path: 'statusCode', message: 'expected an HTTP status from 100 to 599' });
  }
  if (input.message != null && input.message.length > MAX_MESSAGE_LENGTH) {
    issues.push({ path: 'message', message: `longer than ${MAX_MESSAGE_LENGTH} characters` });
  }
  if (input.checkedAt) {
    const now = deps.clock.now().getTime();
    if (input.checkedAt.getTime() > now + MAX_CLOCK_SKEW_MS) issues.push({ path: 'checkedAt', message: 'in the future' });
    const retentionMs = deps.settings.history.snapshotRetentionDays * 86_400_000;
    if (input.checkedAt.getTime() < now - retentionMs) issues.push({ path: 'checkedAt', message: 'older than the snapshot retention' });
  }
  if (!input.slug.trim()) issues.push({ path: 'slug', message: 'required' });
  if (issues.length > 0) throw new InputError(`invalid health snapshot: ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`, issues);
  if (input.metadata) {
    const bytes = Buffer.byteLength(JSON.stringify(input.metadata));
    if (bytes > deps.settings.metadataMaxBytes) throw new PayloadTooLargeError('metadata', deps.settings.metadataMaxBytes, bytes);
  }
}

const PASSES: Record<HealthStatus, boolean | null> = { UP: true, DEGRADED: true, UNHEALTHY: false, DOWN: false, UNKNOWN: null };

export async function recordExternalReading(deps: RegistryDeps, input: ExternalReadingInput, actor: string | null): Promise<HealthSnapshot> {
  validate(deps, input);
  const outcome = await deps.db.client.$transaction(async (tx) => {
    const service = await tx.service.findUnique({ where: { slug: input.slug }, select: { id: true, healthCheck: { select: { id: true } } } });
    if (!service) throw new NotFoundError('Service', input.slug);
    return applyCheckReadings(
      tx,
      [
        {
          serviceId: service.id,
          checkId: service.healthCheck?.id ?? null,
          passed: PASSES[input.status],
          status: input.status,
          latencyMs: input.latencyMs,
          statusCode: input.statusCode,
          message: input.message,
          checkedAt: input.checkedAt,
          metadata: (input.metadata ?? {}) as object,
        },
      ],
      { source: 'MANUAL', actor, flapping: deps.settings.flapping },
    );
  });
  await publishEvents(deps.bus, outcome.events).catch((error) => deps.logger.warn({ err: error }, 'event publish failed'));
  return outcome.snapshots[0]!;
}
