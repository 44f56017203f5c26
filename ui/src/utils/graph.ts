// Shapes /servicegraph, /services and /findings into the service map model:
// nodes and edges annotated with their metrics and findings, filtered to a
// neighbourhood, and turned into Cytoscape elements.
import type { Finding, GraphEdge, GraphNode, NodeKind, ServiceGraphResponse, ServiceStats, Severity } from '../api/types';
import { severityRank, sortFindings, worstSeverity } from './severity';

export interface MapNode extends GraphNode {
  stats?: ServiceStats;
  findings: Finding[];
  severity?: Severity;
  /** Calls into and out of this node, summed over its edges. */
  callsIn: number;
  callsOut: number;
}

export interface MapEdge extends GraphEdge {
  id: string;
  findings: Finding[];
  severity?: Severity;
}

export interface MapModel {
  nodes: MapNode[];
  edges: MapEdge[];
  nodeById: Map<string, MapNode>;
  edgeById: Map<string, MapEdge>;
  maxCalls: number;
}

/** The id of the edge source → target (unique for any pair of node ids). */
export function edgeId(source: string, target: string): string {
  return JSON.stringify([source, target]);
}

export const NODE_KINDS: NodeKind[] = ['service', 'database', 'messaging', 'external'];

/**
 * Builds the map model. A finding is attached to the edge service → peer_id
 * when that edge exists, to the node of its service (the caller, or the
 * span group of a bottleneck) and to the node of its peer when the peer is
 * not an instrumented service (a database with a slow query, an external
 * API), so every element that a finding is about is highlighted.
 */
export function buildMapModel(
  graph: ServiceGraphResponse,
  services: ServiceStats[] = [],
  findings: Finding[] = [],
): MapModel {
  const stats = new Map(services.map((s) => [s.name, s]));
  const nodeById = new Map<string, MapNode>();
  const addNode = (n: GraphNode) => {
    if (nodeById.has(n.id)) return nodeById.get(n.id)!;
    const node: MapNode = {
      ...n,
      kind: n.kind || 'service',
      stats: n.kind === 'service' || !n.kind ? stats.get(n.name) : undefined,
      findings: [],
      callsIn: 0,
      callsOut: 0,
    };
    nodeById.set(n.id, node);
    return node;
  };
  for (const n of graph.nodes ?? []) addNode(n);

  const edgeById = new Map<string, MapEdge>();
  let maxCalls = 0;
  for (const e of graph.edges ?? []) {
    // Edges always name known nodes; be lenient with partial data anyway.
    const src = nodeById.get(e.source) ?? addNode({ id: e.source, name: e.source, kind: 'service' });
    const dst = nodeById.get(e.target) ?? addNode({ id: e.target, name: e.target, kind: 'service' });
    const id = edgeId(e.source, e.target);
    const prev = edgeById.get(id);
    if (prev) {
      // The API returns one edge per pair; merge defensively if not.
      prev.calls += e.calls;
      prev.errors += e.errors;
      prev.error_rate = prev.calls ? prev.errors / prev.calls : 0;
    } else {
      edgeById.set(id, { ...e, id, findings: [] });
    }
    src.callsOut += e.calls;
    dst.callsIn += e.calls;
    maxCalls = Math.max(maxCalls, edgeById.get(id)!.calls);
  }

  for (const f of findings) {
    const peerId = f.peer_id || '';
    const edge = peerId ? edgeById.get(edgeId(f.service, peerId)) : undefined;
    if (edge) edge.findings.push(f);
    const svc = nodeById.get(f.service);
    if (svc) svc.findings.push(f);
    const peer = peerId ? nodeById.get(peerId) : undefined;
    if (peer && peer.kind !== 'service' && peer !== svc) peer.findings.push(f);
  }
  for (const n of nodeById.values()) {
    n.findings = sortFindings(n.findings);
    n.severity = worstSeverity(n.findings);
  }
  for (const e of edgeById.values()) {
    e.findings = sortFindings(e.findings);
    e.severity = worstSeverity(e.findings);
  }

  const nodes = [...nodeById.values()].sort((a, b) => a.id.localeCompare(b.id));
  const edges = [...edgeById.values()].sort((a, b) => a.id.localeCompare(b.id));
  return { nodes, edges, nodeById, edgeById, maxCalls };
}

