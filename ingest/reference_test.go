package ingest

// The converter of pdata traces to storage spans that the receivers used
// before the wire decoder (Convert), kept as the reference the tests and
// fuzz targets compare Convert with: Convert must give the same spans,
// counts and messages for every request pdata accepts.

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracehound/tracehound/storage"
)

// refResult is the outcome of refConvert (the former ConvertResult).
type refResult struct {
	Spans           []storage.Span
	Received        int
	Rejected        int
	Warnings        int
	Messages        []string
	MessagesOmitted int
}

var refPool = sync.Pool{New: func() any { return new(refConverter) }}

// refConvert is the former Convert: it validates the spans of td and
// flattens the valid ones to storage rows, applying the per-span limits of
// cfg (a limit <= 0 is not applied).
//
// A span is rejected when its trace or span id is all zeros, its start time
// is 0, its end time is before its start time or after the year 2262.
// Invalid UTF-8 in any string is replaced by U+FFFD and reported as a
// warning. The resource attribute service.name (a string) gives
// Span.Service, "unknown_service" when absent.
//
// Returned spans share memory, to keep allocations per span low: spans of
// one resource share their ResourceAttributes and ResourceTypedAttributes
// maps, the JSON strings (typed values, event and link attributes) of
// neighbouring spans are substrings of one ~8 KiB string, and their Events
// and Links are capacity-limited windows of shared slabs. Treat spans as
// read-only. Attribute maps are nil when empty; Events and Links are nil
// when there are none. Convert does not modify td, and the result does not
// reference td's memory. Convert is safe for concurrent use.
func refConvert(td ptrace.Traces, cfg Config) refResult {
	n := td.SpanCount()
	if n == 0 {
		return refResult{}
	}
	c := refPool.Get().(*refConverter)
	defer refPutConverter(c)
	c.maxAttrs = cfg.MaxAttributesPerSpan
	c.maxValueBytes = cfg.MaxAttributeValueBytes
	c.maxEvents = cfg.MaxEventsPerSpan
	c.maxLinks = cfg.MaxLinksPerSpan
	c.res = refResult{Received: n, Spans: make([]storage.Span, 0, n)}
	for _, rs := range td.ResourceSpans().All() {
		c.resource(rs)
	}
	c.flush()
	return c.res
}

// refMaxPooledScratch is the largest scratch buffer kept in the pool.
const refMaxPooledScratch = 1 << 20

func refPutConverter(c *refConverter) {
	if cap(c.buf) > refMaxPooledScratch {
		return
	}
	*c = refConverter{buf: c.buf[:0], pendKV: c.pendKV[:0], pendJSON: c.pendJSON[:0]}
	refPool.Put(c)
}

const (
	// refArenaChunk is the size at which refConverter.buf is turned into a string
	// (at the end of a span): strings of neighbouring spans share one
	// allocation.
	refArenaChunk = 8 << 10
	// refSlabLen is how many events or links are allocated at once, to be
	// shared by neighbouring spans.
	refSlabLen = 128
)

// refConverter holds the state of one Convert call: limits, the result and
// scratch space reused across spans.
type refConverter struct {
	maxAttrs      int
	maxValueBytes int
	maxEvents     int
	maxLinks      int

	res refResult

	// badField is the first field with invalid UTF-8 in the current span,
	// resource or scope ("" when none).
	badField string

	// buf collects the JSON text of typed attribute values and event and
	// link attributes; flush turns it into one string and hands out
	// substrings, so that neighbouring spans share one allocation.
	buf      []byte
	pendKV   []refPendingKV
	pendJSON []refPendingJSON

	// eventSlab and linkSlab are the unused parts of the last slabs.
	eventSlab []storage.Event
	linkSlab  []storage.Link
}

// refPendingKV is a typed attribute value waiting in refConverter.buf, for the
// typed map of an attribute set whose string values are in strs.
type refPendingKV struct {
	strs, typed map[string]string
	key         string
	start, end  int
}

// refPendingJSON is an attributes JSON object waiting in refConverter.buf.
type refPendingJSON struct {
	dst        *string
	start, end int
}

// refResourceInfo is what every span of a resource shares.
type refResourceInfo struct {
	service string
	attrs   map[string]string
	typed   map[string]string
}

