// API responses shaped like the demo's (docs/api.md), for unit tests.
import type {
  Alert,
  AlertDelivery,
  AlertRule,
  Finding,
  ServiceGraphResponse,
  ServiceStats,
  Span,
  TraceResponse,
} from '../api/types';

export const services: ServiceStats[] = [
  { name: 'api-gateway', requests: 600, errors: 6, error_rate: 0.01, p50_ms: 40, p95_ms: 120, p99_ms: 300 },
  { name: 'orders-service', requests: 160, errors: 0, error_rate: 0, p50_ms: 70, p95_ms: 101.8, p99_ms: 140 },
  { name: 'inventory-service', requests: 1100, errors: 0, error_rate: 0, p50_ms: 5, p95_ms: 8.3, p99_ms: 9 },
  { name: 'payments-service', requests: 50, errors: 5, error_rate: 0.1, p50_ms: 610, p95_ms: 639, p99_ms: 700 },
];

export const graph: ServiceGraphResponse = {
  nodes: [
    { id: 'api-gateway', name: 'api-gateway', kind: 'service' },
    { id: 'orders-service', name: 'orders-service', kind: 'service' },
    { id: 'inventory-service', name: 'inventory-service', kind: 'service' },
    { id: 'payments-service', name: 'payments-service', kind: 'service' },
    { id: 'database:postgresql/shop', name: 'postgresql/shop', kind: 'database' },
    { id: 'messaging:kafka/orders', name: 'kafka/orders', kind: 'messaging' },
    { id: 'external:api.stripe.com', name: 'api.stripe.com', kind: 'external' },
  ],
  edges: [
    edge('api-gateway', 'orders-service', 160, 101.8),
    edge('api-gateway', 'payments-service', 50, 639),
    edge('orders-service', 'inventory-service', 1100, 8.3, { calls_per_trace_avg: 10 }),
    edge('orders-service', 'messaging:kafka/orders', 50, 3),
    edge('inventory-service', 'database:postgresql/shop', 1500, 5.2),
    edge('payments-service', 'database:postgresql/shop', 100, 599.8, { errors: 2, error_rate: 0.02 }),
    edge('payments-service', 'external:api.stripe.com', 50, 40, { response_bytes_avg: 2048 }),
  ],
};

function edge(source: string, target: string, calls: number, p95: number, extra: Partial<ServiceGraphResponse['edges'][0]> = {}) {
  return {
    source,
    target,
    calls,
    errors: 0,
    error_rate: 0,
    p50_ms: p95 / 2,
    p95_ms: p95,
    p99_ms: p95 * 1.2,
    request_bytes_avg: 0,
    response_bytes_avg: 0,
    calls_per_trace_avg: 1,
    ...extra,
  };
}

export const chattyFinding: Finding = {
  id: '39b8f1bb5c478996',
  kind: 'chatty',
  service: 'orders-service',
  operation: 'GET /items/{id}',
  peer: 'inventory-service',
  peer_kind: 'service',
  peer_id: 'inventory-service',
  severity: 'medium',
  score: 30.7,
  summary:
    'orders-service calls inventory-service GET /items/{id} 10× per request sequentially (N+1); batching would save ~59 ms per request',
  evidence: {
    calls_per_trace: 10,
    sequential: true,
    pattern: 'n_plus_one',
    total_ms_p50: 66,
    estimated_savings_ms: 58.88,
    caller_operation: 'GET /orders/{id}',
  },
  occurrences: 12,
  example_trace_ids: ['cd241f429f0e0a3fcbdd2fe302593a9a', '5b8efff798038103d269b633813fc60c'],
  first_seen: '2026-11-26T02:40:01Z',
  last_seen: '2026-11-26T02:40:21Z',
};

export const bottleneckFinding: Finding = {
  id: '03fccd3689a1c3d7',
  kind: 'bottleneck',
  service: 'payments-service',
  operation: 'SELECT * FROM ledger WHERE account_id = ?',
  peer: 'postgresql/shop',
  peer_kind: 'database',
  peer_id: 'database:postgresql/shop',
  severity: 'high',
  score: 61.8,
  summary: 'payments-service SELECT * FROM ledger WHERE account_id = ? takes 85% of web-frontend POST /checkout',
  evidence: {
    entry_service: 'web-frontend',
    entry_operation: 'POST /checkout',
    share: 0.853,
    exclusive_ms_p50: 585.01,
    trace_duration_ms_p50: 685.52,
    slow_threshold_ms: 100,
    slow_traces: 4,
    traces_examined: 12,
  },
  occurrences: 5,
  example_trace_ids: ['2deebfeebabc7e17d8a9467a3a55ac95'],
  first_seen: '2026-11-26T02:40:01Z',
  last_seen: '2026-11-26T02:40:21Z',
};

