import type { NodeKind, Severity } from '../api/types';
import { kindLabel } from '../utils/severity';
import { serviceColorSlot } from '../utils/waterfall';

export function SeverityBadge({ severity }: { severity: Severity | string }) {
  return <span className={`badge sev-${severity}`}>{severity}</span>;
}

const NODE_KIND_LABEL: Record<NodeKind, string> = {
  service: 'service',
  database: 'database',
  messaging: 'messaging',
  external: 'external',
};

export function NodeKindBadge({ kind }: { kind: NodeKind | string }) {
  return <span className={`badge kind-${kind}`}>{NODE_KIND_LABEL[kind as NodeKind] ?? kind}</span>;
}

export function FindingKindBadge({ kind }: { kind: string }) {
  return <span className="badge neutral">{kindLabel(kind)}</span>;
}

export function ServiceDot({ service }: { service: string }) {
  return <span className="svc-dot" style={{ background: `var(--svc-${serviceColorSlot(service)})` }} aria-hidden="true" />;
}
