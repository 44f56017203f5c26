package ingest

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tracehound/tracehound/storage"
)

// otlpJSON is an OTLP/JSON request as the spec writes it: hex ids, 64-bit
// integers as strings, enums as numbers.
const otlpJSON = `{
  "resourceSpans": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "json-svc"}},
      {"key": "host.cpus", "value": {"intValue": "8"}}
    ]},
    "scopeSpans": [{
      "scope": {"name": "manual", "version": "1.0.0"},
      "spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "parentSpanId": "eee19b7ec3c1b173",
        "traceState": "vendor=x",
        "name": "GET /users/{id}",
        "kind": 2,
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
        "attributes": [
          {"key": "http.route", "value": {"stringValue": "/users/{id}"}},
          {"key": "big", "value": {"intValue": "9223372036854775807"}},
          {"key": "ratio", "value": {"doubleValue": 0.25}},
          {"key": "ok", "value": {"boolValue": true}},
          {"key": "raw", "value": {"bytesValue": "AQID"}},
          {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}}},
          {"key": "obj", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": false}}]}}}
        ],
        "events": [{"timeUnixNano": "1544712660500000000", "name": "cache miss",
                    "attributes": [{"key": "key", "value": {"stringValue": "u:1"}}]}],
        "links": [{"traceId": "11111111111111111111111111111111", "spanId": "2222222222222222"}],
        "status": {"code": 2, "message": "not found"}
      }]
    }]
  }]
}`

