package ingest

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"

	"github.com/tracehound/tracehound/storage"
)

func grpcClient(t *testing.T, addr string) ptraceotlp.GRPCClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return ptraceotlp.NewGRPCClient(conn)
}

func export(t *testing.T, c ptraceotlp.GRPCClient, td ptrace.Traces, opts ...grpc.CallOption) (ptraceotlp.ExportResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td), opts...)
}

// assertRetryable checks err is UNAVAILABLE with msg and a 1 s RetryInfo.
func assertRetryable(t *testing.T, err error, msg string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable || st.Message() != msg {
		t.Fatalf("error %v; want Unavailable %q", err, msg)
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			if got := ri.GetRetryDelay().AsDuration(); got != time.Second {
				t.Fatalf("retry delay %v; want 1s", got)
			}
			return
		}
	}
	t.Fatalf("status %v has no RetryInfo detail", st.Proto())
}

func TestGRPCBadInput(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxRequestBytes = 64 << 10
	cfg.MaxDecompressedBytes = 128 << 10
	sink := &fakeSink{}
	r := startReceiver(t, cfg, sink, nil)
	c := grpcClient(t, r.GRPCAddr())

	withBlob := func(n int) ptrace.Traces {
		td := validTraces()
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("blob", strings.Repeat("x", n))
		return td
	}
	overWire := withBlob(100 << 10)
	overWireSize := len(protoBody(t, overWire))
	overMax := withBlob(200 << 10)
	overMaxSize := len(protoBody(t, overMax))
	zeroTrace := validTraces()
	zeroSID := addSpan(zeroTrace, func(s ptrace.Span) { s.SetTraceID(pcommon.TraceID{}) }).SpanID()

	tests := []struct {
		name     string
		td       ptrace.Traces
		opts     []grpc.CallOption
		sinkErr  error
		wantCode codes.Code
		wantMsg  string
		check    func(t *testing.T, err error)
		// OK answers:
		wantRejected int64
		wantSpans    int
	}{
		{
			name: "message above max_request_bytes", td: overWire,
			wantCode: codes.ResourceExhausted,
			wantMsg:  fmt.Sprintf("request message is %d bytes, above the 65536-byte limit (otlp.max_request_bytes)", overWireSize),
		},
		{
			name: "message above max_decompressed_bytes", td: overMax,
			wantCode: codes.ResourceExhausted,
			wantMsg:  fmt.Sprintf("grpc: received message larger than max (%d vs. 131072)", overMaxSize),
		},
		{
			name: "gzip bomb", td: overMax, opts: []grpc.CallOption{grpc.UseCompressor(gzip.Name)},
			wantCode: codes.ResourceExhausted,
			wantMsg:  "grpc: received message after decompression larger than max 131072",
		},
		{
			name: "queue full", td: validTraces(), sinkErr: fmt.Errorf("enqueue 1 spans: %w", storage.ErrQueueFull),
			wantCode: codes.Unavailable,
			wantMsg:  "spans not accepted: enqueue 1 spans: write queue is full (tracehound is overloaded); retry after 1s",
		},
		{
			name: "stopped", td: validTraces(), sinkErr: storage.ErrStopped,
			wantCode: codes.Unavailable,
			wantMsg:  "spans not accepted: writer is shutting down (tracehound is shutting down); retry after 1s or send to another instance",
		},
		{
			name: "sink failure", td: validTraces(), sinkErr: fmt.Errorf("disk on fire"),
			wantCode: codes.Internal,
			wantMsg:  "internal error while storing spans: disk on fire",
		},
		{
			name: "zero trace id", td: zeroTrace,
			wantCode: codes.OK, wantRejected: 1, wantSpans: 1,
			wantMsg: "1 of 2 spans rejected: span " + hex.EncodeToString(zeroSID[:]) + ": trace_id is missing or all zeros (it must be 16 bytes, not all zero)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink.setErr(tc.sinkErr)
			resp, err := export(t, c, tc.td, tc.opts...)
			sink.setErr(nil)
			spans := sink.take()
			if tc.wantCode == codes.OK {
				if err != nil {
					t.Fatal(err)
				}
				ps := resp.PartialSuccess()
				if ps.RejectedSpans() != tc.wantRejected || ps.ErrorMessage() != tc.wantMsg {
					t.Errorf("partial success (%d, %q); want (%d, %q)", ps.RejectedSpans(), ps.ErrorMessage(), tc.wantRejected, tc.wantMsg)
				}
				if len(spans) != tc.wantSpans {
					t.Errorf("sink got %d spans; want %d", len(spans), tc.wantSpans)
				}
			} else {
				if tc.wantCode == codes.Unavailable {
					assertRetryable(t, err, tc.wantMsg)
				} else if st := status.Convert(err); st.Code() != tc.wantCode || st.Message() != tc.wantMsg {
					t.Errorf("status (%v, %q); want (%v, %q)", st.Code(), st.Message(), tc.wantCode, tc.wantMsg)
				}
				if len(spans) != 0 {
					t.Errorf("sink got %d spans from a refused request", len(spans))
				}
			}

			// The receiver still works.
			if _, err := export(t, c, validTraces(), grpc.UseCompressor(gzip.Name)); err != nil {
				t.Fatalf("good request after a bad one: %v", err)
			}
			if n := len(sink.take()); n != 1 {
				t.Fatalf("good request after a bad one stored %d spans; want 1", n)
			}
		})
	}
}

