// URL state of the service map (the home page).
import type { NodeKind } from '../../api/types';
import { EDGE_METRICS, type EdgeMetric, NODE_KINDS } from '../../utils/graph';
import { type TimeRange, readTimeRange } from '../../utils/timeRange';
import { buildUrl, memoizeLast, readBool, readEnum, readInt, readList } from '../../utils/url';

export const ROUTE_PATH = '/';

export interface MapUrlState {
  time: TimeRange;
  /** Selected node id. */
  node?: string;
  /** Selected edge, [source id, target id]. */
  edge?: [string, string];
  /** Neighbourhood view: only nodes within `hops` of this one. */
  focus?: string;
  hops: number;
  metric: EdgeMetric;
  hide: NodeKind[];
  findingsOnly: boolean;
}

const METRICS = EDGE_METRICS.map((m) => m.value);

export function matches(pathname: string): boolean {
  return pathname === '/' || pathname === '/map';
}

export function getUrl(state: Partial<MapUrlState> = {}): string {
  return buildUrl(
    ROUTE_PATH,
    {
      node: state.edge ? undefined : state.node,
      src: state.edge?.[0],
      dst: state.edge?.[1],
      focus: state.focus,
      hops: state.focus && state.hops && state.hops !== 1 ? state.hops : undefined,
      metric: state.metric && state.metric !== 'p95' ? state.metric : undefined,
      hide: state.hide,
      findings: state.findingsOnly,
    },
    state.time,
  );
}

export const getUrlState = memoizeLast((search: string): MapUrlState => {
  const sp = new URLSearchParams(search);
  const src = sp.get('src');
  const dst = sp.get('dst');
  return {
    time: readTimeRange(sp),
    node: src && dst ? undefined : (sp.get('node') ?? undefined),
    edge: src && dst ? [src, dst] : undefined,
    focus: sp.get('focus') ?? undefined,
    hops: readInt(sp, 'hops', 1, 1, 5),
    metric: readEnum(sp, 'metric', METRICS, 'p95'),
    hide: readList(sp, 'hide').filter((k): k is NodeKind => (NODE_KINDS as string[]).includes(k)),
    findingsOnly: readBool(sp, 'findings'),
  };
});