/** Node ids within `hops` edges of `focus`, following edges both ways. */
export function neighbourhood(model: MapModel, focus: string, hops: number): Set<string> {
  const adj = new Map<string, string[]>();
  for (const e of model.edges) {
    if (!adj.has(e.source)) adj.set(e.source, []);
    if (!adj.has(e.target)) adj.set(e.target, []);
    adj.get(e.source)!.push(e.target);
    adj.get(e.target)!.push(e.source);
  }
  const seen = new Set<string>();
  if (!model.nodeById.has(focus)) return seen;
  seen.add(focus);
  let frontier = [focus];
  for (let d = 0; d < hops && frontier.length; d++) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const nb of adj.get(id) ?? []) {
        if (!seen.has(nb)) {
          seen.add(nb);
          next.push(nb);
        }
      }
    }
    frontier = next;
  }
  return seen;
}

export interface MapFilter {
  /** Show only the neighbourhood of this node. */
  focus?: string;
  hops?: number;
  /** Node kinds to leave out. */
  hiddenKinds?: NodeKind[];
  /** Show only elements with findings (and their endpoints). */
  findingsOnly?: boolean;
}

export interface FilteredMap {
  nodes: MapNode[];
  edges: MapEdge[];
}

export function filterMap(model: MapModel, filter: MapFilter): FilteredMap {
  let keep: Set<string> | null = null;
  if (filter.focus && model.nodeById.has(filter.focus)) {
    keep = neighbourhood(model, filter.focus, Math.max(1, filter.hops ?? 1));
  }
  const hidden = new Set(filter.hiddenKinds ?? []);
  let nodes = model.nodes.filter(
    (n) => (!keep || keep.has(n.id)) && (!hidden.has(n.kind) || n.id === filter.focus),
  );
  let ids = new Set(nodes.map((n) => n.id));
  let edges = model.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  if (filter.findingsOnly) {
    edges = edges.filter((e) => e.findings.length > 0);
    const touched = new Set<string>();
    for (const e of edges) {
      touched.add(e.source);
      touched.add(e.target);
    }
    nodes = nodes.filter((n) => n.findings.length > 0 || touched.has(n.id) || n.id === filter.focus);
    ids = new Set(nodes.map((n) => n.id));
    edges = edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  }
  return { nodes, edges };
}

/** Ranks nodes for the search box: exact, prefix, word prefix, then substring matches. */
export function searchNodes(nodes: MapNode[], query: string, limit = 12): MapNode[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const scored: Array<[number, MapNode]> = [];
  for (const n of nodes) {
    const name = n.name.toLowerCase();
    let score = -1;
    if (name === q) score = 0;
    else if (name.startsWith(q)) score = 1;
    else if (name.split(/[-_./: ]/).some((w) => w.startsWith(q))) score = 2;
    else if (name.includes(q) || n.id.toLowerCase().includes(q)) score = 3;
    if (score >= 0) scored.push([score, n]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].name.localeCompare(b[1].name));
  return scored.slice(0, limit).map((x) => x[1]);
}

export type EdgeMetric = 'p95' | 'errors' | 'calls';

export const EDGE_METRICS: Array<{ value: EdgeMetric; label: string }> = [
  { value: 'p95', label: 'p95 latency' },
  { value: 'errors', label: 'Error rate' },
  { value: 'calls', label: 'Calls' },
];

/** Edge width in px from its call count: logarithmic, 1.5 to 9. */
export function edgeWidth(calls: number, maxCalls: number): number {
  if (maxCalls <= 0 || calls <= 0) return 1.5;
  const t = Math.log1p(calls) / Math.log1p(maxCalls);
  return Math.round((1.5 + 7.5 * Math.min(1, t)) * 10) / 10;
}

