package ingest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracehound/tracehound/storage"
)

// unknownService is the service of spans whose resource has no string
// service.name attribute, as in the OpenTelemetry SDK defaults.
const unknownService = "unknown_service"

// ConvertResult is the outcome of Convert.
type ConvertResult struct {
	// Batch holds the valid spans, in request order. It is nil when the
	// request has no spans, and empty when all were rejected.
	Batch *storage.SpanBatch
	// Received is the number of spans in the request.
	Received int
	// Rejected is the number of invalid spans left out of Batch.
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

// Convert decodes body, an OTLP/protobuf ExportTraceServiceRequest (or
// TracesData, which has the same encoding), validates its spans and adds
// the valid ones to a new SpanBatch, applying the per-span limits of cfg
// (a limit <= 0 is not applied). It reads the protobuf encoding directly:
// no pdata objects, and no allocations per span besides what the batch
// keeps.
//
// A request that is not well-formed protobuf for the OTLP schema gives an
// error (the same requests as the pdata unmarshaler refuses), and no
// result. Otherwise spans are checked one by one: a span is rejected when
// its trace or span id is all zeros, its start time is 0, its end time is
// before its start time or after the year 2262. Invalid UTF-8 in any
// string is replaced by U+FFFD and reported as a warning. The resource
// attribute service.name (a string) gives the span's service,
// "unknown_service" when absent.
//
// Attributes: the first MaxAttributesPerSpan of a span or resource are
// kept (the others are counted in the span's dropped_attributes_count, or
// reported for a resource); string values are kept as text, cut to
// MaxAttributeValueBytes, and other values as JSON text (see appendValue).
// A key repeated in a span or resource keeps its first string value, or
// else its first typed value, so a key is in at most one of the string and
// typed columns. Events and links beyond MaxEventsPerSpan and
// MaxLinksPerSpan are dropped and counted; their attributes are JSON
// objects ("{}" when none).
//
// Fields may come in any order and be repeated, with protobuf semantics:
// for a scalar the last value wins, repeated fields accumulate, and an
// embedded message sent twice is merged. Unknown fields are skipped.
//
// The result does not reference body. Convert is safe for concurrent use.
func Convert(body []byte, cfg Config) (ConvertResult, error) {
	n, err := countSpans(body)
	if err != nil {
		return ConvertResult{}, err
	}
	c := converterPool.Get().(*converter)
	defer putConverter(c)
	c.maxAttrs = cfg.MaxAttributesPerSpan
	c.maxValueBytes = cfg.MaxAttributeValueBytes
	c.maxEvents = cfg.MaxEventsPerSpan
	c.maxLinks = cfg.MaxLinksPerSpan
	c.res = ConvertResult{Received: n}
	if n > 0 {
		c.batch = storage.NewSpanBatchShaped(c.shape, n)
		c.res.Batch = c.batch
	}
	r := pbReader{buf: body}
	for r.more() {
		num, t := r.tag()
		if num != 1 {
			r.skip(t)
			continue
		}
		rs := r.lenField(t, "ExportTraceServiceRequest.resource_spans")
		if r.err != nil {
			break
		}
		if err := c.resourceSpans(rs); err != nil {
			return ConvertResult{}, err
		}
	}
	if r.err != nil {
		return ConvertResult{}, r.err
	}
	if c.batch.Len() > 0 {
		c.shape = c.batch.Shape()
	}
	return c.res, nil
}

// convertTraces converts pdata traces (decoded from OTLP/JSON, or
// translated from Zipkin) by way of their protobuf encoding, so that every
// protocol goes through Convert.
func convertTraces(td ptrace.Traces, cfg Config) (ConvertResult, error) {
	var m ptrace.ProtoMarshaler
	pb, err := m.MarshalTraces(td)
	if err != nil {
		return ConvertResult{}, fmt.Errorf("encoding the traces as OTLP/protobuf: %w", err)
	}
	return Convert(pb, cfg)
}

// countSpans returns the number of spans in an ExportTraceServiceRequest,
// checking the encoding of the messages down to the ScopeSpans (not the
// spans).
func countSpans(body []byte) (int, error) {
	n := 0
	r := pbReader{buf: body}
	for r.more() {
		num, t := r.tag()
		if num != 1 {
			r.skip(t)
			continue
		}
		rs := r.lenField(t, "ExportTraceServiceRequest.resource_spans")
		if r.err != nil {
			break
		}
		m, _, err := countResourceSpans(rs, nil)
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, r.err
}

// countResourceSpans returns the number of spans of a ResourceSpans and
// the field its scope spans are in. When c is not nil, it also collects
// the Resource messages in c.resChunks.
//
// Old senders put the scope spans in the deprecated field 1000
// (instrumentation_library_spans); as in pdata, they are used when field 2
// is absent, and ignored otherwise.
func countResourceSpans(buf []byte, c *converter) (spans int, scopeField int32, err error) {
	var scopes, deprecatedSpans int
	r := pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		switch num {
		case 1:
			b := r.lenField(t, "ResourceSpans.resource")
			if c != nil && r.err == nil {
				c.resChunks = append(c.resChunks, b)
			}
		case 2, 1000:
			field := "ResourceSpans.scope_spans"
			if num == 1000 {
				field = "ResourceSpans.instrumentation_library_spans"
			}
			b := r.lenField(t, field)
			if r.err != nil {
				break
			}
			n, err := countScopeSpans(b)
			if err != nil {
				return 0, 0, err
			}
			if num == 2 {
				scopes++
				spans += n
			} else {
				deprecatedSpans += n
			}
		case 3:
			r.lenField(t, "ResourceSpans.schema_url")
		default:
			r.skip(t)
		}
	}
	if r.err != nil {
		return 0, 0, r.err
	}
	if scopes == 0 {
		return deprecatedSpans, 1000, nil
	}
	return spans, 2, nil
}

// countScopeSpans returns the number of spans of a ScopeSpans, checking
// the encoding of its fields (not of the spans and scope).
func countScopeSpans(buf []byte) (int, error) {
	n := 0
	r := pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		switch num {
		case 1:
			r.lenField(t, "ScopeSpans.scope")
		case 2:
			r.lenField(t, "ScopeSpans.spans")
			n++
		case 3:
			r.lenField(t, "ScopeSpans.schema_url")
		default:
			r.skip(t)
		}
	}
	return n, r.err
}

