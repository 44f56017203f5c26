// Types of the JSON API, mirroring docs/api.md (the authoritative
// reference) and the structs in web/*.go. Field names are the wire names.

/** The one error shape of every /api/v1 failure. */
export interface ApiErrorBody {
  error: string;
  error_type: ApiErrorType;
}

/** error_type values of docs/api.md, plus what the client adds itself. */
export type ApiErrorType =
  | 'bad_data'
  | 'not_found'
  | 'timeout'
  | 'internal'
  | 'bad_request'
  // client side: the server could not be reached or did not answer JSON
  | 'network'
  | 'bad_response';

/** Every list endpoint takes from/to (RFC 3339 or Unix ms); default: the last hour. */
export interface TimeWindow {
  from?: number | string;
  to?: number | string;
}

// GET /api/v1/traces

export interface TraceQuery extends TimeWindow {
  service?: string;
  operation?: string;
  min_duration_ms?: number;
  limit?: number;
}

export interface TraceSummary {
  trace_id: string;
  root_service: string;
  root_operation: string;
  start: string; // RFC 3339
  duration_ms: number;
  span_count: number;
  error_count: number;
  error: boolean;
}

export interface TracesResponse {
  traces: TraceSummary[];
}

// GET /api/v1/traces/{trace_id}

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type StatusCode = 'unset' | 'ok' | 'error';

/** Attribute values keep their OTLP type; bytes are base64 strings. */
export type AttributeValue =
  | string
  | number
  | boolean
  | null
  | AttributeValue[]
  | { [key: string]: AttributeValue };

export type Attributes = Record<string, AttributeValue>;

export interface SpanEvent {
  time_unix_nano: number;
  name: string;
  attributes: Attributes;
}

export interface SpanLink {
  trace_id: string;
  span_id: string;
  trace_state: string;
  attributes: Attributes;
}

export interface Span {
  span_id: string;
  parent_span_id: string;
  service: string;
  name: string;
  kind: SpanKind;
  /** Unix nanoseconds. Exceeds 2^53, so it is only exact to ~a quarter microsecond as a JS number. */
  start_unix_nano: number;
  duration_ns: number;
  status_code: StatusCode;
  status_message: string;
  scope_name: string;
  scope_version: string;
  attributes: Attributes;
  resource_attributes: Attributes;
  events: SpanEvent[];
  links: SpanLink[];
  dropped_attributes_count: number;
  self_time_ns: number;
  on_critical_path: boolean;
}

export interface TraceResponse {
  trace_id: string;
  spans: Span[];
}

// GET /api/v1/services

export interface ServiceStats {
  name: string;
  requests: number;
  errors: number;
  error_rate: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
}

export interface ServicesResponse {
  services: ServiceStats[];
}

// GET /api/v1/servicegraph

export type NodeKind = 'service' | 'database' | 'messaging' | 'external';

export interface GraphNode {
  /** A service's id is its name; a virtual node's is "kind:name". */
  id: string;
  name: string;
  kind: NodeKind;
}

export interface GraphEdge {
  source: string;
  target: string;
  calls: number;
  errors: number;
  error_rate: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  request_bytes_avg: number;
  response_bytes_avg: number;
  calls_per_trace_avg: number;
}

