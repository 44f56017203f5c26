package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The binary form of a SpanBatch (MarshalAppend, UnmarshalSpanBatch) is its
// columns one after the other, so that writing a batch to the write-ahead
// log is little more than a copy. After a version byte and the row count
// (uvarint):
//
//	trace ids (16 bytes per row), span ids (8), parent span ids (8)
//	str trace_state, dict service, dict name, int8 kind, int64 start,
//	int64 duration, int8 status code, str status message, dict scope name,
//	dict scope version,
//	4 × map (resource, resource typed, attributes, typed attributes),
//	ends events, int64 event times, dict event names, str event attributes,
//	ends links, link trace ids (16 per link), link span ids (8), str link
//	trace_state, str link attributes,
//	uint32 dropped attributes, dropped events, dropped links
//
// where int64/uint32 arrays are little-endian values (their count is
// implied), ends is a uvarint count and that many uint32 cumulative counts,
// str is ends and then a uvarint byte length and the bytes, dict is a str
// (the distinct values) and then a uvarint count and that many uint32
// indexes, and map is a dict (keys), a str (values) and ends (per row).
//
// SpanBatchFormat, the version byte, is 2: the write-ahead log's older
// payloads, a list of spans, start with 1 (storage/wal reads both).
const SpanBatchFormat byte = 2

// errCorruptBatch is wrapped by the errors of UnmarshalSpanBatch.
var errCorruptBatch = errors.New("corrupt span batch")

// maxSpanKind and maxStatusCode are the largest enum values the spans table
// accepts.
const (
	maxSpanKind   = SpanKindConsumer
	maxStatusCode = StatusError
)

// MarshalAppend appends the binary form of b to dst.
func (b *SpanBatch) MarshalAppend(dst []byte) []byte {
	dst = append(dst, SpanBatchFormat)
	dst = binary.AppendUvarint(dst, uint64(b.Len()))
	dst = append(dst, b.traceIDs...)
	dst = append(dst, b.spanIDs...)
	dst = append(dst, b.parentIDs...)
	dst = b.traceState.marshal(dst)
	dst = b.service.marshal(dst)
	dst = b.name.marshal(dst)
	dst = appendInt8s(dst, b.kind)
	dst = appendInt64s(dst, b.start)
	dst = appendInt64s(dst, b.duration)
	dst = appendInt8s(dst, b.statusCode)
	dst = b.statusMessage.marshal(dst)
	dst = b.scopeName.marshal(dst)
	dst = b.scopeVersion.marshal(dst)
	for c := range b.attrs {
		m := &b.attrs[c]
		dst = m.keys.marshal(dst)
		dst = m.values.marshal(dst)
		dst = appendEndsBinary(dst, m.ends)
	}
	dst = appendEndsBinary(dst, b.evEnds)
	dst = appendInt64s(dst, b.evTime)
	dst = b.evName.marshal(dst)
	dst = b.evAttrs.marshal(dst)
	dst = appendEndsBinary(dst, b.lkEnds)
	dst = append(dst, b.lkTraceIDs...)
	dst = append(dst, b.lkSpanIDs...)
	dst = b.lkState.marshal(dst)
	dst = b.lkAttrs.marshal(dst)
	dst = appendUint32s(dst, b.droppedAttrs)
	dst = appendUint32s(dst, b.droppedEvents)
	dst = appendUint32s(dst, b.droppedLinks)
	return dst
}

// MarshalSizeHint is an upper bound of the size of b's binary form, to size
// buffers.
func (b *SpanBatch) MarshalSizeHint() int { return b.dataSize() + 256 }

// UnmarshalSpanBatch decodes the binary form written by MarshalAppend. It
// checks that the columns are consistent (lengths, offsets, dictionary
// indexes, enum values), so that a decoded batch can always be inserted.
// The batch does not reference p.
func UnmarshalSpanBatch(p []byte) (*SpanBatch, error) {
	d := batchDecoder{p: p}
	if v := d.byte(); d.err == nil && v != SpanBatchFormat {
		return nil, fmt.Errorf("%w: unknown format %d", errCorruptBatch, v)
	}
	rows := d.count(1)
	b := &SpanBatch{}
	b.traceIDs = d.raw(16 * rows)
	b.spanIDs = d.raw(8 * rows)
	b.parentIDs = d.raw(8 * rows)
	d.str(&b.traceState, rows)
	d.dict(&b.service, rows)
	d.dict(&b.name, rows)
	b.kind = d.int8s(rows, int8(maxSpanKind))
	b.start = d.int64s(rows)
	b.duration = d.int64s(rows)
	b.statusCode = d.int8s(rows, int8(maxStatusCode))
	d.str(&b.statusMessage, rows)
	d.dict(&b.scopeName, rows)
	d.dict(&b.scopeVersion, rows)
	for c := range b.attrs {
		m := &b.attrs[c]
		d.dict(&m.keys, -1)
		d.str(&m.values, m.keys.len())
		m.ends = d.ends(rows, m.keys.len())
	}
	b.evEnds = d.ends(rows, -1)
	nev := lastEnd(b.evEnds)
	b.evTime = d.int64s(nev)
	d.dict(&b.evName, nev)
	d.str(&b.evAttrs, nev)
	b.lkEnds = d.ends(rows, -1)
	nlk := lastEnd(b.lkEnds)
	b.lkTraceIDs = d.raw(16 * nlk)
	b.lkSpanIDs = d.raw(8 * nlk)
	d.str(&b.lkState, nlk)
	d.str(&b.lkAttrs, nlk)
	b.droppedAttrs = d.uint32s(rows)
	b.droppedEvents = d.uint32s(rows)
	b.droppedLinks = d.uint32s(rows)
	if d.err == nil && len(d.p) > 0 {
		d.fail("%d bytes after the last column", len(d.p))
	}
	if d.err != nil {
		return nil, d.err
	}
	return b, nil
}