// converterPool holds converters, for their scratch buffers.
var converterPool = sync.Pool{New: func() any { return new(converter) }}

// maxPooledScratch is the largest scratch buffer kept in the pool.
const maxPooledScratch = 1 << 20

func putConverter(c *converter) {
	if cap(c.json) > maxPooledScratch || cap(c.resJSON) > maxPooledScratch {
		return
	}
	// Drop the references to the request and the batch.
	clear(c.resChunks[:cap(c.resChunks)])
	clear(c.kvs[:cap(c.kvs)])
	clear(c.events[:cap(c.events)])
	clear(c.links[:cap(c.links)])
	clear(c.spanAttrs[:cap(c.spanAttrs)])
	clear(c.resAttrs[:cap(c.resAttrs)])
	clear(c.pending[:cap(c.pending)])
	if len(c.seen) > 1024 {
		c.seen = nil // let the GC take outliers
	}
	clear(c.seen)
	*c = converter{
		json: c.json[:0], resJSON: c.resJSON[:0],
		resChunks: c.resChunks[:0], kvs: c.kvs[:0], events: c.events[:0], links: c.links[:0],
		spanAttrs: c.spanAttrs[:0], resAttrs: c.resAttrs[:0], pending: c.pending[:0], seen: c.seen,
		shape: c.shape,
	}
	converterPool.Put(c)
}

// converter holds the state of one Convert call: limits, the result and
// scratch space reused across spans. Strings in it are views into the
// request (see viewString) or into its JSON buffers.
type converter struct {
	maxAttrs      int
	maxValueBytes int
	maxEvents     int
	maxLinks      int

	res   ConvertResult
	batch *storage.SpanBatch

	// badField is the first field with invalid UTF-8 in the current span,
	// resource or scope ("" when none).
	badField string

	// json holds the JSON text of the current span's typed attribute
	// values, and of the event or link being converted.
	json []byte
	// resJSON holds the JSON text of the current resource's typed
	// attribute values.
	resJSON []byte

	resChunks [][]byte // Resource messages of the current ResourceSpans
	kvs       [][]byte // KeyValue messages of the current attribute set
	events    [][]byte // Event messages of the current span
	links     [][]byte // Link messages of the current span

	spanAttrs []keptAttr // attributes of the current span
	resAttrs  []keptAttr // attributes of the current resource
	// resRow is the batch row of the current resource's first span (-1
	// before it): later spans copy its resource attribute entries.
	resRow int
	// shape is the shape of the last batch this converter made, to size
	// the next one at once (requests of one deployment look alike).
	shape   storage.SpanBatchShape
	pending []keptAttr // typed values waiting for the end of their set
	// seen finds repeated keys in large attribute sets: seenString and
	// seenTyped flags by key.
	seen map[string]uint8
}

