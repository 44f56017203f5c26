package storage

import (
	"strings"
	"unsafe"
)

// SpanRow holds the scalar columns of one span. Strings may be views into
// the caller's memory when appending (SpanBatch copies what it keeps) and are
// views into the batch when read back with SpanBatch.Row.
type SpanRow struct {
	TraceID      [16]byte
	SpanID       [8]byte
	ParentSpanID [8]byte // all zero for a root span
	TraceState   string

	Service string
	Name    string
	Kind    SpanKind

	StartUnixNano int64
	DurationNano  int64

	StatusCode    StatusCode
	StatusMessage string

	ScopeName    string
	ScopeVersion string

	DroppedAttributesCount uint32
	DroppedEventsCount     uint32
	DroppedLinksCount      uint32
}

// AttrColumn names one of the four attribute maps of a span.
type AttrColumn uint8

// The attribute maps, as in Span: string values, and other values as JSON
// text, of the resource and of the span.
const (
	ResourceAttributes AttrColumn = iota
	ResourceTypedAttributes
	Attributes
	TypedAttributes
	numAttrColumns
)

// SpanBatch is a batch of spans held column by column, in the layout of the
// spans table: the ingest path fills it without a Go object per span or per
// attribute, the write-ahead log stores it with little more than a copy, and
// the insert sends its columns to ClickHouse as they are.
//
// A row is built by adding its attributes, events and links first and then
// calling AppendRow with its scalar fields (the caller validates a span
// before it adds anything of it). Low-cardinality columns (service, operation,
// scope, attribute keys, event names) are dictionary-encoded as ClickHouse's
// LowCardinality columns are.
//
// A SpanBatch is not safe for concurrent use.
type SpanBatch struct {
	traceIDs  []byte // 16 bytes per row
	spanIDs   []byte // 8 bytes per row
	parentIDs []byte // 8 bytes per row

	traceState    strColumn
	service       dictColumn
	name          dictColumn
	kind          []int8
	start         []int64
	duration      []int64
	statusCode    []int8
	statusMessage strColumn
	scopeName     dictColumn
	scopeVersion  dictColumn

	attrs [numAttrColumns]mapColumn

	evEnds  []uint32 // cumulative event count at the end of each row
	evTime  []int64
	evName  dictColumn
	evAttrs strColumn

	lkEnds     []uint32 // cumulative link count at the end of each row
	lkTraceIDs []byte
	lkSpanIDs  []byte
	lkState    strColumn
	lkAttrs    strColumn

	droppedAttrs  []uint32
	droppedEvents []uint32
	droppedLinks  []uint32
}

// NewSpanBatch returns an empty batch with room for about rowsHint spans.
func NewSpanBatch(rowsHint int) *SpanBatch {
	b := &SpanBatch{}
	if rowsHint > 0 {
		b.traceIDs = make([]byte, 0, 16*rowsHint)
		b.spanIDs = make([]byte, 0, 8*rowsHint)
		b.parentIDs = make([]byte, 0, 8*rowsHint)
		b.kind = make([]int8, 0, rowsHint)
		b.start = make([]int64, 0, rowsHint)
		b.duration = make([]int64, 0, rowsHint)
		b.statusCode = make([]int8, 0, rowsHint)
	}
	return b
}

// Len is the number of spans in the batch.
func (b *SpanBatch) Len() int {
	if b == nil {
		return 0
	}
	return len(b.kind)
}

// AddAttribute adds an attribute to map col of the row being built.
func (b *SpanBatch) AddAttribute(col AttrColumn, key, value string) {
	m := &b.attrs[col]
	m.keys.appendString(key)
	m.values.appendString(value)
}

// AddAttributeBytes is AddAttribute with the value as bytes.
func (b *SpanBatch) AddAttributeBytes(col AttrColumn, key string, value []byte) {
	m := &b.attrs[col]
	m.keys.appendString(key)
	m.values.appendBytes(value)
}

// AddEvent adds an event to the row being built; attributesJSON is a JSON
// object of its attributes ("{}" when none).
func (b *SpanBatch) AddEvent(timeUnixNano int64, name string, attributesJSON []byte) {
	b.evTime = append(b.evTime, timeUnixNano)
	b.evName.appendString(name)
	b.evAttrs.appendBytes(attributesJSON)
}

