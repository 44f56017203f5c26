// The map's side panel: details of the selected node or edge (RED metrics,
// latency percentiles, payload sizes, calls per trace, findings with
// example traces), or an overview when nothing is selected.
import { Link } from 'react-router-dom';
import type { Finding } from '../../api/types';
import { NodeKindBadge, SeverityBadge } from '../../components/Badges';
import { FindingBrief } from '../../components/FindingBrief';
import { CloseIcon } from '../../components/Icons';
import { formatBytes, formatCount, formatMs, formatPercent } from '../../utils/format';
import { EDGE_LEVEL_LEGEND, type EdgeMetric, type MapEdge, type MapModel, type MapNode, nodeEdges } from '../../utils/graph';
import { sortFindings } from '../../utils/severity';
import { type TimeRange, resolveWindow } from '../../utils/timeRange';
import { getUrl as findingsUrl } from '../FindingsPage/url';
import { getUrl as tracesUrl } from '../TracesPage/url';

export function Metric({ label, value, tone }: { label: string; value: string; tone?: 'bad' | 'warn' }) {
  return (
    <div className={`metric${tone ? ` ${tone}` : ''}`}>
      <div className="label">{label}</div>
      <div className="value">{value}</div>
    </div>
  );
}

function windowMinutes(time: TimeRange): number {
  const w = resolveWindow(time);
  return Math.max(1, (w.to - w.from) / 60_000);
}

function perMinute(n: number, time: TimeRange): string {
  return `${formatCount(Math.round((n / windowMinutes(time)) * 10) / 10)}/min`;
}

function errTone(rate: number): 'bad' | 'warn' | undefined {
  return rate >= 0.05 ? 'bad' : rate >= 0.01 ? 'warn' : undefined;
}

function Findings({ findings, time }: { findings: Finding[]; time: TimeRange }) {
  if (!findings.length) return <div className="muted small">No findings in this window.</div>;
  return (
    <div className="stack" style={{ gap: 8 }}>
      {findings.map((f) => (
        <FindingBrief key={f.id} finding={f} time={time} />
      ))}
    </div>
  );
}

function EdgeButton({
  edge,
  model,
  dir,
  onSelectEdge,
}: {
  edge: MapEdge;
  model: MapModel;
  dir: 'in' | 'out';
  onSelectEdge: (e: MapEdge) => void;
}) {
  const other = model.nodeById.get(dir === 'out' ? edge.target : edge.source);
  return (
    <button type="button" className="edge-item" onClick={() => onSelectEdge(edge)}>
      <span className="muted">{dir === 'out' ? '→' : '←'}</span>
      <span className="grow ellipsis">{other?.name ?? (dir === 'out' ? edge.target : edge.source)}</span>
      {edge.findings.length > 0 && <SeverityBadge severity={edge.severity!} />}
      <span className="muted small num">
        {formatCount(edge.calls)} call{edge.calls === 1 ? '' : 's'}
      </span>
      <span className="small num">{formatMs(edge.p95_ms)}</span>
    </button>
  );
}