func (c *refConverter) resource(rs ptrace.ResourceSpans) {
	spanCount := 0
	for _, ss := range rs.ScopeSpans().All() {
		spanCount += ss.Spans().Len()
	}
	if spanCount == 0 {
		return
	}

	attrs := rs.Resource().Attributes()
	ri := refResourceInfo{service: unknownService}
	var dropped int
	ri.attrs, ri.typed, dropped = c.attributes(attrs, "resource attribute key", "value of resource attribute")
	if s, ok := ri.attrs["service.name"]; ok && s != "" {
		ri.service = s
	}
	if dropped > 0 {
		c.res.Warnings++
		c.report(func() string {
			return "resource of service " + strconv.Quote(ri.service) + ": " + strconv.Itoa(attrs.Len()) +
				" attributes, kept the first " + strconv.Itoa(c.maxAttrs) + " (" + configPrefix + "max_attributes_per_span)"
		})
	}
	c.reportBadUTF8(func() string { return "resource of service " + strconv.Quote(ri.service) })

	for _, ss := range rs.ScopeSpans().All() {
		scope := ss.Scope()
		scopeName := c.clean(scope.Name(), "scope name", "")
		scopeVersion := c.clean(scope.Version(), "scope version", "")
		c.reportBadUTF8(func() string { return "instrumentation scope " + strconv.Quote(scopeName) })
		for _, span := range ss.Spans().All() {
			if reason := refValidateSpan(span); reason != "" {
				c.res.Rejected++
				c.report(func() string { return reason })
				continue
			}
			c.span(span, &ri, scopeName, scopeVersion)
		}
	}
}

func (c *refConverter) span(s ptrace.Span, ri *refResourceInfo, scopeName, scopeVersion string) {
	c.res.Spans = append(c.res.Spans, storage.Span{})
	out := &c.res.Spans[len(c.res.Spans)-1]

	out.TraceID = s.TraceID()
	out.SpanID = s.SpanID()
	out.ParentSpanID = s.ParentSpanID()
	out.TraceState = c.clean(s.TraceState().AsRaw(), "trace_state", "")
	out.Service = ri.service
	out.Name = c.clean(s.Name(), "span name", "")
	if k := s.Kind(); k >= 0 && k <= ptrace.SpanKindConsumer {
		out.Kind = storage.SpanKind(k)
	}
	start := uint64(s.StartTimestamp())
	out.StartUnixNano = int64(start) // validated: start <= end <= MaxInt64
	out.DurationNano = int64(uint64(s.EndTimestamp()) - start)
	st := s.Status()
	if code := st.Code(); code >= 0 && code <= ptrace.StatusCodeError {
		out.StatusCode = storage.StatusCode(code)
	}
	out.StatusMessage = c.clean(st.Message(), "status message", "")
	out.ScopeName = scopeName
	out.ScopeVersion = scopeVersion
	out.ResourceAttributes = ri.attrs
	out.ResourceTypedAttributes = ri.typed

	var dropped int
	out.Attributes, out.TypedAttributes, dropped = c.attributes(s.Attributes(), "attribute key", "value of attribute")
	out.DroppedAttributesCount = addSat(s.DroppedAttributesCount(), dropped)

	if events := s.Events(); events.Len() > 0 {
		keep := events.Len()
		if c.maxEvents > 0 && keep > c.maxEvents {
			keep = c.maxEvents
		}
		if len(c.eventSlab) < keep {
			c.eventSlab = make([]storage.Event, max(keep, refSlabLen))
		}
		out.Events, c.eventSlab = c.eventSlab[:keep:keep], c.eventSlab[keep:]
		for i := range keep {
			e := events.At(i)
			ev := &out.Events[i]
			ev.TimeUnixNano = clampInt64(uint64(e.Timestamp()))
			ev.Name = c.clean(e.Name(), "event name", "")
			c.attributesJSON(e.Attributes(), &ev.AttributesJSON)
		}
		out.DroppedEventsCount = addSat(s.DroppedEventsCount(), events.Len()-keep)
	} else {
		out.DroppedEventsCount = s.DroppedEventsCount()
	}

	if links := s.Links(); links.Len() > 0 {
		keep := links.Len()
		if c.maxLinks > 0 && keep > c.maxLinks {
			keep = c.maxLinks
		}
		if len(c.linkSlab) < keep {
			c.linkSlab = make([]storage.Link, max(keep, refSlabLen))
		}
		out.Links, c.linkSlab = c.linkSlab[:keep:keep], c.linkSlab[keep:]
		for i := range keep {
			l := links.At(i)
			lk := &out.Links[i]
			lk.TraceID = l.TraceID()
			lk.SpanID = l.SpanID()
			lk.TraceState = c.clean(l.TraceState().AsRaw(), "link trace_state", "")
			c.attributesJSON(l.Attributes(), &lk.AttributesJSON)
		}
		out.DroppedLinksCount = addSat(s.DroppedLinksCount(), links.Len()-keep)
	} else {
		out.DroppedLinksCount = s.DroppedLinksCount()
	}

	if len(c.buf) >= refArenaChunk {
		c.flush()
	}
	if c.badField != "" {
		sid := out.SpanID
		c.reportBadUTF8(func() string { return "span " + hex.EncodeToString(sid[:]) })
	}
}

