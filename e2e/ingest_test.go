package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// sendWithSDK emits a three-span trace (server → client → linked consumer)
// through exp and returns the trace id and the spans' ids.
func sendWithSDK(t *testing.T, exp sdktrace.SpanExporter, service string) (string, map[string]string) {
	t.Helper()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", service),
			attribute.String("deployment.environment", "e2e"),
			attribute.Int("host.cpus", 2),
		)),
	)
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("e2e-test", trace.WithInstrumentationVersion("1.2.3"))

	base := time.Now().Add(-time.Second)
	ctx, root := tracer.Start(context.Background(), "GET /checkout",
		trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(base),
		trace.WithAttributes(
			attribute.String("http.request.method", "GET"),
			attribute.Int("http.response.status_code", 200),
			attribute.Float64("ratio", 0.25),
			attribute.Bool("cache.hit", false),
			attribute.StringSlice("tags", []string{"a", "b"}),
			attribute.Int64Slice("big", []int64{9007199254740993}),
		))
	_, child := tracer.Start(ctx, "SELECT orders",
		trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(base.Add(10*time.Millisecond)),
		trace.WithAttributes(attribute.String("db.system", "postgresql")))
	child.AddEvent("rpc.message", trace.WithTimestamp(base.Add(20*time.Millisecond)),
		trace.WithAttributes(attribute.String("rpc.message.type", "SENT"), attribute.Int("rpc.message.uncompressed_size", 1234)))
	child.SetStatus(codes.Error, "deadlock detected")
	child.End(trace.WithTimestamp(base.Add(60 * time.Millisecond)))
	_, linked := tracer.Start(context.Background(), "process order",
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(base.Add(70*time.Millisecond)),
		trace.WithLinks(trace.Link{SpanContext: root.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("link.kind", "follows")}}),
		trace.WithNewRoot())
	linked.End(trace.WithTimestamp(base.Add(90 * time.Millisecond)))
	root.End(trace.WithTimestamp(base.Add(100 * time.Millisecond)))

	ids := map[string]string{
		"root":        root.SpanContext().SpanID().String(),
		"child":       child.SpanContext().SpanID().String(),
		"linked":      linked.SpanContext().SpanID().String(),
		"linkedTrace": linked.SpanContext().TraceID().String(),
	}
	return root.SpanContext().TraceID().String(), ids
}

