// Shapes one trace (GET /api/v1/traces/{id}) for the waterfall: the span
// tree in depth-first order, each span's offset and width on the trace's
// time axis, and the parts of critical-path spans that are the critical
// path itself. Linear in the number of spans (iterative, so a deep trace
// cannot overflow the stack): a 20,000-span trace is shaped in a few ms.
import type { Span, TraceResponse } from '../api/types';

export interface TraceModel {
  traceId: string;
  spans: Span[];
  /** Span indexes in depth-first order (children by start time). */
  order: number[];
  depth: Int32Array;
  parent: Int32Array; // -1 for roots
  children: number[][];
  /** Start offset from the trace start, in ns. */
  offsetNs: Float64Array;
  startNs: number;
  endNs: number;
  durationNs: number;
  indexById: Map<string, number>;
  services: string[];
  errorCount: number;
  criticalCount: number;
  maxDepth: number;
  rootIndexes: number[];
}

export function buildTraceModel(trace: TraceResponse): TraceModel {
  const spans = trace.spans ?? [];
  const n = spans.length;
  const indexById = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    // The first span with an id wins, as in the analysis.
    if (!indexById.has(spans[i].span_id)) indexById.set(spans[i].span_id, i);
  }
  const parent = new Int32Array(n).fill(-1);
  const children: number[][] = Array.from({ length: n }, () => []);
  let startNs = Infinity;
  let endNs = -Infinity;
  let errorCount = 0;
  let criticalCount = 0;
  const services: string[] = [];
  const seenSvc = new Set<string>();
  for (let i = 0; i < n; i++) {
    const s = spans[i];
    const p = s.parent_span_id ? indexById.get(s.parent_span_id) : undefined;
    if (p !== undefined && p !== i && indexById.get(s.span_id) === i) {
      parent[i] = p;
      children[p].push(i);
    }
    startNs = Math.min(startNs, s.start_unix_nano);
    endNs = Math.max(endNs, s.start_unix_nano + s.duration_ns);
    if (s.status_code === 'error') errorCount++;
    if (s.on_critical_path) criticalCount++;
    if (!seenSvc.has(s.service)) {
      seenSvc.add(s.service);
      services.push(s.service);
    }
  }
  if (n === 0) {
    startNs = 0;
    endNs = 0;
  }
  const byStart = (a: number, b: number) => spans[a].start_unix_nano - spans[b].start_unix_nano || a - b;
  for (const c of children) if (c.length > 1) c.sort(byStart);

  const depth = new Int32Array(n);
  const order: number[] = [];
  const visited = new Uint8Array(n);
  const rootIndexes: number[] = [];
  let maxDepth = 0;
  const walk = (root: number) => {
    const stack = [root];
    depth[root] = 0;
    while (stack.length) {
      const i = stack.pop()!;
      if (visited[i]) continue;
      visited[i] = 1;
      order.push(i);
      if (depth[i] > maxDepth) maxDepth = depth[i];
      const c = children[i];
      for (let k = c.length - 1; k >= 0; k--) {
        if (!visited[c[k]]) {
          depth[c[k]] = depth[i] + 1;
          stack.push(c[k]);
        }
      }
    }
  };
  const roots: number[] = [];
  for (let i = 0; i < n; i++) if (parent[i] === -1) roots.push(i);
  roots.sort(byStart);
  for (const r of roots) {
    rootIndexes.push(r);
    walk(r);
  }
  // Spans only reachable through a parent cycle: break it at the earliest.
  if (order.length < n) {
    const rest: number[] = [];
    for (let i = 0; i < n; i++) if (!visited[i]) rest.push(i);
    rest.sort(byStart);
    for (const r of rest) {
      if (visited[r]) continue;
      if (parent[r] !== -1) {
        const siblings = children[parent[r]];
        siblings.splice(siblings.indexOf(r), 1);
        parent[r] = -1;
      }
      rootIndexes.push(r);
      walk(r);
    }
  }

  const offsetNs = new Float64Array(n);
  for (let i = 0; i < n; i++) offsetNs[i] = spans[i].start_unix_nano - startNs;

  return {
    traceId: trace.trace_id,
    spans,
    order,
    depth,
    parent,
    children,
    offsetNs,
    startNs,
    endNs,
    durationNs: Math.max(0, endNs - startNs),
    indexById,
    services,
    errorCount,
    criticalCount,
    maxDepth,
    rootIndexes,
  };
}