// attributes splits the first maxAttrs attributes of m into string values
// (strs) and JSON-encoded typed values (typed, filled in by a later flush).
// It returns how many attributes were over the limit. A key repeated in m
// keeps its first string value, or else its first typed value.
func (c *refConverter) attributes(m pcommon.Map, keyField, valueField string) (strs, typed map[string]string, dropped int) {
	n := m.Len()
	keep := n
	if c.maxAttrs > 0 && keep > c.maxAttrs {
		keep = c.maxAttrs
	}
	nStr, i := 0, 0
	for _, v := range m.All() {
		if i == keep {
			break
		}
		i++
		if v.Type() == pcommon.ValueTypeStr {
			nStr++
		}
	}
	if nStr > 0 {
		strs = make(map[string]string, nStr)
	}
	if nTyped := keep - nStr; nTyped > 0 {
		typed = make(map[string]string, nTyped)
	}

	i = 0
	for k, v := range m.All() {
		if i == keep {
			break
		}
		i++
		k = c.clean(k, keyField, k)
		if v.Type() == pcommon.ValueTypeStr {
			if _, dup := strs[k]; !dup {
				strs[k] = truncate(c.clean(v.Str(), valueField, k), c.maxValueBytes)
			}
			continue
		}
		start := len(c.buf)
		c.buf = c.appendValue(c.buf, v, 1, k)
		c.pendKV = append(c.pendKV, refPendingKV{strs: strs, typed: typed, key: k, start: start, end: len(c.buf)})
	}
	return strs, typed, n - keep
}

// attributesJSON queues m, encoded as one JSON object of typed values, for
// *dst; a later flush sets it. An empty m gives "{}".
func (c *refConverter) attributesJSON(m pcommon.Map, dst *string) {
	if m.Len() == 0 {
		*dst = "{}"
		return
	}
	start := len(c.buf)
	c.buf = append(c.buf, '{')
	i := 0
	for k, v := range m.All() {
		if c.maxAttrs > 0 && i == c.maxAttrs {
			break
		}
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		i++
		k = c.clean(k, "event or link attribute key", k)
		c.buf = appendJSONString(c.buf, k)
		c.buf = append(c.buf, ':')
		c.buf = c.appendValue(c.buf, v, 1, k)
	}
	c.buf = append(c.buf, '}')
	c.pendJSON = append(c.pendJSON, refPendingJSON{dst: dst, start: start, end: len(c.buf)})
}

// flush converts the pending JSON text into one string, fills the pending
// typed attributes and AttributesJSON fields with substrings of it, and
// resets the scratch space. A typed value whose key is already in its strs
// or typed map is dropped, so a key is in at most one map.
func (c *refConverter) flush() {
	if len(c.buf) == 0 {
		return
	}
	arena := string(c.buf)
	for _, p := range c.pendKV {
		if _, dup := p.strs[p.key]; dup {
			continue
		}
		if _, dup := p.typed[p.key]; dup {
			continue
		}
		p.typed[p.key] = arena[p.start:p.end]
	}
	for _, p := range c.pendJSON {
		*p.dst = arena[p.start:p.end]
	}
	c.buf = c.buf[:0]
	clear(c.pendKV) // drop references to the maps and spans
	c.pendKV = c.pendKV[:0]
	clear(c.pendJSON)
	c.pendJSON = c.pendJSON[:0]
}