export const payloadFinding: Finding = {
  id: 'f861a26b09fe37dc',
  kind: 'oversized_payload',
  service: 'catalog-service',
  operation: 'GET /images/{id}',
  peer: 'image-service',
  peer_kind: 'service',
  peer_id: 'image-service',
  severity: 'medium',
  score: 31.2,
  summary: 'catalog-service → image-service GET /images/{id}: response bodies are 5.0 MiB at the median',
  evidence: {
    direction: 'response',
    p50_bytes: 5242973,
    p95_bytes: 5243697,
    max_bytes: 5243697,
    threshold_bytes: 1048576,
    samples: 8,
    reason: 'absolute',
  },
  occurrences: 17,
  example_trace_ids: ['93184baa9cd387a8ae5621ddadad2d2d'],
  first_seen: '2026-11-26T02:40:01Z',
  last_seen: '2026-11-26T02:40:21Z',
};

export const findings: Finding[] = [bottleneckFinding, payloadFinding, chattyFinding];

const T0 = 1_795_659_517_840_000_000;

export function span(id: string, parent: string, startMs: number, durMs: number, extra: Partial<Span> = {}): Span {
  return {
    span_id: id,
    parent_span_id: parent,
    service: 'svc',
    name: `op-${id}`,
    kind: 'internal',
    start_unix_nano: T0 + startMs * 1e6,
    duration_ns: durMs * 1e6,
    status_code: 'unset',
    status_message: '',
    scope_name: '',
    scope_version: '',
    attributes: {},
    resource_attributes: {},
    events: [],
    links: [],
    dropped_attributes_count: 0,
    self_time_ns: durMs * 1e6,
    on_critical_path: false,
    ...extra,
  };
}

/**
 * root (0–100 ms, CP) ─┬ a (10–40, CP) ── a1 (15–30, CP)
 *                      ├ b (20–35, parallel, not CP)
 *                      └ c (50–90, CP, error)
 */
export const smallTrace: TraceResponse = {
  trace_id: '5b8efff798038103d269b633813fc60c',
  spans: [
    span('root', '', 0, 100, { service: 'checkout', name: 'GET /cart', kind: 'server', on_critical_path: true, self_time_ns: 30e6 }),
    span('a', 'root', 10, 30, { service: 'orders', kind: 'client', on_critical_path: true, self_time_ns: 15e6 }),
    span('b', 'root', 20, 15, { service: 'orders' }),
    span('a1', 'a', 15, 15, {
      service: 'inventory',
      kind: 'server',
      on_critical_path: true,
      attributes: { 'http.route': '/items/{id}', 'http.response.status_code': 200, retried: false },
      events: [{ time_unix_nano: T0 + 16e6, name: 'cache miss', attributes: { key: 'item:1' } }],
      links: [{ trace_id: '0123456789abcdef0123456789abcdef', span_id: '0011223344556677', trace_state: '', attributes: {} }],
      resource_attributes: { 'service.name': 'inventory', 'host.name': 'inv-1' },
    }),
    span('c', 'root', 50, 40, { service: 'payments', on_critical_path: true, status_code: 'error', status_message: 'card declined' }),
  ],
};

// Alerting (docs/alerts.md), as a server with the demo's data and these rules answers.

export const chattyRule: AlertRule = {
  name: 'chatty-calls',
  type: 'finding',
  condition: 'a chatty finding of severity low or more was last seen within 10m',
  for: '0s',
  labels: { team: 'shop' },
  annotations: {},
  receivers: ['ops-webhook'],
  finding: { kind: 'chatty', min_severity: 'low', service: '', window: '10m0s' },
};

export const slowPaymentsRule: AlertRule = {
  name: 'slow-payments',
  type: 'metric',
  condition: 'p99_ms of calls from payments-service to any > 100 over the last 5m (at least 1 calls)',
  for: '2m0s',
  severity: 'critical',
  labels: {},
  annotations: {},
  receivers: ['ops-webhook', 'slack'],
  metric: { scope: 'edge', name: 'p99_ms', service: 'payments-service', peer: '', op: '>', threshold: 100, lookback: '5m0s', min_count: 1 },
};