// AddLink adds a link to the row being built; attributesJSON as in AddEvent.
func (b *SpanBatch) AddLink(traceID [16]byte, spanID [8]byte, traceState string, attributesJSON []byte) {
	b.lkTraceIDs = append(b.lkTraceIDs, traceID[:]...)
	b.lkSpanIDs = append(b.lkSpanIDs, spanID[:]...)
	b.lkState.appendString(traceState)
	b.lkAttrs.appendBytes(attributesJSON)
}

// AppendRow finishes the row being built with its scalar fields.
func (b *SpanBatch) AppendRow(r *SpanRow) {
	b.traceIDs = append(b.traceIDs, r.TraceID[:]...)
	b.spanIDs = append(b.spanIDs, r.SpanID[:]...)
	b.parentIDs = append(b.parentIDs, r.ParentSpanID[:]...)
	b.traceState.appendString(r.TraceState)
	b.service.appendString(r.Service)
	b.name.appendString(r.Name)
	b.kind = append(b.kind, int8(r.Kind))
	b.start = append(b.start, r.StartUnixNano)
	b.duration = append(b.duration, r.DurationNano)
	b.statusCode = append(b.statusCode, int8(r.StatusCode))
	b.statusMessage.appendString(r.StatusMessage)
	b.scopeName.appendString(r.ScopeName)
	b.scopeVersion.appendString(r.ScopeVersion)
	for i := range b.attrs {
		m := &b.attrs[i]
		m.ends = append(m.ends, uint32(m.keys.len()))
	}
	b.evEnds = append(b.evEnds, uint32(len(b.evTime)))
	b.lkEnds = append(b.lkEnds, uint32(b.lkState.len()))
	b.droppedAttrs = append(b.droppedAttrs, r.DroppedAttributesCount)
	b.droppedEvents = append(b.droppedEvents, r.DroppedEventsCount)
	b.droppedLinks = append(b.droppedLinks, r.DroppedLinksCount)
}

// Row returns the scalar fields of row i; its strings are views into b,
// valid while b is not modified.
func (b *SpanBatch) Row(i int) SpanRow {
	r := SpanRow{
		TraceState:             b.traceState.get(i),
		Service:                b.service.get(i),
		Name:                   b.name.get(i),
		Kind:                   SpanKind(b.kind[i]),
		StartUnixNano:          b.start[i],
		DurationNano:           b.duration[i],
		StatusCode:             StatusCode(b.statusCode[i]),
		StatusMessage:          b.statusMessage.get(i),
		ScopeName:              b.scopeName.get(i),
		ScopeVersion:           b.scopeVersion.get(i),
		DroppedAttributesCount: b.droppedAttrs[i],
		DroppedEventsCount:     b.droppedEvents[i],
		DroppedLinksCount:      b.droppedLinks[i],
	}
	copy(r.TraceID[:], b.traceIDs[16*i:])
	copy(r.SpanID[:], b.spanIDs[8*i:])
	copy(r.ParentSpanID[:], b.parentIDs[8*i:])
	return r
}

// Attribute looks key up in map col of row i; the value is a view into b.
// A key repeated in the map gives its first value.
func (b *SpanBatch) Attribute(i int, col AttrColumn, key string) (string, bool) {
	m := &b.attrs[col]
	for j, end := m.rowStart(i), int(m.ends[i]); j < end; j++ {
		if m.keys.get(j) == key {
			return m.values.get(j), true
		}
	}
	return "", false
}

