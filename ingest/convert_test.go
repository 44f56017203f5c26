package ingest

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// convertOne converts td and returns the index of its last span.
func convertOne(t *testing.T, td ptrace.Traces, cfg Config) (converted, int) {
	t.Helper()
	res := convertTD(t, td, cfg)
	if len(res.Spans) == 0 {
		t.Fatalf("no span kept: %v", res.Messages)
	}
	return res, len(res.Spans) - 1
}

func TestConvertTruncatesLongValues(t *testing.T) {
	t.Parallel()
	cfg := NewDefaultConfig()
	cfg.MaxAttributeValueBytes = 32
	td := validTraces()
	attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	attrs.PutStr("short", strings.Repeat("a", 32))
	attrs.PutStr("ascii", strings.Repeat("b", 40))
	attrs.PutStr("utf8", strings.Repeat("é", 20)) // 2-byte runes: the cut falls inside one
	attrs.PutEmptySlice("nested").AppendEmpty().SetStr(strings.Repeat("c", 40))

	res, i := convertOne(t, td, cfg)
	s := res.Spans[i]
	for key, want := range map[string]string{
		"short": strings.Repeat("a", 32),
		"ascii": strings.Repeat("b", 18) + truncationMarker,
		"utf8":  strings.Repeat("é", 9) + truncationMarker,
	} {
		got := s.Attributes[key]
		if got != want {
			t.Errorf("%s = %q; want %q", key, got, want)
		}
		if len(got) > 32 || !utf8.ValidString(got) {
			t.Errorf("%s = %q: %d bytes or invalid UTF-8", key, got, len(got))
		}
	}
	if got, want := s.TypedAttributes["nested"], `["`+strings.Repeat("c", 18)+truncationMarker+`"]`; got != want {
		t.Errorf("nested = %s; want %s", got, want)
	}
}

func TestConvertCapsAttributesEventsLinks(t *testing.T) {
	t.Parallel()
	cfg := NewDefaultConfig()
	cfg.MaxAttributesPerSpan = 3
	cfg.MaxEventsPerSpan = 2
	cfg.MaxLinksPerSpan = 1
	td := validTraces()
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	span.SetDroppedAttributesCount(5)
	span.SetDroppedEventsCount(1)
	for i := range 5 {
		span.Attributes().PutInt("k"+strconv.Itoa(i), int64(i))
		e := span.Events().AppendEmpty()
		e.SetName("e" + strconv.Itoa(i))
		for j := range 5 {
			e.Attributes().PutBool("b"+strconv.Itoa(j), true)
		}
		l := span.Links().AppendEmpty()
		l.SetTraceID(pcommon.TraceID{1})
		l.SetSpanID(pcommon.SpanID{byte(i + 1)})
	}

	res, i := convertOne(t, td, cfg)
	s := res.Spans[i]
	if len(s.TypedAttributes) != 3 || s.TypedAttributes["k2"] != "2" || s.TypedAttributes["k3"] != "" {
		t.Errorf("typed attributes %v; want k0..k2", s.TypedAttributes)
	}
	if s.DroppedAttributesCount != 5+2 {
		t.Errorf("dropped attributes %d; want 7", s.DroppedAttributesCount)
	}
	if len(s.Events) != 2 || s.DroppedEventsCount != 1+3 {
		t.Errorf("%d events, %d dropped; want 2 and 4", len(s.Events), s.DroppedEventsCount)
	}
	if got := s.Events[0].AttributesJSON; got != `{"b0":true,"b1":true,"b2":true}` {
		t.Errorf("event attributes %s; want the first 3", got)
	}
	if len(s.Links) != 1 || s.DroppedLinksCount != 4 || s.Links[0].SpanID != [8]byte{1} {
		t.Errorf("links %v, %d dropped; want the first and 4", s.Links, s.DroppedLinksCount)
	}
	if len(res.Messages) != 0 {
		t.Errorf("limits produced messages %q", res.Messages)
	}
}

