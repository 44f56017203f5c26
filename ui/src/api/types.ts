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