/**
 * The colour level of an edge for the chosen metric: 0 good, 1 warning,
 * 2 bad. Latency: p95 under 100 ms, under 500 ms, above. Errors: under 1 %,
 * under 5 %, above. Calls: relative to the busiest edge (thirds, log scale).
 */
export function edgeLevel(edge: GraphEdge, metric: EdgeMetric, maxCalls: number): 0 | 1 | 2 {
  switch (metric) {
    case 'p95':
      return edge.p95_ms < 100 ? 0 : edge.p95_ms < 500 ? 1 : 2;
    case 'errors':
      return edge.error_rate < 0.01 ? 0 : edge.error_rate < 0.05 ? 1 : 2;
    case 'calls': {
      if (maxCalls <= 0) return 0;
      const t = Math.log1p(edge.calls) / Math.log1p(maxCalls);
      return t < 0.5 ? 0 : t < 0.85 ? 1 : 2;
    }
  }
}

export const EDGE_LEVEL_LEGEND: Record<EdgeMetric, [string, string, string]> = {
  p95: ['p95 < 100 ms', '100–500 ms', '≥ 500 ms'],
  errors: ['errors < 1 %', '1–5 %', '≥ 5 %'],
  calls: ['fewer calls', 'more', 'most'],
};

export interface CyElementData {
  id: string;
  label?: string;
  kind?: NodeKind;
  source?: string;
  target?: string;
  width?: number;
  level?: number;
  severity?: string;
  findings?: number;
  badge?: string;
}

export interface CyElement {
  group: 'nodes' | 'edges';
  data: CyElementData;
  classes?: string;
}

/** A short label for an edge's worst finding, drawn on the map. */
export function findingBadge(findings: Finding[]): string {
  const f = findings[0];
  if (!f) return '';
  if (f.kind === 'chatty') return f.evidence?.pattern === 'call_storm' ? 'call storm' : 'N+1';
  if (f.kind === 'oversized_payload') return 'big payload';
  return 'bottleneck';
}

/** Cytoscape elements of a filtered map, with data the stylesheet reads. */
export function toCyElements(map: FilteredMap, metric: EdgeMetric, maxCalls: number): CyElement[] {
  const out: CyElement[] = [];
  for (const n of map.nodes) {
    const classes: string[] = [n.kind];
    if (n.findings.length) classes.push('has-finding', `sev-${n.severity}`);
    if (n.stats && n.stats.error_rate >= 0.05) classes.push('erroring');
    out.push({
      group: 'nodes',
      data: { id: n.id, label: n.name, kind: n.kind, findings: n.findings.length, severity: n.severity ?? '' },
      classes: classes.join(' '),
    });
  }
  for (const e of map.edges) {
    const level = edgeLevel(e, metric, maxCalls);
    const classes = [`level-${level}`];
    if (e.findings.length) classes.push('has-finding', `sev-${e.severity}`);
    out.push({
      group: 'edges',
      data: {
        id: e.id,
        source: e.source,
        target: e.target,
        width: edgeWidth(e.calls, maxCalls),
        level,
        findings: e.findings.length,
        severity: e.severity ?? '',
        badge: findingBadge(e.findings),
      },
      classes: classes.join(' '),
    });
  }
  return out;
}

/** Edges into and out of a node, busiest first. */
export function nodeEdges(model: MapModel, id: string): { incoming: MapEdge[]; outgoing: MapEdge[] } {
  const incoming = model.edges.filter((e) => e.target === id).sort((a, b) => b.calls - a.calls);
  const outgoing = model.edges.filter((e) => e.source === id).sort((a, b) => b.calls - a.calls);
  return { incoming, outgoing };
}

/** Counts of findings by severity, worst first, for summaries. */
export function countBySeverity(findings: Finding[]): Array<[Severity, number]> {
  const m = new Map<Severity, number>();
  for (const f of findings) m.set(f.severity, (m.get(f.severity) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => severityRank(b[0]) - severityRank(a[0]));
}
