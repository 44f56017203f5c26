import { describe, expect, it } from 'vitest';
import type { Finding } from '../api/types';
import { bottleneckFinding, chattyFinding, payloadFinding } from '../test/fixtures';
import { explainFinding } from './evidence';

describe('explainFinding', () => {
  it('explains an N+1 with batching first', () => {
    const ex = explainFinding(chattyFinding);
    expect(ex.title).toBe('N+1: orders-service calls inventory-service 10× per request');
    expect(ex.seen).toContain('While handling GET /orders/{id}, orders-service calls inventory-service "GET /items/{id}" 10×');
    expect(ex.seen).toContain('one call after another');
    expect(ex.why).toContain('about 58.9 ms per request');
    expect(ex.remedies).toEqual(['batch', 'cache', 'parallelise']);
    expect(ex.todo[0]).toMatch(/^Batch: add or use a bulk endpoint/);
    expect(ex.facts).toContainEqual({ label: 'Calls per request', value: '10' });
  });

  it('suggests a WHERE id IN query when the N+1 hits a database', () => {
    const ex = explainFinding({ ...chattyFinding, peer: 'postgresql/shop', peer_kind: 'database', peer_id: 'database:postgresql/shop' });
    expect(ex.todo[0]).toContain('WHERE id IN');
    expect(ex.seen).toContain('the database postgresql/shop');
  });

  it('explains a call storm differently', () => {
    const ex = explainFinding({ ...chattyFinding, evidence: { ...chattyFinding.evidence, sequential: false, pattern: 'call_storm' } });
    expect(ex.title).toMatch(/^Call storm/);
    expect(ex.seen).toContain('at the same time');
    expect(ex.remedies).toEqual(['batch', 'cache', 'paginate']);
  });

  it('explains a slow query as a database bottleneck', () => {
    const ex = explainFinding(bottleneckFinding);
    expect(ex.title).toBe('Bottleneck: payments-service SELECT * FROM ledger WHERE account_id = ?');
    expect(ex.seen).toContain('In slow web-frontend POST /checkout requests (those taking 100 ms or more: 4 of 12 traces)');
    expect(ex.seen).toContain('585 ms of 686 ms — 85% of the request');
    expect(ex.remedies).toContain('optimise query');
    expect(ex.facts).toContainEqual({ label: 'Share of request', value: '85%' });
  });

  it('points at the code when a bottleneck has no peer', () => {
    const ex = explainFinding({ ...bottleneckFinding, peer: '', peer_kind: '', peer_id: undefined, operation: 'render' });
    expect(ex.todo[0]).toMatch(/^Profile payments-service render/);
    expect(ex.remedies).toContain('profile');
  });

  it('explains oversized payloads with compression and pagination', () => {
    const ex = explainFinding(payloadFinding);
    expect(ex.title).toBe('Oversized response: catalog-service → image-service');
    expect(ex.seen).toBe(
      'Responses of catalog-service → image-service "GET /images/{id}" are typically 5 MiB (p95 5 MiB, largest 5 MiB), above the 1 MiB limit, over 8 calls.',
    );
    expect(ex.remedies).toEqual(['compress', 'paginate']);
    const outlier = explainFinding({ ...payloadFinding, evidence: { ...payloadFinding.evidence, reason: 'outlier', p50_bytes: 2048 } });
    expect(outlier.seen).toContain('far larger than usual');
    expect(outlier.facts).toContainEqual({ label: 'Threshold', value: '1 MiB (10× the usual size)' });
  });

  it('never fails on missing or odd evidence', () => {
    for (const f of [chattyFinding, bottleneckFinding, payloadFinding]) {
      const ex = explainFinding({ ...f, evidence: {} });
      expect(ex.title).toBeTruthy();
      expect(ex.seen).not.toContain('undefined');
      expect(ex.seen).not.toContain('NaN');
    }
    const unknown = explainFinding({ ...chattyFinding, kind: 'regression' } as unknown as Finding);
    expect(unknown.seen).toBe(chattyFinding.summary);
  });
});