// keptAttr is an attribute that goes to the batch: a string value, or a
// typed value whose JSON text is json[start:end] of its set's buffer.
type keptAttr struct {
	key        string
	value      string
	print      uint64 // keyPrint(key)
	start, end int
	typed      bool
}

// resourceInfo is what every span of a resource shares.
type resourceInfo struct {
	service string
}

// limit is min(n, max), or n when max <= 0 (no limit).
func limit(n, max int) int {
	if max > 0 && n > max {
		return max
	}
	return n
}

// resourceSpans converts the spans of one ResourceSpans message. The
// Resource may come anywhere in it: a first pass finds it and counts the
// spans, a second converts the scope spans.
func (c *converter) resourceSpans(buf []byte) error {
	c.resChunks = c.resChunks[:0]
	spanCount, scopeField, err := countResourceSpans(buf, c)
	if err != nil {
		return err
	}
	if spanCount == 0 {
		// Nothing to convert: only check the encoding, as pdata would.
		if err := validateAll(c.resChunks, msgResource); err != nil {
			return err
		}
		return validateFields(buf, msgScopeSpans, 2, 1000)
	}
	// Scope spans of the field not used are checked only.
	ignored := int32(1000)
	if scopeField == 1000 {
		ignored = 2
	}
	if err := validateFields(buf, msgScopeSpans, ignored, ignored); err != nil {
		return err
	}

	ri, err := c.resource()
	if err != nil {
		return err
	}
	r := pbReader{buf: buf} // checked by countResourceSpans
	for r.more() {
		num, t := r.tag()
		if num != scopeField {
			r.skip(t)
			continue
		}
		if err := c.scopeSpans(r.bytes(), &ri); err != nil {
			return err
		}
	}
	return r.err
}

// validateFields validates the messages of type id in fields f1 and f2 of
// buf, a message whose own encoding was checked before.
func validateFields(buf []byte, id msgID, f1, f2 int32) error {
	r := pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		if (num != f1 && num != f2) || t != wireLen {
			r.skip(t)
			continue
		}
		if b := r.bytes(); r.err == nil {
			if err := validateMessage(b, id, 0); err != nil {
				return err
			}
		}
	}
	return r.err
}

// resource converts the attributes of the current resource (its Resource
// messages in c.resChunks, merged) to c.resAttrs and reports on them.
func (c *converter) resource() (resourceInfo, error) {
	c.kvs = c.kvs[:0]
	for _, chunk := range c.resChunks {
		r := pbReader{buf: chunk}
		for r.more() {
			num, t := r.tag()
			switch num {
			case 1:
				if b := r.lenField(t, "Resource.attributes"); r.err == nil {
					c.kvs = append(c.kvs, b)
				}
			case 2:
				r.varintField(t, "Resource.dropped_attributes_count")
			case 3:
				if b := r.lenField(t, "Resource.entity_refs"); r.err == nil {
					if err := validateMessage(b, msgEntityRef, 0); err != nil {
						return resourceInfo{}, err
					}
				}
			default:
				r.skip(t)
			}
		}
		if r.err != nil {
			return resourceInfo{}, r.err
		}
	}

	ri := resourceInfo{service: unknownService}
	n := len(c.kvs)
	keep := limit(n, c.maxAttrs)
	var err error
	c.resRow = -1
	c.resAttrs, c.resJSON, err = c.attributes(c.kvs[:keep], "resource attribute key", "value of resource attribute", c.resAttrs[:0], c.resJSON[:0])
	if err != nil {
		return ri, err
	}
	if err := validateAll(c.kvs[keep:], msgKeyValue); err != nil {
		return ri, err
	}
	for i := range c.resAttrs {
		if a := &c.resAttrs[i]; !a.typed && a.key == "service.name" {
			if a.value != "" {
				ri.service = a.value
			}
			break
		}
	}
	if keep < n {
		c.res.Warnings++
		c.report(func() string {
			return "resource of service " + strconv.Quote(ri.service) + ": " + strconv.Itoa(n) +
				" attributes, kept the first " + strconv.Itoa(c.maxAttrs) + " (" + configPrefix + "max_attributes_per_span)"
		})
	}
	if c.badField != "" {
		c.reportBadUTF8(func() string { return "resource of service " + strconv.Quote(ri.service) })
	}
	return ri, nil
}

