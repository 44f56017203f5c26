package ingest

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracehound/tracehound/analysis/detect"
	"github.com/tracehound/tracehound/storage"
)

// zipkinDocsExample is the example span of Zipkin's API documentation
// (zipkin2-api.yaml, POST /api/v2/spans).
const zipkinDocsExample = `[
  {
    "id": "352bff9a74ca9ad2",
    "traceId": "5af7183fb1d4cf5f",
    "parentId": "6b221d5bc9e6496c",
    "name": "get /api",
    "timestamp": 1556604172355737,
    "duration": 1431,
    "kind": "SERVER",
    "localEndpoint": {
      "serviceName": "backend",
      "ipv4": "192.168.99.1",
      "port": 3306
    },
    "remoteEndpoint": {
      "ipv4": "172.19.0.2",
      "port": 58648
    },
    "tags": {
      "http.method": "GET",
      "http.path": "/api"
    }
  }
]`

// zipkinSpans converts a Zipkin body to storage spans as the receiver does.
func zipkinSpans(t *testing.T, body string) converted {
	t.Helper()
	td, err := ZipkinToTraces([]byte(body))
	if err != nil {
		t.Fatalf("ZipkinToTraces: %v", err)
	}
	return convertTD(t, td, NewDefaultConfig())
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestZipkinDocsExample(t *testing.T) {
	t.Parallel()
	res := zipkinSpans(t, zipkinDocsExample)
	if res.Received != 1 || res.Rejected != 0 || len(res.Spans) != 1 {
		t.Fatalf("result: %+v", res)
	}
	got := res.Spans[0]
	var want storage.Span
	copy(want.TraceID[:], mustHex(t, "00000000000000005af7183fb1d4cf5f"))
	copy(want.SpanID[:], mustHex(t, "352bff9a74ca9ad2"))
	copy(want.ParentSpanID[:], mustHex(t, "6b221d5bc9e6496c"))
	want.Service = "backend"
	want.Name = "get /api"
	want.Kind = storage.SpanKindServer
	want.StartUnixNano = 1556604172355737000
	want.DurationNano = 1431000
	want.ResourceAttributes = map[string]string{"service.name": "backend"}
	want.Attributes = map[string]string{"http.method": "GET", "http.path": "/api",
		"network.local.address": "192.168.99.1", "network.peer.address": "172.19.0.2"}
	want.TypedAttributes = map[string]string{"network.local.port": "3306", "network.peer.port": "58648"}
	assertSpan(t, got, want)
}

func TestZipkinMapping(t *testing.T) {
	t.Parallel()
	body := `[
 {"traceId":"463ac35c9f6413ad48485a3953bb6124","id":"a2fb4a1d1a96d312","name":"get /orders","kind":"client",
  "timestamp":1700000000000000,"duration":2500.0,
  "localEndpoint":{"serviceName":"frontend","ipv6":"2001:db8::c001"},
  "remoteEndpoint":{"serviceName":"orders","port":8080},
  "annotations":[{"timestamp":1700000000000100,"value":"ws"},{"timestamp":1700000000002400,"value":"wr"}],
  "tags":{"error":"connection refused","http.status_code":500,"retry":true,"note":null}},
 {"traceId":"abc","id":"1","parentId":"a2fb4a1d1a96d312","name":"local work","timestamp":1.7000000000001e15,
  "tags":{"otel.status_code":"ERROR","otel.status_description":"boom"}},
 {"traceId":"00000000000000000000000000000abc","id":"2","name":"ok","timestamp":1700000000000000,"kind":"PRODUCER",
  "tags":{"otel.status_code":"OK","error":""}},
 {"traceId":"00000000000000000000000000000abc","id":"3","name":"noservice","timestamp":1700000000000000,"debug":true,
  "tags":{"otel.status_code":"maybe"}}
]`
	res := zipkinSpans(t, body)
	if len(res.Spans) != 4 || res.Rejected != 0 {
		t.Fatalf("result: %+v", res)
	}
	c := res.Spans[0]
	if hex.EncodeToString(c.TraceID[:]) != "463ac35c9f6413ad48485a3953bb6124" || c.Kind != storage.SpanKindClient ||
		c.DurationNano != 2500000 || c.StartUnixNano != 1700000000000000000 {
		t.Errorf("client span ids/kind/times: %+v", c)
	}
	if c.StatusCode != storage.StatusError || c.StatusMessage != "connection refused" {
		t.Errorf("error tag: status %v %q", c.StatusCode, c.StatusMessage)
	}
	if _, ok := c.Attributes["error"]; ok {
		t.Errorf("error tag kept as an attribute")
	}
	wantAttrs := map[string]string{"http.status_code": "500", "retry": "true", "note": "",
		"peer.service": "orders", "network.local.address": "2001:db8::c001"}
	for k, v := range wantAttrs {
		if c.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q (all: %v)", k, c.Attributes[k], v, c.Attributes)
		}
	}
	if c.TypedAttributes["network.peer.port"] != "8080" {
		t.Errorf("peer port: %v", c.TypedAttributes)
	}
	if len(c.Events) != 2 || c.Events[0].Name != "ws" || c.Events[0].TimeUnixNano != 1700000000000100000 || c.Events[1].Name != "wr" {
		t.Errorf("annotations: %+v", c.Events)
	}
	// Resource per local service; a span without one is unknown_service.
	if c.Service != "frontend" || res.Spans[1].Service != "unknown_service" {
		t.Errorf("services: %q %q", c.Service, res.Spans[1].Service)
	}

	l := res.Spans[1]
	if hex.EncodeToString(l.TraceID[:]) != "00000000000000000000000000000abc" || hex.EncodeToString(l.SpanID[:]) != "0000000000000001" ||
		l.ParentSpanID != c.SpanID || l.Kind != storage.SpanKindInternal || l.StartUnixNano != 1700000000000100000 || l.DurationNano != 0 {
		t.Errorf("padded ids, kind, float timestamp: %+v", l)
	}
	if l.StatusCode != storage.StatusError || l.StatusMessage != "boom" || len(l.Attributes) != 0 {
		t.Errorf("otel.status_code ERROR: %v %q %v", l.StatusCode, l.StatusMessage, l.Attributes)
	}
	if p := res.Spans[2]; p.Kind != storage.SpanKindProducer || p.StatusCode != storage.StatusError {
		// "error" wins over otel.status_code OK, as in Zipkin.
		t.Errorf("producer: kind %v status %v", p.Kind, p.StatusCode)
	}
	if u := res.Spans[3]; u.StatusCode != storage.StatusUnset || u.Attributes["otel.status_code"] != "maybe" {
		t.Errorf("unknown otel.status_code: %v %v", u.StatusCode, u.Attributes)
	}
}

