package ingest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Zipkin v2 ingest: POST /api/v2/spans with a JSON array of Zipkin v2 spans
// (https://zipkin.io/zipkin-api/#/default/post_spans), optionally gzip.
//
// The spans are translated to OTLP (pdata) and go through the same path as
// an OTLP export: the same validation and limits (Convert, on their
// protobuf encoding, with the otlp.* settings), the same Sink, the same backpressure (503 + Retry-After when
// the queue is full or tracehound is stopping, 503 when more than
// otlp.max_concurrent_requests HTTP requests are in flight; the limit is
// shared with OTLP/HTTP) and the same metrics, with protocol="zipkin".
// Invalid spans (all-zero ids, no timestamp) are dropped one by one and
// counted, as in OTLP; a body that is not a JSON array of Zipkin spans, or
// a span with ids that are not hex, is refused whole with 400.
//
// Mapping (as the OpenTelemetry Collector's zipkin receiver, with current
// semantic-convention names):
//
//   - traceId: 16 or 32 hex characters; shorter ids are left-padded with
//     zeros to 32 (a 64-bit id 463ac35c9f6413ad is stored as
//     0000000000000000463ac35c9f6413ad). id and parentId: up to 16 hex,
//     left-padded.
//   - kind CLIENT, SERVER, PRODUCER, CONSUMER → the span kind; absent →
//     INTERNAL.
//   - timestamp and duration (µs) → start and end (ns).
//   - localEndpoint.serviceName → the resource attribute service.name (so
//     the span's service); ipv4/ipv6 and port → network.local.address and
//     network.local.port.
//   - remoteEndpoint.serviceName → peer.service; ipv4/ipv6 and port →
//     network.peer.address and network.peer.port.
//   - tags → string attributes. The "error" tag sets status ERROR with the
//     tag's value as the status message (and is not kept as an attribute);
//     "otel.status_code" (OK/ERROR) and "otel.status_description", which
//     OpenTelemetry's Zipkin exporters write, set the status likewise.
//   - annotations → events named by their value.
//   - shared: true (the server half of an RPC whose id the client chose,
//     B3 "joined" spans): both halves would have the same span id, and
//     tracehound keys spans by id, so the shared half gets a new id derived
//     from the trace and span ids (the same on every instance and retry)
//     and the client half becomes its parent. Spans of the same service in
//     the same request whose parentId is the shared id are re-parented to
//     the new id; such children sent in other requests stay children of the
//     client half, which keeps the trace connected.
//   - debug is ignored.

// protoZipkin is the protocol label of Zipkin requests.
const protoZipkin = "zipkin"

// ZipkinSpansPath is where Zipkin reporters send spans.
const ZipkinSpansPath = "/api/v2/spans"

// ZipkinHandler returns the net/http handler of Zipkin's v2 span upload. It
// answers POST with 202 Accepted and an empty body, like Zipkin (with a
// plain-text note when some spans were invalid); errors are plain text. It
// uses the receiver's limits, sink and metrics, and refuses requests once
// Shutdown has begun, so it can be served on another server (the API
// address) while Start/Shutdown manage the OTLP listeners. It may be
// called before Start.
func (r *Receiver) ZipkinHandler() http.Handler {
	r.metrics.received.WithLabelValues(protoZipkin)
	r.metrics.accepted.WithLabelValues(protoZipkin)
	return r.zipkinGate(http.HandlerFunc(r.serveZipkin))
}