// scopeSpans converts the spans of one ScopeSpans message. The scope may
// come anywhere in it: a first pass reads it, a second converts the spans.
func (c *converter) scopeSpans(buf []byte, ri *resourceInfo) error {
	var name, version []byte
	r := pbReader{buf: buf} // checked by countScopeSpans
	for r.more() {
		num, t := r.tag()
		if num != 1 {
			r.skip(t)
			continue
		}
		s := pbReader{buf: r.bytes()}
		for s.more() {
			num, t := s.tag()
			switch num {
			case 1:
				name = s.lenField(t, "InstrumentationScope.name")
			case 2:
				version = s.lenField(t, "InstrumentationScope.version")
			case 3:
				if b := s.lenField(t, "InstrumentationScope.attributes"); s.err == nil {
					if err := validateMessage(b, msgKeyValue, 0); err != nil {
						return err
					}
				}
			case 4:
				s.varintField(t, "InstrumentationScope.dropped_attributes_count")
			default:
				s.skip(t)
			}
		}
		if s.err != nil {
			return s.err
		}
	}
	scopeName := c.clean(viewString(name), "scope name", "")
	scopeVersion := c.clean(viewString(version), "scope version", "")
	if c.badField != "" {
		c.reportBadUTF8(func() string { return "instrumentation scope " + strconv.Quote(scopeName) })
	}

	r = pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		if num != 2 {
			r.skip(t)
			continue
		}
		if err := c.span(r.bytes(), ri, scopeName, scopeVersion); err != nil {
			return err
		}
	}
	return r.err
}

// spanFields holds the scalar fields of a span as sent.
type spanFields struct {
	traceID          [16]byte
	spanID, parentID [8]byte
	traceState, name []byte
	statusMessage    []byte
	kind, statusCode int32
	start, end       uint64
	droppedAttrs     uint32
	droppedEvents    uint32
	droppedLinks     uint32
}