// Span returns row i as a Span that shares no memory with b.
func (b *SpanBatch) Span(i int) Span {
	r := b.Row(i)
	s := Span{
		TraceID:                r.TraceID,
		SpanID:                 r.SpanID,
		ParentSpanID:           r.ParentSpanID,
		TraceState:             strings.Clone(r.TraceState),
		Service:                strings.Clone(r.Service),
		Name:                   strings.Clone(r.Name),
		Kind:                   r.Kind,
		StartUnixNano:          r.StartUnixNano,
		DurationNano:           r.DurationNano,
		StatusCode:             r.StatusCode,
		StatusMessage:          strings.Clone(r.StatusMessage),
		ScopeName:              strings.Clone(r.ScopeName),
		ScopeVersion:           strings.Clone(r.ScopeVersion),
		DroppedAttributesCount: r.DroppedAttributesCount,
		DroppedEventsCount:     r.DroppedEventsCount,
		DroppedLinksCount:      r.DroppedLinksCount,
	}
	maps := [numAttrColumns]*map[string]string{&s.ResourceAttributes, &s.ResourceTypedAttributes, &s.Attributes, &s.TypedAttributes}
	for c := range b.attrs {
		m := &b.attrs[c]
		start, end := m.rowStart(i), int(m.ends[i])
		if start == end {
			continue
		}
		out := make(map[string]string, end-start)
		for j := start; j < end; j++ {
			k := strings.Clone(m.keys.get(j))
			if _, dup := out[k]; !dup {
				out[k] = strings.Clone(m.values.get(j))
			}
		}
		*maps[c] = out
	}
	evStart, evEnd := rowRange(b.evEnds, i)
	for j := evStart; j < evEnd; j++ {
		s.Events = append(s.Events, Event{TimeUnixNano: b.evTime[j], Name: strings.Clone(b.evName.get(j)),
			AttributesJSON: strings.Clone(b.evAttrs.get(j))})
	}
	lkStart, lkEnd := rowRange(b.lkEnds, i)
	for j := lkStart; j < lkEnd; j++ {
		var l Link
		copy(l.TraceID[:], b.lkTraceIDs[16*j:])
		copy(l.SpanID[:], b.lkSpanIDs[8*j:])
		l.TraceState = strings.Clone(b.lkState.get(j))
		l.AttributesJSON = strings.Clone(b.lkAttrs.get(j))
		s.Links = append(s.Links, l)
	}
	return s
}

// AppendSpan appends s as a row. Map iteration order decides the order of
// its attributes in the row.
func (b *SpanBatch) AppendSpan(s *Span) {
	maps := [numAttrColumns]map[string]string{s.ResourceAttributes, s.ResourceTypedAttributes, s.Attributes, s.TypedAttributes}
	for c, m := range maps {
		for k, v := range m {
			b.AddAttribute(AttrColumn(c), k, v)
		}
	}
	for _, e := range s.Events {
		b.AddEvent(e.TimeUnixNano, e.Name, unsafe.Slice(unsafe.StringData(e.AttributesJSON), len(e.AttributesJSON)))
	}
	for _, l := range s.Links {
		b.AddLink(l.TraceID, l.SpanID, l.TraceState, unsafe.Slice(unsafe.StringData(l.AttributesJSON), len(l.AttributesJSON)))
	}
	b.AppendRow(&SpanRow{
		TraceID: s.TraceID, SpanID: s.SpanID, ParentSpanID: s.ParentSpanID, TraceState: s.TraceState,
		Service: s.Service, Name: s.Name, Kind: s.Kind, StartUnixNano: s.StartUnixNano, DurationNano: s.DurationNano,
		StatusCode: s.StatusCode, StatusMessage: s.StatusMessage, ScopeName: s.ScopeName, ScopeVersion: s.ScopeVersion,
		DroppedAttributesCount: s.DroppedAttributesCount, DroppedEventsCount: s.DroppedEventsCount,
		DroppedLinksCount: s.DroppedLinksCount,
	})
}