func (r *Receiver) serveZipkin(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.zipkinError(w, req, newError(kindMethodNotAllowed, reasonMethodNotAllow,
			"method %s is not allowed on %s; use POST", req.Method, ZipkinSpansPath))
		return
	}
	if e := zipkinContentType(req.Header.Get("Content-Type")); e != nil {
		r.zipkinError(w, req, e)
		return
	}
	select {
	case r.httpSlots <- struct{}{}:
		defer func() { <-r.httpSlots }()
	default:
		r.zipkinError(w, req, r.overloaded("Zipkin"))
		return
	}
	body, release, e := r.readBody(w, req)
	if e != nil {
		release()
		r.zipkinError(w, req, e)
		return
	}
	td, err := ZipkinToTraces(body)
	release()
	if err != nil {
		r.zipkinError(w, req, newError(kindBadInput, reasonMalformed, "%v", err))
		return
	}
	res, err := convertTraces(td, r.cfg)
	if err != nil {
		r.zipkinError(w, req, newError(kindInternal, reasonInternal, "converting the Zipkin spans: %v", err))
		return
	}
	resp, err := r.export(req.Context(), protoZipkin, &res)
	if err != nil {
		r.zipkinError(w, req, classify(err))
		return
	}
	r.metrics.requests.WithLabelValues(protoZipkin, resp.outcome()).Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	if resp.message != "" {
		_, _ = w.Write([]byte(resp.message + "\n"))
	}
}

// zipkinContentType accepts JSON (and a missing Content-Type, as JSON).
func zipkinContentType(v string) *exportError {
	if v == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return newError(kindUnsupportedMediaType, reasonUnsupported,
			"unreadable Content-Type %q (%v); send Zipkin v2 JSON as application/json", v, err)
	}
	switch mt {
	case contentTypeJSON:
		return nil
	case contentTypeProto:
		return newError(kindUnsupportedMediaType, reasonUnsupported,
			"Zipkin protobuf (application/x-protobuf) is not supported; send Zipkin v2 JSON as application/json")
	case "application/x-thrift":
		return newError(kindUnsupportedMediaType, reasonUnsupported,
			"Zipkin v1 Thrift is not supported; send Zipkin v2 JSON as application/json")
	default:
		return newError(kindUnsupportedMediaType, reasonUnsupported,
			"unsupported Content-Type %q; send Zipkin v2 JSON as application/json", mt)
	}
}

// zipkinError answers with e's status and message as plain text, sets
// Retry-After on retryable errors, and counts the request.
func (r *Receiver) zipkinError(w http.ResponseWriter, req *http.Request, e *exportError) {
	if e.kind == kindUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(int(retryDelay.Seconds())))
	}
	r.metrics.requests.WithLabelValues(protoZipkin, e.reason).Inc()
	r.logger.Debug("Zipkin request refused", "reason", e.reason, "status", e.kind.httpStatus(),
		"remote", req.RemoteAddr, "error", e.msg)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.kind.httpStatus())
	_, _ = w.Write([]byte(e.msg + "\n"))
}

// zipkinSpan is a Zipkin v2 span as JSON.
type zipkinSpan struct {
	TraceID        string               `json:"traceId"`
	ParentID       string               `json:"parentId"`
	ID             string               `json:"id"`
	Kind           string               `json:"kind"`
	Name           string               `json:"name"`
	Timestamp      zipkinMicros         `json:"timestamp"`
	Duration       zipkinMicros         `json:"duration"`
	Debug          bool                 `json:"debug"`
	Shared         bool                 `json:"shared"`
	LocalEndpoint  *zipkinEndpoint      `json:"localEndpoint"`
	RemoteEndpoint *zipkinEndpoint      `json:"remoteEndpoint"`
	Annotations    []zipkinAnnotation   `json:"annotations"`
	Tags           map[string]zipkinTag `json:"tags"`
}

type zipkinEndpoint struct {
	ServiceName string `json:"serviceName"`
	IPv4        string `json:"ipv4"`
	IPv6        string `json:"ipv6"`
	Port        int64  `json:"port"`
}

type zipkinAnnotation struct {
	Timestamp zipkinMicros `json:"timestamp"`
	Value     string       `json:"value"`
}

// zipkinMicros is a count of microseconds: a JSON integer, or (as some
// reporters write) a number in float or exponent notation.
type zipkinMicros int64