export interface RowFilter {
  /** Span ids whose subtrees are folded. */
  collapsed?: ReadonlySet<string>;
  /** Only spans on the critical path. */
  criticalOnly?: boolean;
}

/** The span indexes to draw, in order. */
export function visibleRows(model: TraceModel, filter: RowFilter = {}): number[] {
  const { collapsed, criticalOnly } = filter;
  if (!collapsed?.size && !criticalOnly) return model.order;
  const out: number[] = [];
  let skipBelowDepth = -1; // while >= 0, skip spans deeper than this
  for (const i of model.order) {
    const d = model.depth[i];
    if (skipBelowDepth >= 0) {
      if (d > skipBelowDepth) continue;
      skipBelowDepth = -1;
    }
    const s = model.spans[i];
    if (!criticalOnly || s.on_critical_path) out.push(i);
    if (collapsed?.has(s.span_id) && model.children[i].length) skipBelowDepth = d;
  }
  return out;
}

/** Ancestors of a span, root first (to unfold a path to it). */
export function ancestors(model: TraceModel, index: number): number[] {
  const out: number[] = [];
  const guard = new Set<number>();
  for (let p = model.parent[index]; p >= 0 && !guard.has(p); p = model.parent[p]) {
    guard.add(p);
    out.push(p);
  }
  return out.reverse();
}

/** A bar's position on the trace axis, as fractions 0..1. */
export function barGeometry(model: TraceModel, index: number): { left: number; width: number } {
  const total = model.durationNs || 1;
  const left = model.offsetNs[index] / total;
  const width = model.spans[index].duration_ns / total;
  return { left: clamp01(left), width: Math.max(0, Math.min(1 - clamp01(left), width)) };
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/**
 * The parts of a critical-path span during which it is itself the critical
 * path: its interval minus those of its children that are also on the path
 * (the server reports membership per span; this splits the bar the way
 * Jaeger draws it). Fractions of the trace axis, in order.
 */
export function criticalSegments(model: TraceModel, index: number): Array<[number, number]> {
  const s = model.spans[index];
  if (!s.on_critical_path) return [];
  const total = model.durationNs || 1;
  const start = model.offsetNs[index];
  const end = start + s.duration_ns;
  const cps = model.children[index]
    .filter((c) => model.spans[c].on_critical_path)
    .map((c) => [Math.max(start, model.offsetNs[c]), Math.min(end, model.offsetNs[c] + model.spans[c].duration_ns)])
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  let cur = start;
  for (const [a, b] of cps) {
    if (a > cur) out.push([cur / total, a / total]);
    cur = Math.max(cur, b);
  }
  if (end > cur) out.push([cur / total, end / total]);
  if (s.duration_ns === 0) out.push([start / total, start / total]);
  return out;
}

/** Sum of self time of the critical-path spans (the request's critical path length). */
export function criticalPathNs(model: TraceModel): number {
  let sum = 0;
  for (const s of model.spans) if (s.on_critical_path) sum += s.self_time_ns;
  return sum;
}

/** Tick marks for the time axis: `count` evenly spaced labels. */
export function ticks(durationNs: number, count = 5): Array<{ fraction: number; ns: number }> {
  const out = [];
  for (let i = 0; i <= count; i++) out.push({ fraction: i / count, ns: (durationNs * i) / count });
  return out;
}

/** Span indexes matching a text (service, name, id or an attribute value), for find-in-trace. */
export function findSpans(model: TraceModel, query: string): number[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const out: number[] = [];
  for (const i of model.order) {
    const s = model.spans[i];
    if (
      s.name.toLowerCase().includes(q) ||
      s.service.toLowerCase().includes(q) ||
      s.span_id === q ||
      Object.values(s.attributes ?? {}).some((v) => typeof v === 'string' && v.toLowerCase().includes(q))
    ) {
      out.push(i);
    }
  }
  return out;
}

const PALETTE = 12;

/** A stable colour slot (0..11) for a service name, the same in every view. */
export function serviceColorSlot(service: string): number {
  let h = 2166136261;
  for (let i = 0; i < service.length; i++) {
    h ^= service.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % PALETTE;
}
