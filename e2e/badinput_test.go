package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// statusMessage extracts the message of a google.rpc.Status body, encoded
// as the OTLP spec says: protobuf for protobuf requests, JSON otherwise.
func statusMessage(t *testing.T, contentType, body string) string {
	t.Helper()
	if contentType == "application/x-protobuf" {
		var st spb.Status
		if err := proto.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("error body is not a protobuf google.rpc.Status: %q", body)
		}
		return st.GetMessage()
	}
	var st struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("error body is not a JSON google.rpc.Status: %q", body)
	}
	return st.Message
}

// assertStillServing sends a good request and reads it back.
func assertStillServing(t *testing.T, srv *server) {
	t.Helper()
	traceID := randomHex(16)
	start := time.Now().Add(-time.Second).UnixNano()
	code, body, _ := postOTLP(t, srv.otlpHTTP, "application/json", []byte(fmt.Sprintf(rawJSONTrace, traceID, start, start+1000)), nil)
	if code != http.StatusOK {
		t.Fatalf("good request after bad input: %d %s", code, body)
	}
	srv.waitTrace(t, traceID, 1)
}

func TestBadInputHTTP(t *testing.T) {
	srv := startServer(t, serverOpts{})
	start := time.Now().UnixNano()
	zeroTrace := fmt.Sprintf(rawJSONTrace, strings.Repeat("0", 32), start, start+1000)
	endBeforeStart := fmt.Sprintf(rawJSONTrace, randomHex(16), start, start-1000)
	shortID := fmt.Sprintf(rawJSONTrace, "abcd", start, start+1000)
	badUTF8 := strings.Replace(fmt.Sprintf(rawJSONTrace, randomHex(16), start, start+1000), "héllo", `caf\xff`, 1)
	badUTF8 = strings.Replace(badUTF8, `\xff`, "\xff", 1)
	huge := make([]byte, 17<<20)
	bomb := gzipBytes(t, make([]byte, 70<<20))

	tests := []struct {
		name        string
		contentType string
		headers     map[string]string
		body        []byte
		wantCode    int
		wantMsg     string // exact, or prefix when wantPrefix
		wantPrefix  bool
	}{
		{"malformed protobuf", "application/x-protobuf", nil, []byte{0x0a, 0xff, 0xff, 0x01}, 400,
			"malformed OTLP/protobuf request body: ", true},
		{"malformed JSON", "application/json", nil, []byte(`{"resourceSpans": [`), 400,
			"malformed OTLP/JSON request body: ", true},
		{"trace id of wrong length", "application/json", nil, []byte(shortID), 400,
			"malformed OTLP/JSON request body: ", true},
		{"oversized request", "application/x-protobuf", nil, huge, 413,
			"request body is 17825792 bytes, above the 16777216-byte limit (otlp.max_request_bytes)", false},
		{"gzip bomb", "application/json", map[string]string{"Content-Encoding": "gzip"}, bomb, 413,
			fmt.Sprintf("body of %d bytes decompresses to more than 100 times its size (otlp.max_decompression_ratio)", len(bomb)), false},
		{"unknown content type", "text/plain", nil, []byte("hello"), 415,
			`unsupported Content-Type "text/plain"; send application/x-protobuf or application/json`, false},
		{"unsupported encoding", "application/json", map[string]string{"Content-Encoding": "br"}, []byte("{}"), 415,
			`unsupported Content-Encoding "br"; send gzip or uncompressed bodies`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := postOTLP(t, srv.otlpHTTP, tc.contentType, tc.body, tc.headers)
			msg := statusMessage(t, tc.contentType, body)
			if code != tc.wantCode {
				t.Errorf("status %d, want %d (body %q)", code, tc.wantCode, body)
			}
			if tc.wantPrefix && !strings.Contains(msg, tc.wantMsg) || !tc.wantPrefix && msg != tc.wantMsg {
				t.Errorf("message %q, want %q", msg, tc.wantMsg)
			}
			assertStillServing(t, srv)
		})
	}

	partial := []struct {
		name         string
		body         string
		wantRejected string
		wantMsg      string
	}{
		{"zero trace id", zeroTrace, "1", "1 of 1 spans rejected: span 0102030405060708: trace_id is missing or all zeros (it must be 16 bytes, not all zero)"},
		{"end before start", endBeforeStart, "1", "1 of 1 spans rejected: span 0102030405060708: end time before start time"},
		{"invalid UTF-8", badUTF8, "", `span 0102030405060708: invalid UTF-8 in value of attribute "note" replaced with U+FFFD`},
	}
	for _, tc := range partial {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := postOTLP(t, srv.otlpHTTP, "application/json", []byte(tc.body), nil)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			var resp struct {
				PartialSuccess struct {
					RejectedSpans string `json:"rejectedSpans"`
					ErrorMessage  string `json:"errorMessage"`
				} `json:"partialSuccess"`
			}
			if err := json.Unmarshal([]byte(body), &resp); err != nil {
				t.Fatalf("response %q: %v", body, err)
			}
			if resp.PartialSuccess.RejectedSpans != tc.wantRejected || resp.PartialSuccess.ErrorMessage != tc.wantMsg {
				t.Errorf("partial success %+v, want rejected %q message %q", resp.PartialSuccess, tc.wantRejected, tc.wantMsg)
			}
			assertStillServing(t, srv)
		})
	}
	t.Run("invalid UTF-8 stored as U+FFFD", func(t *testing.T) {
		var traceID string
		fmt.Sscanf(badUTF8[strings.Index(badUTF8, `"traceId":"`)+len(`"traceId":"`):], "%32s", &traceID)
		tr := srv.waitTrace(t, traceID, 1)
		if got := tr.Spans[0].Attributes["note"]; got != "caf\uFFFD" {
			t.Errorf("stored value %q, want %q", got, "caf\uFFFD")
		}
	})
}

func TestBadInputGRPC(t *testing.T) {
	srv := startServer(t, serverOpts{})
	conn, err := grpc.NewClient(srv.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	ctx := ctxTimeout(t, time.Minute)

	t.Run("oversized message", func(t *testing.T) {
		req := makeRequest("big", 1)
		span := req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		span.Attributes().PutStr("blob", string(bytes.Repeat([]byte("x"), 17<<20)))
		_, err := client.Export(ctx, req)
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "above the 16777216-byte limit (otlp.max_request_bytes)") {
			t.Errorf("got %v, want ResourceExhausted naming otlp.max_request_bytes", err)
		}
		assertStillServing(t, srv)
	})
	t.Run("zero trace id rejected with partial success", func(t *testing.T) {
		req := makeRequest("partial", 2)
		req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetTraceID(pcommon.TraceID{})
		resp, err := client.Export(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.PartialSuccess().RejectedSpans() != 1 || !strings.HasPrefix(resp.PartialSuccess().ErrorMessage(), "1 of 2 spans rejected: span ") {
			t.Errorf("partial success: %d %q", resp.PartialSuccess().RejectedSpans(), resp.PartialSuccess().ErrorMessage())
		}
		assertStillServing(t, srv)
	})
	t.Run("empty request", func(t *testing.T) {
		resp, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(ptrace.NewTraces()))
		if err != nil || resp.PartialSuccess().RejectedSpans() != 0 {
			t.Errorf("empty request: %v %v", resp, err)
		}
	})
	_ = context.Background
}
