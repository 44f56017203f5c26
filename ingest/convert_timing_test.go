package ingest

import (
	"encoding/binary"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// benchTraces is a realistic export request: one resource with 8
// attributes, 500 spans with 15 attributes of mixed types, 2 events on
// every span and a link on every tenth.
func benchTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "checkout")
	ra.PutStr("service.version", "1.42.0")
	ra.PutStr("service.namespace", "shop")
	ra.PutStr("deployment.environment.name", "production")
	ra.PutStr("host.name", "ip-10-0-12-34.ec2.internal")
	ra.PutStr("telemetry.sdk.language", "go")
	ra.PutInt("process.pid", 4711)
	ra.PutEmptySlice("process.command_args").FromRaw([]any{"/app/checkout", "--port=8080"})
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	ss.Scope().SetVersion("0.60.0")
	spans := ss.Spans()
	spans.EnsureCapacity(500)
	for i := range 500 {
		s := spans.AppendEmpty()
		var tid pcommon.TraceID
		var sid, pid pcommon.SpanID
		binary.BigEndian.PutUint64(tid[:8], uint64(i/50+1))
		binary.BigEndian.PutUint64(sid[:], uint64(i+1))
		binary.BigEndian.PutUint64(pid[:], uint64(i))
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		if i%50 != 0 {
			s.SetParentSpanID(pid)
		}
		s.SetName("GET /api/v1/orders/{id}")
		s.SetKind(ptrace.SpanKindServer)
		start := uint64(1_700_000_000_000_000_000 + i*1_000_000)
		s.SetStartTimestamp(pcommon.Timestamp(start))
		s.SetEndTimestamp(pcommon.Timestamp(start + 2_500_000))
		s.Status().SetCode(ptrace.StatusCodeOk)
		a := s.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", "/api/v1/orders/{id}")
		a.PutStr("url.full", "https://shop.example.com/api/v1/orders/"+strconv.Itoa(i)+"?expand=items")
		a.PutStr("server.address", "shop.example.com")
		a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")
		a.PutStr("network.protocol.version", "1.1")
		a.PutStr("client.address", "192.0.2.17")
		a.PutStr("order.id", "ord_"+strconv.Itoa(100000+i))
		a.PutInt("http.response.status_code", 200)
		a.PutInt("server.port", 443)
		a.PutInt("http.response.body.size", int64(1024+i))
		a.PutDouble("order.total", 129.95)
		a.PutBool("cache.hit", i%3 == 0)
		a.PutEmptySlice("order.items").FromRaw([]any{"sku-1", "sku-2", "sku-3"})
		a.PutEmptyBytes("request.hash").FromRaw([]byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04})
		ev := s.Events().AppendEmpty()
		ev.SetName("cache lookup")
		ev.SetTimestamp(pcommon.Timestamp(start + 100_000))
		ev.Attributes().PutStr("cache.key", "order:"+strconv.Itoa(i))
		ev.Attributes().PutBool("cache.hit", i%3 == 0)
		ev = s.Events().AppendEmpty()
		ev.SetName("db query")
		ev.SetTimestamp(pcommon.Timestamp(start + 500_000))
		ev.Attributes().PutStr("db.query.text", "SELECT * FROM orders WHERE id = $1")
		ev.Attributes().PutInt("db.rows", 1)
		if i%10 == 0 {
			l := s.Links().AppendEmpty()
			l.SetTraceID(tid)
			l.SetSpanID(pid)
		}
	}
	return td
}

// BenchmarkConvert measures the receivers' hot path: OTLP/protobuf bytes
// to a SpanBatch, for benchTraces (500 spans).
func BenchmarkConvert(b *testing.B) {
	body := protoBody(b, benchTraces())
	cfg := NewDefaultConfig()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	start := cpuTime()
	for b.Loop() {
		res, err := Convert(body, cfg)
		if err != nil || res.Batch.Len() != 500 {
			b.Fatalf("%d spans, %v", res.Batch.Len(), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/500, "ns/span")
	reportCPUPerSpan(b, start, 500)
}

// BenchmarkConvertReference measures the former path on the same request,
// for comparison: pdata unmarshalling, then the pdata-based converter
// (refConvert) to []storage.Span.
func BenchmarkConvertReference(b *testing.B) {
	body := protoBody(b, benchTraces())
	cfg := NewDefaultConfig()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	start := cpuTime()
	for b.Loop() {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			b.Fatal(err)
		}
		if res := refConvert(req.Traces(), cfg); len(res.Spans) != 500 {
			b.Fatalf("%d spans", len(res.Spans))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/500, "ns/span")
	reportCPUPerSpan(b, start, 500)
}