// AppendBatch appends every row of o to b.
func (b *SpanBatch) AppendBatch(o *SpanBatch) {
	if o.Len() == 0 {
		return
	}
	b.traceIDs = append(b.traceIDs, o.traceIDs...)
	b.spanIDs = append(b.spanIDs, o.spanIDs...)
	b.parentIDs = append(b.parentIDs, o.parentIDs...)
	b.traceState.appendColumn(&o.traceState)
	b.service.appendColumn(&o.service)
	b.name.appendColumn(&o.name)
	b.kind = append(b.kind, o.kind...)
	b.start = append(b.start, o.start...)
	b.duration = append(b.duration, o.duration...)
	b.statusCode = append(b.statusCode, o.statusCode...)
	b.statusMessage.appendColumn(&o.statusMessage)
	b.scopeName.appendColumn(&o.scopeName)
	b.scopeVersion.appendColumn(&o.scopeVersion)
	for c := range b.attrs {
		b.attrs[c].appendColumn(&o.attrs[c])
	}
	b.evEnds = appendEnds(b.evEnds, uint32(len(b.evTime)), o.evEnds)
	b.evTime = append(b.evTime, o.evTime...)
	b.evName.appendColumn(&o.evName)
	b.evAttrs.appendColumn(&o.evAttrs)
	b.lkEnds = appendEnds(b.lkEnds, uint32(b.lkState.len()), o.lkEnds)
	b.lkTraceIDs = append(b.lkTraceIDs, o.lkTraceIDs...)
	b.lkSpanIDs = append(b.lkSpanIDs, o.lkSpanIDs...)
	b.lkState.appendColumn(&o.lkState)
	b.lkAttrs.appendColumn(&o.lkAttrs)
	b.droppedAttrs = append(b.droppedAttrs, o.droppedAttrs...)
	b.droppedEvents = append(b.droppedEvents, o.droppedEvents...)
	b.droppedLinks = append(b.droppedLinks, o.droppedLinks...)
}

// dataSize is the size of the columns' data, an upper bound of the binary
// form without its counts.
func (b *SpanBatch) dataSize() int {
	n := len(b.traceIDs) + len(b.spanIDs) + len(b.parentIDs) + 2*len(b.kind) + 16*len(b.start) + 12*len(b.droppedAttrs)
	n += b.traceState.size() + b.service.size() + b.name.size() + b.statusMessage.size() + b.scopeName.size() + b.scopeVersion.size()
	for c := range b.attrs {
		n += b.attrs[c].size()
	}
	n += 4*len(b.evEnds) + 8*len(b.evTime) + b.evName.size() + b.evAttrs.size()
	n += 4*len(b.lkEnds) + len(b.lkTraceIDs) + len(b.lkSpanIDs) + b.lkState.size() + b.lkAttrs.size()
	return n
}

// rowRange returns the [start, end) entries of row i given cumulative ends.
func rowRange(ends []uint32, i int) (int, int) {
	start := 0
	if i > 0 {
		start = int(ends[i-1])
	}
	return start, int(ends[i])
}

// appendEnds appends the cumulative ends of another column, shifted by base.
func appendEnds(dst []uint32, base uint32, src []uint32) []uint32 {
	for _, e := range src {
		dst = append(dst, base+e)
	}
	return dst
}

// strColumn is a String column: the values back to back, and where each
// ends.
type strColumn struct {
	data []byte
	ends []uint32
}

func (c *strColumn) len() int { return len(c.ends) }

func (c *strColumn) appendString(s string) {
	c.data = append(c.data, s...)
	c.ends = append(c.ends, uint32(len(c.data)))
}

func (c *strColumn) appendBytes(v []byte) {
	c.data = append(c.data, v...)
	c.ends = append(c.ends, uint32(len(c.data)))
}

// bytes returns value i as a view into the column.
func (c *strColumn) bytes(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.data[start:c.ends[i]]
}

// get returns value i as a string viewing the column's memory.
func (c *strColumn) get(i int) string {
	v := c.bytes(i)
	return unsafe.String(unsafe.SliceData(v), len(v))
}

func (c *strColumn) appendColumn(o *strColumn) {
	c.ends = appendEnds(c.ends, uint32(len(c.data)), o.ends)
	c.data = append(c.data, o.data...)
}

func (c *strColumn) size() int { return len(c.data) + 4*len(c.ends) }

// dictColumn is a LowCardinality(String) column: distinct values in dict,
// and each row's index into it.
type dictColumn struct {
	dict   strColumn
	lookup map[string]uint32 // value → index in dict; keys are owned copies
	idx    []uint32
	// last is the index of the last value appended, tried first: runs of
	// one value (a resource's service, a scope) are common.
	last uint32
	// next[i] is 1 + the index of the value that followed value i the last
	// time (0: none yet), tried second: spans of one kind repeat the same
	// sequence of attribute keys, so most keys are found by comparing one
	// string instead of hashing it.
	next []uint32
}

func (c *dictColumn) len() int { return len(c.idx) }