func TestZipkinSharedSpans(t *testing.T) {
	t.Parallel()
	// B3 "joined" spans: the server half reuses the client's span id.
	body := `[
 {"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c","name":"get","kind":"CLIENT","timestamp":1700000000000000,"duration":2000,
  "localEndpoint":{"serviceName":"frontend"}},
 {"traceId":"5af7183fb1d4cf5f","id":"6b221d5bc9e6496c","name":"get /api","kind":"SERVER","shared":true,"timestamp":1700000000000100,"duration":1800,
  "localEndpoint":{"serviceName":"backend"}},
 {"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"1111111111111111","name":"select","kind":"CLIENT","timestamp":1700000000000200,"duration":100,
  "localEndpoint":{"serviceName":"backend"},"remoteEndpoint":{"serviceName":"mysql"}},
 {"traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","id":"2222222222222222","name":"render","timestamp":1700000000000300,"duration":100,
  "localEndpoint":{"serviceName":"frontend"}}
]`
	res := zipkinSpans(t, body)
	if len(res.Spans) != 4 {
		t.Fatalf("result: %+v", res)
	}
	byName := map[string]storage.Span{}
	for _, sp := range res.Spans {
		byName[sp.Name] = sp
	}
	client, server, query, render := byName["get"], byName["get /api"], byName["select"], byName["render"]
	orig := pcommon.SpanID(client.SpanID)
	if hex.EncodeToString(orig[:]) != "6b221d5bc9e6496c" {
		t.Fatalf("client half id changed: %x", orig)
	}
	var tid pcommon.TraceID
	copy(tid[:], client.TraceID[:])
	if server.SpanID == client.SpanID || server.SpanID != [8]byte(SharedSpanID(tid, orig)) || server.ParentSpanID != client.SpanID {
		t.Errorf("shared half: id %x parent %x", server.SpanID, server.ParentSpanID)
	}
	if query.ParentSpanID != server.SpanID {
		t.Errorf("same-service child not re-parented to the shared half: parent %x", query.ParentSpanID)
	}
	if render.ParentSpanID != client.SpanID {
		t.Errorf("child of the client half (other service) re-parented: %x", render.ParentSpanID)
	}
	// Deterministic: the same id on every instance and retry.
	again := zipkinSpans(t, body)
	if again.Spans[2].SpanID != server.SpanID { // resources in order of first appearance: frontend, backend
		t.Errorf("shared id not deterministic")
	}

	// The pair is one frontend → backend call on the service graph, and
	// backend's query is a call to mysql.
	var trace detect.Trace
	trace.ID = client.TraceID
	trace.Spans = res.Spans
	edges := map[string]int{}
	for _, c := range detect.Calls(trace) {
		edges[c.Source+" -> "+c.Target]++
	}
	if fmt.Sprint(edges) != "map[backend -> mysql:1 frontend -> backend:1]" {
		t.Errorf("service graph calls: %v", edges)
	}
}

