/** The probe configured for a service (one per service), as manifests declare it. */
import type { Prisma } from '../../generated/prisma/client.js';

type Tx = Prisma.TransactionClient;

export interface HealthCheckSpec {
  url: string;
  /** @default 30 */
  intervalSeconds?: number;
  /** @default 5000 */
  timeoutMs?: number;
  /** @default 200 */
  expectStatus?: number;
  /** Consecutive passes before the status turns UP. @default 1 */
  successBeforePassing?: number;
  /** Consecutive failures before the status turns DOWN. @default 1 */
  failuresBeforeCritical?: number;
}

/**
 * Sets (or, with null, removes) the probe of a service. A changed spec is probed at once;
 * an unchanged one keeps its schedule and counters.
 */
export async function upsertHealthCheck(tx: Tx, serviceId: string, spec: HealthCheckSpec | null): Promise<void> {
  if (!spec) {
    await tx.healthCheck.deleteMany({ where: { serviceId } });
    return;
  }
  const fields = {
    url: spec.url,
    intervalSeconds: spec.intervalSeconds ?? 30,
    timeoutMs: spec.timeoutMs ?? 5_000,
    expectStatus: spec.expectStatus ?? 200,
    successBeforePassing: spec.successBeforePassing ?? 1,
    failuresBeforeCritical: spec.failuresBeforeCritical ?? 1,
  };
  const existing = await tx.healthCheck.findUnique({ where: { serviceId } });
  if (!existing) {
    await tx.healthCheck.create({ data: { ...fields, serviceId } });
    return;
  }
  const changed = (Object.keys(fields) as Array<keyof typeof fields>).some((key) => existing[key] !== fields[key]);
  if (changed) await tx.healthCheck.update({ where: { serviceId }, data: { ...fields, nextRunAt: new Date(0), consecutiveFailures: 0, consecutiveSuccesses: 0 } });
}
