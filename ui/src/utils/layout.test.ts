import { describe, expect, it } from 'vitest';
import { layeredLayout } from './layout';

const node = (id: string) => ({ id, width: 100, height: 30 });

describe('layeredLayout', () => {
  it('puts callers left of callees, one column per layer', () => {
    const p = layeredLayout(['gw', 'a', 'b', 'db'].map(node), [
      { source: 'gw', target: 'a' },
      { source: 'gw', target: 'b' },
      { source: 'a', target: 'db' },
      { source: 'b', target: 'db' },
    ]);
    expect(p.get('gw')!.x).toBeLessThan(p.get('a')!.x);
    expect(p.get('a')!.x).toBe(p.get('b')!.x);
    expect(p.get('b')!.x).toBeLessThan(p.get('db')!.x);
    expect(p.get('a')!.y).not.toBe(p.get('b')!.y);
  });

  it('survives cycles, self-loops, unknown ids and isolated nodes', () => {
    const p = layeredLayout(['a', 'b', 'c', 'lonely'].map(node), [
      { source: 'a', target: 'b' },
      { source: 'b', target: 'c' },
      { source: 'c', target: 'a' },
      { source: 'a', target: 'a' },
      { source: 'a', target: 'ghost' },
    ]);
    expect(p.size).toBe(4);
    const xs = new Set(['a', 'b', 'c'].map((id) => p.get(id)!.x));
    expect(xs.size).toBe(3);
    for (const pt of p.values()) expect(Number.isFinite(pt.x) && Number.isFinite(pt.y)).toBe(true);
  });

  it('never overlaps nodes of a column', () => {
    const nodes = ['root', ...Array.from({ length: 40 }, (_, i) => `leaf-${i}`)].map(node);
    const p = layeredLayout(nodes, nodes.slice(1).map((n) => ({ source: 'root', target: n.id })));
    const ys = nodes.slice(1).map((n) => p.get(n.id)!.y).sort((a, b) => a - b);
    for (let i = 1; i < ys.length; i++) expect(ys[i] - ys[i - 1]).toBeGreaterThanOrEqual(30);
  });

  it('lays out 300 services and 600 calls in well under a second', () => {
    const nodes = Array.from({ length: 300 }, (_, i) => node(`svc-${i}`));
    const edges = nodes.flatMap((_, i) => [
      { source: `svc-${i}`, target: `svc-${(i * 7 + 1) % 300}` },
      { source: `svc-${i}`, target: `svc-${(i * 13 + 5) % 300}` },
    ]);
    const t0 = performance.now();
    const p = layeredLayout(nodes, edges);
    expect(performance.now() - t0).toBeLessThan(300);
    expect(p.size).toBe(300);
  });
});

describe('layeredLayout on a heavily cyclic graph', () => {
  it('keeps the number of columns small', () => {
    const nodes = Array.from({ length: 300 }, (_, i) => node(`svc-${i}`));
    const edges = nodes.flatMap((_, i) => [
      { source: `svc-${i}`, target: `svc-${(i * 7 + 1) % 300}` },
      { source: `svc-${i}`, target: `svc-${(i * 13 + 5) % 300}` },
    ]);
    const p = layeredLayout(nodes, edges);
    const columns = new Set([...p.values()].map((pt) => pt.x));
    expect(columns.size).toBeLessThanOrEqual(20);
    expect(columns.size).toBeGreaterThan(3);
  });
});
