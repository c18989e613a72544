/** What an import reports, per item and in total. */
export const IMPORT_ITEM_KINDS = ['SERVICE', 'NETWORK'] as const;
export const IMPORT_OUTCOMES = ['CREATED', 'UPDATED', 'UNCHANGED', 'REMOVED'] as const;
export type ImportItemKind = (typeof IMPORT_ITEM_KINDS)[number];
export type ImportOutcome = (typeof IMPORT_OUTCOMES)[number];

export interface ImportItem {
  slug: string;
  kind: ImportItemKind;
  outcome: ImportOutcome;
  /** The service's manifest version after the import (the retired one for REMOVED); null for networks. */
  version: number | null;
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
  removed: number;
}

export interface ImportReport {
  /** null for a dry run: the import row was rolled back with everything else. */
  importId: string | null;
  dryRun: boolean;
  moduleId: string;
  moduleVersion: string;
  rollbackOfId: string | null;
  items: ImportItem[];
  services: ImportCounts;
  networks: ImportCounts;
  /** Accepted problems, e.g. unknown dependencies under DEPENDENCY_VALIDATION=warn. */
  warnings: string[];
}

export function countOutcomes(items: readonly ImportItem[], kind: ImportItemKind): ImportCounts {
  const counts: ImportCounts = { created: 0, updated: 0, unchanged: 0, removed: 0 };
  for (const item of items) {
    if (item.kind === kind) counts[item.outcome.toLowerCase() as keyof ImportCounts] += 1;
  }
  return counts;
}

/** true when the import changed nothing: every item unchanged. */
export function isNoop(report: ImportReport): boolean {
  return report.items.every((item) => item.outcome === 'UNCHANGED');
}