func (m *zipkinMicros) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*m = zipkinMicros(n)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f > math.MaxInt64 || f < math.MinInt64 {
		return fmt.Errorf("want a number of microseconds, got %s", s)
	}
	*m = zipkinMicros(f)
	return nil
}

// zipkinTag is a tag value: a JSON string per the spec; numbers and
// booleans, which some reporters send, are kept as their JSON text.
type zipkinTag string

func (t *zipkinTag) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = zipkinTag(s)
	case string(b) == "null":
		*t = ""
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return errors.New("a tag value must be a string")
	default:
		*t = zipkinTag(b)
	}
	return nil
}

// zipkinIDs are a span's decoded ids.
type zipkinIDs struct {
	trace  pcommon.TraceID
	span   pcommon.SpanID
	parent pcommon.SpanID
}

// ZipkinToTraces decodes a Zipkin v2 JSON body (an array of spans) into
// OTLP traces, one resource per local service. It fails, naming the span
// and field, when the body is not such an array or an id is not hex of the
// allowed length; spans that are merely invalid (zero ids, no timestamp)
// are left for Convert to reject.
func ZipkinToTraces(body []byte) (ptrace.Traces, error) {
	td := ptrace.NewTraces()
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return td, errors.New("the body must be a JSON array of Zipkin v2 spans ([{\"traceId\": …, \"id\": …}, …]); " +
			"Zipkin v1 and single spans are not accepted")
	}
	var spans []zipkinSpan
	if err := json.Unmarshal(trimmed, &spans); err != nil {
		return td, zipkinJSONError(trimmed, err)
	}
	ids := make([]zipkinIDs, len(spans))
	for i := range spans {
		if err := spans[i].ids(&ids[i]); err != nil {
			return td, fmt.Errorf("span %d: %w", i, err)
		}
		if err := spans[i].checkTimes(); err != nil {
			return td, fmt.Errorf("span %d (id %s): %w", i, spans[i].ID, err)
		}
	}
	shareIDs(spans, ids)

	resources := map[string]ptrace.SpanSlice{}
	for i := range spans {
		zs := &spans[i]
		service := ""
		if zs.LocalEndpoint != nil {
			service = zs.LocalEndpoint.ServiceName
		}
		dst, ok := resources[service]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			if service != "" {
				rs.Resource().Attributes().PutStr("service.name", service)
			}
			dst = rs.ScopeSpans().AppendEmpty().Spans()
			resources[service] = dst
		}
		zs.toOTLP(dst.AppendEmpty(), &ids[i])
	}
	return td, nil
}

// zipkinJSONError makes a decoding error readable: where the syntax error
// is, or which field has the wrong type.
func zipkinJSONError(body []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("malformed JSON at byte %d (near %q): %v", se.Offset, near(body, se.Offset), se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "span"
		}
		return fmt.Errorf("invalid Zipkin v2 span: field %s: JSON %s where %s is expected", field, te.Value, jsonKind(te.Type.Kind().String()))
	default:
		return fmt.Errorf("invalid Zipkin v2 JSON: %v", err)
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int64", "int", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "struct", "map", "ptr":
		return "an object"
	case "slice":
		return "an array"
	}
	return goKind
}

// near returns up to 20 bytes of body around offset.
func near(body []byte, offset int64) string {
	start := max(int(offset)-10, 0)
	end := min(int(offset)+10, len(body))
	if start > end {
		return ""
	}
	return string(body[start:end])
}

// ids decodes and pads the span's ids.
func (zs *zipkinSpan) ids(out *zipkinIDs) error {
	if err := decodeZipkinID(out.trace[:], zs.TraceID, "traceId"); err != nil {
		return err
	}
	if err := decodeZipkinID(out.span[:], zs.ID, "id"); err != nil {
		return err
	}
	if zs.ParentID != "" {
		if err := decodeZipkinID(out.parent[:], zs.ParentID, "parentId"); err != nil {
			return err
		}
	}
	return nil
}

