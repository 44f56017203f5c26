import { describe, expect, it } from 'vitest';
import type { ServiceGraphResponse } from '../api/types';
import { bottleneckFinding, chattyFinding, graph, services } from '../test/fixtures';
import {
  buildMapModel,
  edgeId,
  edgeLevel,
  edgeWidth,
  filterMap,
  findingBadge,
  neighbourhood,
  nodeEdges,
  searchNodes,
  toCyElements,
} from './graph';

describe('buildMapModel', () => {
  const model = buildMapModel(graph, services, [chattyFinding, bottleneckFinding]);

  it('keeps every node and edge with its metrics', () => {
    expect(model.nodes).toHaveLength(7);
    expect(model.edges).toHaveLength(7);
    expect(model.maxCalls).toBe(1500);
    const orders = model.nodeById.get('orders-service')!;
    expect(orders.stats?.p95_ms).toBe(101.8);
    expect(orders.callsOut).toBe(1150);
    expect(orders.callsIn).toBe(160);
    expect(model.nodeById.get('database:postgresql/shop')!.stats).toBeUndefined();
  });

  it('puts a finding on its edge, its service and a virtual peer', () => {
    const chattyEdge = model.edgeById.get(edgeId('orders-service', 'inventory-service'))!;
    expect(chattyEdge.findings.map((f) => f.id)).toEqual([chattyFinding.id]);
    expect(chattyEdge.severity).toBe('medium');
    // The caller is flagged; an instrumented peer is not (it is not at fault).
    expect(model.nodeById.get('orders-service')!.findings).toHaveLength(1);
    expect(model.nodeById.get('inventory-service')!.findings).toHaveLength(0);
    // A slow query: edge to the database, the service and the database node.
    expect(model.edgeById.get(edgeId('payments-service', 'database:postgresql/shop'))!.severity).toBe('high');
    expect(model.nodeById.get('database:postgresql/shop')!.findings).toHaveLength(1);
    expect(model.nodeById.get('payments-service')!.severity).toBe('high');
  });

  it('ignores findings about elements not on the map and tolerates partial graphs', () => {
    const m = buildMapModel(
      { nodes: [], edges: [{ ...graph.edges[0] }] } as ServiceGraphResponse,
      [],
      [{ ...chattyFinding, service: 'ghost', peer_id: 'nobody' }],
    );
    expect(m.nodes.map((n) => n.id).sort()).toEqual(['api-gateway', 'orders-service']);
    expect(m.edges[0].findings).toHaveLength(0);
  });
});

describe('neighbourhood and filters', () => {
  const model = buildMapModel(graph, services, [chattyFinding, bottleneckFinding]);

  it('follows edges both ways up to the number of hops', () => {
    expect([...neighbourhood(model, 'orders-service', 1)].sort()).toEqual(
      ['api-gateway', 'inventory-service', 'messaging:kafka/orders', 'orders-service'].sort(),
    );
    const two = neighbourhood(model, 'orders-service', 2);
    expect(two.has('payments-service')).toBe(true);
    expect(two.has('database:postgresql/shop')).toBe(true);
    expect(two.has('external:api.stripe.com')).toBe(false);
    expect(neighbourhood(model, 'nope', 2).size).toBe(0);
  });

  it('filters by focus, node kind and findings', () => {
    const focus = filterMap(model, { focus: 'payments-service', hops: 1 });
    expect(focus.nodes.map((n) => n.id).sort()).toEqual(
      ['api-gateway', 'database:postgresql/shop', 'external:api.stripe.com', 'payments-service'].sort(),
    );
    expect(focus.edges.every((e) => focus.nodes.some((n) => n.id === e.source))).toBe(true);

    const noDb = filterMap(model, { hiddenKinds: ['database', 'external'] });
    expect(noDb.nodes.some((n) => n.kind === 'database' || n.kind === 'external')).toBe(false);
    expect(noDb.edges.some((e) => e.target.startsWith('database:'))).toBe(false);

    const onlyFindings = filterMap(model, { findingsOnly: true });
    expect(onlyFindings.edges.map((e) => e.id).sort()).toEqual(
      [edgeId('orders-service', 'inventory-service'), edgeId('payments-service', 'database:postgresql/shop')].sort(),
    );
    expect(onlyFindings.nodes.map((n) => n.id).sort()).toEqual(
      ['database:postgresql/shop', 'inventory-service', 'orders-service', 'payments-service'].sort(),
    );
  });

  it('lists a node’s edges busiest first', () => {
    const { incoming, outgoing } = nodeEdges(model, 'orders-service');
    expect(incoming.map((e) => e.source)).toEqual(['api-gateway']);
    expect(outgoing.map((e) => e.target)).toEqual(['inventory-service', 'messaging:kafka/orders']);
  });
});