// span converts one Span message and appends it to the batch, or rejects
// it. A first pass reads the scalar fields and finds the attributes,
// events and links, which are converted once the span is known valid.
func (c *converter) span(buf []byte, ri *resourceInfo, scopeName, scopeVersion string) error {
	var s spanFields
	c.kvs, c.events, c.links = c.kvs[:0], c.events[:0], c.links[:0]
	r := pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		switch num {
		case 1:
			r.traceIDField(t, "Span.trace_id", &s.traceID)
		case 2:
			r.spanIDField(t, "Span.span_id", &s.spanID)
		case 3:
			s.traceState = r.lenField(t, "Span.trace_state")
		case 4:
			r.spanIDField(t, "Span.parent_span_id", &s.parentID)
		case 5:
			s.name = r.lenField(t, "Span.name")
		case 6:
			s.kind = int32(r.varintField(t, "Span.kind"))
		case 7:
			s.start = r.fixed64Field(t, "Span.start_time_unix_nano")
		case 8:
			s.end = r.fixed64Field(t, "Span.end_time_unix_nano")
		case 9:
			if b := r.lenField(t, "Span.attributes"); r.err == nil {
				c.kvs = append(c.kvs, b)
			}
		case 10:
			s.droppedAttrs = uint32(r.varintField(t, "Span.dropped_attributes_count"))
		case 11:
			if b := r.lenField(t, "Span.events"); r.err == nil {
				c.events = append(c.events, b)
			}
		case 12:
			s.droppedEvents = uint32(r.varintField(t, "Span.dropped_events_count"))
		case 13:
			if b := r.lenField(t, "Span.links"); r.err == nil {
				c.links = append(c.links, b)
			}
		case 14:
			s.droppedLinks = uint32(r.varintField(t, "Span.dropped_links_count"))
		case 15:
			if b := r.lenField(t, "Span.status"); r.err == nil {
				if err := s.status(b); err != nil {
					return err
				}
			}
		case 16:
			r.fixed32Field(t, "Span.flags")
		default:
			r.skip(t)
		}
	}
	if r.err != nil {
		return r.err
	}

	if reason := validateSpan(&s); reason != "" {
		c.res.Rejected++
		c.report(func() string { return reason })
		// Not converted, but checked, as pdata would.
		if err := validateAll(c.kvs, msgKeyValue); err != nil {
			return err
		}
		if err := validateAll(c.events, msgEvent); err != nil {
			return err
		}
		return validateAll(c.links, msgLink)
	}

	row := storage.SpanRow{
		TraceID:       s.traceID,
		SpanID:        s.spanID,
		ParentSpanID:  s.parentID,
		Service:       ri.service,
		StartUnixNano: int64(s.start),         // validated: start <= end <= MaxInt64
		DurationNano:  int64(s.end - s.start), //
		ScopeName:     scopeName,
		ScopeVersion:  scopeVersion,
	}
	row.TraceState = c.clean(viewString(s.traceState), "trace_state", "")
	row.Name = c.clean(viewString(s.name), "span name", "")
	if s.kind >= 0 && s.kind <= int32(storage.SpanKindConsumer) {
		row.Kind = storage.SpanKind(s.kind)
	}
	if s.statusCode >= 0 && s.statusCode <= int32(storage.StatusError) {
		row.StatusCode = storage.StatusCode(s.statusCode)
	}
	row.StatusMessage = c.clean(viewString(s.statusMessage), "status message", "")

	b := c.batch
	if c.resRow >= 0 {
		// Not the resource's first span: copy the first one's entries.
		b.RepeatRowAttributes(storage.ResourceAttributes, c.resRow)
		b.RepeatRowAttributes(storage.ResourceTypedAttributes, c.resRow)
	} else {
		for i := range c.resAttrs {
			a := &c.resAttrs[i]
			if a.typed {
				b.AddAttributeBytes(storage.ResourceTypedAttributes, a.key, c.resJSON[a.start:a.end])
			} else {
				b.AddAttribute(storage.ResourceAttributes, a.key, a.value)
			}
		}
	}

	keep := limit(len(c.kvs), c.maxAttrs)
	var err error
	c.spanAttrs, c.json, err = c.attributes(c.kvs[:keep], "attribute key", "value of attribute", c.spanAttrs[:0], c.json[:0])
	if err != nil {
		return err
	}
	if err := validateAll(c.kvs[keep:], msgKeyValue); err != nil {
		return err
	}
	for i := range c.spanAttrs {
		a := &c.spanAttrs[i]
		if a.typed {
			b.AddAttributeBytes(storage.TypedAttributes, a.key, c.json[a.start:a.end])
		} else {
			b.AddAttribute(storage.Attributes, a.key, a.value)
		}
	}
	row.DroppedAttributesCount = addSat(s.droppedAttrs, len(c.kvs)-keep)

	keep = limit(len(c.events), c.maxEvents)
	for _, e := range c.events[:keep] {
		if err := c.event(e); err != nil {
			return err
		}
	}
	if err := validateAll(c.events[keep:], msgEvent); err != nil {
		return err
	}
	row.DroppedEventsCount = addSat(s.droppedEvents, len(c.events)-keep)

	keep = limit(len(c.links), c.maxLinks)
	for _, l := range c.links[:keep] {
		if err := c.link(l); err != nil {
			return err
		}
	}
	if err := validateAll(c.links[keep:], msgLink); err != nil {
		return err
	}
	row.DroppedLinksCount = addSat(s.droppedLinks, len(c.links)-keep)

	b.AppendRow(&row)
	if c.resRow < 0 {
		c.resRow = b.Len() - 1
	}
	if c.badField != "" {
		sid := s.spanID
		c.reportBadUTF8(func() string { return "span " + hex.EncodeToString(sid[:]) })
	}
	return nil
}

// status reads a Status message into s (merging, as protobuf does).
func (s *spanFields) status(buf []byte) error {
	r := pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		switch num {
		case 2:
			s.statusMessage = r.lenField(t, "Status.message")
		case 3:
			s.statusCode = int32(r.varintField(t, "Status.code"))
		default:
			r.skip(t)
		}
	}
	return r.err
}

