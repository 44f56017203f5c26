// Builds OTLP/JSON export requests (the shape of POST /v1/traces with
// Content-Type: application/json) for traces the demo does not make: a very
// large trace for the virtualised waterfall.
import { randomBytes } from 'node:crypto';

export const hex = (bytes) => randomBytes(bytes).toString('hex');

const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

function attr(key, value) {
  if (typeof value === 'number') return { key, value: Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value } };
  if (typeof value === 'boolean') return { key, value: { boolValue: value } };
  return { key, value: { stringValue: String(value) } };
}

/**
 * A trace of 1 + fanout + fanout × leaves spans: a gateway request that
 * runs `fanout` sequential batch steps, each issuing `leaves` sequential
 * queries. Returns { traceId, spanCount, requests } where requests are
 * OTLP/JSON bodies of at most `perRequest` spans each. It starts three
 * hours ago by default, outside the views' default window (the last hour),
 * so it does not crowd the demo's map and findings.
 */
export function bigTrace({ fanout = 100, leaves = 199, perRequest = 4000, startMs = Date.now() - 3 * 3_600_000 } = {}) {
  const traceId = hex(16);
  const ns = (ms) => String(BigInt(Math.round(ms * 1000)) * 1000n);
  const spans = []; // [service, span]
  const leafMs = 0.05;
  const stepMs = leaves * leafMs + 0.2;
  const totalMs = fanout * stepMs + 1;
  const rootId = hex(8);
  spans.push([
    'big-gateway',
    {
      traceId,
      spanId: rootId,
      name: 'POST /reports/rebuild',
      kind: SPAN_KIND.server,
      startTimeUnixNano: ns(startMs),
      endTimeUnixNano: ns(startMs + totalMs),
      attributes: [attr('http.request.method', 'POST'), attr('http.route', '/reports/rebuild'), attr('http.response.status_code', 200)],
      status: {},
    },
  ]);
  for (let i = 0; i < fanout; i++) {
    const stepId = hex(8);
    const s0 = startMs + 0.5 + i * stepMs;
    spans.push([
      'big-worker',
      {
        traceId,
        spanId: stepId,
        parentSpanId: rootId,
        name: `rebuild step ${i}`,
        kind: SPAN_KIND.internal,
        startTimeUnixNano: ns(s0),
        endTimeUnixNano: ns(s0 + stepMs - 0.1),
        attributes: [attr('step', i)],
        status: {},
      },
    ]);
    for (let j = 0; j < leaves; j++) {
      const l0 = s0 + 0.05 + j * leafMs;
      spans.push([
        'big-worker',
        {
          traceId,
          spanId: hex(8),
          parentSpanId: stepId,
          name: 'SELECT row',
          kind: SPAN_KIND.client,
          startTimeUnixNano: ns(l0),
          endTimeUnixNano: ns(l0 + leafMs * 0.8),
          attributes: [attr('db.system.name', 'postgresql'), attr('db.namespace', 'reports'), attr('db.query.text', `SELECT * FROM rows WHERE id = ${i * leaves + j}`)],
          status: {},
        },
      ]);
    }
  }
  const requests = [];
  for (let k = 0; k < spans.length; k += perRequest) {
    const chunk = spans.slice(k, k + perRequest);
    const byService = new Map();
    for (const [svc, span] of chunk) {
      if (!byService.has(svc)) byService.set(svc, []);
      byService.get(svc).push(span);
    }
    requests.push({
      resourceSpans: [...byService].map(([svc, list]) => ({
        resource: { attributes: [attr('service.name', svc)] },
        scopeSpans: [{ scope: { name: 'tracehound-ui-e2e', version: '1' }, spans: list }],
      })),
    });
  }
  return { traceId, spanCount: spans.length, requests };
}

/**
 * One small trace per service of a `count`-service system: svc-i serves
 * GET /work and calls two other services, so the service graph has `count`
 * nodes and about 2 × `count` edges. Returns OTLP/JSON request bodies.
 */
export function manyServices({ count = 300, startMs = Date.now() - 120_000, perRequest = 100 } = {}) {
  const ns = (ms) => String(BigInt(Math.round(ms * 1000)) * 1000n);
  const name = (i) => `svc-${String(i).padStart(3, '0')}`;
  const spans = [];
  for (let i = 0; i < count; i++) {
    const traceId = hex(16);
    const t = startMs + i * 10;
    const root = hex(8);
    spans.push([name(i), { traceId, spanId: root, name: 'GET /work', kind: SPAN_KIND.server, startTimeUnixNano: ns(t), endTimeUnixNano: ns(t + 20), attributes: [attr('http.route', '/work')], status: {} }]);
    for (const [k, callee] of [[0, (i * 7 + 1) % count], [1, (i * 13 + 5) % count]]) {
      if (callee === i) continue;
      const client = hex(8);
      const c0 = t + 2 + k * 8;
      spans.push([name(i), { traceId, spanId: client, parentSpanId: root, name: 'GET /work', kind: SPAN_KIND.client, startTimeUnixNano: ns(c0), endTimeUnixNano: ns(c0 + 6), attributes: [attr('http.request.method', 'GET'), attr('server.address', name(callee))], status: {} }]);
      spans.push([name(callee), { traceId, spanId: hex(8), parentSpanId: client, name: 'GET /work', kind: SPAN_KIND.server, startTimeUnixNano: ns(c0 + 1), endTimeUnixNano: ns(c0 + 5), attributes: [attr('http.route', '/work')], status: {} }]);
    }
  }
  const requests = [];
  for (let k = 0; k < spans.length; k += perRequest) {
    const byService = new Map();
    for (const [svc, span] of spans.slice(k, k + perRequest)) {
      if (!byService.has(svc)) byService.set(svc, []);
      byService.get(svc).push(span);
    }
    requests.push({
      resourceSpans: [...byService].map(([svc, list]) => ({
        resource: { attributes: [attr('service.name', svc)] },
        scopeSpans: [{ scope: { name: 'tracehound-ui-e2e', version: '1' }, spans: list }],
      })),
    });
  }
  return { count, requests };
}
