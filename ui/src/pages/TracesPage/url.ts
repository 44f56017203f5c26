// URL state of the trace search.
import { type TimeRange, readTimeRange } from '../../utils/timeRange';
import { buildUrl, memoizeLast, readInt } from '../../utils/url';

export const ROUTE_PATH = '/traces';

export const LIMITS = [20, 50, 100, 500, 1000] as const;

export interface TracesUrlState {
  time: TimeRange;
  service: string;
  operation: string;
  /** Minimum trace duration in ms; 0 = any. */
  minDurationMs: number;
  limit: number;
}

export function matches(pathname: string): boolean {
  return pathname === ROUTE_PATH;
}

export function getUrl(state: Partial<TracesUrlState> = {}): string {
  return buildUrl(
    ROUTE_PATH,
    {
      service: state.service,
      operation: state.operation,
      min_duration_ms: state.minDurationMs || undefined,
      limit: state.limit && state.limit !== 20 ? state.limit : undefined,
    },
    state.time,
  );
}

export const getUrlState = memoizeLast((search: string): TracesUrlState => {
  const sp = new URLSearchParams(search);
  return {
    time: readTimeRange(sp),
    service: sp.get('service') ?? '',
    operation: sp.get('operation') ?? '',
    minDurationMs: readInt(sp, 'min_duration_ms', 0, 0, 86_400_000),
    limit: readInt(sp, 'limit', 20, 1, 1000),
  };
});
