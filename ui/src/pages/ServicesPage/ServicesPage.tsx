// Services with their RED metrics over the window (requests, errors,
// duration percentiles) and how many findings concern each. Sparklines
// would need a time series, which the API does not offer yet.
import { useMemo } from 'react';
import { Link } from 'react-router-dom';
import type { Finding, ServiceStats } from '../../api/types';
import { ServiceDot, SeverityBadge } from '../../components/Badges';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorBox, ErrorView, Loading } from '../../components/StateViews';
import { useFindings, useServices } from '../../hooks/useApi';
import { useUrlState } from '../../hooks/useUrlState';
import { formatCount, formatMs, formatPercent } from '../../utils/format';
import { worstSeverity } from '../../utils/severity';
import { resolveWindow } from '../../utils/timeRange';
import { getUrl as findingsUrl } from '../FindingsPage/url';
import { getUrl as mapUrl } from '../MapPage/url';
import { getUrl as tracesUrl } from '../TracesPage/url';
import { type SortKey, type ServicesUrlState, defaultDir, getUrl, getUrlState } from './url';

export interface ServiceRow extends ServiceStats {
  findings: number;
  worst?: string;
}

/** Filters by name and sorts the rows as the URL says. */
export function shapeServiceRows(
  services: ServiceStats[],
  findingsByService: Map<string, { count: number; worst?: string }>,
  q: string,
  sort: SortKey,
  dir: 'asc' | 'desc',
): ServiceRow[] {
  const needle = q.trim().toLowerCase();
  const rows: ServiceRow[] = services
    .filter((s) => !needle || s.name.toLowerCase().includes(needle))
    .map((s) => ({ ...s, findings: findingsByService.get(s.name)?.count ?? 0, worst: findingsByService.get(s.name)?.worst }));
  const sign = dir === 'asc' ? 1 : -1;
  rows.sort((a, b) => {
    const d = sort === 'name' ? a.name.localeCompare(b.name) : (a[sort] as number) - (b[sort] as number);
    return d * sign || a.name.localeCompare(b.name);
  });
  return rows;
}

const COLUMNS: Array<{ key: SortKey; label: string; num: boolean }> = [
  { key: 'name', label: 'Service', num: false },
  { key: 'requests', label: 'Requests', num: true },
  { key: 'errors', label: 'Errors', num: true },
  { key: 'error_rate', label: 'Error rate', num: true },
  { key: 'p50_ms', label: 'p50', num: true },
  { key: 'p95_ms', label: 'p95', num: true },
  { key: 'p99_ms', label: 'p99', num: true },
  { key: 'findings', label: 'Findings', num: true },
];

export function ServicesPage() {
  const [state, go] = useUrlState(getUrlState);
  const servicesQ = useServices(state.time);
  const findingsQ = useFindings(state.time);
  const set = (patch: Partial<ServicesUrlState>) => go(getUrl({ ...state, ...patch }), { replace: true });

  const findingsByService = useMemo(() => {
    const m = new Map<string, { count: number; worst?: string }>();
    const groups = new Map<string, Finding[]>();
    for (const f of findingsQ.data?.findings ?? []) {
      if (!groups.has(f.service)) groups.set(f.service, []);
      groups.get(f.service)!.push(f);
    }
    for (const [svc, fs] of groups) m.set(svc, { count: fs.length, worst: worstSeverity(fs) });
    return m;
  }, [findingsQ.data]);

  const rows = useMemo(
    () => shapeServiceRows(servicesQ.data?.services ?? [], findingsByService, state.q, state.sort, state.dir),
    [servicesQ.data, findingsByService, state.q, state.sort, state.dir],
  );
  const minutes = useMemo(() => {
    const w = resolveWindow(state.time);
    return Math.max(1, (w.to - w.from) / 60_000);
  }, [state.time]);

  return (
    <div className="page" data-testid="services-page">
      <PageHeader title="Services" subtitle="Requests are server and consumer spans, and root spans. Per-minute series (sparklines) need an API the server does not have yet." />
      <div className="page-body">
        <div className="row wrap">
          <label className="sr-only" htmlFor="svc-filter">
            Filter services
          </label>
          <input
            id="svc-filter"
            type="search"
            placeholder="Filter by name…"
            value={state.q}
            onChange={(e) => set({ q: e.target.value })}
            style={{ width: 260 }}
          />
          {servicesQ.data && (
            <span className="muted small">
              {rows.length} of {servicesQ.data.services.length} services
            </span>
          )}
        </div>
        {findingsQ.isError && <ErrorBox error={findingsQ.error} onRetry={() => findingsQ.refetch()} />}
        {servicesQ.isError && !servicesQ.data ? (
          <ErrorView error={servicesQ.error} onRetry={() => servicesQ.refetch()} />
        ) : !servicesQ.data ? (
          <Loading label="Loading services…" />
        ) : servicesQ.data.services.length === 0 ? (
          <Empty title="No services in this window">Send traces to tracehound, or pick a longer time range.</Empty>
        ) : rows.length === 0 ? (
          <Empty title={`No service matches “${state.q}”`} />
        ) : (
          <div className="card" style={{ overflow: 'auto' }}>
            <table className="table" data-testid="services-table">
              <thead>
                <tr>
                  {COLUMNS.map((c) => {
                    const active = state.sort === c.key;
                    return (
                      <th
                        key={c.key}
                        className={c.num ? 'num' : undefined}
                        aria-sort={active ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
                      >
                        <button
                          type="button"
                          className="sort"
                          onClick={() =>
                            set({
                              sort: c.key,
                              dir: active ? (state.dir === 'asc' ? 'desc' : 'asc') : defaultDir(c.key),
                            })
                          }
                        >
                          {c.label}
                          {active ? (state.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                        </button>
                      </th>
                    );
                  })}
                  <th>
                    <span className="sr-only">Links</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((s) => (
                  <tr key={s.name}>
                    <td>
                      <div className="row">
                        <ServiceDot service={s.name} />
                        <Link to={mapUrl({ node: s.name, time: state.time })} className="ellipsis" style={{ fontWeight: 600 }}>
                          {s.name}
                        </Link>
                      </div>
                    </td>
                    <td className="num">
                      {formatCount(s.requests)}
                      <div className="muted small">{formatCount(Math.round((s.requests / minutes) * 10) / 10)}/min</div>
                    </td>
                    <td className="num">{formatCount(s.errors)}</td>
                    <td className="num" style={{ color: s.error_rate >= 0.05 ? 'var(--bad)' : s.error_rate >= 0.01 ? 'var(--warn)' : undefined }}>
                      {formatPercent(s.error_rate)}
                    </td>
                    <td className="num">{formatMs(s.p50_ms)}</td>
                    <td className="num">{formatMs(s.p95_ms)}</td>
                    <td className="num">{formatMs(s.p99_ms)}</td>
                    <td className="num">
                      {s.findings ? (
                        <Link to={findingsUrl({ service: s.name, time: state.time })} aria-label={`${s.findings} findings for ${s.name}`}>
                          <SeverityBadge severity={s.worst ?? 'low'} /> {s.findings}
                        </Link>
                      ) : (
                        <span className="muted">0</span>
                      )}
                    </td>
                    <td className="nowrap">
                      <Link to={tracesUrl({ service: s.name, time: state.time })} className="small">
                        Traces
                      </Link>
                      {' · '}
                      <Link to={mapUrl({ focus: s.name, node: s.name, time: state.time })} className="small">
                        Map
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </div>
  );
}