func TestSDKExportersRoundTrip(t *testing.T) {
	srv := startServer(t, serverOpts{})
	ctx := ctxTimeout(t, time.Minute)

	grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(srv.grpcAddr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithCompressor("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(srv.otlpHTTP), otlptracehttp.WithInsecure(),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Self-telemetry: both protocols counted, every span stored.
		if t.Failed() {
			return
		}
		if got := srv.metric(t, "tracehound_ingest_spans_accepted_total"); got != 6 {
			t.Errorf("tracehound_ingest_spans_accepted_total = %v, want 6", got)
		}
		if got := srv.metric(t, "tracehound_storage_spans_stored_total"); got != 6 {
			t.Errorf("tracehound_storage_spans_stored_total = %v, want 6", got)
		}
		if got := srv.metric(t, "tracehound_storage_queue_spans"); got != 0 {
			t.Errorf("tracehound_storage_queue_spans = %v, want 0", got)
		}
		for _, name := range []string{"tracehound_storage_insert_duration_seconds_count", "tracehound_storage_batch_spans_count",
			"tracehound_storage_clickhouse_errors_total", "tracehound_ingest_requests_total"} {
			srv.metric(t, name)
		}
	})
	for _, tc := range []struct {
		name string
		exp  sdktrace.SpanExporter
	}{{"grpc", grpcExp}, {"http", httpExp}} {
		t.Run(tc.name, func(t *testing.T) {
			traceID, ids := sendWithSDK(t, tc.exp, "shop-"+tc.name)
			tr := srv.waitTrace(t, traceID, 2)
			if len(tr.Spans) != 2 {
				t.Fatalf("want 2 spans in trace, got %d", len(tr.Spans))
			}
			byID := map[string]apiSpan{}
			for _, sp := range tr.Spans {
				byID[sp.SpanID] = sp
			}
			root, child := byID[ids["root"]], byID[ids["child"]]
			if root.Name != "GET /checkout" || root.Kind != "server" || root.Service != "shop-"+tc.name || root.ParentSpanID != "" {
				t.Errorf("root span: %+v", root)
			}
			if root.DurationNs != int64(100*time.Millisecond) {
				t.Errorf("root duration %d", root.DurationNs)
			}
			wantAttrs := map[string]any{
				"http.request.method": "GET", "http.response.status_code": float64(200), "ratio": 0.25,
				"cache.hit": false, "tags": []any{"a", "b"}, "big": []any{float64(9007199254740993)},
			}
			for k, v := range wantAttrs {
				if fmt.Sprint(root.Attributes[k]) != fmt.Sprint(v) {
					t.Errorf("root attribute %s = %#v, want %#v", k, root.Attributes[k], v)
				}
			}
			if root.ResourceAttributes["deployment.environment"] != "e2e" || root.ResourceAttributes["host.cpus"] != float64(2) {
				t.Errorf("resource attributes: %v", root.ResourceAttributes)
			}
			if child.ParentSpanID != ids["root"] || child.Kind != "client" || child.StatusCode != "error" || child.StatusMessage != "deadlock detected" {
				t.Errorf("child span: %+v", child)
			}
			if len(child.Events) != 1 || child.Events[0].Name != "rpc.message" ||
				child.Events[0].Attributes["rpc.message.uncompressed_size"] != float64(1234) ||
				child.Events[0].Attributes["rpc.message.type"] != "SENT" {
				t.Errorf("child events: %+v", child.Events)
			}
			// Self time and critical path: root 100ms with a 50ms child.
			if root.SelfTimeNs != int64(50*time.Millisecond) || !root.OnCriticalPath || !child.OnCriticalPath {
				t.Errorf("timings: root self %d on=%v child on=%v", root.SelfTimeNs, root.OnCriticalPath, child.OnCriticalPath)
			}

			linkedTrace := srv.waitTrace(t, ids["linkedTrace"], 1)
			l := linkedTrace.Spans[0]
			if l.Kind != "consumer" || len(l.Links) != 1 || l.Links[0].TraceID != traceID || l.Links[0].SpanID != ids["root"] ||
				l.Links[0].Attributes["link.kind"] != "follows" {
				t.Errorf("linked span: %+v", l)
			}

			found := srv.traceSearch(t, url.Values{"service": {"shop-" + tc.name}, "limit": {"10"}})
			var hit map[string]any
			for _, tr := range found {
				if tr["trace_id"] == traceID {
					hit = tr
				}
			}
			for _, f := range []struct {
				params url.Values
				want   bool
			}{
				{url.Values{"attr": {"db.system=postgresql"}, "service": {"shop-" + tc.name}}, true},
				{url.Values{"attr": {"http.response.status_code=200", "cache.hit=false"}}, true},
				{url.Values{"attr": {"deployment.environment=e2e"}, "status": {"error"}}, true},
				{url.Values{"attr": {"http.response.status_code=500"}}, false},
				{url.Values{"service": {"shop-" + tc.name}, "min_duration_ms": {"101"}}, false},
			} {
				found := false
				for _, tr := range srv.traceSearch(t, f.params) {
					found = found || tr["trace_id"] == traceID
				}
				if found != f.want {
					t.Errorf("search %v: found=%v, want %v", f.params, found, f.want)
				}
			}
			if hit == nil || hit["root_service"] != "shop-"+tc.name || hit["root_operation"] != "GET /checkout" ||
				hit["span_count"] != float64(2) || hit["error"] != true || hit["duration_ms"] != float64(100) {
				t.Errorf("search result for %s: %v (all: %v)", traceID, hit, found)
			}
		})
	}
}

const rawJSONTrace = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-svc"}}]},
"scopeSpans":[{"scope":{"name":"raw"},"spans":[
{"traceId":"%s","spanId":"0102030405060708","name":"POST /pay","kind":2,
 "startTimeUnixNano":"%d","endTimeUnixNano":"%d",
 "attributes":[{"key":"http.response.body.size","value":{"intValue":"2048"}},{"key":"note","value":{"stringValue":"héllo"}}],
 "status":{"code":1}}]}]}]}`

func postOTLP(t *testing.T, addr, contentType string, body []byte, headers map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /v1/traces: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestRawOTLPJSON(t *testing.T) {
	srv := startServer(t, serverOpts{})
	traceID := randomHex(16)
	start := time.Now().Add(-time.Second).UnixNano()
	body := fmt.Sprintf(rawJSONTrace, traceID, start, start+int64(5*time.Millisecond))
	code, resp, _ := postOTLP(t, srv.otlpHTTP, "application/json", []byte(body), nil)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, resp)
	}
	tr := srv.waitTrace(t, traceID, 1)
	sp := tr.Spans[0]
	if sp.SpanID != "0102030405060708" || sp.Service != "json-svc" || sp.StatusCode != "ok" ||
		sp.Attributes["http.response.body.size"] != float64(2048) || sp.Attributes["note"] != "héllo" ||
		sp.DurationNs != int64(5*time.Millisecond) || sp.StartUnixNano != start {
		t.Errorf("span: %+v", sp)
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
