package storage

import (
	"encoding/binary"

	"github.com/ClickHouse/ch-go/proto"
)

// This file encodes a SpanBatch in ClickHouse's Native format, column by
// column, straight from the batch's buffers: the insert builds no Go value
// per span. The column types match schemas/0001_spans.sql.

// spanKindType and statusCodeType are the Enum8 types of the spans table.
const (
	spanKindType   = "Enum8('unspecified' = 0, 'internal' = 1, 'server' = 2, 'client' = 3, 'producer' = 4, 'consumer' = 5)"
	statusCodeType = "Enum8('unset' = 0, 'ok' = 1, 'error' = 2)"
	attrMapType    = "Map(LowCardinality(String), String)"
)

// nativeInput returns the batch's columns, named as in the spans table, for
// an INSERT with the native protocol. The columns view the batch's memory.
func (b *SpanBatch) nativeInput() proto.Input { return b.nativeInputRange(0, b.Len()) }

// nativeInputRange is nativeInput for rows [lo, hi) only: a batch is sent
// in blocks of a few thousand rows, so that the encoded block the
// connection buffers stays small.
func (b *SpanBatch) nativeInputRange(lo, hi int) proto.Input {
	ev := func(inner func(elo, ehi int) innerCol) arrayCol { return newArrayCol(b.evEnds, lo, hi, inner) }
	lk := func(inner func(elo, ehi int) innerCol) arrayCol { return newArrayCol(b.lkEnds, lo, hi, inner) }
	return proto.Input{
		{Name: "trace_id", Data: fixedCol{data: b.traceIDs[16*lo : 16*hi], size: 16, typ: "FixedString(16)"}},
		{Name: "span_id", Data: fixedCol{data: b.spanIDs[8*lo : 8*hi], size: 8, typ: "FixedString(8)"}},
		{Name: "parent_span_id", Data: fixedCol{data: b.parentIDs[8*lo : 8*hi], size: 8, typ: "FixedString(8)"}},
		{Name: "trace_state", Data: strCol{&b.traceState, lo, hi}},
		{Name: "service", Data: lowCardCol{&b.service, lo, hi}},
		{Name: "name", Data: lowCardCol{&b.name, lo, hi}},
		{Name: "kind", Data: int8Col{v: b.kind[lo:hi], typ: spanKindType}},
		{Name: "start", Data: int64Col{v: b.start[lo:hi], typ: "DateTime64(9)"}},
		{Name: "duration_ns", Data: int64Col{v: b.duration[lo:hi], typ: "Int64"}},
		{Name: "status_code", Data: int8Col{v: b.statusCode[lo:hi], typ: statusCodeType}},
		{Name: "status_message", Data: strCol{&b.statusMessage, lo, hi}},
		{Name: "scope_name", Data: lowCardCol{&b.scopeName, lo, hi}},
		{Name: "scope_version", Data: lowCardCol{&b.scopeVersion, lo, hi}},
		{Name: "resource_attributes", Data: mapCol{&b.attrs[ResourceAttributes], lo, hi}},
		{Name: "resource_typed_attributes", Data: mapCol{&b.attrs[ResourceTypedAttributes], lo, hi}},
		{Name: "attributes", Data: mapCol{&b.attrs[Attributes], lo, hi}},
		{Name: "typed_attributes", Data: mapCol{&b.attrs[TypedAttributes], lo, hi}},
		{Name: "events.time", Data: ev(func(elo, ehi int) innerCol { return int64Col{v: b.evTime[elo:ehi], typ: "DateTime64(9)"} })},
		{Name: "events.name", Data: ev(func(elo, ehi int) innerCol { return lowCardCol{&b.evName, elo, ehi} })},
		{Name: "events.attributes", Data: ev(func(elo, ehi int) innerCol { return strCol{&b.evAttrs, elo, ehi} })},
		{Name: "links.trace_id", Data: lk(func(elo, ehi int) innerCol {
			return fixedCol{data: b.lkTraceIDs[16*elo : 16*ehi], size: 16, typ: "FixedString(16)"}
		})},
		{Name: "links.span_id", Data: lk(func(elo, ehi int) innerCol {
			return fixedCol{data: b.lkSpanIDs[8*elo : 8*ehi], size: 8, typ: "FixedString(8)"}
		})},
		{Name: "links.trace_state", Data: lk(func(elo, ehi int) innerCol { return strCol{&b.lkState, elo, ehi} })},
		{Name: "links.attributes", Data: lk(func(elo, ehi int) innerCol { return strCol{&b.lkAttrs, elo, ehi} })},
		{Name: "dropped_attributes_count", Data: uint32Col{b.droppedAttrs[lo:hi]}},
		{Name: "dropped_events_count", Data: uint32Col{b.droppedEvents[lo:hi]}},
		{Name: "dropped_links_count", Data: uint32Col{b.droppedLinks[lo:hi]}},
	}
}

