// The service map (home page): the dependency graph of the window, with
// edges coloured by latency, errors or calls and findings highlighted;
// click an element for its metrics and findings. All state is in the URL.
import { useCallback, useMemo } from 'react';
import type { NodeKind } from '../../api/types';
import { NodeSearch } from '../../components/NodeSearch';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorBox, ErrorView, Loading, Spinner } from '../../components/StateViews';
import { useFindings, useServiceGraph, useServices } from '../../hooks/useApi';
import { useUrlState } from '../../hooks/useUrlState';
import { formatCount, formatMs, formatPercent } from '../../utils/format';
import {
  EDGE_LEVEL_LEGEND,
  EDGE_METRICS,
  type EdgeMetric,
  type MapEdge,
  NODE_KINDS,
  buildMapModel,
  edgeId,
  filterMap,
  toCyElements,
} from '../../utils/graph';
import { EdgeDetails, MapOverview, NodeDetails } from './MapDetails';
import { type MapSelection, ServiceGraph } from './ServiceGraph';
import { type MapUrlState, getUrl, getUrlState } from './url';

const KIND_LABELS: Record<NodeKind, string> = {
  service: 'Services',
  database: 'Databases',
  messaging: 'Messaging',
  external: 'External',
};

export function MapPage() {
  const [state, go] = useUrlState(getUrlState);
  const graphQ = useServiceGraph(state.time, { pollWhileEmpty: true });
  const servicesQ = useServices(state.time);
  const findingsQ = useFindings(state.time);

  const model = useMemo(
    () => (graphQ.data ? buildMapModel(graphQ.data, servicesQ.data?.services, findingsQ.data?.findings) : null),
    [graphQ.data, servicesQ.data, findingsQ.data],
  );
  const filtered = useMemo(
    () =>
      model
        ? filterMap(model, { focus: state.focus, hops: state.hops, hiddenKinds: state.hide, findingsOnly: state.findingsOnly })
        : null,
    [model, state.focus, state.hops, state.hide, state.findingsOnly],
  );
  const elements = useMemo(
    () => (filtered && model ? toCyElements(filtered, state.metric, model.maxCalls) : []),
    [filtered, model, state.metric],
  );

  const set = useCallback(
    (patch: Partial<MapUrlState>, push = false) => go(getUrl({ ...state, ...patch }), { replace: !push }),
    [go, state],
  );
  const selectNode = useCallback((id: string) => set({ node: id, edge: undefined }, true), [set]);
  const selectEdge = useCallback((e: MapEdge) => set({ edge: [e.source, e.target], node: undefined }, true), [set]);
  const onSelect = useCallback(
    (sel: MapSelection) => {
      if (!sel) {
        if (state.node || state.edge) set({ node: undefined, edge: undefined }, true);
      } else if ('node' in sel) selectNode(sel.node);
      else {
        const e = model?.edgeById.get(sel.edge);
        if (e) selectEdge(e);
      }
    },
    [model, selectEdge, selectNode, set, state.edge, state.node],
  );
  const describe = useCallback(
    (id: string, group: 'nodes' | 'edges') => {
      if (!model) return '';
      if (group === 'nodes') {
        const n = model.nodeById.get(id);
        if (!n) return '';
        const lines = [`${n.name} (${n.kind})`];
        if (n.stats) lines.push(`${formatCount(n.stats.requests)} requests · p95 ${formatMs(n.stats.p95_ms)} · ${formatPercent(n.stats.error_rate)} errors`);
        if (n.findings.length) lines.push(`${n.findings.length} finding${n.findings.length > 1 ? 's' : ''}`);
        return lines.join('\n');
      }
      const e = model.edgeById.get(id);
      if (!e) return '';
      const lines = [
        `${model.nodeById.get(e.source)?.name} → ${model.nodeById.get(e.target)?.name}`,
        `${formatCount(e.calls)} calls · p95 ${formatMs(e.p95_ms)} · ${formatPercent(e.error_rate)} errors`,
      ];
      if (e.findings.length) lines.push(e.findings[0].summary);
      return lines.join('\n');
    },
    [model],
  );

  const selectedNode = state.node && model?.nodeById.get(state.node);
  const selectedEdge = state.edge && model?.edgeById.get(edgeId(state.edge[0], state.edge[1]));
  const focusNode = state.focus ? model?.nodeById.get(state.focus) : undefined;
  const empty = model && model.nodes.length === 0;

  return (
    <div className="page page-fixed" data-testid="map-page">
      <PageHeader
        title="Service map"
        subtitle={
          model
            ? `${filtered?.nodes.length ?? 0} of ${model.nodes.length} nodes · ${filtered?.edges.length ?? 0} of ${model.edges.length} edges`
            : 'Dependencies between services, databases, queues and external APIs'
        }
      />
      <div className="map-toolbar" role="toolbar" aria-label="Map options">
        {model && <NodeSearch nodes={model.nodes} onPick={(n) => selectNode(n.id)} />}
        {focusNode ? (
          <div className="row" data-testid="focus-chip">
            <span className="badge neutral">Neighbourhood of {focusNode.name}</span>
            <label className="sr-only" htmlFor="hops">
              Hops
            </label>
            <select id="hops" value={state.hops} onChange={(e) => set({ hops: Number(e.target.value) })}>
              {[1, 2, 3].map((h) => (
                <option key={h} value={h}>
                  {h} hop{h > 1 ? 's' : ''}
                </option>
              ))}
            </select>
            <button type="button" className="btn small" onClick={() => set({ focus: undefined, hops: 1 })}>
              Show all
            </button>
          </div>
        ) : null}
        <label className="row small muted" htmlFor="edge-metric">
          Colour edges by
        </label>
        <select id="edge-metric" value={state.metric} onChange={(e) => set({ metric: e.target.value as EdgeMetric })}>
          {EDGE_METRICS.map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}
            </option>
          ))}
        </select>
        <div className="row wrap" role="group" aria-label="Node kinds">
          {NODE_KINDS.map((k) => (
            <label key={k} className="check">
              <input
                type="checkbox"
                checked={!state.hide.includes(k)}
                onChange={(e) =>
                  set({ hide: e.target.checked ? state.hide.filter((x) => x !== k) : [...state.hide, k] })
                }
              />
              {KIND_LABELS[k]}
            </label>
          ))}
        </div>
        <label className="check">
          <input type="checkbox" checked={state.findingsOnly} onChange={(e) => set({ findingsOnly: e.target.checked })} />
          Only findings
        </label>
      </div>
      {graphQ.isError && !graphQ.data ? (
        <ErrorView error={graphQ.error} onRetry={() => graphQ.refetch()} />
      ) : !model ? (
        <Loading label="Loading the service map…" />
      ) : empty ? (
        <Empty title="No services in this window yet">
          Point OpenTelemetry exporters at tracehound (OTLP gRPC :4317, HTTP :4318) or run <code>tracehound demo</code>.
          This page refreshes itself until traffic shows up.
        </Empty>
      ) : (
        <div className="map-layout">
          <div className="map-canvas-wrap">
            <ServiceGraph
              elements={elements}
              selectedNode={selectedNode ? selectedNode.id : undefined}
              selectedEdge={selectedEdge ? selectedEdge.id : undefined}
              focus={state.focus}
              onSelect={onSelect}
              describe={describe}
            />
            {graphQ.isFetching && (
              <div className="updating">
                <Spinner />
              </div>
            )}
            <div className="map-overlay">
              {model.edges.length === 0 && (
                <div className="legend" role="status">
                  No calls between nodes yet: edges appear once traces are analysed (about half a minute after
                  their last span).
                </div>
              )}
              <Legend metric={state.metric} />
            </div>
          </div>
          <aside className="side-panel" aria-label="Details">
            {(servicesQ.isError || findingsQ.isError) && (
              <section>
                {servicesQ.isError && <ErrorBox error={servicesQ.error} onRetry={() => servicesQ.refetch()} />}
                {findingsQ.isError && <ErrorBox error={findingsQ.error} onRetry={() => findingsQ.refetch()} />}
              </section>
            )}
            {selectedNode ? (
              <NodeDetails
                node={selectedNode}
                model={model}
                time={state.time}
                onClose={() => onSelect(null)}
                onFocus={(id) => set({ focus: id, hops: state.hops || 1 })}
                onSelectEdge={selectEdge}
              />
            ) : selectedEdge ? (
              <EdgeDetails
                edge={selectedEdge}
                model={model}
                time={state.time}
                onClose={() => onSelect(null)}
                onSelectNode={selectNode}
              />
            ) : (
              <>
                {(state.node || state.edge) && (
                  <section>
                    <div className="muted small" role="status">
                      The selected {state.node ? 'node' : 'edge'} is not in this window.
                    </div>
                  </section>
                )}
                <MapOverview
                  model={model}
                  metric={state.metric}
                  time={state.time}
                  onSelectEdge={selectEdge}
                  onSelectNode={selectNode}
                />
              </>
            )}
          </aside>
        </div>
      )}
    </div>
  );
}

function Legend({ metric }: { metric: EdgeMetric }) {
  const [a, b, c] = EDGE_LEVEL_LEGEND[metric];
  return (
    <div className="legend" aria-label="Legend">
      <div className="row">
        <span className="swatch" style={{ background: 'var(--text-3)' }} /> {a}
        <span className="swatch" style={{ background: 'var(--warn)' }} /> {b}
        <span className="swatch" style={{ background: 'var(--bad)' }} /> {c}
      </div>
      <div className="row">
        <span className="badge kind-service">service</span>
        <span className="badge kind-database">database</span>
        <span className="badge kind-messaging">messaging</span>
        <span className="badge kind-external">external</span>
      </div>
      <div className="row">
        <span className="badge sev-high">N+1</span> edge or node with a finding · thickness = calls
      </div>
    </div>
  );
}
