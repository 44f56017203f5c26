package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracehound/tracehound/storage"
)

// fuzzConfig has small limits so that fuzzed inputs reach the truncation
// and capping paths.
func fuzzConfig() Config {
	cfg := NewDefaultConfig()
	cfg.MaxAttributesPerSpan = 4
	cfg.MaxAttributeValueBytes = 2 * len(truncationMarker)
	cfg.MaxEventsPerSpan = 2
	cfg.MaxLinksPerSpan = 2
	cfg.MaxRequestBytes = 64 << 10
	cfg.MaxDecompressedBytes = 256 << 10
	return cfg
}

// richTraces is a seed with every field set: attributes of each type,
// events, links, invalid UTF-8, a span over the limits.
func richTraces() ptrace.Traces {
	td := validTraces()
	rs := td.ResourceSpans().At(0)
	rs.Resource().Attributes().PutInt("pid", 42)
	addSpan(td, func(s ptrace.Span) {
		a := s.Attributes()
		a.PutStr("http.route", "/items/{id}")
		a.PutStr("bad", "caf\xff")
		a.PutInt("n", 7)
		a.PutDouble("d", 1.5)
		a.PutBool("b", true)
		a.PutEmptyBytes("raw").FromRaw([]byte{1, 2})
		a.PutEmptySlice("list").AppendEmpty().SetStr("x")
		a.PutEmptyMap("map").PutStr("k", "v")
		e := s.Events().AppendEmpty()
		e.SetName("exception")
		e.Attributes().PutStr("exception.type", "E")
		s.Events().AppendEmpty().SetName("e2")
		s.Events().AppendEmpty().SetName("e3")
		l := s.Links().AppendEmpty()
		l.SetTraceID(pcommon.TraceID{1})
		l.SetSpanID(pcommon.SpanID{2})
		s.SetKind(ptrace.SpanKindClient)
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage("boom")
		s.SetParentSpanID(pcommon.SpanID{9})
	})
	addSpan(td, func(s ptrace.Span) { s.SetTraceID(pcommon.TraceID{}) })                   // rejected
	addSpan(td, func(s ptrace.Span) { s.SetEndTimestamp(s.StartTimestamp() - 1) })         // rejected
	addSpan(td, func(s ptrace.Span) { s.SetKind(ptrace.SpanKind(99)); s.SetName("\xfe") }) // odd kind
	return td
}

// checkConvert runs Convert and checks what every accepted span must
// satisfy, whatever the input.
func checkConvert(t *testing.T, td ptrace.Traces) {
	cfg := fuzzConfig()
	res := Convert(td, cfg)
	if res.Received != td.SpanCount() || len(res.Spans)+res.Rejected != res.Received {
		t.Fatalf("received %d (request %d), accepted %d, rejected %d", res.Received, td.SpanCount(), len(res.Spans), res.Rejected)
	}
	if len(res.Messages) > 10 {
		t.Fatalf("%d messages", len(res.Messages))
	}
	_ = res.Summary()
	for i := range res.Spans {
		checkSpan(t, &res.Spans[i], cfg)
	}
}

