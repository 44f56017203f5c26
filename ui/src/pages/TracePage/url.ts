// URL state of the trace view: /traces/{trace_id}?span=…&cp=1&find=…
import { buildUrl, memoizeLast, readBool } from '../../utils/url';

export const ROUTE_PATH = '/traces/:traceId';

export interface TraceUrlState {
  /** Selected span id. */
  span?: string;
  /** Show only critical-path spans. */
  criticalOnly: boolean;
  /** Find-in-trace text. */
  find: string;
}

const PATH_RE = /^\/traces\/([0-9a-fA-F]{32})\/?$/;

export function matches(pathname: string): boolean {
  return PATH_RE.test(pathname);
}

export function getUrl(traceId: string, state: Partial<TraceUrlState> = {}): string {
  return buildUrl(`/traces/${encodeURIComponent(traceId)}`, {
    span: state.span,
    cp: state.criticalOnly,
    find: state.find,
  });
}

export const getUrlState = memoizeLast((search: string): TraceUrlState => {
  const sp = new URLSearchParams(search);
  return {
    span: sp.get('span') ?? undefined,
    criticalOnly: readBool(sp, 'cp'),
    find: sp.get('find') ?? '',
  };
});