// nativeCol is a column that encodes itself into a buffer; it gets
// WriteColumn from EncodeColumn.
type nativeCol interface {
	Type() proto.ColumnType
	Rows() int
	EncodeColumn(b *proto.Buffer)
}

func writeColumn(c nativeCol, w *proto.Writer) { w.ChainBuffer(c.EncodeColumn) }

// fixedCol is a FixedString(size) column.
type fixedCol struct {
	data []byte
	size int
	typ  proto.ColumnType
}

func (c fixedCol) Type() proto.ColumnType         { return c.typ }
func (c fixedCol) Rows() int                      { return len(c.data) / c.size }
func (c fixedCol) EncodeColumn(b *proto.Buffer)   { b.Buf = append(b.Buf, c.data...) }
func (c fixedCol) WriteColumn(w *proto.Writer)    { w.ChainWrite(c.data) }
func (c fixedCol) encodeStateTo(_ *proto.Buffer)  {}
func (c strCol) encodeStateTo(_ *proto.Buffer)    {}
func (c int64Col) encodeStateTo(_ *proto.Buffer)  {}
func (c uint32Col) encodeStateTo(_ *proto.Buffer) {}
func (c int8Col) encodeStateTo(_ *proto.Buffer)   {}

// strCol is a String column, rows [lo, hi) of c: each value as a varint
// length and the bytes.
type strCol struct {
	c      *strColumn
	lo, hi int
}

func (c strCol) Type() proto.ColumnType { return "String" }
func (c strCol) Rows() int              { return c.hi - c.lo }
func (c strCol) EncodeColumn(b *proto.Buffer) {
	start := uint32(0)
	if c.lo > 0 {
		start = c.c.ends[c.lo-1]
	}
	for _, end := range c.c.ends[c.lo:c.hi] {
		b.Buf = binary.AppendUvarint(b.Buf, uint64(end-start))
		b.Buf = append(b.Buf, c.c.data[start:end]...)
		start = end
	}
}
func (c strCol) WriteColumn(w *proto.Writer) { writeColumn(c, w) }

// lowCardCol is a LowCardinality(String) column, rows [lo, hi) of c: the
// dictionary and the rows' indexes into it, in the narrowest index type.
type lowCardCol struct {
	c      *dictColumn
	lo, hi int
}

// LowCardinality serialization constants (as in ClickHouse's
// SerializationLowCardinality): the key version written as the column's
// state, and the flags of a block with its own dictionary.
const (
	lowCardKeyVersion   = 1 // SharedDictionariesWithAdditionalKeys
	lowCardHasAddedKeys = 1 << 9
	lowCardUpdateDict   = 1 << 10
)

func (c lowCardCol) Type() proto.ColumnType { return "LowCardinality(String)" }
func (c lowCardCol) Rows() int              { return c.hi - c.lo }

// EncodeState writes the key version; an Array or Map column writes its
// elements' state before its offsets.
func (c lowCardCol) EncodeState(b *proto.Buffer) { b.PutInt64(lowCardKeyVersion) }

func (c lowCardCol) encodeStateTo(b *proto.Buffer) { c.EncodeState(b) }

func (c lowCardCol) EncodeColumn(b *proto.Buffer) {
	if c.hi == c.lo {
		return
	}
	n := c.c.dict.len()
	idx := c.c.idx[c.lo:c.hi]
	var key int64
	switch {
	case n <= 1<<8:
		key = 0
	case n <= 1<<16:
		key = 1
	default:
		key = 2
	}
	b.PutInt64(key | lowCardHasAddedKeys | lowCardUpdateDict)
	b.PutInt64(int64(n))
	strCol{&c.c.dict, 0, n}.EncodeColumn(b)
	b.PutInt64(int64(len(idx)))
	switch key {
	case 0:
		for _, x := range idx {
			b.Buf = append(b.Buf, byte(x))
		}
	case 1:
		for _, x := range idx {
			b.Buf = binary.LittleEndian.AppendUint16(b.Buf, uint16(x))
		}
	default:
		for _, x := range idx {
			b.Buf = binary.LittleEndian.AppendUint32(b.Buf, x)
		}
	}
}
func (c lowCardCol) WriteColumn(w *proto.Writer) { writeColumn(c, w) }