func TestHTTPRawJSON(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{}
	r := startReceiver(t, testConfig(), sink, nil)

	res, err := postTraces(r.HTTPAddr(), "application/json; charset=utf-8", "", []byte(otlpJSON))
	if err != nil {
		t.Fatal(err)
	}
	if res.status != http.StatusOK || res.header.Get("Content-Type") != contentTypeJSON {
		t.Fatalf("status %d, content type %q, body %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	resp := ptraceotlp.NewExportResponse()
	if err := resp.UnmarshalJSON(res.body); err != nil {
		t.Fatalf("response %s: %v", res.body, err)
	}
	if ps := resp.PartialSuccess(); ps.RejectedSpans() != 0 || ps.ErrorMessage() != "" {
		t.Fatalf("unexpected partial success: %d %q", ps.RejectedSpans(), ps.ErrorMessage())
	}

	spans := sink.take()
	if len(spans) != 1 {
		t.Fatalf("sink got %d spans; want 1", len(spans))
	}
	want := storage.Span{
		TraceID:                 mustHex16(t, "5b8efff798038103d269b633813fc60c"),
		SpanID:                  mustHex8(t, "eee19b7ec3c1b174"),
		ParentSpanID:            mustHex8(t, "eee19b7ec3c1b173"),
		TraceState:              "vendor=x",
		Service:                 "json-svc",
		Name:                    "GET /users/{id}",
		Kind:                    storage.SpanKindServer,
		StartUnixNano:           1544712660000000000,
		DurationNano:            1_000_000_000,
		StatusCode:              storage.StatusError,
		StatusMessage:           "not found",
		ScopeName:               "manual",
		ScopeVersion:            "1.0.0",
		ResourceAttributes:      map[string]string{"service.name": "json-svc"},
		ResourceTypedAttributes: map[string]string{"host.cpus": "8"},
		Attributes:              map[string]string{"http.route": "/users/{id}"},
		TypedAttributes: map[string]string{
			"big":   "9223372036854775807",
			"ratio": "0.25",
			"ok":    "true",
			"raw":   `"AQID"`,
			"tags":  `["a",1]`,
			"obj":   `{"k":false}`,
		},
		Events: []storage.Event{{TimeUnixNano: 1544712660500000000, Name: "cache miss", AttributesJSON: `{"key":"u:1"}`}},
		Links: []storage.Link{{
			TraceID:        mustHex16(t, "11111111111111111111111111111111"),
			SpanID:         mustHex8(t, "2222222222222222"),
			AttributesJSON: "{}",
		}},
	}
	assertSpan(t, spans[0], want)
}

func mustHex16(t *testing.T, s string) [16]byte {
	t.Helper()
	var out [16]byte
	if n, err := hex.Decode(out[:], []byte(s)); err != nil || n != 16 {
		t.Fatalf("bad hex %q", s)
	}
	return out
}

func mustHex8(t *testing.T, s string) [8]byte {
	t.Helper()
	var out [8]byte
	if n, err := hex.Decode(out[:], []byte(s)); err != nil || n != 8 {
		t.Fatalf("bad hex %q", s)
	}
	return out
}

// decodeStatus decodes an OTLP/HTTP error body.
func decodeStatus(t *testing.T, res *httpResult) *spb.Status {
	t.Helper()
	st := &spb.Status{}
	var err error
	if strings.HasPrefix(res.header.Get("Content-Type"), contentTypeJSON) {
		err = protojson.Unmarshal(res.body, st)
	} else {
		err = proto.Unmarshal(res.body, st)
	}
	if err != nil {
		t.Fatalf("error body %q (%s) is not a google.rpc.Status: %v", res.body, res.header.Get("Content-Type"), err)
	}
	return st
}

func TestHTTPBadInput(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxRequestBytes = 512 << 10
	cfg.MaxDecompressedBytes = 1 << 20
	sink := &fakeSink{}
	r := startReceiver(t, cfg, sink, nil)
	url := "http://" + r.HTTPAddr()

	zeroTrace := validTraces()
	zeroSID := addSpan(zeroTrace, func(s ptrace.Span) { s.SetTraceID(pcommon.TraceID{}) }).SpanID()
	endBefore := validTraces()
	endSID := addSpan(endBefore, func(s ptrace.Span) { s.SetEndTimestamp(testStart - 1) }).SpanID()
	badUTF8 := ptrace.NewTraces()
	badUTF8.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	badSID := addSpan(badUTF8, func(s ptrace.Span) { s.Attributes().PutStr("user", "caf\xe9") }).SpanID()

	big := validTraces()
	big.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("blob", strings.Repeat("x", 600<<10))
	bigBody := protoBody(t, big)
	bomb := gzipBytes(t, make([]byte, 2<<20))

	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		encoding    string
		body        []byte
		chunked     bool

		wantStatus int
		wantMsg    string // google.rpc.Status message, or partial success error_message
		// for 200 answers:
		wantRejected int64
		wantSpans    int
		checkSpans   func(t *testing.T, spans []storage.Span)
	}{
		{
			name: "malformed protobuf", contentType: contentTypeProto, body: []byte{0x0a, 0xff, 0xff},
			wantStatus: 400, wantMsg: "malformed OTLP/protobuf request body: unexpected EOF",
		},
		{
			name: "malformed JSON", contentType: contentTypeJSON, body: []byte(`{"resourceSpans": [`),
			wantStatus: 400, wantMsg: `malformed OTLP/JSON request body: ReadObject: expect { or , or } or n, but found end of input near "eSpans\": ["`,
		},
		{
			name: "trace id of wrong length in JSON", contentType: contentTypeJSON,
			body:       []byte(strings.Replace(otlpJSON, "5b8efff798038103d269b633813fc60c", "5b8efff798038103", 1)),
			wantStatus: 400, wantMsg: `malformed OTLP/JSON request body: ID.UnmarshalJSONIter: length mismatch near "798038103\",\n        " (trace ids must be 32 hex characters, span ids 16)`,
		},
		{
			name: "zero trace id", contentType: contentTypeProto, body: protoBody(t, zeroTrace),
			wantStatus: 200, wantRejected: 1, wantSpans: 1,
			wantMsg: "1 of 2 spans rejected: span " + hex.EncodeToString(zeroSID[:]) + ": trace_id is missing or all zeros (it must be 16 bytes, not all zero)",
		},
		{
			name: "end before start", contentType: contentTypeProto, body: protoBody(t, endBefore),
			wantStatus: 200, wantRejected: 1, wantSpans: 1,
			wantMsg: "1 of 2 spans rejected: span " + hex.EncodeToString(endSID[:]) + ": end time before start time",
		},
		{
			name: "invalid UTF-8 in an attribute", contentType: contentTypeProto, body: protoBody(t, badUTF8),
			wantStatus: 200, wantRejected: 0, wantSpans: 1,
			wantMsg: "span " + hex.EncodeToString(badSID[:]) + `: invalid UTF-8 in value of attribute "user" replaced with U+FFFD`,
			checkSpans: func(t *testing.T, spans []storage.Span) {
				if got := spans[0].Attributes["user"]; got != "caf\uFFFD" {
					t.Errorf("attribute user = %q; want %q", got, "caf\uFFFD")
				}
				if spans[0].Service != unknownService {
					t.Errorf("service = %q; want %q", spans[0].Service, unknownService)
				}
			},
		},
		{
			name: "oversized body", contentType: contentTypeProto, body: bigBody,
			wantStatus: 413, wantMsg: "request body is " + itoa(len(bigBody)) + " bytes, above the 524288-byte limit (otlp.max_request_bytes)",
		},
		{
			name: "oversized chunked body", contentType: contentTypeJSON, body: bigBody, chunked: true,
			wantStatus: 413, wantMsg: "request body exceeds the 524288-byte limit (otlp.max_request_bytes)",
		},
		{
			name: "gzip bomb", contentType: contentTypeProto, encoding: "gzip", body: bomb,
			wantStatus: 413, wantMsg: "decompressed body exceeds the 1048576-byte limit (otlp.max_decompressed_bytes)",
		},
		{
			name: "not gzip", contentType: contentTypeProto, encoding: "gzip", body: []byte("plain"),
			wantStatus: 400, wantMsg: "invalid gzip request body: unexpected EOF",
		},
		{
			name: "unknown content type", contentType: "text/plain", body: []byte("hello"),
			wantStatus: 415, wantMsg: `unsupported Content-Type "text/plain"; send application/x-protobuf or application/json`,
		},
		{
			name: "missing content type", body: []byte("hello"),
			wantStatus: 415, wantMsg: `missing Content-Type; send application/x-protobuf or application/json`,
		},
		{
			name: "unsupported content encoding", contentType: contentTypeProto, encoding: "br", body: []byte("x"),
			wantStatus: 415, wantMsg: `unsupported Content-Encoding "br"; send gzip or uncompressed bodies`,
		},
		{
			name: "GET", method: http.MethodGet, contentType: contentTypeProto,
			wantStatus: 405, wantMsg: "method GET is not allowed on /v1/traces; use POST",
		},
		{
			name: "unknown path", path: "/v1/metrics", contentType: contentTypeProto, body: []byte("x"),
			wantStatus: 404, wantMsg: "no OTLP endpoint at /v1/metrics; send traces with POST /v1/traces",
		},
	}
	good := protoBody(t, validTraces())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, path := tc.method, tc.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = tracesPath
			}
			length := int64(len(tc.body))
			if tc.chunked {
				length = -1
			}
			var body *bytes.Reader
			if tc.body != nil {
				body = bytes.NewReader(tc.body)
			}
			var res *httpResult
			var err error
			if body == nil {
				res, err = doHTTP(method, url+path, tc.contentType, tc.encoding, nil, 0)
			} else {
				res, err = doHTTP(method, url+path, tc.contentType, tc.encoding, body, length)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.status != tc.wantStatus {
				t.Fatalf("status %d; want %d (body %q)", res.status, tc.wantStatus, res.body)
			}
			spans := sink.take()
			if res.status == http.StatusOK {
				resp := ptraceotlp.NewExportResponse()
				if err := resp.UnmarshalProto(res.body); err != nil {
					t.Fatal(err)
				}
				ps := resp.PartialSuccess()
				if ps.RejectedSpans() != tc.wantRejected || ps.ErrorMessage() != tc.wantMsg {
					t.Errorf("partial success (%d, %q); want (%d, %q)", ps.RejectedSpans(), ps.ErrorMessage(), tc.wantRejected, tc.wantMsg)
				}
				if len(spans) != tc.wantSpans {
					t.Fatalf("sink got %d spans; want %d", len(spans), tc.wantSpans)
				}
				if tc.checkSpans != nil {
					tc.checkSpans(t, spans)
				}
			} else {
				if len(spans) != 0 {
					t.Errorf("sink got %d spans from a refused request", len(spans))
				}
				st := decodeStatus(t, res)
				if st.GetMessage() != tc.wantMsg {
					t.Errorf("message %q; want %q", st.GetMessage(), tc.wantMsg)
				}
				if tc.wantStatus == 405 && res.header.Get("Allow") != http.MethodPost {
					t.Errorf("Allow header %q; want POST", res.header.Get("Allow"))
				}
			}

			// The receiver still works.
			res, err = postTraces(r.HTTPAddr(), contentTypeProto, "", good)
			if err != nil || res.status != http.StatusOK {
				t.Fatalf("good request after a bad one: %v %+v", err, res)
			}
			if n := len(sink.take()); n != 1 {
				t.Fatalf("good request after a bad one stored %d spans; want 1", n)
			}
		})
	}
}

