// URL state of the findings page.
import type { FindingKind, Severity } from '../../api/types';
import { SEVERITIES } from '../../utils/severity';
import { type TimeRange, readTimeRange } from '../../utils/timeRange';
import { buildUrl, memoizeLast, readEnum } from '../../utils/url';

export const ROUTE_PATH = '/findings';

const KINDS = ['bottleneck', 'chatty', 'oversized_payload'] as const;

export interface FindingsUrlState {
  time: TimeRange;
  kind?: FindingKind;
  /** Minimum severity shown. */
  severity?: Severity;
  service: string;
  /** A finding to scroll to and highlight. */
  id?: string;
}

export function matches(pathname: string): boolean {
  return pathname === ROUTE_PATH;
}

export function getUrl(state: Partial<FindingsUrlState> = {}): string {
  return buildUrl(
    ROUTE_PATH,
    { kind: state.kind, severity: state.severity, service: state.service, id: state.id },
    state.time,
  );
}

export const getUrlState = memoizeLast((search: string): FindingsUrlState => {
  const sp = new URLSearchParams(search);
  const kind = readEnum(sp, 'kind', [...KINDS, ''] as const, '');
  const severity = readEnum(sp, 'severity', [...SEVERITIES, ''] as const, '');
  return {
    time: readTimeRange(sp),
    kind: kind || undefined,
    severity: severity || undefined,
    service: sp.get('service') ?? '',
    id: sp.get('id') ?? undefined,
  };
});