export const errorRateRule: AlertRule = {
  name: 'payments-errors',
  type: 'metric',
  condition: 'error_rate of service payments-* > 0.05 over the last 10m (at least 50 requests)',
  for: '5m0s',
  severity: 'high',
  labels: {},
  annotations: {},
  receivers: ['slack'],
  metric: { scope: 'service', name: 'error_rate', service: 'payments-*', peer: '', op: '>=', threshold: 0.05, lookback: '10m0s', min_count: 50 },
};

export const alertRules: AlertRule[] = [chattyRule, slowPaymentsRule, errorRateRule];

export const chattyAlert: Alert = {
  fingerprint: 'fc3efe3d1dac9548',
  rule: 'chatty-calls',
  state: 'firing',
  labels: {
    alertname: 'chatty-calls',
    kind: 'chatty',
    operation: 'GET /items/{id}',
    peer: 'inventory-service',
    service: 'orders-service',
    severity: 'medium',
    team: 'shop',
  },
  annotations: {
    example_trace_id: '46c8cdfcc8121db2fa350894227acae1',
    finding_id: '39b8f1bb5c478996',
    last_seen: '2026-11-26T03:39:53Z',
    occurrences: '11',
    peer_kind: 'service',
    score: '30.2',
    summary: 'orders-service calls inventory-service GET /items/{id} 10× per request sequentially (N+1); batching would save ~56 ms per request',
    description: 'Batch the item lookups.',
    runbook_url: 'https://runbooks.example.com/n-plus-one?service=orders-service',
  },
  value: 30.2,
  active_at: '2026-11-26T03:39:56.309Z',
  fired_at: '2026-11-26T03:39:56.309Z',
  resolved_at: null,
  evaluated_at: '2026-11-26T03:40:32.309Z',
  generator_url: 'http://127.0.0.1:8080/findings?kind=chatty&service=orders-service',
};

export const slowPaymentsAlert: Alert = {
  fingerprint: '9f5d615b042fb562',
  rule: 'slow-payments',
  state: 'pending',
  labels: {
    alertname: 'slow-payments',
    kind: 'metric',
    metric: 'p99_ms',
    peer: 'postgresql/shop',
    peer_kind: 'database',
    scope: 'edge',
    service: 'payments-service',
    severity: 'critical',
  },
  annotations: {
    summary: 'p99 latency of calls from payments-service to postgresql/shop is 601.63 ms (> 100 ms over the last 5m)',
    threshold: '100',
    value: '601.63430275',
  },
  value: 601.63430275,
  active_at: '2026-11-26T03:39:56.309Z',
  fired_at: null,
  resolved_at: null,
  evaluated_at: '2026-11-26T03:40:32.309Z',
  generator_url: 'http://127.0.0.1:8080/servicegraph?source=payments-service&target=postgresql%2Fshop',
};

export const resolvedAlert: Alert = {
  ...chattyAlert,
  fingerprint: '0123456789abcdef',
  state: 'resolved',
  labels: { ...chattyAlert.labels, service: 'catalog-service', peer: 'image-service' },
  resolved_at: '2026-11-26T03:50:00Z',
};

export const alerts: Alert[] = [chattyAlert, slowPaymentsAlert, resolvedAlert];

export const deliveries: AlertDelivery[] = [
  {
    at: '2026-11-26T03:40:10.710Z',
    receiver: 'slack',
    integration: 'slack',
    group_key: '{}:{alertname="slow-payments"}',
    seq: 1,
    status: 'firing',
    alerts: 1,
    attempt: 2,
    outcome: 'retry',
    http_status: 503,
    error: 'https://hooks.slack.com/<redacted> responded 503 Service Unavailable',
    duration_ms: 3.2,
    instance: 'collector-1',
  },
  {
    at: '2026-11-26T03:39:57.076Z',
    receiver: 'ops-webhook',
    integration: 'webhook',
    group_key: '{}:{alertname="chatty-calls"}',
    seq: 1,
    status: 'firing',
    alerts: 1,
    attempt: 1,
    outcome: 'success',
    http_status: 200,
    error: '',
    duration_ms: 16.958,
    instance: 'collector-1',
  },
];