// event converts one Event message and adds it to the batch.
func (c *converter) event(buf []byte) error {
	var (
		ts     uint64
		name   []byte
		nAttrs int
	)
	r := pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		switch num {
		case 1:
			ts = r.fixed64Field(t, "Span.Event.time_unix_nano")
		case 2:
			name = r.lenField(t, "Span.Event.name")
		case 3:
			r.lenField(t, "Span.Event.attributes")
			nAttrs++
		case 4:
			r.varintField(t, "Span.Event.dropped_attributes_count")
		default:
			r.skip(t)
		}
	}
	if r.err != nil {
		return r.err
	}
	nm := c.clean(viewString(name), "event name", "")
	start := len(c.json)
	var err error
	if c.json, err = c.attributesJSON(c.json, buf, 3, nAttrs); err != nil {
		return err
	}
	c.batch.AddEvent(clampInt64(ts), nm, c.json[start:])
	c.json = c.json[:start]
	return nil
}

// link converts one Link message and adds it to the batch.
func (c *converter) link(buf []byte) error {
	var (
		traceID    [16]byte
		spanID     [8]byte
		traceState []byte
		nAttrs     int
	)
	r := pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		switch num {
		case 1:
			r.traceIDField(t, "Span.Link.trace_id", &traceID)
		case 2:
			r.spanIDField(t, "Span.Link.span_id", &spanID)
		case 3:
			traceState = r.lenField(t, "Span.Link.trace_state")
		case 4:
			r.lenField(t, "Span.Link.attributes")
			nAttrs++
		case 5:
			r.varintField(t, "Span.Link.dropped_attributes_count")
		case 6:
			r.fixed32Field(t, "Span.Link.flags")
		default:
			r.skip(t)
		}
	}
	if r.err != nil {
		return r.err
	}
	ts := c.clean(viewString(traceState), "link trace_state", "")
	start := len(c.json)
	var err error
	if c.json, err = c.attributesJSON(c.json, buf, 4, nAttrs); err != nil {
		return err
	}
	c.batch.AddLink(traceID, spanID, ts, c.json[start:])
	c.json = c.json[:start]
	return nil
}

// linearDedupMax is the attribute count up to which repeated keys are
// found by a linear search (of key fingerprints) rather than a map.
const linearDedupMax = 32

// Flags of converter.seen.
const (
	seenString uint8 = 1 << iota
	seenTyped
)

// keyPrint is a cheap fingerprint of a key: keys with different
// fingerprints differ, so that the linear search for repeated keys
// compares few strings.
func keyPrint(s string) uint64 {
	n := len(s)
	p := uint64(n) << 56
	if n >= 8 {
		return p ^ load64(s, 0) ^ load64(s, n-8)*0x9e3779b97f4a7c15
	}
	for i := range n {
		p ^= uint64(s[i]) << (8 * i)
	}
	return p
}

// load64 reads 8 bytes of s at i, little-endian.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// findKey reports whether attrs has key (with fingerprint p): among the
// string values only, or among all.
func findKey(attrs []keptAttr, key string, p uint64, stringsOnly bool) bool {
	for i := range attrs {
		if a := &attrs[i]; a.print == p && a.key == key && (!stringsOnly || !a.typed) {
			return true
		}
	}
	return false
}

// attributes converts KeyValue messages (the ones kept under the limit) to
// the kept attributes of a span or resource, appended to out; the JSON
// text of typed values is appended to js. A key repeated in kvs keeps its
// first string value, or else its first typed value.
func (c *converter) attributes(kvs [][]byte, keyField, valueField string, out []keptAttr, js []byte) ([]keptAttr, []byte, error) {
	useMap := len(kvs) > linearDedupMax
	if useMap {
		if c.seen == nil {
			c.seen = make(map[string]uint8, len(kvs))
		} else {
			clear(c.seen)
		}
	}
	c.pending = c.pending[:0]
	for _, kv := range kvs {
		k, v, ok := canonicalKeyValue(kv)
		if !ok {
			var err error
			if k, v, err = keyValue(kv, 0, false); err != nil {
				return out, js, err
			}
		}
		raw := viewString(k)
		key := c.clean(raw, keyField, raw)
		var p uint64
		if !useMap {
			p = keyPrint(key)
		}
		if v.typ == valueString {
			if useMap {
				if c.seen[key]&seenString != 0 {
					continue
				}
				c.seen[key] |= seenString
			} else if findKey(out, key, p, true) {
				continue
			}
			out = append(out, keptAttr{key: key, value: truncate(c.clean(viewString(v.data), valueField, key), c.maxValueBytes), print: p})
			continue
		}
		start := len(js)
		js = c.appendValue(js, v, 1, key)
		c.pending = append(c.pending, keptAttr{key: key, print: p, start: start, end: len(js), typed: true})
	}
	for _, a := range c.pending {
		if useMap {
			if c.seen[a.key] != 0 {
				continue
			}
			c.seen[a.key] |= seenTyped
		} else if findKey(out, a.key, a.print, false) {
			continue
		}
		out = append(out, a)
	}
	return out, js, nil
}