func TestConvertResourceAttributeCapWarns(t *testing.T) {
	t.Parallel()
	cfg := NewDefaultConfig()
	cfg.MaxAttributesPerSpan = 2
	td := validTraces()
	ra := td.ResourceSpans().At(0).Resource().Attributes()
	ra.PutStr("a", "1")
	ra.PutStr("b", "2")
	res, i := convertOne(t, td, cfg)
	if len(res.Spans[i].ResourceAttributes) != 2 {
		t.Errorf("resource attributes %v; want 2", res.Spans[i].ResourceAttributes)
	}
	want := `resource of service "svc": 3 attributes, kept the first 2 (otlp.max_attributes_per_span)`
	if len(res.Messages) != 1 || res.Messages[0] != want || res.Warnings != 1 {
		t.Errorf("messages %q; want [%q]", res.Messages, want)
	}
}

func TestConvertTypedValues(t *testing.T) {
	t.Parallel()
	td := validTraces()
	attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	for k, v := range map[string]float64{
		"f.int": 3, "f.neg0": math.Copysign(0, -1), "f.small": 1e-7, "f.big": 1e21, "f.frac": -0.1,
		"f.inf": math.Inf(1), "f.-inf": math.Inf(-1),
	} {
		attrs.PutDouble(k, v)
	}
	attrs.PutInt("i.max", math.MaxInt64)
	attrs.PutInt("i.min", math.MinInt64)
	attrs.PutEmptyBytes("bytes.empty")
	m := attrs.PutEmptyMap("map.escape")
	m.PutStr("q\"\\\t\x01", "</script>")
	deep := attrs.PutEmptySlice("deep")
	for range maxValueDepth + 3 {
		deep = deep.AppendEmpty().SetEmptySlice()
	}
	// A key repeated with two types keeps the string.
	attrs.PutStr("dup", "text")
	attrs.PutEmpty("dup2")
	res, i := convertOne(t, td, Config{})
	typed := res.Spans[i].TypedAttributes

	for k, want := range map[string]string{
		"f.int": "3.0", "f.neg0": "-0.0", "f.small": "1e-7", "f.big": "1e+21", "f.frac": "-0.1",
		"f.inf": `"Infinity"`, "f.-inf": `"-Infinity"`,
		"i.max": "9223372036854775807", "i.min": "-9223372036854775808",
		"bytes.empty": `""`,
		"map.escape":  `{"q\"\\\t\u0001":"</script>"}`,
	} {
		if typed[k] != want {
			t.Errorf("%s = %s; want %s", k, typed[k], want)
		}
	}
	// Every typed value is valid JSON, and ints round-trip exactly.
	for k, v := range typed {
		if !json.Valid([]byte(v)) {
			t.Errorf("%s = %s is not valid JSON", k, v)
		}
	}
	if n, err := strconv.ParseInt(typed["i.min"], 10, 64); err != nil || n != math.MinInt64 {
		t.Errorf("i.min does not round-trip: %v %v", n, err)
	}
	wantDeep := strings.Repeat("[", maxValueDepth) + `"` + tooDeepMarker + `"` + strings.Repeat("]", maxValueDepth)
	if typed["deep"] != wantDeep {
		t.Errorf("deep = %s; want %s", typed["deep"], wantDeep)
	}
	if _, ok := typed["dup"]; ok {
		t.Error("key dup is in both maps")
	}
}

func TestConvertDuplicateKeys(t *testing.T) {
	t.Parallel()
	// pcommon.Map refuses duplicates, so build them the way a decoder would.
	req := ptraceotlpRequestJSON(t, `[
	  {"key": "k", "value": {"intValue": "1"}},
	  {"key": "k", "value": {"stringValue": "s"}},
	  {"key": "n", "value": {"intValue": "1"}},
	  {"key": "n", "value": {"intValue": "2"}}
	]`)
	res, i := convertOne(t, req, Config{})
	s := res.Spans[i]
	if s.Attributes["k"] != "s" || s.TypedAttributes["k"] != "" {
		t.Errorf("k: string %q typed %q; want the string only", s.Attributes["k"], s.TypedAttributes["k"])
	}
	if s.TypedAttributes["n"] != "1" {
		t.Errorf("n = %q; want the first value", s.TypedAttributes["n"])
	}
}