func TestZipkinToTracesErrors(t *testing.T) {
	t.Parallel()
	f := func(body string, want ...string) {
		t.Helper()
		_, err := ZipkinToTraces([]byte(body))
		if err == nil {
			t.Errorf("%s: no error", body)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", body, err, w)
			}
		}
	}
	f(``, "JSON array of Zipkin v2 spans")
	f(`{"traceId":"1"}`, "JSON array")
	f(`[{"traceId":"1","id":"2",}]`, "malformed JSON at byte", "near")
	f(`[{"traceId":"1","id":"2"`, "malformed JSON")
	f(`[{"traceId":1,"id":"2"}]`, "field traceId", "a string")
	f(`[{"traceId":"1","id":"2","timestamp":"soon"}]`, "microseconds")
	f(`[{"traceId":"1","id":"2","tags":{"a":{"b":1}}}]`, "tag value must be a string")
	f(`[{"traceId":"xyz","id":"2"}]`, "span 0", "traceId \"xyz\" is not hexadecimal")
	f(`[{"traceId":"1","id":"2"},{"traceId":"1","id":"12345678901234567"}]`, "span 1", "id", "longer than 16")
	f(`[{"traceId":"123456789012345678901234567890123","id":"2"}]`, "longer than 32")
	f(`[{"traceId":"1","id":"2","parentId":"zz"}]`, "parentId")
	f(`[{"traceId":"1","id":"2","timestamp":-5}]`, "negative")
	f(`[{"traceId":"1","id":"2","timestamp":9223372036854776}]`, "after the year 2262")
}

func TestZipkinInvalidSpansRejectedOneByOne(t *testing.T) {
	t.Parallel()
	res := zipkinSpans(t, `[{"traceId":"0000000000000000","id":"1","timestamp":1},{"traceId":"1","id":"1"},{"traceId":"1","id":"1","timestamp":5}]`)
	if res.Received != 3 || res.Rejected != 2 || len(res.Spans) != 1 {
		t.Fatalf("result: %+v", res)
	}
	if !strings.Contains(res.Summary(), "trace_id is missing or all zeros") || !strings.Contains(res.Summary(), "start time is missing") {
		t.Errorf("summary: %s", res.Summary())
	}
}

