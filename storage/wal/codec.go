package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/tracehound/tracehound/storage"
)

// The payload of a record is a batch of spans in a binary form of its own
// (not the OTLP request): what is logged is exactly what will be inserted,
// after validation, truncation and attribute flattening, so a replay does
// not depend on the limits in force when it runs and costs no OTLP
// decoding. Its first byte is the format and a uvarint span count follows,
// in both formats.
//
// Format 2 (formatV2), written by this version, is the binary form of a
// storage.SpanBatch (SpanBatch.MarshalAppend, storage.UnmarshalSpanBatch;
// the layout is described in storage/spanbatch_codec.go): the batch's
// columns one after the other, so that logging a batch is little more than
// a copy.
//
// Format 1 (formatV1) was written before the columnar batch. It is still
// read, so that a log left by an older version is replayed after an
// upgrade, and never written. After the count come the spans, each as
//
//	trace id (16 bytes), span id (8), parent span id (8)
//	str trace_state, str service, str name, byte kind
//	varint start (ns), varint duration (ns)
//	byte status code, str status message, str scope name, str scope version
//	map resource attrs, map resource typed attrs, map attrs, map typed attrs
//	uvarint n, n × (varint time, str name, str attributes JSON)        events
//	uvarint n, n × (trace id, span id, str trace_state, str attrs JSON) links
//	uvarint dropped attributes, dropped events, dropped links
//
// where str is a uvarint length and the bytes, and map is a uvarint count
// and count × (str key, str value).
//
// IngestedAt is logged in neither (ClickHouse sets it on insert).
const (
	formatV1 byte = 1
	formatV2      = storage.SpanBatchFormat
)

// maxSpanKind and maxStatusCode are the largest enum values the spans table
// accepts; a decoded span outside them would make its insert fail forever.
const (
	maxSpanKind   = storage.SpanKindConsumer
	maxStatusCode = storage.StatusError
)

// minSpanBytes is the fewest bytes a span takes in either format: its ids.
const minSpanBytes = 32

// errCorrupt is returned for a payload that cannot be decoded.
var errCorrupt = errors.New("corrupt record payload")

// batchSpanCount reads the span count of a payload of either format
// without decoding it.
func batchSpanCount(p []byte) (int, error) {
	if len(p) < 2 || p[0] != formatV1 && p[0] != formatV2 {
		return 0, fmt.Errorf("%w: unknown format", errCorrupt)
	}
	n, k := binary.Uvarint(p[1:])
	if k <= 0 || n > uint64(len(p)-1-k)/minSpanBytes {
		return 0, fmt.Errorf("%w: bad span count", errCorrupt)
	}
	return int(n), nil
}

// decodeBatch decodes a payload of either format. The batch does not
// reference p. Any malformed input is an error wrapping errCorrupt, never a
// panic.
func decodeBatch(p []byte) (*storage.SpanBatch, error) {
	n, err := batchSpanCount(p)
	if err != nil {
		return nil, err
	}
	if p[0] == formatV2 {
		b, err := storage.UnmarshalSpanBatch(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errCorrupt, err)
		}
		return b, nil
	}
	spans, err := decodeSpansV1(p, n)
	if err != nil {
		return nil, err
	}
	b := storage.NewSpanBatch(len(spans))
	for i := range spans {
		b.AppendSpan(&spans[i]) // copies the strings, which point into p
	}
	return b, nil
}

// decodeSpansV1 decodes a formatV1 payload of n spans (its count, checked
// by batchSpanCount). The strings of the returned spans point into p.
func decodeSpansV1(p []byte, n int) ([]storage.Span, error) {
	_, k := binary.Uvarint(p[1:])
	d := decoder{b: p[1+k:]}
	spans := make([]storage.Span, n)
	for i := range spans {
		d.span(&spans[i])
		if d.err != nil {
			return nil, fmt.Errorf("%w: span %d of %d: %v", errCorrupt, i, n, d.err)
		}
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
	}
	return spans, nil
}

// decoder reads the fields of a formatV1 span; the first error sticks and makes
// every later read return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = errors.New(msg)
	}
	d.b = nil
}

func (d *decoder) bytes(dst []byte) {
	if len(d.b) < len(dst) {
		d.fail("truncated id")
		return
	}
	copy(dst, d.b)
	d.b = d.b[len(dst):]
}

func (d *decoder) byte1() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[k:]
	return v
}

func (d *decoder) varint() int64 {
	v, k := binary.Varint(d.b)
	if k <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[k:]
	return v
}

func (d *decoder) uint32() uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail("counter out of range")
		return 0
	}
	return uint32(v)
}

// count reads an element count, each element taking at least min bytes.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.fail("count exceeds the remaining bytes")
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("truncated string")
		return ""
	}
	if n == 0 {
		return ""
	}
	s := unsafe.String(&d.b[0], int(n))
	d.b = d.b[n:]
	return s
}

func (d *decoder) strMap() map[string]string {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

func (d *decoder) span(s *storage.Span) {
	d.bytes(s.TraceID[:])
	d.bytes(s.SpanID[:])
	d.bytes(s.ParentSpanID[:])
	s.TraceState = d.str()
	s.Service = d.str()
	s.Name = d.str()
	s.Kind = storage.SpanKind(d.byte1())
	if s.Kind < 0 || s.Kind > maxSpanKind {
		d.fail("span kind out of range")
	}
	s.StartUnixNano = d.varint()
	s.DurationNano = d.varint()
	s.StatusCode = storage.StatusCode(d.byte1())
	if s.StatusCode < 0 || s.StatusCode > maxStatusCode {
		d.fail("status code out of range")
	}
	s.StatusMessage = d.str()
	s.ScopeName = d.str()
	s.ScopeVersion = d.str()
	s.ResourceAttributes = d.strMap()
	s.ResourceTypedAttributes = d.strMap()
	s.Attributes = d.strMap()
	s.TypedAttributes = d.strMap()
	if n := d.count(3); n > 0 {
		s.Events = make([]storage.Event, n)
		for i := range s.Events {
			e := &s.Events[i]
			e.TimeUnixNano = d.varint()
			e.Name = d.str()
			e.AttributesJSON = d.str()
		}
	}
	if n := d.count(26); n > 0 {
		s.Links = make([]storage.Link, n)
		for i := range s.Links {
			l := &s.Links[i]
			d.bytes(l.TraceID[:])
			d.bytes(l.SpanID[:])
			l.TraceState = d.str()
			l.AttributesJSON = d.str()
		}
	}
	s.DroppedAttributesCount = d.uint32()
	s.DroppedEventsCount = d.uint32()
	s.DroppedLinksCount = d.uint32()
}
