// Trace search: service, operation, minimum duration and window, all in
// the URL; results as a duration-over-time scatter plot and a table.
import { useEffect, useMemo, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import type { TraceSummary } from '../../api/types';
import { ServiceDot } from '../../components/Badges';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorView, Loading } from '../../components/StateViews';
import { useServices, useTraceSearch } from '../../hooks/useApi';
import { useUrlState } from '../../hooks/useUrlState';
import { useWidth } from '../../hooks/useWidth';
import { formatAgo, formatDateTime, formatMs, shortId } from '../../utils/format';
import { getUrl as traceUrl } from '../TracePage/url';
import { LIMITS, type TracesUrlState, getUrl, getUrlState } from './url';

export function TracesPage() {
  const [state, go] = useUrlState(getUrlState);
  const servicesQ = useServices(state.time);
  const tracesQ = useTraceSearch(state.time, {
    service: state.service || undefined,
    operation: state.operation || undefined,
    minDurationMs: state.minDurationMs || undefined,
    limit: state.limit,
  });
  const [form, setForm] = useState(state);
  useEffect(() => setForm(state), [state]);
  const submit = (patch: Partial<TracesUrlState> = {}) => go(getUrl({ ...form, ...patch, time: state.time }));

  const traces = tracesQ.data?.traces ?? [];
  const maxDuration = useMemo(() => traces.reduce((a, t) => Math.max(a, t.duration_ms), 0), [traces]);

  return (
    <div className="page" data-testid="traces-page">
      <PageHeader title="Traces" subtitle="Find requests by service, operation and duration" />
      <div className="page-body">
        <form
          className="card card-pad search-form"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <label className="field">
            Service
            <select value={form.service} onChange={(e) => setForm({ ...form, service: e.target.value })} name="service">
              <option value="">Any service</option>
              {(servicesQ.data?.services ?? [])
                .map((s) => s.name)
                .concat(form.service && !servicesQ.data?.services.some((s) => s.name === form.service) ? [form.service] : [])
                .sort()
                .map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
            </select>
          </label>
          <label className="field">
            Operation (span name)
            <input
              type="text"
              name="operation"
              placeholder="e.g. GET /orders/{id}"
              value={form.operation}
              onChange={(e) => setForm({ ...form, operation: e.target.value })}
              style={{ width: 240 }}
            />
          </label>
          <label className="field">
            Min duration (ms)
            <input
              type="number"
              name="min_duration_ms"
              min={0}
              value={form.minDurationMs || ''}
              placeholder="any"
              onChange={(e) => setForm({ ...form, minDurationMs: Math.max(0, Number(e.target.value) || 0) })}
              style={{ width: 130 }}
            />
          </label>
          <label className="field">
            Limit
            <select value={form.limit} onChange={(e) => setForm({ ...form, limit: Number(e.target.value) })} name="limit">
              {LIMITS.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="btn primary">
            Search
          </button>
          {(state.service || state.operation || state.minDurationMs > 0) && (
            <button
              type="button"
              className="btn ghost"
              onClick={() => go(getUrl({ time: state.time, limit: state.limit }))}
            >
              Clear
            </button>
          )}
        </form>
        {tracesQ.isError ? (
          <ErrorView error={tracesQ.error} onRetry={() => tracesQ.refetch()} />
        ) : tracesQ.isPending ? (
          <Loading label="Searching traces…" />
        ) : traces.length === 0 ? (
          <Empty title="No traces match">Widen the time range, or relax the service, operation or duration filter.</Empty>
        ) : (
          <>
            <div className="card card-pad">
              <div className="row" style={{ marginBottom: 6 }}>
                <h2 className="grow">
                  {traces.length} trace{traces.length > 1 ? 's' : ''}
                  {traces.length === state.limit ? ` (the newest ${state.limit})` : ''}
                </h2>
                <span className="muted small">duration over time · red = with errors</span>
              </div>
              <Scatter traces={traces} />
            </div>
            <div className="card" style={{ overflow: 'auto' }}>
              <table className="table" data-testid="traces-table">
                <thead>
                  <tr>
                    <th>Root</th>
                    <th>Started</th>
                    <th className="num">Duration</th>
                    <th className="num">Spans</th>
                    <th className="num">Errors</th>
                    <th>Trace id</th>
                  </tr>
                </thead>
                <tbody>
                  {traces.map((t) => (
                    <tr key={t.trace_id}>
                      <td>
                        <div className="row">
                          <ServiceDot service={t.root_service} />
                          <Link to={traceUrl(t.trace_id)} style={{ fontWeight: 600 }}>
                            {t.root_service}
                          </Link>
                          <span className="muted ellipsis" style={{ maxWidth: 340 }}>
                            {t.root_operation}
                          </span>
                        </div>
                      </td>
                      <td className="nowrap" title={formatDateTime(t.start)}>
                        {formatAgo(t.start)}
                      </td>
                      <td className="num">
                        <div className="row" style={{ justifyContent: 'flex-end' }}>
                          <div className="dur-bar" aria-hidden="true">
                            <div style={{ width: `${maxDuration ? (t.duration_ms / maxDuration) * 100 : 0}%` }} />
                          </div>
                          {formatMs(t.duration_ms)}
                        </div>
                      </td>
                      <td className="num">{t.span_count}</td>
                      <td className="num">{t.error_count ? <span className="badge error">{t.error_count}</span> : <span className="muted">0</span>}</td>
                      <td>
                        <Link to={traceUrl(t.trace_id)} className="mono">
                          {shortId(t.trace_id, 12)}
                        </Link>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </div>
    </div>
  );
}

/** Duration-over-time scatter; click a dot to open the trace. */
export function Scatter({ traces }: { traces: TraceSummary[] }) {
  const navigate = useNavigate();
  const [ref, W] = useWidth<HTMLDivElement>();
  const H = 150;
  const pad = { l: 56, r: 12, t: 10, b: 22 };
  const times = traces.map((t) => new Date(t.start).getTime());
  const tMin = Math.min(...times);
  const tMax = Math.max(...times);
  const dMax = Math.max(...traces.map((t) => t.duration_ms), 1);
  const x = (t: number) => pad.l + (tMax > tMin ? ((t - tMin) / (tMax - tMin)) * (W - pad.l - pad.r) : (W - pad.l - pad.r) / 2);
  const y = (d: number) => H - pad.b - (d / dMax) * (H - pad.t - pad.b);
  return (
    <div ref={ref}>
    <svg className="scatter" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Trace durations over time">
      <line x1={pad.l} x2={W - pad.r} y1={H - pad.b} y2={H - pad.b} stroke="var(--border)" />
      <line x1={pad.l} x2={W - pad.r} y1={pad.t} y2={pad.t} stroke="var(--border)" strokeDasharray="3 4" />
      <text x={pad.l - 6} y={pad.t + 4} textAnchor="end" fontSize="11" fill="var(--text-3)">
        {formatMs(dMax)}
      </text>
      <text x={pad.l - 6} y={H - pad.b} textAnchor="end" fontSize="11" fill="var(--text-3)">
        0
      </text>
      <text x={pad.l} y={H - 5} fontSize="11" fill="var(--text-3)">
        {formatDateTime(tMin)}
      </text>
      <text x={W - pad.r} y={H - 5} textAnchor="end" fontSize="11" fill="var(--text-3)">
        {formatDateTime(tMax)}
      </text>
      {traces.map((t, i) => (
        <circle
          key={t.trace_id}
          cx={x(times[i])}
          cy={y(t.duration_ms)}
          r={5}
          fill={t.error ? 'var(--bad)' : 'var(--accent)'}
          fillOpacity={0.55}
          stroke={t.error ? 'var(--bad)' : 'var(--accent)'}
          onClick={() => navigate(traceUrl(t.trace_id))}
        >
          <title>
            {t.root_service} {t.root_operation} · {formatMs(t.duration_ms)}
          </title>
        </circle>
      ))}
    </svg>
    </div>
  );
}