// decodeZipkinID decodes up to 2*len(dst) hex characters into dst,
// left-padded with zeros. An empty id leaves dst zero (Convert rejects the
// span).
func decodeZipkinID(dst []byte, s, field string) error {
	if s == "" {
		return nil
	}
	if len(s) > 2*len(dst) {
		return fmt.Errorf("%s %q is longer than %d hex characters", field, s, 2*len(dst))
	}
	var buf [32]byte
	n := 2 * len(dst)
	for i := range n - len(s) {
		buf[i] = '0'
	}
	copy(buf[n-len(s):n], s)
	if _, err := hex.Decode(dst, buf[:n]); err != nil {
		return fmt.Errorf("%s %q is not hexadecimal", field, s)
	}
	return nil
}

// maxZipkinMicros keeps start+duration in nanoseconds within int64.
const maxZipkinMicros = math.MaxInt64 / 1000

func (zs *zipkinSpan) checkTimes() error {
	switch {
	case zs.Timestamp < 0:
		return errors.New("timestamp is negative")
	case zs.Duration < 0:
		return errors.New("duration is negative")
	case int64(zs.Timestamp) > maxZipkinMicros-int64(zs.Duration):
		return errors.New("timestamp + duration is after the year 2262")
	}
	for _, a := range zs.Annotations {
		if a.Timestamp < 0 || int64(a.Timestamp) > maxZipkinMicros {
			return fmt.Errorf("annotation %q: timestamp %d out of range", a.Value, a.Timestamp)
		}
	}
	return nil
}

// shareIDs gives the shared (server) half of each shared span its own id,
// with the client half as parent, and re-parents same-service children in
// the request.
func shareIDs(spans []zipkinSpan, ids []zipkinIDs) {
	type sharedKey struct {
		trace   pcommon.TraceID
		span    pcommon.SpanID
		service string
	}
	var renamed map[sharedKey]pcommon.SpanID
	for i := range spans {
		if !spans[i].Shared || ids[i].span.IsEmpty() {
			continue
		}
		orig := ids[i].span
		ids[i].span = SharedSpanID(ids[i].trace, orig)
		ids[i].parent = orig
		if renamed == nil {
			renamed = map[sharedKey]pcommon.SpanID{}
		}
		renamed[sharedKey{ids[i].trace, orig, spans[i].service()}] = ids[i].span
	}
	if renamed == nil {
		return
	}
	for i := range spans {
		if spans[i].Shared {
			continue
		}
		if id, ok := renamed[sharedKey{ids[i].trace, ids[i].parent, spans[i].service()}]; ok {
			ids[i].parent = id
		}
	}
}

func (zs *zipkinSpan) service() string {
	if zs.LocalEndpoint == nil {
		return ""
	}
	return zs.LocalEndpoint.ServiceName
}

// SharedSpanID is the span id tracehound gives the shared half of a Zipkin
// span with id spanID: FNV-1a of the trace and span ids, never zero and
// never spanID itself.
func SharedSpanID(traceID pcommon.TraceID, spanID pcommon.SpanID) pcommon.SpanID {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, b := range traceID {
		h = (h ^ uint64(b)) * prime
	}
	for _, b := range spanID {
		h = (h ^ uint64(b)) * prime
	}
	for _, b := range []byte("zipkin.shared") {
		h = (h ^ uint64(b)) * prime
	}
	var out pcommon.SpanID
	binary.BigEndian.PutUint64(out[:], h)
	if out.IsEmpty() || out == spanID {
		out[7] ^= 1
	}
	return out
}

// zipkinKinds maps Zipkin kinds (any case) to OTLP kinds.
var zipkinKinds = map[string]ptrace.SpanKind{
	"CLIENT":   ptrace.SpanKindClient,
	"SERVER":   ptrace.SpanKindServer,
	"PRODUCER": ptrace.SpanKindProducer,
	"CONSUMER": ptrace.SpanKindConsumer,
}