// int8Col is an Int8 or Enum8 column.
type int8Col struct {
	v   []int8
	typ proto.ColumnType
}

func (c int8Col) Type() proto.ColumnType { return c.typ }
func (c int8Col) Rows() int              { return len(c.v) }
func (c int8Col) EncodeColumn(b *proto.Buffer) {
	for _, x := range c.v {
		b.Buf = append(b.Buf, byte(x))
	}
}
func (c int8Col) WriteColumn(w *proto.Writer) { writeColumn(c, w) }

// int64Col is an Int64 or DateTime64 column.
type int64Col struct {
	v   []int64
	typ proto.ColumnType
}

func (c int64Col) Type() proto.ColumnType { return c.typ }
func (c int64Col) Rows() int              { return len(c.v) }
func (c int64Col) EncodeColumn(b *proto.Buffer) {
	for _, x := range c.v {
		b.Buf = binary.LittleEndian.AppendUint64(b.Buf, uint64(x))
	}
}
func (c int64Col) WriteColumn(w *proto.Writer) { writeColumn(c, w) }

// uint32Col is a UInt32 column.
type uint32Col struct{ v []uint32 }

func (c uint32Col) Type() proto.ColumnType { return "UInt32" }
func (c uint32Col) Rows() int              { return len(c.v) }
func (c uint32Col) EncodeColumn(b *proto.Buffer) {
	for _, x := range c.v {
		b.Buf = binary.LittleEndian.AppendUint32(b.Buf, x)
	}
}
func (c uint32Col) WriteColumn(w *proto.Writer) { writeColumn(c, w) }

// innerCol is an element column of an Array: it can write its state.
type innerCol interface {
	nativeCol
	encodeStateTo(b *proto.Buffer)
}

// arrayCol is an Array column: rows whose elements are the values of
// inner, with ends the cumulative element counts per row, from 0.
type arrayCol struct {
	ends  []uint32
	base  uint32 // subtracted from ends
	inner innerCol
}

// newArrayCol is the Array column of rows [lo, hi), given the cumulative
// element counts of all rows and the element column of elements [elo, ehi).
func newArrayCol(ends []uint32, lo, hi int, inner func(elo, ehi int) innerCol) arrayCol {
	elo, ehi := 0, 0
	if lo > 0 {
		elo = int(ends[lo-1])
	}
	if hi > 0 {
		ehi = int(ends[hi-1])
	}
	return arrayCol{ends: ends[lo:hi], base: uint32(elo), inner: inner(elo, max(elo, ehi))}
}

func (c arrayCol) Type() proto.ColumnType      { return "Array(" + c.inner.Type() + ")" }
func (c arrayCol) Rows() int                   { return len(c.ends) }
func (c arrayCol) EncodeState(b *proto.Buffer) { c.inner.encodeStateTo(b) }
func (c arrayCol) EncodeColumn(b *proto.Buffer) {
	encodeOffsets(b, c.ends, c.base)
	c.inner.EncodeColumn(b)
}
func (c arrayCol) WriteColumn(w *proto.Writer) { writeColumn(c, w) }

// mapCol is a Map(LowCardinality(String), String) column, rows [lo, hi)
// of m (an array of key-value tuples on the wire).
type mapCol struct {
	m      *mapColumn
	lo, hi int
}

func (c mapCol) Type() proto.ColumnType      { return attrMapType }
func (c mapCol) Rows() int                   { return c.hi - c.lo }
func (c mapCol) EncodeState(b *proto.Buffer) { b.PutInt64(lowCardKeyVersion) }
func (c mapCol) EncodeColumn(b *proto.Buffer) {
	elo, ehi := c.m.rowStart(c.lo), c.m.rowStart(c.hi)
	encodeOffsets(b, c.m.ends[c.lo:c.hi], uint32(elo))
	if ehi == elo {
		return
	}
	lowCardCol{&c.m.keys, elo, ehi}.EncodeColumn(b)
	strCol{&c.m.values, elo, ehi}.EncodeColumn(b)
}
func (c mapCol) WriteColumn(w *proto.Writer) { writeColumn(c, w) }

// encodeOffsets writes the cumulative element counts, less base, as UInt64
// offsets.
func encodeOffsets(b *proto.Buffer, ends []uint32, base uint32) {
	for _, e := range ends {
		b.Buf = binary.LittleEndian.AppendUint64(b.Buf, uint64(e-base))
	}
}