func TestZipkinLimitsApply(t *testing.T) {
	t.Parallel()
	cfg := NewDefaultConfig()
	cfg.MaxAttributesPerSpan = 2
	cfg.MaxEventsPerSpan = 1
	td, err := ZipkinToTraces([]byte(`[{"traceId":"1","id":"1","timestamp":5,"tags":{"a":"1","b":"2","c":"3"},
		"annotations":[{"timestamp":5,"value":"x"},{"timestamp":6,"value":"y"}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	res := convertTD(t, td, cfg)
	sp := res.Spans[0]
	if len(sp.Attributes) != 2 || sp.DroppedAttributesCount != 1 || len(sp.Events) != 1 || sp.DroppedEventsCount != 1 {
		t.Fatalf("limits: attrs %v dropped %d events %d dropped %d", sp.Attributes, sp.DroppedAttributesCount, len(sp.Events), sp.DroppedEventsCount)
	}
	if sp.Attributes["a"] != "1" || sp.Attributes["b"] != "2" {
		t.Errorf("the first tags by key are kept: %v", sp.Attributes)
	}
}

// zipkinPost sends body to h and returns the recorded response.
func zipkinPost(h http.Handler, method, contentType, encoding string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, ZipkinSpansPath, strings.NewReader(string(body)))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestZipkinHandler(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{}
	reg := prometheus.NewRegistry()
	r, err := New(testConfig(), sink, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := r.ZipkinHandler() // usable before Start: it is served on the API address

	rec := zipkinPost(h, http.MethodPost, "application/json", "", []byte(zipkinDocsExample))
	if rec.Code != http.StatusAccepted || rec.Body.Len() != 0 {
		t.Fatalf("docs example: %d %q", rec.Code, rec.Body)
	}
	if spans := sink.take(); len(spans) != 1 || spans[0].Service != "backend" {
		t.Fatalf("sink got %+v", spans)
	}

	rec = zipkinPost(h, http.MethodPost, "application/json; charset=utf-8", "gzip", gzipBytes(t, []byte(zipkinDocsExample)))
	if rec.Code != http.StatusAccepted || len(sink.take()) != 1 {
		t.Fatalf("gzip: %d %q", rec.Code, rec.Body)
	}
	rec = zipkinPost(h, http.MethodPost, "", "", []byte(zipkinDocsExample))
	if rec.Code != http.StatusAccepted || len(sink.take()) != 1 {
		t.Fatalf("no content type: %d %q", rec.Code, rec.Body)
	}

	rec = zipkinPost(h, http.MethodPost, "application/json", "", []byte(`[{"traceId":"1","id":"1","timestamp":5},{"traceId":"1","id":"2"}]`))
	if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), "1 of 2 spans rejected") || len(sink.take()) != 1 {
		t.Fatalf("partially invalid: %d %q", rec.Code, rec.Body)
	}

	for _, tc := range []struct {
		name, method, ct, enc, body string
		status                      int
		want                        string
	}{
		{"bad JSON", "POST", "application/json", "", `[{"traceId":`, 400, "malformed JSON"},
		{"object", "POST", "application/json", "", `{}`, 400, "JSON array of Zipkin v2 spans"},
		{"bad id", "POST", "application/json", "", `[{"traceId":"nothex","id":"1"}]`, 400, "not hexadecimal"},
		{"bad gzip", "POST", "application/json", "gzip", `[]`, 400, "invalid gzip"},
		{"protobuf", "POST", "application/x-protobuf", "", `x`, 415, "protobuf"},
		{"thrift", "POST", "application/x-thrift", "", `x`, 415, "Thrift"},
		{"form", "POST", "application/x-www-form-urlencoded", "", `x`, 415, "application/json"},
		{"brotli", "POST", "application/json", "br", `[]`, 415, "Content-Encoding"},
		{"GET", "GET", "", "", ``, 405, "use POST"},
	} {
		rec := zipkinPost(h, tc.method, tc.ct, tc.enc, []byte(tc.body))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, rec.Code, rec.Body, tc.status, tc.want)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s: Content-Type %q", tc.name, ct)
		}
	}
	if got := zipkinPost(h, "GET", "", "", nil).Header().Get("Allow"); got != "POST" {
		t.Errorf("Allow: %q", got)
	}

	// Backpressure: a full queue is 503 with Retry-After, like OTLP/HTTP.
	sink.setErr(fmt.Errorf("enqueue: %w", storage.ErrQueueFull))
	rec = zipkinPost(h, http.MethodPost, "application/json", "", []byte(zipkinDocsExample))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), "overloaded") {
		t.Fatalf("queue full: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	sink.setErr(nil)

	// Metrics, labelled protocol="zipkin".
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tracehound_ingest_spans_received_total", map[string]string{"protocol": "zipkin"}, 6},
		{"tracehound_ingest_spans_accepted_total", map[string]string{"protocol": "zipkin"}, 4},
		{"tracehound_ingest_spans_refused_total", map[string]string{"protocol": "zipkin", "reason": "invalid"}, 1},
		{"tracehound_ingest_spans_refused_total", map[string]string{"protocol": "zipkin", "reason": "queue_full"}, 1},
		{"tracehound_ingest_requests_total", map[string]string{"protocol": "zipkin", "outcome": "success"}, 3},
		{"tracehound_ingest_requests_total", map[string]string{"protocol": "zipkin", "outcome": "partial_success"}, 1},
		{"tracehound_ingest_requests_total", map[string]string{"protocol": "zipkin", "outcome": "malformed"}, 4},
		{"tracehound_ingest_requests_total", map[string]string{"protocol": "zipkin", "outcome": "unsupported_media_type"}, 4},
	} {
		if got := counterValue(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestZipkinHandlerConcurrencyLimitAndShutdown(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxConcurrentRequests = 1
	sink := &fakeSink{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	r := startReceiver(t, cfg, sink, nil)
	h := r.ZipkinHandler()

	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- zipkinPost(h, http.MethodPost, "application/json", "", []byte(zipkinDocsExample)) }()
	<-sink.entered
	rec := zipkinPost(h, http.MethodPost, "application/json", "", []byte(zipkinDocsExample))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "max_concurrent_requests") {
		t.Errorf("over the concurrency limit: %d %q", rec.Code, rec.Body)
	}
	close(sink.block)
	if rec := <-first; rec.Code != http.StatusAccepted {
		t.Errorf("first request: %d %q", rec.Code, rec.Body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rec = zipkinPost(h, http.MethodPost, "application/json", "", []byte(zipkinDocsExample))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "shutting down") {
		t.Errorf("after Shutdown: %d %q", rec.Code, rec.Body)
	}
}

func TestSharedSpanID(t *testing.T) {
	t.Parallel()
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	for i := range 1000 {
		tid[15], tid[14] = byte(i), byte(i>>8)
		sid[0] = byte(i * 7)
		got := SharedSpanID(tid, sid)
		if got.IsEmpty() || got == sid {
			t.Fatalf("SharedSpanID(%x, %x) = %x", tid, sid, got)
		}
	}
}

func BenchmarkZipkinToTraces(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := range 100 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"traceId":"5af7183fb1d4cf5f%016x","id":"%016x","parentId":"6b221d5bc9e6496c","name":"get /api","timestamp":1556604172355737,"duration":1431,"kind":"SERVER","localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":3306},"remoteEndpoint":{"ipv4":"172.19.0.2","port":58648},"tags":{"http.method":"GET","http.path":"/api"}}`, i, i+1)
	}
	sb.WriteString("]")
	body := []byte(sb.String())
	cfg := NewDefaultConfig()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		td, err := ZipkinToTraces(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := convertTraces(td, cfg); err != nil {
			b.Fatal(err)
		}
	}
}
