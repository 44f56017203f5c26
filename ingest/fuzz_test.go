package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
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

// compareWithReference converts body with Convert, and with the pdata
// unmarshaler and the former pdata-based converter (refConvert): both must
// refuse the same requests, and give the same spans, counts and messages
// for the others. Every accepted span must also satisfy checkSpan.
func compareWithReference(t *testing.T, body []byte, cfg Config) {
	t.Helper()
	req := ptraceotlp.NewExportRequest()
	refErr := req.UnmarshalProto(body)
	res, err := Convert(body, cfg)
	if (err == nil) != (refErr == nil) {
		t.Fatalf("Convert error %v; pdata unmarshal error %v", err, refErr)
	}
	if err != nil {
		return
	}
	ref := refConvert(req.Traces(), cfg)
	got := batchSpans(res.Batch)
	if res.Received != ref.Received || res.Rejected != ref.Rejected || res.Warnings != ref.Warnings ||
		res.MessagesOmitted != ref.MessagesOmitted || len(got) != len(ref.Spans) {
		t.Fatalf("received %d rejected %d warnings %d omitted %d spans %d; reference %d %d %d %d %d",
			res.Received, res.Rejected, res.Warnings, res.MessagesOmitted, len(got),
			ref.Received, ref.Rejected, ref.Warnings, ref.MessagesOmitted, len(ref.Spans))
	}
	if !reflect.DeepEqual(res.Messages, ref.Messages) {
		t.Fatalf("messages\n got  %q\n want %q", res.Messages, ref.Messages)
	}
	if res.Received > 0 && res.Batch == nil {
		t.Fatal("no batch for a request with spans")
	}
	for i := range got {
		normalizeMaps(&ref.Spans[i])
		if !reflect.DeepEqual(got[i], ref.Spans[i]) {
			assertSpan(t, got[i], ref.Spans[i])
			t.FailNow()
		}
		checkSpan(t, &got[i], cfg)
	}
}

// normalizeMaps replaces empty attribute maps by nil (the reference
// converter leaves an empty typed map when all typed values were
// duplicates of string keys).
func normalizeMaps(s *storage.Span) {
	for _, m := range []*map[string]string{&s.ResourceAttributes, &s.ResourceTypedAttributes, &s.Attributes, &s.TypedAttributes} {
		if len(*m) == 0 {
			*m = nil
		}
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
	case cfg.MaxAttributesPerSpan > 0 && len(s.Attributes)+len(s.TypedAttributes) > cfg.MaxAttributesPerSpan:
		t.Fatalf("%d attributes, limit %d", len(s.Attributes)+len(s.TypedAttributes), cfg.MaxAttributesPerSpan)
	case cfg.MaxEventsPerSpan > 0 && len(s.Events) > cfg.MaxEventsPerSpan || cfg.MaxLinksPerSpan > 0 && len(s.Links) > cfg.MaxLinksPerSpan:
		t.Fatalf("%d events, %d links", len(s.Events), len(s.Links))
	}
	for _, str := range []string{s.Service, s.Name, s.TraceState, s.StatusMessage, s.ScopeName, s.ScopeVersion} {
		if !utf8.ValidString(str) {
			t.Fatalf("invalid UTF-8 kept: %q", str)
		}
	}
	for _, m := range []map[string]string{s.Attributes, s.ResourceAttributes} {
		for k, v := range m {
			if !utf8.ValidString(k) || !utf8.ValidString(v) || cfg.MaxAttributeValueBytes > 0 && len(v) > cfg.MaxAttributeValueBytes {
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

// fuzzConfigs are the configurations the fuzz targets convert with: small
// limits, and none.
func fuzzConfigs() [2]Config { return [2]Config{fuzzConfig(), {}} }

// FuzzConvertProto converts arbitrary OTLP/protobuf and compares the
// result with pdata and the reference converter.
func FuzzConvertProto(f *testing.F) {
	seedBodies(f, false)
	f.Add([]byte{0x0a, 0xff, 0xff, 0x01})
	for _, tc := range wireSeeds() {
		f.Add(tc)
	}
	cfgs := fuzzConfigs()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, cfg := range cfgs {
			compareWithReference(t, body, cfg)
		}
	})
}

// FuzzConvertJSON decodes arbitrary OTLP/JSON as the HTTP receiver does
// and compares the conversion of its protobuf encoding with the reference.
func FuzzConvertJSON(f *testing.F) {
	seedBodies(f, true)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"a","value":{"kvlistValue":{"values":[{"key":"b","value":{"arrayValue":{"values":[{"doubleValue":"NaN"}]}}}]}}}]}]}]}]}`))
	f.Add([]byte(`{"resourceSpans": [`))
	cfgs := fuzzConfigs()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalJSON(body); err != nil {
			_ = jsonErrorMessage(err)
			return
		}
		pb, err := req.MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		for _, cfg := range cfgs {
			compareWithReference(t, pb, cfg)
		}
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

func (discardSink) Enqueue(context.Context, *storage.SpanBatch) error { return nil }
