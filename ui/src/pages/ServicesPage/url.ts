// URL state of the services list.
import { type TimeRange, readTimeRange } from '../../utils/timeRange';
import { buildUrl, memoizeLast, readEnum } from '../../utils/url';

export const ROUTE_PATH = '/services';

export const SORT_KEYS = ['name', 'requests', 'errors', 'error_rate', 'p50_ms', 'p95_ms', 'p99_ms', 'findings'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface ServicesUrlState {
  time: TimeRange;
  q: string;
  sort: SortKey;
  dir: 'asc' | 'desc';
}

export function matches(pathname: string): boolean {
  return pathname === ROUTE_PATH;
}

export function getUrl(state: Partial<ServicesUrlState> = {}): string {
  const sort = state.sort ?? 'requests';
  const dir = state.dir ?? defaultDir(sort);
  return buildUrl(
    ROUTE_PATH,
    {
      q: state.q,
      sort: sort !== 'requests' ? sort : undefined,
      dir: dir !== defaultDir(sort) ? dir : undefined,
    },
    state.time,
  );
}

/** Names sort A→Z by default, numbers largest first. */
export function defaultDir(sort: SortKey): 'asc' | 'desc' {
  return sort === 'name' ? 'asc' : 'desc';
}

export const getUrlState = memoizeLast((search: string): ServicesUrlState => {
  const sp = new URLSearchParams(search);
  const sort = readEnum(sp, 'sort', SORT_KEYS, 'requests');
  return {
    time: readTimeRange(sp),
    q: sp.get('q') ?? '',
    sort,
    dir: readEnum(sp, 'dir', ['asc', 'desc'] as const, defaultDir(sort)),
  };
});