func (c *dictColumn) appendString(s string) {
	c.idx = append(c.idx, c.indexOf(s))
}

// indexOf returns the dictionary index of s, adding it when new.
func (c *dictColumn) indexOf(s string) uint32 {
	last := c.last
	if int(last) < c.dict.len() {
		if c.dict.get(int(last)) == s {
			return last
		}
		if int(last) < len(c.next) {
			if p := c.next[last]; p != 0 && c.dict.get(int(p-1)) == s {
				c.last = p - 1
				return p - 1
			}
		}
	}
	if c.lookup == nil {
		c.lookup = make(map[string]uint32, c.dict.len())
		for j := c.dict.len() - 1; j >= 0; j-- { // a decoded dictionary
			c.lookup[strings.Clone(c.dict.get(j))] = uint32(j)
		}
	}
	i, ok := c.lookup[s]
	if !ok {
		i = uint32(c.dict.len())
		c.dict.appendString(s)
		c.lookup[strings.Clone(s)] = i
	}
	if int(last) < c.dict.len() {
		for len(c.next) < c.dict.len() {
			c.next = append(c.next, 0)
		}
		c.next[last] = i + 1
	}
	c.last = i
	return i
}

func (c *dictColumn) get(i int) string { return c.dict.get(int(c.idx[i])) }

func (c *dictColumn) appendColumn(o *dictColumn) {
	if o.dict.len() == 0 {
		return
	}
	remap := make([]uint32, o.dict.len())
	for j := range remap {
		remap[j] = c.indexOf(o.dict.get(j))
	}
	for _, x := range o.idx {
		c.idx = append(c.idx, remap[x])
	}
}

func (c *dictColumn) size() int { return c.dict.size() + 4*len(c.idx) }

// mapColumn is a Map(LowCardinality(String), String) column: all entries'
// keys and values, and the cumulative entry count at the end of each row.
type mapColumn struct {
	keys   dictColumn
	values strColumn
	ends   []uint32
}

// rowStart is the first entry of row i (of the row being built when i is
// the number of finished rows).
func (m *mapColumn) rowStart(i int) int {
	if i == 0 {
		return 0
	}
	return int(m.ends[i-1])
}

func (m *mapColumn) appendColumn(o *mapColumn) {
	m.ends = appendEnds(m.ends, uint32(m.keys.len()), o.ends)
	m.keys.appendColumn(&o.keys)
	m.values.appendColumn(&o.values)
}

func (m *mapColumn) size() int { return m.keys.size() + m.values.size() + 4*len(m.ends) }

// MergeSpanBatches returns one batch with the rows of parts, in order. A
// single part is returned as it is; otherwise every column is allocated
// once, at its final size.
func MergeSpanBatches(parts []*SpanBatch) *SpanBatch {
	if len(parts) == 1 {
		return parts[0]
	}
	var n SpanBatch
	var sizes batchSizes
	for _, p := range parts {
		sizes.add(p)
	}
	sizes.alloc(&n)
	for _, p := range parts {
		n.AppendBatch(p)
	}
	return &n
}

// batchSizes sums the lengths of the columns of several batches.
type batchSizes struct {
	rows, events, links         int
	traceState, statusMessage   int // bytes
	evAttrs, lkState, lkAttrs   int // bytes
	attrEntries, attrValueBytes [numAttrColumns]int
}

func (s *batchSizes) add(b *SpanBatch) {
	s.rows += b.Len()
	s.events += len(b.evTime)
	s.links += b.lkState.len()
	s.traceState += len(b.traceState.data)
	s.statusMessage += len(b.statusMessage.data)
	s.evAttrs += len(b.evAttrs.data)
	s.lkState += len(b.lkState.data)
	s.lkAttrs += len(b.lkAttrs.data)
	for c := range b.attrs {
		s.attrEntries[c] += b.attrs[c].keys.len()
		s.attrValueBytes[c] += len(b.attrs[c].values.data)
	}
}

