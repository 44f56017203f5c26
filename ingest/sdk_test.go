package ingest

import (
	"context"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracehound/tracehound/storage"
)

// TestSDKExporters sends spans with the OpenTelemetry Go SDK's own OTLP
// exporters and checks that the sink gets exactly those spans.
func TestSDKExporters(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{}
	r := startReceiver(t, testConfig(), sink, nil)

	exporters := []struct {
		name string
		new  func(ctx context.Context) (sdktrace.SpanExporter, error)
	}{
		{"grpc gzip", func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(r.GRPCAddr()), otlptracegrpc.WithInsecure(),
				otlptracegrpc.WithCompressor("gzip"), otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
		}},
		{"http protobuf", func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(r.HTTPAddr()), otlptracehttp.WithInsecure(),
				otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
		}},
		{"http gzip", func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(r.HTTPAddr()), otlptracehttp.WithInsecure(),
				otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
				otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
		}},
		{"http json", func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(r.HTTPAddr()), otlptracehttp.WithInsecure(),
				otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON),
				otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
		}},
	}
	for i, e := range exporters {
		t.Run(e.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			exp, err := e.new(ctx)
			if err != nil {
				t.Fatal(err)
			}
			stubs, want := sdkSpans(t, byte(i+1))
			if err := exp.ExportSpans(ctx, stubs.Snapshots()); err != nil {
				t.Fatalf("ExportSpans: %v", err)
			}
			if err := exp.Shutdown(ctx); err != nil {
				t.Fatalf("exporter Shutdown: %v", err)
			}
			got := sink.take()
			if len(got) != len(want) {
				t.Fatalf("sink got %d spans; want %d", len(got), len(want))
			}
			for i := range want {
				assertSpan(t, got[i], want[i])
			}
		})
	}
}

// sdkSpans returns SDK span stubs, ids derived from seed, and the storage
// rows they must become.
func sdkSpans(t *testing.T, seed byte) (tracetest.SpanStubs, []storage.Span) {
	tid := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, seed}
	otherTID := trace.TraceID{0x01, 0x02, seed}
	rootID := trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, seed}
	childID := trace.SpanID{0x10, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, seed}
	linkedID := trace.SpanID{0x20, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, seed}
	ts, err := trace.ParseTraceState("vendor=abc")
	if err != nil {
		t.Fatal(err)
	}
	rootSC := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: rootID, TraceFlags: trace.FlagsSampled, TraceState: ts})
	childSC := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: childID, TraceFlags: trace.FlagsSampled})
	linkSC := trace.NewSpanContext(trace.SpanContextConfig{TraceID: otherTID, SpanID: linkedID, TraceFlags: trace.FlagsSampled})

	res := resource.NewSchemaless(
		attribute.String("service.name", "checkout"),
		attribute.Int64("host.cpus", 8),
	)
	scope := instrumentation.Scope{Name: "tracehound/test", Version: "0.1.0"}
	start := time.Unix(1_700_000_000, 123456789)

	stubs := tracetest.SpanStubs{
		{
			Name:        "POST /checkout",
			SpanContext: rootSC,
			SpanKind:    trace.SpanKindServer,
			StartTime:   start,
			EndTime:     start.Add(250 * time.Millisecond),
			Attributes: []attribute.KeyValue{
				attribute.String("http.method", "POST"),
				attribute.Int64("big", math.MaxInt64),
				attribute.Int64("neg", math.MinInt64),
				attribute.Float64("ratio", 0.125),
				attribute.Float64("whole", 2),
				attribute.Bool("ok", true),
				attribute.StringSlice("tags", []string{"a", "b\"c"}),
				attribute.Int64Slice("ints", []int64{1, -2}),
				attribute.Float64Slice("floats", []float64{1.5, 3}),
				attribute.BoolSlice("bools", []bool{true, false}),
			},
			Events: []sdktrace.Event{
				{Name: "retry", Time: start.Add(time.Millisecond), Attributes: []attribute.KeyValue{attribute.Int64("attempt", 2), attribute.String("why", "timeout")}},
				{Name: "no attributes", Time: start.Add(2 * time.Millisecond)},
			},
			Links: []sdktrace.Link{
				{SpanContext: linkSC, Attributes: []attribute.KeyValue{attribute.Bool("follows", true)}},
			},
			Status:               sdktrace.Status{Code: codes.Error, Description: "card declined"},
			Resource:             res,
			InstrumentationScope: scope,
		},
		{
			Name:                 "SELECT orders",
			SpanContext:          childSC,
			Parent:               rootSC,
			SpanKind:             trace.SpanKindClient,
			StartTime:            start.Add(10 * time.Millisecond),
			EndTime:              start.Add(10 * time.Millisecond),
			Attributes:           []attribute.KeyValue{attribute.String("db.system", "postgresql")},
			Status:               sdktrace.Status{Code: codes.Ok},
			Resource:             res,
			InstrumentationScope: scope,
		},
	}

	common := storage.Span{
		TraceID:                 tid,
		Service:                 "checkout",
		ScopeName:               "tracehound/test",
		ScopeVersion:            "0.1.0",
		ResourceAttributes:      map[string]string{"service.name": "checkout"},
		ResourceTypedAttributes: map[string]string{"host.cpus": "8"},
	}
	root := common
	root.SpanID = rootID
	root.TraceState = "vendor=abc"
	root.Name = "POST /checkout"
	root.Kind = storage.SpanKindServer
	root.StartUnixNano = start.UnixNano()
	root.DurationNano = int64(250 * time.Millisecond)
	root.StatusCode = storage.StatusError
	root.StatusMessage = "card declined"
	root.Attributes = map[string]string{"http.method": "POST"}
	root.TypedAttributes = map[string]string{
		"big":    "9223372036854775807",
		"neg":    "-9223372036854775808",
		"ratio":  "0.125",
		"whole":  "2.0",
		"ok":     "true",
		"tags":   `["a","b\"c"]`,
		"ints":   "[1,-2]",
		"floats": "[1.5,3.0]",
		"bools":  "[true,false]",
	}
	root.Events = []storage.Event{
		{TimeUnixNano: start.Add(time.Millisecond).UnixNano(), Name: "retry", AttributesJSON: `{"attempt":2,"why":"timeout"}`},
		{TimeUnixNano: start.Add(2 * time.Millisecond).UnixNano(), Name: "no attributes", AttributesJSON: "{}"},
	}
	root.Links = []storage.Link{{TraceID: otherTID, SpanID: linkedID, AttributesJSON: `{"follows":true}`}}

	child := common
	child.SpanID = childID
	child.ParentSpanID = rootID
	child.Name = "SELECT orders"
	child.Kind = storage.SpanKindClient
	child.StartUnixNano = start.Add(10 * time.Millisecond).UnixNano()
	child.StatusCode = storage.StatusOK
	child.Attributes = map[string]string{"db.system": "postgresql"}

	return stubs, []storage.Span{root, child}
}