export function NodeDetails({
  node,
  model,
  time,
  onClose,
  onFocus,
  onSelectEdge,
}: {
  node: MapNode;
  model: MapModel;
  time: TimeRange;
  onClose: () => void;
  onFocus: (id: string) => void;
  onSelectEdge: (e: MapEdge) => void;
}) {
  const { incoming, outgoing } = nodeEdges(model, node.id);
  const s = node.stats;
  const inErrors = incoming.reduce((a, e) => a + e.errors, 0);
  const inP95 = incoming.reduce((a, e) => Math.max(a, e.p95_ms), 0);
  return (
    <div data-testid="node-details">
      <section>
        <div className="side-title">
          <div className="grow stack" style={{ gap: 4 }}>
            <NodeKindBadge kind={node.kind} />
            <h2>{node.name}</h2>
          </div>
          <button type="button" className="icon-btn" aria-label="Close details" onClick={onClose}>
            <CloseIcon size={16} />
          </button>
        </div>
        <div className="row wrap">
          <button type="button" className="btn small" onClick={() => onFocus(node.id)}>
            Show neighbourhood
          </button>
          {node.kind === 'service' && (
            <Link className="btn small" to={tracesUrl({ service: node.name, time })}>
              Traces
            </Link>
          )}
          <Link className="btn small" to={findingsUrl({ service: node.kind === 'service' ? node.name : undefined, time })}>
            Findings
          </Link>
        </div>
      </section>
      <section>
        <h3>{s ? 'Requests (RED)' : 'Calls received'}</h3>
        {s ? (
          <div className="metrics">
            <Metric label="Requests" value={formatCount(s.requests)} />
            <Metric label="Rate" value={perMinute(s.requests, time)} />
            <Metric label="Errors" value={formatCount(s.errors)} tone={errTone(s.error_rate)} />
            <Metric label="Error rate" value={formatPercent(s.error_rate)} tone={errTone(s.error_rate)} />
            <Metric label="p50" value={formatMs(s.p50_ms)} />
            <Metric label="p95" value={formatMs(s.p95_ms)} />
            <Metric label="p99" value={formatMs(s.p99_ms)} />
          </div>
        ) : (
          <div className="metrics">
            <Metric label="Calls" value={formatCount(node.callsIn)} />
            <Metric label="Rate" value={perMinute(node.callsIn, time)} />
            <Metric label="Errors" value={formatCount(inErrors)} tone={errTone(node.callsIn ? inErrors / node.callsIn : 0)} />
            <Metric label="Worst p95" value={formatMs(inP95)} />
          </div>
        )}
      </section>
      <section>
        <h3>Findings ({node.findings.length})</h3>
        <Findings findings={node.findings} time={time} />
      </section>
      <section>
        <h3>Calls out ({outgoing.length})</h3>
        {outgoing.length ? (
          <div className="edge-list">
            {outgoing.map((e) => (
              <EdgeButton key={e.id} edge={e} model={model} dir="out" onSelectEdge={onSelectEdge} />
            ))}
          </div>
        ) : (
          <div className="muted small">None.</div>
        )}
        <h3>Called by ({incoming.length})</h3>
        {incoming.length ? (
          <div className="edge-list">
            {incoming.map((e) => (
              <EdgeButton key={e.id} edge={e} model={model} dir="in" onSelectEdge={onSelectEdge} />
            ))}
          </div>
        ) : (
          <div className="muted small">None.</div>
        )}
      </section>
    </div>
  );
}

export function EdgeDetails({
  edge,
  model,
  time,
  onClose,
  onSelectNode,
}: {
  edge: MapEdge;
  model: MapModel;
  time: TimeRange;
  onClose: () => void;
  onSelectNode: (id: string) => void;
}) {
  const src = model.nodeById.get(edge.source);
  const dst = model.nodeById.get(edge.target);
  return (
    <div data-testid="edge-details">
      <section>
        <div className="side-title">
          <div className="grow stack" style={{ gap: 4 }}>
            <span className="muted small">Calls from</span>
            <h2>
              {src?.name ?? edge.source} <span className="muted">→</span> {dst?.name ?? edge.target}
            </h2>
          </div>
          <button type="button" className="icon-btn" aria-label="Close details" onClick={onClose}>
            <CloseIcon size={16} />
          </button>
        </div>
        <div className="row wrap">
          <button type="button" className="btn small" onClick={() => onSelectNode(edge.source)}>
            {src?.name ?? edge.source}
          </button>
          <button type="button" className="btn small" onClick={() => onSelectNode(edge.target)}>
            {dst?.name ?? edge.target}
          </button>
          {src?.kind === 'service' && (
            <Link className="btn small" to={tracesUrl({ service: src.name, time })}>
              Traces
            </Link>
          )}
        </div>
      </section>
      <section>
        <h3>Calls (RED)</h3>
        <div className="metrics">
          <Metric label="Calls" value={formatCount(edge.calls)} />
          <Metric label="Rate" value={perMinute(edge.calls, time)} />
          <Metric label="Errors" value={formatCount(edge.errors)} tone={errTone(edge.error_rate)} />
          <Metric label="Error rate" value={formatPercent(edge.error_rate)} tone={errTone(edge.error_rate)} />
        </div>
        <h3>Latency</h3>
        <div className="metrics">
          <Metric label="p50" value={formatMs(edge.p50_ms)} />
          <Metric label="p95" value={formatMs(edge.p95_ms)} tone={edge.p95_ms >= 500 ? 'warn' : undefined} />
          <Metric label="p99" value={formatMs(edge.p99_ms)} />
        </div>
        <h3>Payload and chattiness</h3>
        <div className="metrics">
          <Metric label="Request avg" value={edge.request_bytes_avg ? formatBytes(edge.request_bytes_avg) : '–'} />
          <Metric label="Response avg" value={edge.response_bytes_avg ? formatBytes(edge.response_bytes_avg) : '–'} />
          <Metric label="Calls / trace" value={formatCount(Math.round(edge.calls_per_trace_avg * 10) / 10)} />
        </div>
      </section>
      <section>
        <h3>Findings ({edge.findings.length})</h3>
        <Findings findings={edge.findings} time={time} />
      </section>
    </div>
  );
}

