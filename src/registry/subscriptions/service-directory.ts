/**
 * slug → kind for filtering live events by kind. Audit events do not carry the kind, and the
 * writers that publish them do not have it at hand; it is looked up once per slug per process
 * (never per subscriber) and kept until an event that may change it (REGISTERED, UPDATED,
 * DEREGISTERED) passes through the hub, which reads events one at a time, in order.
 */
import { LRUCache } from 'lru-cache';
import type { RegistryDeps } from '../deps.js';

const KIND_CHANGING = new Set(['REGISTERED', 'UPDATED', 'DEREGISTERED']);
const MISSING = '' as const;

export class ServiceDirectory {
  private readonly kinds = new LRUCache<string, string>({ max: 10_000 });

  constructor(private readonly deps: RegistryDeps) {}

  /** Every event passes here, in order: those that may change a kind drop what is known of it. */
  observe(eventType: string, slug: string | null): void {
    if (slug && KIND_CHANGING.has(eventType)) this.kinds.delete(slug);
  }

  /** The service's kind, null when it is gone (or the database did not answer). */
  async kindOf(slug: string): Promise<string | null> {
    const cached = this.kinds.get(slug);
    if (cached !== undefined) return cached === MISSING ? null : cached;
    try {
      const row = await this.deps.db.client.service.findUnique({ where: { slug }, select: { kind: true } });
      this.kinds.set(slug, row?.kind ?? MISSING);
      return row?.kind ?? null;
    } catch (error) {
      this.deps.logger.warn({ err: error, slug }, 'service kind lookup failed; the event passes without kind');
      return null;
    }
  }
}