func TestGRPCConcurrencyLimit(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxConcurrentRequests = 1
	sink := &fakeSink{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	r := startReceiver(t, cfg, sink, nil)
	c := grpcClient(t, r.GRPCAddr())

	done := make(chan error, 1)
	go func() {
		_, err := c.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(validTraces()))
		done <- err
	}()
	<-sink.entered
	_, err := export(t, c, validTraces())
	assertRetryable(t, err, "too many concurrent OTLP/gRPC requests (limit 1, otlp.max_concurrent_requests); retry after 1s")

	sink.mu.Lock()
	close(sink.block)
	sink.block = nil
	sink.mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The slot is released once the RPC is over.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := export(t, c, validTraces())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("request after the slot was freed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestGRPCTypedValues sends the value types the SDK cannot produce (bytes,
// maps, empty values, deep nesting, NaN) and checks their JSON encoding.
func TestGRPCTypedValues(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{}
	r := startReceiver(t, testConfig(), sink, nil)
	c := grpcClient(t, r.GRPCAddr())

	td := validTraces()
	attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	attrs.PutEmptyBytes("raw").FromRaw([]byte{0, 1, 2, 0xff})
	m := attrs.PutEmptyMap("obj")
	m.PutStr("s", "line\nbreak")
	m.PutInt("i", -7)
	m.PutEmptySlice("list").AppendEmpty().SetDouble(0.5)
	attrs.PutEmpty("nothing")
	attrs.PutDouble("nan", math.NaN())
	if _, err := export(t, c, td); err != nil {
		t.Fatal(err)
	}
	spans := sink.take()
	if len(spans) != 1 {
		t.Fatalf("got %d spans", len(spans))
	}
	want := map[string]string{
		"raw":     `"AAEC/w=="`,
		"obj":     `{"s":"line\nbreak","i":-7,"list":[0.5]}`,
		"nothing": "null",
		"nan":     `"NaN"`,
	}
	assertSpan(t, storage.Span{TypedAttributes: spans[0].TypedAttributes}, storage.Span{TypedAttributes: want})
}

// TestGRPCRawMessages sends request bytes as they are (with the receiver's
// own raw codec on the client side) and checks the answers: malformed
// protobuf is refused with INVALID_ARGUMENT, and the response bytes are
// what pdata would encode.
func TestGRPCRawMessages(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	sink := &fakeSink{}
	r := startReceiver(t, testConfig(), sink, reg)
	conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	// A span encoded by hand, key before value as protobuf-go writes it,
	// with unknown fields.
	handMade := oneSpan(spanCore(pb(nil).unknowns(), pb(nil).msg(9, kv("http.route", strVal("/x")))))
	tests := []struct {
		name      string
		body      []byte
		wantCode  codes.Code
		wantMsg   string
		wantResp  []byte
		wantSpans int
	}{
		{name: "malformed", body: []byte{0x0a, 0xff, 0xff}, wantCode: codes.InvalidArgument,
			wantMsg: "malformed OTLP/protobuf request message: unexpected EOF"},
		{name: "wrong wire type", body: pb(nil).varint(1, 1), wantCode: codes.InvalidArgument,
			wantMsg: "malformed OTLP/protobuf request message: field ExportTraceServiceRequest.resource_spans has wire type 0 (varint); it must be length-delimited"},
		{name: "empty request", body: nil, wantCode: codes.OK, wantResp: []byte{0x0a, 0x00}},
		{name: "hand-made span", body: handMade, wantCode: codes.OK, wantResp: []byte{0x0a, 0x00}, wantSpans: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var resp rawMessage
			err := conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
				&rawMessage{data: tc.body}, &resp, grpc.ForceCodecV2(rawCodec{}))
			defer resp.free()
			if st := status.Convert(err); st.Code() != tc.wantCode || (tc.wantMsg != "" && st.Message() != tc.wantMsg) {
				t.Fatalf("status (%v, %q); want (%v, %q)", st.Code(), st.Message(), tc.wantCode, tc.wantMsg)
			}
			if err == nil && !bytes.Equal(resp.data, tc.wantResp) {
				t.Errorf("response % x; want % x", resp.data, tc.wantResp)
			}
			if spans := sink.take(); len(spans) != tc.wantSpans {
				t.Errorf("sink got %d spans; want %d", len(spans), tc.wantSpans)
			}
		})
	}
	if got := counterValue(t, reg, "tracehound_ingest_requests_total", map[string]string{"protocol": "grpc", "outcome": "malformed"}); got != 2 {
		t.Errorf("malformed gRPC requests counted %v; want 2", got)
	}
}