// toOTLP fills s from the Zipkin span.
func (zs *zipkinSpan) toOTLP(s ptrace.Span, ids *zipkinIDs) {
	s.SetTraceID(ids.trace)
	s.SetSpanID(ids.span)
	s.SetParentSpanID(ids.parent)
	s.SetName(zs.Name)
	kind := ptrace.SpanKindInternal
	if k, ok := zipkinKinds[strings.ToUpper(zs.Kind)]; ok {
		kind = k
	}
	s.SetKind(kind)
	start := uint64(zs.Timestamp) * 1000
	s.SetStartTimestamp(pcommon.Timestamp(start))
	s.SetEndTimestamp(pcommon.Timestamp(start + uint64(zs.Duration)*1000))

	attrs := s.Attributes()
	attrs.EnsureCapacity(len(zs.Tags) + 6)
	var errTag, statusCode, statusDesc *string
	keys := make([]string, 0, len(zs.Tags))
	for k := range zs.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a deterministic order, so limits keep the same tags
	for _, k := range keys {
		v := string(zs.Tags[k])
		switch k {
		case "error":
			errTag = &v
			continue
		case "otel.status_code":
			statusCode = &v
			continue
		case "otel.status_description":
			statusDesc = &v
			continue
		}
		attrs.PutStr(k, v)
	}
	if ep := zs.LocalEndpoint; ep != nil {
		putEndpoint(attrs, ep, "network.local.address", "network.local.port")
	}
	if ep := zs.RemoteEndpoint; ep != nil {
		if ep.ServiceName != "" {
			if _, ok := attrs.Get("peer.service"); !ok {
				attrs.PutStr("peer.service", ep.ServiceName)
			}
		}
		putEndpoint(attrs, ep, "network.peer.address", "network.peer.port")
	}

	st := s.Status()
	switch {
	case errTag != nil:
		st.SetCode(ptrace.StatusCodeError)
		msg := *errTag
		if statusDesc != nil && (msg == "" || msg == "true") {
			msg = *statusDesc
		}
		if msg != "true" {
			st.SetMessage(msg)
		}
	case statusCode != nil && strings.EqualFold(*statusCode, "ERROR"):
		st.SetCode(ptrace.StatusCodeError)
		if statusDesc != nil {
			st.SetMessage(*statusDesc)
		}
	case statusCode != nil && strings.EqualFold(*statusCode, "OK"):
		st.SetCode(ptrace.StatusCodeOk)
	default:
		if statusCode != nil { // an unknown value: keep it
			attrs.PutStr("otel.status_code", *statusCode)
		}
		if statusDesc != nil {
			attrs.PutStr("otel.status_description", *statusDesc)
		}
	}

	if len(zs.Annotations) > 0 {
		events := s.Events()
		events.EnsureCapacity(len(zs.Annotations))
		for _, a := range zs.Annotations {
			e := events.AppendEmpty()
			e.SetTimestamp(pcommon.Timestamp(uint64(a.Timestamp) * 1000))
			e.SetName(a.Value)
		}
	}
}

// putEndpoint records an endpoint's address and port (not 0) unless a tag
// already did.
func putEndpoint(attrs pcommon.Map, ep *zipkinEndpoint, addrKey, portKey string) {
	addr := ep.IPv4
	if addr == "" {
		addr = ep.IPv6
	}
	if addr != "" {
		if _, ok := attrs.Get(addrKey); !ok {
			if ip := net.ParseIP(addr); ip != nil {
				addr = ip.String()
			}
			attrs.PutStr(addrKey, addr)
		}
	}
	if ep.Port > 0 {
		if _, ok := attrs.Get(portKey); !ok {
			attrs.PutInt(portKey, ep.Port)
		}
	}
}