func TestConvertRejectionsAndWarnings(t *testing.T) {
	t.Parallel()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bad\xffsvc")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("scope\xff")
	addSpan(td, func(s ptrace.Span) { s.SetSpanID(pcommon.SpanID{}) })
	addSpan(td, func(s ptrace.Span) { s.SetStartTimestamp(0) })
	addSpan(td, func(s ptrace.Span) { s.SetEndTimestamp(math.MaxUint64) })
	ok := addSpan(td, func(s ptrace.Span) {
		s.SetName("n\xff")
		s.Status().SetMessage("m\xff")
		s.Attributes().PutStr("k\xff", "v")
		e := s.Events().AppendEmpty()
		e.SetName("e\xff")
		e.Attributes().PutStr("x", "y\xff")
	})
	for range 12 {
		addSpan(td, func(s ptrace.Span) { s.SetEndTimestamp(1) })
	}

	res := convertTD(t, td, NewDefaultConfig())
	if res.Received != 16 || res.Rejected != 15 || len(res.Spans) != 1 || res.Warnings != 3 {
		t.Fatalf("received %d rejected %d kept %d warnings %d; want 16, 15, 1, 3", res.Received, res.Rejected, len(res.Spans), res.Warnings)
	}
	s := res.Spans[0]
	if s.Service != "bad\uFFFDsvc" || s.ScopeName != "scope\uFFFD" || s.Name != "n\uFFFD" || s.StatusMessage != "m\uFFFD" ||
		s.Attributes["k\uFFFD"] != "v" || s.Events[0].Name != "e\uFFFD" || s.Events[0].AttributesJSON != `{"x":"y`+"\uFFFD"+`"}` {
		t.Errorf("invalid UTF-8 not replaced: %+v", s)
	}
	oid := ok.SpanID()
	wantFirst := []string{
		`resource of service "bad` + "\uFFFD" + `svc": invalid UTF-8 in value of resource attribute "service.name" replaced with U+FFFD`,
		`instrumentation scope "scope` + "\uFFFD" + `": invalid UTF-8 in scope name replaced with U+FFFD`,
		"span in trace " + hex8(td, 0) + ": span_id is missing or all zeros (it must be 8 bytes, not all zero)",
		"span " + hex8(td, 1) + ": start time is missing (start_time_unix_nano is 0)",
		"span " + hex8(td, 2) + ": end time 18446744073709551615 ns is after the year 2262 (it does not fit a signed 64-bit nanosecond timestamp)",
		"span " + hexID(oid) + ": invalid UTF-8 in span name replaced with U+FFFD",
	}
	if len(res.Messages) != maxMessages || res.MessagesOmitted != 18-maxMessages {
		t.Fatalf("%d messages, %d omitted; want %d and %d", len(res.Messages), res.MessagesOmitted, maxMessages, 18-maxMessages)
	}
	for i, want := range wantFirst {
		if res.Messages[i] != want {
			t.Errorf("message %d = %q; want %q", i, res.Messages[i], want)
		}
	}
	wantSummary := "15 of 16 spans rejected: " + strings.Join(res.Messages[:maxSummaryMessages], "; ") + "; and 13 more"
	if got := res.Summary(); got != wantSummary {
		t.Errorf("summary %q; want %q", got, wantSummary)
	}
}

func TestConvertEmpty(t *testing.T) {
	t.Parallel()
	res := convertTD(t, ptrace.NewTraces(), NewDefaultConfig())
	if res.Received != 0 || res.Batch != nil || res.Summary() != "" {
		t.Errorf("empty request: %+v", res)
	}
}