// TestExportResultEncoding checks the hand-written response encodings
// against pdata.
func TestExportResultEncoding(t *testing.T) {
	t.Parallel()
	for _, res := range []exportResult{
		{},
		{rejected: 3},
		{message: "span 01: invalid UTF-8"},
		{rejected: 1 << 40, message: strings.Repeat("long message ", 20)},
	} {
		want := ptraceotlp.NewExportResponse()
		if res.rejected != 0 || res.message != "" {
			want.PartialSuccess().SetRejectedSpans(res.rejected)
			want.PartialSuccess().SetErrorMessage(res.message)
		}
		got := ptraceotlp.NewExportResponse()
		if err := got.UnmarshalProto(res.appendProto(nil)); err != nil {
			t.Fatalf("%+v: % x does not decode: %v", res, res.appendProto(nil), err)
		}
		if ps := got.PartialSuccess(); ps.RejectedSpans() != res.rejected || ps.ErrorMessage() != res.message {
			t.Errorf("%+v: decodes as (%d, %q)", res, ps.RejectedSpans(), ps.ErrorMessage())
		}
		wantJSON, _ := want.MarshalJSON()
		if got, err := res.marshalJSON(); err != nil || !bytes.Equal(got, wantJSON) {
			t.Errorf("%+v: JSON %s (%v); want %s", res, got, err, wantJSON)
		}
		if got, wantOutcome := res.outcome(), map[bool]string{true: "partial_success", false: "success"}[res.rejected != 0 || res.message != ""]; got != wantOutcome {
			t.Errorf("%+v: outcome %s; want %s", res, got, wantOutcome)
		}
	}
}
