/**
 * A module's networks inside its import transaction: upsert by slug (manifest JSON and
 * checksum stored, members replaced in launch order), and delete the module's networks the
 * manifest no longer lists (networks have no version history in the data model).
 */
import type { Prisma, RegistryEvent } from '../../generated/prisma/client.js';
import { ConflictError, InputError, type InputIssue } from '../errors.js';
import { recordEvent } from '../events/record-event.js';
import { checksumOf } from '../manifests/canonical-json.js';
import type { ManifestNetwork } from '../manifests/manifest-format.js';
import type { ImportItem } from '../manifests/import-types.js';

type Tx = Prisma.TransactionClient;

export interface NetworkImportContext {
  moduleId: string;
  moduleVersion: string;
  actor: string | null;
  /** Slugs the same import declares as services (they exist by the time members are written). */
  manifestServiceSlugs: ReadonlySet<string>;
}

export async function importNetworks(
  tx: Tx,
  networks: readonly ManifestNetwork[],
  context: NetworkImportContext,
): Promise<{ items: ImportItem[]; events: RegistryEvent[] }> {
  const { moduleId } = context;
  const slugs = networks.map((network) => network.slug);
  const existing = await tx.serviceNetwork.findMany({ where: { OR: [{ slug: { in: slugs } }, { moduleId }] } });
  const bySlug = new Map(existing.map((network) => [network.slug, network]));

  const foreign = networks.filter((network) => {
    const owner = bySlug.get(network.slug)?.moduleId;
    return owner != null && owner !== moduleId;
  });
  if (foreign.length > 0) {
    throw new ConflictError(
      `networks belong to other modules: ${foreign.map((network) => `${network.slug} (module ${bySlug.get(network.slug)!.moduleId})`).join(', ')}`,
    );
  }
  await assertMembersKnown(tx, networks, context.manifestServiceSlugs);

  const items: ImportItem[] = [];
  const events: RegistryEvent[] = [];
  const changed = async (slug: string, outcome: ImportItem['outcome']) => {
    items.push({ slug, kind: 'NETWORK', outcome, version: null });
    if (outcome === 'UNCHANGED') return;
    events.push(
      await recordEvent(tx, {
        type: 'NETWORK_CHANGED',
        cause: 'MANIFEST_IMPORT',
        actor: context.actor,
        toValue: outcome,
        details: { network: slug, outcome, moduleId, moduleVersion: context.moduleVersion },
      }),
    );
  };

  for (const network of networks) {
    const checksum = checksumOf(network);
    const current = bySlug.get(network.slug);
    if (current && current.checksum === checksum && current.moduleId === moduleId) {
      await changed(network.slug, 'UNCHANGED');
      continue;
    }
    const fields = {
      name: network.name,
      description: network.description ?? null,
      moduleId,
      moduleVersion: context.moduleVersion,
      manifest: network as unknown as Prisma.InputJsonValue,
      checksum,
      metadata: network.metadata as Prisma.InputJsonValue,
    };
    const row = current
      ? await tx.serviceNetwork.update({ where: { id: current.id }, data: fields })
      : await tx.serviceNetwork.create({ data: { ...fields, slug: network.slug } });
    await tx.serviceNetworkMember.deleteMany({ where: { networkId: row.id } });
    await tx.serviceNetworkMember.createMany({ data: network.members.map((serviceSlug, position) => ({ networkId: row.id, serviceSlug, position })) });
    await changed(network.slug, current ? 'UPDATED' : 'CREATED');
  }

  const declared = new Set(slugs);
  const gone = existing.filter((network) => network.moduleId === moduleId && !declared.has(network.slug));
  if (gone.length > 0) await tx.serviceNetwork.deleteMany({ where: { id: { in: gone.map((network) => network.id) } } });
  for (const network of gone.sort((a, b) => a.slug.localeCompare(b.slug))) await changed(network.slug, 'REMOVED');
  return { items, events };
}

/** Every member must be a service of this import or an already registered one; lists all that are not. */
async function assertMembersKnown(tx: Tx, networks: readonly ManifestNetwork[], manifestSlugs: ReadonlySet<string>): Promise<void> {
  const outside = [...new Set(networks.flatMap((network) => network.members).filter((slug) => !manifestSlugs.has(slug)))];
  const known = outside.length === 0 ? [] : await tx.service.findMany({ where: { slug: { in: outside } }, select: { slug: true } });
  const knownSlugs = new Set([...manifestSlugs, ...known.map((row) => row.slug)]);
  const issues: InputIssue[] = [];
  networks.forEach((network, index) =>
    network.members.forEach((slug, position) => {
      if (!knownSlugs.has(slug)) issues.push({ path: `networks.${index}.members.${position}`, message: `no service has slug ${slug}` });
    }),
  );
  if (issues.length > 0) {
    const missing = [...new Set(networks.flatMap((network) => network.members).filter((slug) => !knownSlugs.has(slug)))];
    throw new InputError(`unknown network members: ${missing.join(', ')}`, issues);
  }
}
