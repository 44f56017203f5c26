// Package detect derives service-graph calls from traces and finds what
// makes service-to-service communication slow or wasteful: latency
// bottlenecks, chatty call patterns (N+1 and call storms) and oversized
// payloads.
//
// The analyzer loads a batch of complete traces and calls Detect (findings)
// and Calls (service-graph edges, one trace at a time). Both are pure
// functions of their input: no state is kept between calls, nothing is
// modified, and results are deterministic. Thresholds live in Config (the
// "detection" section of the configuration file); every default is listed
// below with its reason.
//
// # Operation names
//
// Spans are grouped by service and normalised operation (NormalizeOperation):
//
//   - SQL: db.query.text (or the deprecated db.statement) when it starts with
//     an SQL keyword, else the span name of a database span when that starts
//     with one. String, number, hex and dollar-quoted literals and $n
//     placeholders become "?", comments are dropped, whitespace is collapsed,
//     IN lists become "IN (?)" and multi-row VALUES keep one tuple. Quoted
//     identifiers and keyword case are kept. Non-SQL statements (Redis,
//     MongoDB) are not used: their span name is.
//   - HTTP servers: "METHOD route" from http.route, which the framework has
//     already templated.
//   - Generic HTTP client names ("GET", "HTTP GET", "HTTP"): "METHOD path"
//     from url.template, url.path, http.target, url.full or http.url.
//   - Everything else: the span name. In names and paths, "scheme://host",
//     query strings and fragments are dropped; segments (between '/' and
//     spaces) that are numbers (also dates and "1.2"), UUIDs, hex strings
//     (8+ characters with a digit, or 16+), e-mail-like tokens or long
//     random tokens (16+ characters of letters, digits, '-' and '_' with at
//     least two digits) become "{id}", as do UUIDs and hex ids embedded in
//     a segment and digit runs not glued to a letter ("user-123" →
//     "user-{id}", but "v1" and "oauth2" stay).
//
// Results are at most 200 characters. Normalisation is memoised within one
// Detect call.
//
// # Service graph
//
// Calls turns a trace into edge calls between nodes. A node is a service
// (an instrumented service.name) or a virtual node for an un-instrumented
// peer, named by Peer:
//
//   - database: "system/namespace", e.g. "postgresql/orders", from
//     db.system.name / db.system and db.namespace / db.name; the system
//     alone without a namespace. Namespaces separate logical databases; the
//     host is left out so that replicas and failovers stay one node.
//   - messaging: "system/destination", e.g. "kafka/orders", from
//     messaging.system and messaging.destination.template /
//     messaging.destination.name / messaging.destination;
//     "system/(temporary)" for temporary or anonymous destinations.
//   - service: peer.service or service.peer.name. These name the remote
//     service's service.name by definition, so the node merges with the
//     instrumented service of that name.
//   - external: server.address, net.peer.name, http.host (port dropped) or
//     the host of url.full / http.url; then rpc.service; then, last, an IP
//     address (network.peer.address, net.sock.peer.addr, net.peer.ip).
//
// The rules:
//
//   - A CLIENT or PRODUCER span calls the SERVER and CONSUMER spans it
//     caused: its children, and CONSUMER spans linking to it (a link naming
//     this trace; links into other traces cannot be resolved within one
//     trace). The edge goes from the client's service to each callee's
//     service, counted once per callee service from the client span
//     (SpanID, start, duration and error are the client span's); sizes come
//     from the client span, missing directions from the callee.
//   - Messaging: a PRODUCER with messaging.* attributes that has consumers
//     gives two hops, producer service → queue node (from the producer span)
//     and queue node → consumer service (from each consumer span, with the
//     consumer's duration and error and the message size), so the queue is
//     on the map. A PRODUCER without messaging.* attributes connects
//     directly to its consumers' services.
//   - A CLIENT or PRODUCER span without instrumented callees calls the
//     virtual node Peer names. Spans that nothing identifies are dropped
//     rather than drawn to an "unknown" node: such a node would merge
//     unrelated peers, and the caller's missing attributes are better fixed
//     at the source. A client span whose child is a client span of the same
//     service (an SDK call over HTTP) is a wrapper: only the inner call
//     counts.
//   - Receiving: a CLIENT span whose messaging operation is "receive" draws
//     queue → its service; CONSUMER children of a CLIENT span of the same
//     service are the processing of received messages, not callees.
//   - A CONSUMER span with messaging attributes that no in-trace producer
//     reached (its producer is in another trace) draws queue → its service.
//   - A SERVER or CONSUMER span whose parent is a span of another service
//     that is not a client/producer (the caller is not instrumented with
//     client spans) draws parent service → its service, counted from the
//     server span. Root spans, spans whose parent is missing, and callee
//     spans whose parent has the same service draw nothing.
//
// Call.SpanID is the span a call is counted from; (TraceID, SpanID, Target)
// identifies a call, so a trace loaded twice can be de-duplicated. Calls
// are ordered by start time. Error is status ERROR or an error.type
// attribute on that span.
//
// Payload sizes (PayloadSizes) come from http.request.body.size /
// http.response.body.size (deprecated http.request_content_length /
// http.response_content_length; http.request.size / http.response.size,
// which include headers, as a last resort), messaging.message.body.size
// (deprecated messaging.message.payload_size_bytes) as the request, and
// otherwise from "rpc.message" (older "message") events, summing
// uncompressed (else compressed) sizes of SENT and RECEIVED messages.
// Values are read from TypedAttributes (JSON numbers) or Attributes
// (strings).
//
// # Bottleneck
//
// For each trace the entry span is the root (preferring a zero parent id,
// then the earliest, then the longest), and the entry operation its service
// and normalised name. A trace is slow when its entry span lasts at least
// bottleneck.min_trace_duration (100ms) and, when the batch has at least
// bottleneck.min_traces_for_quantile (4) traces of that entry, at least the
// bottleneck.slow_quantile (0.75, empirical, gonum/stat) of their
// durations. Only slow traces are analysed, with critpath.Analyze (clock
// skew, parallel and asynchronous children handled there; same-trace links
// are passed as LinkedTo). Within the entry span's tree, the self time of
// the spans on the critical path is summed per group (service, normalised
// operation). The group with the most is a candidate when its share of the
// entry span's duration is at least bottleneck.min_share (0.40) and its
// time at least bottleneck.min_self_time (100ms). Because time is summed
// per group, a parent that is slow only because of its children gets
// little (its self time is small) and its children are weighed instead;
// asynchronous work (a consumer, fire-and-forget spans) is never on the
// critical path; requests under 100 ms are never slow. An N+1 whose
// repeated calls together dominate a request is also a bottleneck of the
// callee group: the chatty finding explains why.
//
// Candidates are aggregated per (entry, group); at least
// bottleneck.min_occurrences (1) slow traces are needed. Peer is the node
// the group's span calls when it is a CLIENT/PRODUCER span (for a slow query
// the database node), the most common over occurrences, else "". Evidence:
//
//   - entry_service, entry_operation: the entry operation.
//   - share: median share over the occurrences (0..1, three decimals).
//   - exclusive_ms_p50: median exclusive critical-path time of the group.
//   - trace_duration_ms_p50: median entry-span duration of the occurrences.
//   - slow_threshold_ms: the slow threshold applied to the entry.
//   - slow_traces: slow traces of the entry in the batch.
//   - traces_examined: traces of the entry in the batch.
//
// Score = 50 × share + 25 × log10(exclusive_ms_p50 / 100), so a group taking
// 40 % and 100 ms scores 20 (low), 86 % and 600 ms 62 (high), 95 % of 10 s
// 97 (critical).
//
// # Chatty
//
// Within one trace, calls (as from Calls, but not queue → consumer hops) are
// grouped by caller span, callee node and callee operation. The caller span
// is the local entry of the calling code: walking up from the client span's
// parent through spans of the same service, the first SERVER or CONSUMER
// span (or the topmost), so that calls wrapped one by one in repository or
// helper spans are still seen as one loop. Client spans without a parent
// have no caller and are not grouped. The callee operation is the
// client span's normalised operation, or the server child's when the
// client's is generic. A group with at least chatty.min_calls (5) calls is
// an occurrence; two or three repeated calls are common and harmless, and
// five is where batching starts to pay (Sentry's N+1 detectors use the same
// count). The calls are sequential (N+1, pattern "n_plus_one") when at most
// chatty.max_overlap (0.10) of their summed duration overlaps, which
// tolerates jitter and back-to-back calls; otherwise they are a call storm
// ("call_storm"). Groups whose summed duration is below
// chatty.min_total_duration (0: repetition is wasteful even when fast) are
// ignored. A fan-out to different services or to different operations is
// never grouped.
//
// Occurrences are aggregated per (caller service, callee node, operation),
// keeping the worst caller span per trace. Evidence:
//
//   - calls_per_trace: median number of calls.
//   - sequential: true when most occurrences are sequential.
//   - pattern: "n_plus_one" or "call_storm", following sequential.
//   - total_ms_p50: median summed duration of the calls.
//   - estimated_savings_ms: median of (summed duration − slowest call), what
//     one batched call would save: request latency for N+1, call time (load
//     on the callee and the network) for a storm.
//   - caller_operation: the caller span's operation (most common).
//
// Score = 25 × log10(1 + savings_ms / 5) + 10 × log10(calls / min_calls):
// ten 4.5 ms calls score 27 (medium), a hundred 5 ms calls 63 (high).
//
// # Oversized payload
//
// Sizes are grouped per (caller service, callee node, operation, direction)
// over the batch, the direction being "request", "response" or "message"
// (calls from PRODUCER spans; queue → consumer hops are not counted again).
// A group is flagged when
//
//   - "absolute": it has at least payload.min_samples (1) sizes and their
//     median is at least payload.absolute_bytes (1 MiB): service payloads
//     are typically kilobytes, and a megabyte per call costs noticeable
//     serialisation time and bandwidth; or
//   - "outlier": it has at least payload.outlier_min_samples (20) sizes
//     (a p95 of fewer is just the maximum), its p95 is at least
//     payload.outlier_factor (10) times its median (an order of magnitude
//     above the edge's own norm) and at least payload.outlier_min_bytes
//     (512 KiB, so that 2 KB calls with 30 KB outliers are left alone).
//
// 300 KB payloads are therefore not flagged. Occurrences are the traces
// with a size at or above the threshold. Evidence: direction, p50_bytes,
// p95_bytes, max_bytes (empirical quantiles), threshold_bytes (absolute:
// absolute_bytes; outlier: max(outlier_factor × p50, outlier_min_bytes)),
// samples, reason ("absolute" or "outlier"). Score = 5 + 37.5 ×
// log10(p50 / threshold) for "absolute" (1 MiB scores 5, 5 MiB 31, 20 MiB
// 54, 100 MiB 80) and 37.5 × log10(2 × p95 / threshold) for "outlier".
//
// # Latency regression
//
// Once a minute (the minute that ended at least 30 s ago, so its spans have
// arrived), every operation — a SERVER or CONSUMER span name of a service,
// pre-aggregated per minute — is compared with its own history: its p95
// over the last regression.recent (5m) against its p95 over the
// regression.baseline (1h) before that. It is a regression, reported as a
// bottleneck finding with evidence "regression": true, when both windows
// have enough requests (regression.min_recent_samples 20,
// regression.min_baseline_samples 100: no finding before a baseline
// exists), the recent p95 is at least regression.factor (1.5) times the
// baseline and at least regression.min_increase (50ms) above it (so a fast
// operation's jitter is not a regression). Evidence: entry_service,
// entry_operation (the operation), current_p95_ms, baseline_p95_ms, factor,
// recent_requests, baseline_requests, recent_window, baseline_window.
// Example traces are those of the slowest recent requests. Score = 7 + 40 ×
// log10(factor) + 20 × log10(1 + increase_ms / 100).
//
// # Findings
//
// Severity is a band of Score: low below 25, medium below 50, high below
// 75, critical from 75. Findings are sorted by Score, highest first.
// Finding.ID is the first 16 hex characters of the SHA-256 of kind,
// service, operation and peer, plus the entry service and operation for a
// bottleneck and the direction for an oversized payload, so that findings
// of different entries or directions do not collide; it is stable across
// batches. ExampleTraceIDs are up to five occurrences, worst first (the
// most exclusive time, the largest savings, the largest payload).
// FirstSeen and LastSeen are span start times of the occurrences (the
// entry span, the repeated calls, the oversized calls). Finding implements
// json.Marshaler with the findings API's snake_case keys.
//
// # Performance
//
// BenchmarkDetect (1000 traces of 30 spans, with unique SQL literals and
// URL ids in every span) runs in about 40 ms per batch, about 1.3 µs per
// span, on a 2-core x86-64 machine; most of it is building the calls and
// normalising operation names. Run it with
//
//	go test -run '^$' -bench Detect -benchmem ./analysis/detect/
package detect
