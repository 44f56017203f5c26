import type { Finding, FindingKind, Severity } from '../api/types';

export const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low'];

const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1 };

/** Higher is worse; unknown severities rank lowest. */
export function severityRank(s: string | undefined): number {
  return RANK[s as Severity] ?? 0;
}

/** The worst severity of a list of findings, or undefined when empty. */
export function worstSeverity(findings: Finding[]): Severity | undefined {
  let worst: Severity | undefined;
  for (const f of findings) {
    if (severityRank(f.severity) > severityRank(worst)) worst = f.severity;
  }
  return worst;
}

/** Sorts by severity, then score, both descending (stable for equal ones). */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) => severityRank(b.severity) - severityRank(a.severity) || b.score - a.score || a.id.localeCompare(b.id),
  );
}

export const KIND_LABELS: Record<FindingKind, string> = {
  bottleneck: 'Bottleneck',
  chatty: 'Chatty calls',
  oversized_payload: 'Oversized payload',
};

export const KIND_ORDER: FindingKind[] = ['bottleneck', 'chatty', 'oversized_payload'];

export function kindLabel(kind: string): string {
  return KIND_LABELS[kind as FindingKind] ?? kind;
}