export interface ServiceGraphResponse {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

// GET /api/v1/findings

export type FindingKind = 'bottleneck' | 'chatty' | 'oversized_payload';
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** Evidence keys per kind, from docs/detection.md. All optional: read defensively. */
export interface BottleneckEvidence {
  entry_service?: string;
  entry_operation?: string;
  share?: number; // 0..1
  exclusive_ms_p50?: number;
  trace_duration_ms_p50?: number;
  slow_threshold_ms?: number;
  slow_traces?: number;
  traces_examined?: number;
}

export interface ChattyEvidence {
  calls_per_trace?: number;
  sequential?: boolean;
  pattern?: 'n_plus_one' | 'call_storm' | string;
  total_ms_p50?: number;
  estimated_savings_ms?: number;
  caller_operation?: string;
}

export interface PayloadEvidence {
  direction?: 'request' | 'response' | 'message' | string;
  p50_bytes?: number;
  p95_bytes?: number;
  max_bytes?: number;
  threshold_bytes?: number;
  samples?: number;
  reason?: 'absolute' | 'outlier' | string;
}

export type Evidence = BottleneckEvidence & ChattyEvidence & PayloadEvidence & Record<string, unknown>;

export interface Finding {
  id: string;
  kind: FindingKind;
  service: string;
  operation: string;
  peer: string;
  peer_kind: NodeKind | '';
  /** Graph node id of the peer; absent when there is no peer. */
  peer_id?: string;
  severity: Severity;
  score: number;
  summary: string;
  evidence: Evidence;
  occurrences: number;
  example_trace_ids: string[];
  first_seen: string;
  last_seen: string;
}

export interface FindingsQuery extends TimeWindow {
  kind?: FindingKind;
  service?: string;
  limit?: number;
}

export interface FindingsResponse {
  findings: Finding[];
}

// GET /api/v1/alerts, /alerts/rules, /alerts/deliveries (docs/alerts.md, web/alerts.go)

export type AlertState = 'firing' | 'pending' | 'resolved';

export interface Alert {
  /** FNV-1a hash of the sorted labels (Alertmanager's fingerprint). */
  fingerprint: string;
  rule: string;
  state: AlertState;
  /** alertname, kind, service, operation, peer, severity (metric rules: scope, metric, peer_kind) and the rule's labels. */
  labels: Record<string, string>;
  /** summary, finding_id, score, occurrences, last_seen, peer_kind, example_trace_id (finding rules); value, threshold (metric rules); the rule's. */
  annotations: Record<string, string>;
  value: number;
  active_at: string;
  /** null while pending. */
  fired_at: string | null;
  /** null unless resolved. */
  resolved_at: string | null;
  evaluated_at: string;
  generator_url: string;
}

export interface AlertsQuery {
  /** firing (the server's default), pending, resolved or all. */
  state?: AlertState | 'all';
  since?: number | string;
  to?: number | string;
  /** name=value pairs, all must match (the repeatable label parameter). */
  labels?: string[];
}

export interface AlertsResponse {
  alerts: Alert[];
}

export interface FindingRuleSpec {
  /** Empty: any kind. */
  kind: FindingKind | '';
  min_severity: Severity;
  /** Empty: any service; a name or a glob. */
  service: string;
  /** Go duration, e.g. "10m0s". */
  window: string;
}

export type MetricOp = '>' | '>=' | '<' | '<=';

export interface MetricRuleSpec {
  scope: 'service' | 'edge';
  /** p50_ms, p95_ms, p99_ms, error_rate; edges also calls_per_trace, request_bytes, response_bytes. */
  name: string;
  service: string;
  peer: string;
  op: MetricOp;
  threshold: number;
  /** Go duration, e.g. "5m0s". */
  lookback: string;
  min_count: number;
}

export interface AlertRule {
  name: string;
  type: 'finding' | 'metric';
  /** The server's one-sentence description. */
  condition: string;
  /** Go duration, e.g. "2m0s". */
  for: string;
  /** Absent on finding rules that take the finding's severity. */
  severity?: Severity;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Receivers notified (every receiver when the rule names none). */
  receivers: string[];
  finding?: FindingRuleSpec;
  metric?: MetricRuleSpec;
}

export interface AlertRulesResponse {
  rules: AlertRule[];
}

export type DeliveryOutcome = 'success' | 'retry' | 'failed';

export interface AlertDelivery {
  at: string;
  receiver: string;
  integration: 'webhook' | 'slack' | 'alertmanager' | string;
  group_key: string;
  seq: number;
  /** firing or resolved: the notification's status. */
  status: string;
  alerts: number;
  attempt: number;
  outcome: DeliveryOutcome;
  /** 0 when no HTTP answer came (network error, timeout). */
  http_status: number;
  /** Redacted: URLs show as scheme://host/<redacted>. */
  error: string;
  duration_ms: number;
  instance: string;
}

export interface DeliveriesQuery extends TimeWindow {
  receiver?: string;
  outcome?: DeliveryOutcome;
  limit?: number;
}

export interface AlertDeliveriesResponse {
  deliveries: AlertDelivery[];
}