func TestHTTPQueueFullAndOverload(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxConcurrentRequests = 1
	sink := &fakeSink{}
	r := startReceiver(t, cfg, sink, nil)
	body := protoBody(t, validTraces())

	check := func(t *testing.T, res *httpResult, wantMsg string) {
		t.Helper()
		if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") != "1" {
			t.Fatalf("status %d, Retry-After %q; want 503 and 1", res.status, res.header.Get("Retry-After"))
		}
		st := decodeStatus(t, res)
		if codes.Code(st.GetCode()) != codes.Unavailable || st.GetMessage() != wantMsg {
			t.Fatalf("status (%d, %q); want (%d, %q)", st.GetCode(), st.GetMessage(), codes.Unavailable, wantMsg)
		}
		if len(st.GetDetails()) != 1 {
			t.Fatalf("%d details; want a RetryInfo", len(st.GetDetails()))
		}
		ri := &errdetails.RetryInfo{}
		if err := st.GetDetails()[0].UnmarshalTo(ri); err != nil || ri.GetRetryDelay().AsDuration().Seconds() != 1 {
			t.Fatalf("detail %v (%v); want RetryInfo of 1s", st.GetDetails()[0], err)
		}
	}

	t.Run("queue full", func(t *testing.T) {
		sink.setErr(storage.ErrQueueFull)
		defer sink.setErr(nil)
		res, err := postTraces(r.HTTPAddr(), contentTypeJSON, "", []byte(otlpJSON))
		if err != nil {
			t.Fatal(err)
		}
		check(t, res, "spans not accepted: write queue is full (tracehound is overloaded); retry after 1s")
	})
	t.Run("stopped", func(t *testing.T) {
		sink.setErr(storage.ErrStopped)
		defer sink.setErr(nil)
		res, err := postTraces(r.HTTPAddr(), contentTypeProto, "", body)
		if err != nil {
			t.Fatal(err)
		}
		check(t, res, "spans not accepted: writer is shutting down (tracehound is shutting down); retry after 1s or send to another instance")
	})
	t.Run("too many concurrent requests", func(t *testing.T) {
		sink.mu.Lock()
		sink.block, sink.entered = make(chan struct{}), make(chan struct{}, 1)
		sink.mu.Unlock()
		done := make(chan error, 1)
		go func() {
			_, err := postTraces(r.HTTPAddr(), contentTypeProto, "", body)
			done <- err
		}()
		<-sink.entered
		res, err := postTraces(r.HTTPAddr(), contentTypeProto, "", body)
		if err != nil {
			t.Fatal(err)
		}
		check(t, res, "too many concurrent OTLP/HTTP requests (limit 1, otlp.max_concurrent_requests); retry after 1s")
		sink.mu.Lock()
		close(sink.block)
		sink.block = nil
		sink.mu.Unlock()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	res, err := postTraces(r.HTTPAddr(), contentTypeProto, "", body)
	if err != nil || res.status != http.StatusOK {
		t.Fatalf("good request afterwards: %v %+v", err, res)
	}
}