describe('search', () => {
  const model = buildMapModel(graph, services, []);
  it('ranks exact, prefix, word and substring matches', () => {
    expect(searchNodes(model.nodes, 'orders-service').map((n) => n.id)[0]).toBe('orders-service');
    expect(searchNodes(model.nodes, 'pay').map((n) => n.id)).toEqual(['payments-service']);
    expect(searchNodes(model.nodes, 'shop').map((n) => n.id)).toEqual(['database:postgresql/shop']);
    expect(searchNodes(model.nodes, 'orders').map((n) => n.id)).toEqual(['orders-service', 'messaging:kafka/orders']);
    expect(searchNodes(model.nodes, '  ')).toEqual([]);
  });
});

describe('edge encoding', () => {
  it('scales width logarithmically with calls', () => {
    expect(edgeWidth(0, 100)).toBe(1.5);
    expect(edgeWidth(100, 100)).toBe(9);
    const mid = edgeWidth(10, 100);
    expect(mid).toBeGreaterThan(1.5);
    expect(mid).toBeLessThan(9);
  });

  it('levels edges by p95, errors or calls', () => {
    const e = graph.edges[5]; // payments → postgres: p95 600 ms, 2 % errors
    expect(edgeLevel(e, 'p95', 1500)).toBe(2);
    expect(edgeLevel(e, 'errors', 1500)).toBe(1);
    expect(edgeLevel(graph.edges[4], 'calls', 1500)).toBe(2);
    expect(edgeLevel(graph.edges[2], 'p95', 1500)).toBe(0);
  });

  it('makes Cytoscape elements with classes for kinds, levels and findings', () => {
    const model = buildMapModel(graph, services, [chattyFinding]);
    const els = toCyElements(filterMap(model, {}), 'p95', model.maxCalls);
    const db = els.find((e) => e.data.id === 'database:postgresql/shop')!;
    expect(db.group).toBe('nodes');
    expect(db.classes).toContain('database');
    const chatty = els.find((e) => e.data.id === edgeId('orders-service', 'inventory-service'))!;
    expect(chatty.classes).toContain('has-finding');
    expect(chatty.classes).toContain('sev-medium');
    expect(chatty.data.badge).toBe('N+1');
    const slow = els.find((e) => e.data.id === edgeId('api-gateway', 'payments-service'))!;
    expect(slow.classes).toBe('level-2');
    expect(els.find((e) => e.data.id === 'payments-service')!.classes).toContain('erroring');
    expect(findingBadge([{ ...chattyFinding, evidence: { pattern: 'call_storm' } }])).toBe('call storm');
  });
});

describe('scale', () => {
  it('shapes a 300-service map quickly', () => {
    const nodes = Array.from({ length: 300 }, (_, i) => ({ id: `svc-${i}`, name: `svc-${i}`, kind: 'service' as const }));
    const edges = [];
    for (let i = 1; i < 300; i++) {
      for (const j of [Math.floor(i / 2), Math.floor(i / 3)]) {
        edges.push({ ...graph.edges[0], source: `svc-${j}`, target: `svc-${i}`, calls: i });
      }
    }
    const t0 = performance.now();
    const model = buildMapModel({ nodes, edges }, [], []);
    const els = toCyElements(filterMap(model, {}), 'p95', model.maxCalls);
    const near = filterMap(model, { focus: 'svc-10', hops: 2 });
    const ms = performance.now() - t0;
    expect(els.length).toBe(300 + model.edges.length);
    expect(near.nodes.length).toBeLessThan(60);
    expect(near.nodes.some((n) => n.id === 'svc-299')).toBe(false);
    expect(ms).toBeLessThan(200);
  });
});