// attributesJSON appends the KeyValue messages in field of msg (an event
// or link whose encoding was checked; n of them) as one JSON object of
// typed values: the first maxAttrs of them, repeated keys included. No
// attributes give "{}".
func (c *converter) attributesJSON(b, msg []byte, field int32, n int) ([]byte, error) {
	if n == 0 {
		return append(b, "{}"...), nil
	}
	b = append(b, '{')
	i := 0
	r := pbReader{buf: msg}
	for r.more() {
		num, t := r.tag()
		if num != field {
			r.skip(t)
			continue
		}
		kv := r.bytes()
		if c.maxAttrs > 0 && i >= c.maxAttrs {
			if err := validateMessage(kv, msgKeyValue, 0); err != nil {
				return b, err
			}
			continue
		}
		k, v, ok := canonicalKeyValue(kv)
		if !ok {
			var err error
			if k, v, err = keyValue(kv, 0, false); err != nil {
				return b, err
			}
		}
		if i > 0 {
			b = append(b, ',')
		}
		i++
		raw := viewString(k)
		key := c.clean(raw, "event or link attribute key", raw)
		b = appendJSONString(b, key)
		b = append(b, ':')
		b = c.appendValue(b, v, 1, key)
	}
	return append(b, '}'), r.err
}

// valueType is the type of an AnyValue.
type valueType uint8

const (
	valueEmpty valueType = iota
	valueString
	valueBool
	valueInt
	valueDouble
	valueArray
	valueKvlist
	valueBytes
)

// anyValue is a decoded AnyValue: num holds bool, int and double values
// (as bits), data the payload of the others.
type anyValue struct {
	typ  valueType
	num  uint64
	data []byte
}

// keyValue decodes a KeyValue message at the given wire depth: its key and
// value (see readAnyValue). With validated, the message is known to be
// well-formed and its nested values are not checked again. Callers try
// canonicalKeyValue first.
func keyValue(buf []byte, depth int, validated bool) (key []byte, v anyValue, err error) {
	if depth >= maxWireDepth {
		return nil, v, errTooDeep
	}
	depth++
	r := pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		switch num {
		case 1:
			key = r.lenField(t, "KeyValue.key")
		case 2:
			if b := r.lenField(t, "KeyValue.value"); r.err == nil {
				if err := readAnyValue(b, depth, validated, &v); err != nil {
					return nil, v, err
				}
			}
		case 3:
			r.varintField(t, "KeyValue.key_strindex")
		default:
			r.skip(t)
		}
	}
	return key, v, r.err
}

// canonicalKeyValue decodes the usual encodings of a KeyValue with a
// scalar value, which keyValue would decode the same way: the key (field 1)
// and the value (field 2), in either order (protobuf-go writes the key
// first, pdata the value first), the value holding one string, bool, int,
// double or bytes field, with lengths below 128 bytes and nothing else. ok
// is false for any other encoding.
func canonicalKeyValue(buf []byte) (key []byte, v anyValue, ok bool) {
	if len(buf) < 4 || buf[1] >= 0x80 {
		return nil, v, false
	}
	p := 2 + int(buf[1])
	if p+2 > len(buf) || buf[p+1] >= 0x80 || p+2+int(buf[p+1]) != len(buf) {
		return nil, v, false
	}
	var val []byte
	switch {
	case buf[0] == 0x0a && buf[p] == 0x12:
		key, val = buf[2:p:p], buf[p+2:]
	case buf[0] == 0x12 && buf[p] == 0x0a:
		val, key = buf[2:p:p], buf[p+2:]
	default:
		return nil, v, false
	}
	switch {
	case len(val) == 0:
		return key, anyValue{}, true
	case len(val) < 2:
		return nil, v, false
	case val[0] == 0x0a || val[0] == 0x3a: // string_value, bytes_value
		if int(val[1]) != len(val)-2 { // a length of 128 or more does not match either
			return nil, v, false
		}
		typ := valueString
		if val[0] == 0x3a {
			typ = valueBytes
		}
		return key, anyValue{typ: typ, data: val[2:]}, true
	case val[0] == 0x21 && len(val) == 9: // double_value
		return key, anyValue{typ: valueDouble, num: binary.LittleEndian.Uint64(val[1:])}, true
	case val[0] == 0x10 || val[0] == 0x18: // bool_value, int_value
		if len(val) > 11 {
			return nil, v, false
		}
		var n uint64
		for i, b := range val[1:] {
			n |= uint64(b&0x7f) << (7 * i)
			if b < 0x80 {
				if i+2 != len(val) {
					return nil, v, false
				}
				typ := valueInt
				if val[0] == 0x10 {
					typ = valueBool
				}
				return key, anyValue{typ: typ, num: n}, true
			}
		}
	}
	return nil, v, false
}