func lastEnd(ends []uint32) int {
	if len(ends) == 0 {
		return 0
	}
	return int(ends[len(ends)-1])
}

func (c *strColumn) marshal(dst []byte) []byte {
	dst = appendEndsBinary(dst, c.ends)
	dst = binary.AppendUvarint(dst, uint64(len(c.data)))
	return append(dst, c.data...)
}

func (c *dictColumn) marshal(dst []byte) []byte {
	dst = c.dict.marshal(dst)
	dst = binary.AppendUvarint(dst, uint64(len(c.idx)))
	return appendUint32s(dst, c.idx)
}

func appendEndsBinary(dst []byte, ends []uint32) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ends)))
	return appendUint32s(dst, ends)
}

func appendInt8s(dst []byte, v []int8) []byte {
	for _, x := range v {
		dst = append(dst, byte(x))
	}
	return dst
}

func appendInt64s(dst []byte, v []int64) []byte {
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(x))
	}
	return dst
}

func appendUint32s(dst []byte, v []uint32) []byte {
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint32(dst, x)
	}
	return dst
}

// batchDecoder reads the binary form; the first error sticks and makes
// every later read return zero values.
type batchDecoder struct {
	p   []byte
	err error
}

func (d *batchDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{errCorruptBatch}, args...)...)
	}
	d.p = nil
}

func (d *batchDecoder) byte() byte {
	if d.err != nil || len(d.p) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.p[0]
	d.p = d.p[1:]
	return v
}

// count reads a uvarint count of items of at least minSize bytes each,
// bounded by what is left.
func (d *batchDecoder) count(minSize int) int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.fail("bad count")
		return 0
	}
	d.p = d.p[n:]
	if v > uint64(len(d.p)/minSize)+1 {
		d.fail("count %d larger than the data", v)
		return 0
	}
	return int(v)
}

// raw returns a copy of the next n bytes.
func (d *batchDecoder) raw(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.p) {
		d.fail("truncated")
		return nil
	}
	v := append([]byte(nil), d.p[:n]...)
	d.p = d.p[n:]
	return v
}

func (d *batchDecoder) int8s(n int, maxValue int8) []int8 {
	raw := d.raw(n)
	out := make([]int8, len(raw))
	for i, x := range raw {
		if int8(x) < 0 || int8(x) > maxValue {
			d.fail("enum value %d out of range", int8(x))
			return nil
		}
		out[i] = int8(x)
	}
	return out
}

func (d *batchDecoder) int64s(n int) []int64 {
	raw := d.raw(8 * n)
	out := make([]int64, len(raw)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out
}

func (d *batchDecoder) uint32s(n int) []uint32 {
	raw := d.raw(4 * n)
	out := make([]uint32, len(raw)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	return out
}

// ends reads cumulative counts: want of them (-1: any number), non-
// decreasing, the last equal to total (-1: any).
func (d *batchDecoder) ends(want, total int) []uint32 {
	n := d.count(4)
	if d.err == nil && want >= 0 && n != want {
		d.fail("%d offsets, want %d", n, want)
	}
	v := d.uint32s(n)
	prev := uint32(0)
	for _, e := range v {
		if e < prev {
			d.fail("offsets decrease")
			return nil
		}
		prev = e
	}
	if d.err == nil && total >= 0 && int(prev) != total {
		d.fail("offsets end at %d, want %d", prev, total)
	}
	return v
}

// str reads a String column of want values (-1: any number).
func (d *batchDecoder) str(c *strColumn, want int) {
	c.ends = d.ends(want, -1)
	size := d.count(1)
	if d.err == nil && int(lastEnd(c.ends)) != size {
		d.fail("string data of %d bytes, offsets say %d", size, lastEnd(c.ends))
	}
	c.data = d.raw(size)
}

// dict reads a LowCardinality column of want rows (-1: any number).
func (d *batchDecoder) dict(c *dictColumn, want int) {
	d.str(&c.dict, -1)
	n := d.count(4)
	if d.err == nil && want >= 0 && n != want {
		d.fail("%d rows, want %d", n, want)
	}
	c.idx = d.uint32s(n)
	size := uint32(c.dict.len())
	for _, x := range c.idx {
		if x >= size {
			d.fail("dictionary index %d out of range", x)
			return
		}
	}
}