export function MapOverview({
  model,
  metric,
  time,
  onSelectEdge,
  onSelectNode,
}: {
  model: MapModel;
  metric: EdgeMetric;
  time: TimeRange;
  onSelectEdge: (e: MapEdge) => void;
  onSelectNode: (id: string) => void;
}) {
  const withFindings = sortFindings(
    [...new Map([...model.edges, ...model.nodes].flatMap((x) => x.findings).map((f) => [f.id, f])).values()],
  );
  const busiest = [...model.edges].sort((a, b) => b.calls - a.calls).slice(0, 8);
  const legend = EDGE_LEVEL_LEGEND[metric];
  return (
    <div data-testid="map-overview">
      <section>
        <h2>Overview</h2>
        <div className="metrics">
          <Metric label="Services" value={String(model.nodes.filter((n) => n.kind === 'service').length)} />
          <Metric label="Other nodes" value={String(model.nodes.filter((n) => n.kind !== 'service').length)} />
          <Metric label="Edges" value={String(model.edges.length)} />
          <Metric label="Findings" value={String(withFindings.length)} tone={withFindings.length ? 'warn' : undefined} />
        </div>
        <div className="muted small">
          Click a node or an edge for its metrics and findings. Edges: thickness = calls, colour = {legend.join(' / ')}.
        </div>
      </section>
      <section>
        <h3>Problems on the map</h3>
        {withFindings.length ? (
          <div className="edge-list">
            {withFindings.slice(0, 12).map((f) => (
              <button
                key={f.id}
                type="button"
                className="edge-item"
                onClick={() => {
                  const e = f.peer_id ? model.edgeById.get(JSON.stringify([f.service, f.peer_id])) : undefined;
                  if (e) onSelectEdge(e);
                  else onSelectNode(f.service);
                }}
              >
                <SeverityBadge severity={f.severity} />
                <span className="grow ellipsis" title={f.summary}>
                  {f.summary}
                </span>
              </button>
            ))}
          </div>
        ) : (
          <div className="muted small">No findings in this window.</div>
        )}
      </section>
      <section>
        <h3>Busiest edges</h3>
        <div className="edge-list">
          {busiest.map((e) => (
            <button key={e.id} type="button" className="edge-item" onClick={() => onSelectEdge(e)}>
              <span className="grow ellipsis">
                {model.nodeById.get(e.source)?.name} → {model.nodeById.get(e.target)?.name}
              </span>
              <span className="muted small num">{formatCount(e.calls)}</span>
            </button>
          ))}
        </div>
        <Link to={findingsUrl({ time })} className="small">
          All findings →
        </Link>
      </section>
    </div>
  );
}