// readAnyValue decodes an AnyValue message into v: the last of its oneof
// fields wins, and a message sent in parts merges into v. Arrays and maps
// are checked (unless validated) but not decoded.
func readAnyValue(buf []byte, depth int, validated bool, v *anyValue) error {
	if depth >= maxWireDepth {
		return errTooDeep
	}
	depth++
	r := pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		switch num {
		case 1:
			*v = anyValue{typ: valueString, data: r.lenField(t, "AnyValue.string_value")}
		case 2:
			*v = anyValue{typ: valueBool, num: r.varintField(t, "AnyValue.bool_value")}
		case 3:
			*v = anyValue{typ: valueInt, num: r.varintField(t, "AnyValue.int_value")}
		case 4:
			*v = anyValue{typ: valueDouble, num: r.fixed64Field(t, "AnyValue.double_value")}
		case 5, 6:
			field, typ, msg := "AnyValue.array_value", valueArray, msgArrayValue
			if num == 6 {
				field, typ, msg = "AnyValue.kvlist_value", valueKvlist, msgKeyValueList
			}
			b := r.lenField(t, field)
			if r.err == nil && !validated {
				if err := validateMessage(b, msg, depth); err != nil {
					return err
				}
			}
			*v = anyValue{typ: typ, data: b}
		case 7:
			*v = anyValue{typ: valueBytes, data: r.lenField(t, "AnyValue.bytes_value")}
		case 8:
			// A string table index (profiles only): an empty value.
			r.varintField(t, "AnyValue.string_value_strindex")
			*v = anyValue{}
		default:
			r.skip(t)
		}
	}
	return r.err
}

// appendValue appends v as JSON. depth is v's nesting level (1 for an
// attribute value); arrays and maps below maxValueDepth levels become the
// string tooDeepMarker. key names the attribute in warnings. Strings are
// cleaned and truncated like string attribute values, bytes are base64,
// doubles as appendJSONFloat writes them, and an empty value is null.
//
// The arrays and maps in v must have been checked (readAnyValue does):
// appendValue does not look for errors.
func (c *converter) appendValue(b []byte, v anyValue, depth int, key string) []byte {
	switch v.typ {
	case valueString:
		return appendJSONString(b, c.value(viewString(v.data), key))
	case valueInt:
		return strconv.AppendInt(b, int64(v.num), 10)
	case valueDouble:
		return appendJSONFloat(b, math.Float64frombits(v.num))
	case valueBool:
		return strconv.AppendBool(b, v.num != 0)
	case valueBytes:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.data)
		return append(b, '"')
	case valueArray:
		if depth > maxValueDepth {
			return appendJSONString(b, tooDeepMarker)
		}
		b = append(b, '[')
		first := true
		for r := (pbReader{buf: v.data}); r.more(); {
			num, t := r.tag()
			if num != 1 {
				r.skip(t)
				continue
			}
			var e anyValue
			_ = readAnyValue(r.bytes(), 0, true, &e) // checked
			if !first {
				b = append(b, ',')
			}
			first = false
			b = c.appendValue(b, e, depth+1, key)
		}
		return append(b, ']')
	case valueKvlist:
		if depth > maxValueDepth {
			return appendJSONString(b, tooDeepMarker)
		}
		b = append(b, '{')
		first := true
		for r := (pbReader{buf: v.data}); r.more(); {
			num, t := r.tag()
			if num != 1 {
				r.skip(t)
				continue
			}
			kv := r.bytes()
			k, e, ok := canonicalKeyValue(kv)
			if !ok {
				k, e, _ = keyValue(kv, 0, true) // checked
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, c.clean(viewString(k), "map key in attribute", key))
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