// appendValue appends v as JSON. depth is v's nesting level (1 for an
// attribute value); arrays and maps below maxValueDepth levels become the
// string tooDeepMarker. key names the attribute in warnings.
func (c *refConverter) appendValue(b []byte, v pcommon.Value, depth int, key string) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendJSONString(b, c.value(v.Str(), key))
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendJSONFloat(b, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeBytes:
		// Encode in chunks of a multiple of 3 bytes, which concatenate to
		// the encoding of the whole, rather than copying with AsRaw.
		bs := v.Bytes()
		var chunk [48]byte
		b = append(b, '"')
		for i, n := 0, bs.Len(); i < n; {
			m := min(n-i, len(chunk))
			for j := range m {
				chunk[j] = bs.At(i + j)
			}
			b = base64.StdEncoding.AppendEncode(b, chunk[:m])
			i += m
		}
		return append(b, '"')
	case pcommon.ValueTypeSlice:
		if depth > maxValueDepth {
			return appendJSONString(b, tooDeepMarker)
		}
		b = append(b, '[')
		for i, e := range v.Slice().All() {
			if i > 0 {
				b = append(b, ',')
			}
			b = c.appendValue(b, e, depth+1, key)
		}
		return append(b, ']')
	case pcommon.ValueTypeMap:
		if depth > maxValueDepth {
			return appendJSONString(b, tooDeepMarker)
		}
		b = append(b, '{')
		first := true
		for k, e := range v.Map().All() {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, c.clean(k, "map key in attribute", key))
			b = append(b, ':')
			b = c.appendValue(b, e, depth+1, key)
		}
		return append(b, '}')
	default: // empty value
		return append(b, "null"...)
	}
}

// refValidateSpan applies the rejection rules to one span. It returns "" for a
// valid span, else the reason it was rejected.
func refValidateSpan(s ptrace.Span) string {
	tid, sid := s.TraceID(), s.SpanID()
	if tid.IsEmpty() {
		return "span " + hex.EncodeToString(sid[:]) + ": trace_id is missing or all zeros (it must be 16 bytes, not all zero)"
	}
	if sid.IsEmpty() {
		return "span in trace " + hex.EncodeToString(tid[:]) + ": span_id is missing or all zeros (it must be 8 bytes, not all zero)"
	}
	start, end := uint64(s.StartTimestamp()), uint64(s.EndTimestamp())
	if start == 0 {
		return "span " + hex.EncodeToString(sid[:]) + ": start time is missing (start_time_unix_nano is 0)"
	}
	if end < start {
		return "span " + hex.EncodeToString(sid[:]) + ": end time before start time"
	}
	if end > math.MaxInt64 {
		return "span " + hex.EncodeToString(sid[:]) + ": end time " + strconv.FormatUint(end, 10) + " ns is after the year 2262 (it does not fit a signed 64-bit nanosecond timestamp)"
	}
	return ""
}

// clean returns s with invalid UTF-8 replaced by U+FFFD. When it had to
// replace something it records field (and key, when not empty) as the first
// bad field of the current span, resource or scope, for the warning message.
func (c *refConverter) clean(s, field, key string) string {
	if utf8.ValidString(s) {
		return s
	}
	if c.badField == "" {
		if key != "" {
			c.badField = field + " " + strconv.Quote(key)
		} else {
			c.badField = field
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// value cleans a string attribute value and truncates it to the configured
// length.
func (c *refConverter) value(s, key string) string {
	return truncate(c.clean(s, "value of attribute", key), c.maxValueBytes)
}

// report records a rejection or warning message. msg is only called while
// the result has room for more messages, so that bulk-invalid requests do not
// pay for formatting.
func (c *refConverter) report(msg func() string) {
	if len(c.res.Messages) < maxMessages {
		c.res.Messages = append(c.res.Messages, msg())
		return
	}
	c.res.MessagesOmitted++
}

// reportBadUTF8 turns a recorded bad field into a warning for what (e.g.
// "span 0102…") and resets it.
func (c *refConverter) reportBadUTF8(what func() string) {
	if c.badField == "" {
		return
	}
	field := c.badField
	c.badField = ""
	c.res.Warnings++
	c.report(func() string {
		return what() + ": invalid UTF-8 in " + field + " replaced with U+FFFD"
	})
}