func (s *batchSizes) alloc(b *SpanBatch) {
	r := s.rows
	b.traceIDs, b.spanIDs, b.parentIDs = make([]byte, 0, 16*r), make([]byte, 0, 8*r), make([]byte, 0, 8*r)
	b.traceState = strColumn{data: make([]byte, 0, s.traceState), ends: make([]uint32, 0, r)}
	for _, d := range []*dictColumn{&b.service, &b.name, &b.scopeName, &b.scopeVersion} {
		d.idx = make([]uint32, 0, r)
	}
	b.kind, b.statusCode = make([]int8, 0, r), make([]int8, 0, r)
	b.start, b.duration = make([]int64, 0, r), make([]int64, 0, r)
	b.statusMessage = strColumn{data: make([]byte, 0, s.statusMessage), ends: make([]uint32, 0, r)}
	for c := range b.attrs {
		m := &b.attrs[c]
		m.keys.idx = make([]uint32, 0, s.attrEntries[c])
		m.values = strColumn{data: make([]byte, 0, s.attrValueBytes[c]), ends: make([]uint32, 0, s.attrEntries[c])}
		m.ends = make([]uint32, 0, r)
	}
	b.evEnds, b.evTime = make([]uint32, 0, r), make([]int64, 0, s.events)
	b.evName.idx = make([]uint32, 0, s.events)
	b.evAttrs = strColumn{data: make([]byte, 0, s.evAttrs), ends: make([]uint32, 0, s.events)}
	b.lkEnds = make([]uint32, 0, r)
	b.lkTraceIDs, b.lkSpanIDs = make([]byte, 0, 16*s.links), make([]byte, 0, 8*s.links)
	b.lkState = strColumn{data: make([]byte, 0, s.lkState), ends: make([]uint32, 0, s.links)}
	b.lkAttrs = strColumn{data: make([]byte, 0, s.lkAttrs), ends: make([]uint32, 0, s.links)}
	b.droppedAttrs, b.droppedEvents, b.droppedLinks = make([]uint32, 0, r), make([]uint32, 0, r), make([]uint32, 0, r)
}

// SpanBatchShape records the column sizes of a batch, per span, so that a
// later batch of similar spans can be allocated at its final size at once
// instead of growing column by column (NewSpanBatchShaped).
type SpanBatchShape struct{ sizes batchSizes }

// Shape returns b's shape.
func (b *SpanBatch) Shape() SpanBatchShape {
	var s SpanBatchShape
	s.sizes.add(b)
	return s
}

// NewSpanBatchShaped returns an empty batch with room for rows spans like
// those of shape (plus an eighth), or NewSpanBatch(rows) for a zero shape.
func NewSpanBatchShaped(shape SpanBatchShape, rows int) *SpanBatch {
	per := shape.sizes
	if per.rows == 0 || rows <= 0 {
		return NewSpanBatch(rows)
	}
	scale := func(n int) int { return int(int64(n)*int64(rows)*9/8/int64(per.rows)) + 1 }
	want := batchSizes{rows: rows, events: scale(per.events), links: scale(per.links),
		traceState: scale(per.traceState), statusMessage: scale(per.statusMessage),
		evAttrs: scale(per.evAttrs), lkState: scale(per.lkState), lkAttrs: scale(per.lkAttrs)}
	for c := range per.attrEntries {
		want.attrEntries[c] = scale(per.attrEntries[c])
		want.attrValueBytes[c] = scale(per.attrValueBytes[c])
	}
	var b SpanBatch
	want.alloc(&b)
	return &b
}

// RepeatRowAttributes adds to map col of the row being built the entries
// that finished row `row` has in it: the resource attributes that every
// span of a resource repeats, copied without looking their keys up again.
func (b *SpanBatch) RepeatRowAttributes(col AttrColumn, row int) {
	m := &b.attrs[col]
	start, end := m.rowStart(row), int(m.ends[row])
	if start == end {
		return
	}
	m.keys.idx = append(m.keys.idx, m.keys.idx[start:end]...)
	m.keys.last = m.keys.idx[end-1]
	vs := uint32(0)
	if start > 0 {
		vs = m.values.ends[start-1]
	}
	base := uint32(len(m.values.data))
	m.values.data = append(m.values.data, m.values.data[vs:m.values.ends[end-1]]...)
	for j := start; j < end; j++ {
		m.values.ends = append(m.values.ends, base+m.values.ends[j]-vs)
	}
}
