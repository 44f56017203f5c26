// One trace: summary, a virtualised waterfall with the critical path drawn
// on it and self times, and the details of the selected span. The selected
// span, the critical-path-only filter and find-in-trace are in the URL.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { ServiceDot } from '../../components/Badges';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorView, Loading } from '../../components/StateViews';
import { useTrace } from '../../hooks/useApi';
import { useUrlState } from '../../hooks/useUrlState';
import { formatDateTime, formatNs, formatPercent } from '../../utils/format';
import { ancestors, buildTraceModel, criticalPathNs, findSpans, visibleRows } from '../../utils/waterfall';
import { getUrl as tracesUrl } from '../TracesPage/url';
import { SpanDetails } from './SpanDetails';
import { Waterfall } from './Waterfall';
import { type TraceUrlState, getUrl, getUrlState } from './url';

export function TracePage() {
  const { traceId = '' } = useParams();
  const [state, go] = useUrlState(getUrlState);
  const traceQ = useTrace(traceId);
  const model = useMemo(() => (traceQ.data ? buildTraceModel(traceQ.data) : null), [traceQ.data]);
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const [find, setFind] = useState(state.find);

  const set = useCallback(
    (patch: Partial<TraceUrlState>) => go(getUrl(traceId, { ...state, ...patch }), { replace: true }),
    [go, state, traceId],
  );

  const selected = state.span !== undefined && model ? model.indexById.get(state.span) : undefined;

  // Unfold the path to a span selected by URL.
  useEffect(() => {
    if (!model || selected === undefined) return;
    const hidden = ancestors(model, selected).filter((a) => collapsed.has(model.spans[a].span_id));
    if (hidden.length) {
      setCollapsed((c) => {
        const n = new Set(c);
        for (const a of hidden) n.delete(model.spans[a].span_id);
        return n;
      });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model, selected]);

  // Debounce find-in-trace into the URL.
  useEffect(() => {
    if (find === state.find) return;
    const t = setTimeout(() => set({ find }), 250);
    return () => clearTimeout(t);
  }, [find, state.find, set]);

  const rows = useMemo(
    () => (model ? visibleRows(model, { collapsed, criticalOnly: state.criticalOnly }) : []),
    [model, collapsed, state.criticalOnly],
  );
  const matches = useMemo(() => (model && state.find ? new Set(findSpans(model, state.find)) : undefined), [model, state.find]);
  const cpNs = useMemo(() => (model ? criticalPathNs(model) : 0), [model]);
  const root = model && model.rootIndexes.length ? model.spans[model.rootIndexes[0]] : undefined;

  const onSelect = useCallback((i: number) => model && set({ span: model.spans[i].span_id }), [model, set]);
  const onToggle = useCallback(
    (id: string) =>
      setCollapsed((c) => {
        const n = new Set(c);
        if (n.has(id)) n.delete(id);
        else n.add(id);
        return n;
      }),
    [],
  );

  const title = root ? (
    <span className="row">
      <ServiceDot service={root.service} />
      {root.service}: {root.name}
    </span>
  ) : (
    'Trace'
  );

  return (
    <div className="page page-fixed" data-testid="trace-page">
      <PageHeader
        title={title}
        subtitle={
          <span>
            <span className="mono">{traceId}</span> · <Link to={tracesUrl()}>Search traces</Link>
          </span>
        }
        timePicker={false}
      />
      {traceQ.isError ? (
        <ErrorView error={traceQ.error} onRetry={() => traceQ.refetch()} />
      ) : !model ? (
        <Loading label="Loading the trace…" />
      ) : model.spans.length === 0 ? (
        <Empty title="This trace has no spans" />
      ) : (
        <>
          <div className="trace-summary" data-testid="trace-summary">
            <Item label="Started" value={formatDateTime(model.startNs / 1e6)} />
            <Item label="Duration" value={formatNs(model.durationNs)} />
            <Item label="Spans" value={String(model.spans.length)} />
            <Item label="Services" value={String(model.services.length)} />
            <Item label="Depth" value={String(model.maxDepth + 1)} />
            <Item label="Errors" value={String(model.errorCount)} />
            <Item
              label="Critical path"
              value={`${model.criticalCount} spans · ${formatNs(cpNs)}${model.durationNs ? ` (${formatPercent(cpNs / model.durationNs, 0)})` : ''}`}
            />
          </div>
          <div className="trace-toolbar" role="toolbar" aria-label="Waterfall options">
            <label className="sr-only" htmlFor="find-span">
              Find spans
            </label>
            <input
              id="find-span"
              type="search"
              placeholder="Find span by name, service, id or attribute…"
              value={find}
              onChange={(e) => setFind(e.target.value)}
              style={{ width: 300 }}
            />
            {matches && (
              <span className="muted small" role="status">
                {matches.size} match{matches.size === 1 ? '' : 'es'}
              </span>
            )}
            {matches && matches.size > 0 && (
              <button
                type="button"
                className="btn small"
                onClick={() => {
                  const list = [...matches].sort((a, b) => model.order.indexOf(a) - model.order.indexOf(b));
                  const cur = selected === undefined ? -1 : list.indexOf(selected);
                  onSelect(list[(cur + 1) % list.length]);
                }}
              >
                Next match
              </button>
            )}
            <button
              type="button"
              className="btn small"
              aria-pressed={state.criticalOnly}
              onClick={() => set({ criticalOnly: !state.criticalOnly })}
              data-testid="critical-only"
            >
              Critical path only
            </button>
            <button type="button" className="btn small" onClick={() => setCollapsed(new Set())}>
              Expand all
            </button>
            <button
              type="button"
              className="btn small"
              onClick={() =>
                setCollapsed(new Set(model.rootIndexes.flatMap((r) => model.children[r].filter((c) => model.children[c].length).map((c) => model.spans[c].span_id))))
              }
            >
              Collapse to level 2
            </button>
            <span className="grow" />
            <span className="row small muted" aria-label="Legend">
              <span style={{ width: 18, height: 4, background: 'var(--cp)', borderRadius: 2, display: 'inline-block' }} /> critical path
              <span style={{ width: 8 }} />
              bar label: duration · self time
            </span>
          </div>
          <div className={`trace-layout${selected === undefined ? ' no-details' : ''}`}>
            <Waterfall
              model={model}
              rows={rows}
              selected={selected}
              collapsed={collapsed}
              matches={matches}
              onSelect={onSelect}
              onToggle={onToggle}
              scrollTo={selected}
            />
            {selected !== undefined && (
              <SpanDetails
                model={model}
                index={selected}
                onClose={() => set({ span: undefined })}
                onSelectSpan={(id) => set({ span: id })}
              />
            )}
          </div>
        </>
      )}
    </div>
  );
}

function Item({ label, value }: { label: string; value: string }) {
  return (
    <div className="item">
      <div className="label">{label}</div>
      <div className="value">{value}</div>
    </div>
  );
}
