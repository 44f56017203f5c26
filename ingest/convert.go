package ingest

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracehound/tracehound/storage"
)

// unknownService is the service of spans whose resource has no string
// service.name attribute, as in the OpenTelemetry SDK defaults.
const unknownService = "unknown_service"

// ConvertResult is the outcome of Convert.
type ConvertResult struct {
	// Spans holds the valid spans, in request order.
	Spans []storage.Span
	// Received is the number of spans in the request.
	Received int
	// Rejected is the number of invalid spans left out of Spans.
	Rejected int
	// Warnings is the number of spans, resources and scopes that were kept
	// but changed in a way worth telling the client: invalid UTF-8
	// replaced, resource attributes over the limit dropped.
	Warnings int
	// Messages holds the first rejection and warning messages (at most 10),
	// in request order.
	Messages []string
	// MessagesOmitted counts the messages left out of Messages.
	MessagesOmitted int
}

// Convert validates the spans of td and flattens the valid ones to storage
// rows, applying the per-span limits of cfg (a limit <= 0 is not applied).
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
func Convert(td ptrace.Traces, cfg Config) ConvertResult {
	n := td.SpanCount()
	if n == 0 {
		return ConvertResult{}
	}
	c := scratchPool.Get().(*converter)
	defer putConverter(c)
	c.maxAttrs = cfg.MaxAttributesPerSpan
	c.maxValueBytes = cfg.MaxAttributeValueBytes
	c.maxEvents = cfg.MaxEventsPerSpan
	c.maxLinks = cfg.MaxLinksPerSpan
	c.res = ConvertResult{Received: n, Spans: make([]storage.Span, 0, n)}
	for _, rs := range td.ResourceSpans().All() {
		c.resource(rs)
	}
	c.flush()
	return c.res
}

// scratchPool holds converters, for their scratch buffers.
var scratchPool = sync.Pool{New: func() any { return new(converter) }}

// maxPooledScratch is the largest scratch buffer kept in the pool.
const maxPooledScratch = 1 << 20

func putConverter(c *converter) {
	if cap(c.buf) > maxPooledScratch {
		return
	}
	*c = converter{buf: c.buf[:0], pendKV: c.pendKV[:0], pendJSON: c.pendJSON[:0]}
	scratchPool.Put(c)
}

const (
	// arenaChunk is the size at which converter.buf is turned into a string
	// (at the end of a span): strings of neighbouring spans share one
	// allocation.
	arenaChunk = 8 << 10
	// slabLen is how many events or links are allocated at once, to be
	// shared by neighbouring spans.
	slabLen = 128
)

// converter holds the state of one Convert call: limits, the result and
// scratch space reused across spans.
type converter struct {
	maxAttrs      int
	maxValueBytes int
	maxEvents     int
	maxLinks      int

	res ConvertResult

	// badField is the first field with invalid UTF-8 in the current span,
	// resource or scope ("" when none).
	badField string

	// buf collects the JSON text of typed attribute values and event and
	// link attributes; flush turns it into one string and hands out
	// substrings, so that neighbouring spans share one allocation.
	buf      []byte
	pendKV   []pendingKV
	pendJSON []pendingJSON

	// eventSlab and linkSlab are the unused parts of the last slabs.
	eventSlab []storage.Event
	linkSlab  []storage.Link
}

// pendingKV is a typed attribute value waiting in converter.buf, for the
// typed map of an attribute set whose string values are in strs.
type pendingKV struct {
	strs, typed map[string]string
	key         string
	start, end  int
}

// pendingJSON is an attributes JSON object waiting in converter.buf.
type pendingJSON struct {
	dst        *string
	start, end int
}

// resourceInfo is what every span of a resource shares.
type resourceInfo struct {
	service string
	attrs   map[string]string
	typed   map[string]string
}

func (c *converter) resource(rs ptrace.ResourceSpans) {
	spanCount := 0
	for _, ss := range rs.ScopeSpans().All() {
		spanCount += ss.Spans().Len()
	}
	if spanCount == 0 {
		return
	}

	attrs := rs.Resource().Attributes()
	ri := resourceInfo{service: unknownService}
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
			if reason := validateSpan(span); reason != "" {
				c.res.Rejected++
				c.report(func() string { return reason })
				continue
			}
			c.span(span, &ri, scopeName, scopeVersion)
		}
	}
}

func (c *converter) span(s ptrace.Span, ri *resourceInfo, scopeName, scopeVersion string) {
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
			c.eventSlab = make([]storage.Event, max(keep, slabLen))
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
			c.linkSlab = make([]storage.Link, max(keep, slabLen))
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

	if len(c.buf) >= arenaChunk {
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
func (c *converter) attributes(m pcommon.Map, keyField, valueField string) (strs, typed map[string]string, dropped int) {
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
		c.pendKV = append(c.pendKV, pendingKV{strs: strs, typed: typed, key: k, start: start, end: len(c.buf)})
	}
	return strs, typed, n - keep
}

// attributesJSON queues m, encoded as one JSON object of typed values, for
// *dst; a later flush sets it. An empty m gives "{}".
func (c *converter) attributesJSON(m pcommon.Map, dst *string) {
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
	c.pendJSON = append(c.pendJSON, pendingJSON{dst: dst, start: start, end: len(c.buf)})
}

// flush converts the pending JSON text into one string, fills the pending
// typed attributes and AttributesJSON fields with substrings of it, and
// resets the scratch space. A typed value whose key is already in its strs
// or typed map is dropped, so a key is in at most one map.
func (c *converter) flush() {
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
func (c *converter) appendValue(b []byte, v pcommon.Value, depth int, key string) []byte {
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

// appendJSONFloat appends f as a JSON number that always reads back as a
// double: integral values get a ".0" suffix. NaN and ±Inf, which JSON
// numbers cannot express, become the strings "NaN", "Infinity" and
// "-Infinity" (as in the protobuf JSON mapping).
func appendJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	// Same format choice as encoding/json.
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Shorten e-09 to e-9.
		n := len(b)
		if n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	for _, ch := range b[start:] {
		if ch == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s, which must be valid UTF-8, as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 0x20 && ch != '"' && ch != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch ch {
		case '"', '\\':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[ch>>4], hexDigits[ch&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
