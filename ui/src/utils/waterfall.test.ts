import { describe, expect, it } from 'vitest';
import type { Span } from '../api/types';
import { smallTrace, span } from '../test/fixtures';
import {
  ancestors,
  barGeometry,
  buildTraceModel,
  criticalPathNs,
  criticalSegments,
  findSpans,
  serviceColorSlot,
  ticks,
  visibleRows,
} from './waterfall';

const ids = (m: ReturnType<typeof buildTraceModel>, rows: number[]) => rows.map((i) => m.spans[i].span_id);

describe('buildTraceModel', () => {
  const m = buildTraceModel(smallTrace);

  it('orders spans depth-first with children by start time', () => {
    expect(ids(m, m.order)).toEqual(['root', 'a', 'a1', 'b', 'c']);
    expect(ids(m, m.order).map((id) => m.depth[m.indexById.get(id)!])).toEqual([0, 1, 2, 1, 1]);
    expect(m.maxDepth).toBe(2);
  });

  it('summarises the trace', () => {
    expect(m.durationNs).toBe(100e6);
    expect(m.services).toEqual(['checkout', 'orders', 'inventory', 'payments']);
    expect(m.errorCount).toBe(1);
    expect(m.criticalCount).toBe(4);
    expect(criticalPathNs(m)).toBe(30e6 + 15e6 + 15e6 + 40e6);
  });

  it('treats spans with a missing parent as roots and breaks parent cycles', () => {
    const spans: Span[] = [
      span('x', 'missing', 5, 10),
      span('r', '', 0, 50),
      span('p', 'q', 10, 5),
      span('q', 'p', 12, 5),
      span('self', 'self', 20, 1),
    ];
    const t = buildTraceModel({ trace_id: 't', spans });
    expect(t.order).toHaveLength(5);
    expect(new Set(t.order).size).toBe(5);
    expect(ids(t, t.rootIndexes)).toEqual(['r', 'x', 'self', 'p']);
    expect(t.depth[t.indexById.get('q')!]).toBe(1);
  });

  it('keeps the first of duplicate span ids', () => {
    const t = buildTraceModel({ trace_id: 't', spans: [span('r', '', 0, 10), span('d', 'r', 1, 1), span('d', 'r', 2, 1)] });
    expect(t.order).toHaveLength(3);
    expect(t.children[0]).toEqual([1]);
  });

  it('handles an empty trace', () => {
    const t = buildTraceModel({ trace_id: 't', spans: [] });
    expect(t.order).toEqual([]);
    expect(t.durationNs).toBe(0);
  });
});

describe('rows', () => {
  const m = buildTraceModel(smallTrace);
  it('hides the subtrees of collapsed spans', () => {
    expect(ids(m, visibleRows(m, { collapsed: new Set(['a']) }))).toEqual(['root', 'a', 'b', 'c']);
    expect(ids(m, visibleRows(m, { collapsed: new Set(['root']) }))).toEqual(['root']);
  });

  it('can show only the critical path', () => {
    expect(ids(m, visibleRows(m, { criticalOnly: true }))).toEqual(['root', 'a', 'a1', 'c']);
  });

  it('lists ancestors root first', () => {
    expect(ids(m, ancestors(m, m.indexById.get('a1')!))).toEqual(['root', 'a']);
  });

  it('finds spans by name, service, id or attribute', () => {
    expect(ids(m, findSpans(m, 'inventory'))).toEqual(['a1']);
    expect(ids(m, findSpans(m, '/items/'))).toEqual(['a1']);
    expect(ids(m, findSpans(m, 'c'))).toContain('c');
    expect(findSpans(m, '')).toEqual([]);
  });
});

describe('geometry', () => {
  const m = buildTraceModel(smallTrace);
  it('places bars on the trace axis', () => {
    // start_unix_nano exceeds 2^53: JSON numbers keep it to ~256 ns, plenty for drawing.
    const a = barGeometry(m, m.indexById.get('a')!);
    expect(a.left).toBeCloseTo(0.1, 4);
    expect(a.width).toBeCloseTo(0.3, 4);
    expect(barGeometry(m, m.indexById.get('root')!)).toEqual({ left: 0, width: 1 });
  });

  it('marks the parts of a critical span not covered by critical children', () => {
    const seg = (id: string) => criticalSegments(m, m.indexById.get(id)!).map(([a, b]) => [+a.toFixed(3), +b.toFixed(3)]);
    // root 0–100 minus a (10–40) and c (50–90); b is not critical.
    expect(seg('root')).toEqual([
      [0, 0.1],
      [0.4, 0.5],
      [0.9, 1],
    ]);
    expect(seg('a')).toEqual([
      [0.1, 0.15],
      [0.3, 0.4],
    ]);
    expect(seg('a1')).toEqual([[0.15, 0.3]]);
    expect(seg('b')).toEqual([]);
  });

  it('makes axis ticks and stable service colours', () => {
    expect(ticks(100, 4).map((t) => t.ns)).toEqual([0, 25, 50, 75, 100]);
    expect(serviceColorSlot('orders')).toBe(serviceColorSlot('orders'));
    expect(serviceColorSlot('orders')).toBeGreaterThanOrEqual(0);
    expect(serviceColorSlot('orders')).toBeLessThan(12);
  });
});

describe('scale', () => {
  it('shapes a 20,000-span trace (and a 20,000-deep chain) quickly', () => {
    const wide: Span[] = [span('root', '', 0, 1000)];
    for (let i = 0; i < 100; i++) {
      wide.push(span(`s${i}`, 'root', i * 10, 9));
      for (let j = 0; j < 199; j++) wide.push(span(`s${i}-${j}`, `s${i}`, i * 10 + j * 0.04, 0.03));
    }
    const t0 = performance.now();
    const m = buildTraceModel({ trace_id: 't', spans: wide });
    const rows = visibleRows(m, { collapsed: new Set(['s3']) });
    const elapsed = performance.now() - t0;
    expect(m.order).toHaveLength(20_001);
    expect(rows).toHaveLength(20_001 - 199);
    expect(elapsed).toBeLessThan(500);

    const deep: Span[] = Array.from({ length: 20_000 }, (_, i) => span(`d${i}`, i ? `d${i - 1}` : '', i * 0.001, 20 - i * 0.001));
    const d = buildTraceModel({ trace_id: 'd', spans: deep });
    expect(d.maxDepth).toBe(19_999);
  });
});