func checkSpan(t *testing.T, s *storage.Span, cfg Config) {
	t.Helper()
	switch {
	case s.TraceID == [16]byte{} || s.SpanID == [8]byte{}:
		t.Fatalf("accepted span with a zero id: %x %x", s.TraceID, s.SpanID)
	case s.StartUnixNano <= 0 || s.DurationNano < 0:
		t.Fatalf("accepted span with start %d duration %d", s.StartUnixNano, s.DurationNano)
	case s.Kind < storage.SpanKindUnspecified || s.Kind > storage.SpanKindConsumer:
		t.Fatalf("kind %d", s.Kind)
	case s.StatusCode < storage.StatusUnset || s.StatusCode > storage.StatusError:
		t.Fatalf("status %d", s.StatusCode)
	case len(s.Attributes)+len(s.TypedAttributes) > cfg.MaxAttributesPerSpan:
		t.Fatalf("%d attributes, limit %d", len(s.Attributes)+len(s.TypedAttributes), cfg.MaxAttributesPerSpan)
	case len(s.Events) > cfg.MaxEventsPerSpan || len(s.Links) > cfg.MaxLinksPerSpan:
		t.Fatalf("%d events, %d links", len(s.Events), len(s.Links))
	}
	for _, str := range []string{s.Service, s.Name, s.TraceState, s.StatusMessage, s.ScopeName, s.ScopeVersion} {
		if !utf8.ValidString(str) {
			t.Fatalf("invalid UTF-8 kept: %q", str)
		}
	}
	for _, m := range []map[string]string{s.Attributes, s.ResourceAttributes} {
		for k, v := range m {
			if !utf8.ValidString(k) || !utf8.ValidString(v) || len(v) > cfg.MaxAttributeValueBytes {
				t.Fatalf("attribute %q = %q (limit %d bytes)", k, v, cfg.MaxAttributeValueBytes)
			}
		}
	}
	for _, m := range []map[string]string{s.TypedAttributes, s.ResourceTypedAttributes} {
		for k, v := range m {
			if !json.Valid([]byte(v)) {
				t.Fatalf("typed attribute %q is not JSON: %q", k, v)
			}
		}
	}
	for _, e := range s.Events {
		if !json.Valid([]byte(e.AttributesJSON)) || !utf8.ValidString(e.Name) {
			t.Fatalf("event %+v", e)
		}
	}
	for _, l := range s.Links {
		if !json.Valid([]byte(l.AttributesJSON)) {
			t.Fatalf("link %+v", l)
		}
	}
}

func seedBodies(f *testing.F, asJSON bool) {
	for _, td := range []ptrace.Traces{validTraces(), richTraces(), ptrace.NewTraces()} {
		req := ptraceotlp.NewExportRequestFromTraces(td)
		var b []byte
		var err error
		if asJSON {
			b, err = req.MarshalJSON()
		} else {
			b, err = req.MarshalProto()
		}
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzConvertProto decodes arbitrary OTLP/protobuf and converts it.
func FuzzConvertProto(f *testing.F) {
	seedBodies(f, false)
	f.Add([]byte{0x0a, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return
		}
		checkConvert(t, req.Traces())
	})
}

// FuzzConvertJSON decodes arbitrary OTLP/JSON and converts it.
func FuzzConvertJSON(f *testing.F) {
	seedBodies(f, true)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"a","value":{"kvlistValue":{"values":[{"key":"b","value":{"arrayValue":{"values":[{"doubleValue":"NaN"}]}}}]}}}]}]}]}]}`))
	f.Add([]byte(`{"resourceSpans": [`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(body); err != nil {
			_ = jsonErrorMessage(err)
			return
		}
		checkConvert(t, req.Traces())
	})
}

// FuzzHTTPExport sends arbitrary bodies through the whole OTLP/HTTP
// handler (content type, gzip, limits, decoding, conversion, the sink):
// the answer is always a well-formed OTLP response with a known status.
func FuzzHTTPExport(f *testing.F) {
	td := richTraces()
	pb, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	js, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	f.Add(pb, false, false)
	f.Add(js, true, false)
	f.Add(gzipBytes(f, pb), false, true)
	f.Add(gzipBytes(f, bytes.Repeat([]byte{0}, 300<<10)), true, true) // over max_decompressed_bytes
	r, err := New(fuzzConfig(), discardSink{}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	allowed := map[int]bool{200: true, 400: true, 413: true, 415: true}
	f.Fuzz(func(t *testing.T, body []byte, asJSON, gz bool) {
		req := httptest.NewRequest(http.MethodPost, tracesPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", map[bool]string{true: contentTypeJSON, false: contentTypeProto}[asJSON])
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		w := httptest.NewRecorder()
		r.serveHTTP(w, req)
		if !allowed[w.Code] {
			t.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
		}
		if w.Code == 200 {
			resp := ptraceotlp.NewExportResponse()
			var err error
			if asJSON {
				err = resp.UnmarshalJSON(w.Body.Bytes())
			} else {
				err = resp.UnmarshalProto(w.Body.Bytes())
			}
			if err != nil {
				t.Fatalf("response does not decode: %v", err)
			}
		}
	})
}

// discardSink accepts and forgets spans.
type discardSink struct{}

func (discardSink) Enqueue(context.Context, []storage.Span) error { return nil }
