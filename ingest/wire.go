package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unsafe"
)

// A small protobuf reader for the OTLP trace messages, and a validator
// driven by a description of them (wireSchema).
//
// The reader accepts exactly what the pdata unmarshaler accepts (the
// decoder the receivers used before), so that clients see the same
// requests refused: varints of at most 10 bytes, lengths within the
// message, field numbers above 0, the wire type of each known field,
// 16-byte trace ids and 8-byte span ids (or empty ones), nesting of
// attribute values within maxWireDepth messages, and unknown fields of
// any wire type skipped as pdata skips them (including its handling of
// deprecated groups). Strings are not checked for UTF-8: the converter
// repairs them.

// wireType is a protobuf wire type.
type wireType uint8

// Protobuf wire types.
const (
	wireVarint     wireType = 0
	wireI64        wireType = 1
	wireLen        wireType = 2
	wireStartGroup wireType = 3
	wireEndGroup   wireType = 4
	wireI32        wireType = 5
)

func (t wireType) String() string {
	switch t {
	case wireVarint:
		return "varint"
	case wireI64:
		return "64-bit"
	case wireLen:
		return "length-delimited"
	case wireStartGroup:
		return "start group"
	case wireEndGroup:
		return "end group"
	case wireI32:
		return "32-bit"
	default:
		return "invalid"
	}
}

// maxWireDepth is how deeply KeyValue, AnyValue, ArrayValue and
// KeyValueList messages may nest (pdata's proto.RecursionLimit).
const maxWireDepth = 100

// Decoding errors. Truncated input gives io.ErrUnexpectedEOF ("unexpected
// EOF"), as pdata did.
var (
	errVarintOverflow = errors.New("varint longer than 10 bytes")
	errNegativeLength = errors.New("length-delimited field with a negative length")
	errEndGroup       = errors.New("end-group tag without a matching start-group tag")
	errTooDeep        = fmt.Errorf("attribute value nested more than %d protobuf messages deep", maxWireDepth)
)

// pbReader reads the fields of one protobuf message, buf[pos:].
//
// Errors are sticky: the first one is kept in err and moves pos to the
// end, so that loops over the fields stop; values read after an error are
// zero. Check err once the loop is done.
type pbReader struct {
	buf []byte
	pos int
	err error
}

// more reports whether fields are left.
func (r *pbReader) more() bool { return r.pos < len(r.buf) }

// fail records err (unless an error is already recorded) and stops the
// reader.
//
//go:noinline
func (r *pbReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.pos = len(r.buf)
}

// varint reads a base-128 varint.
func (r *pbReader) varint() uint64 {
	if p := r.pos; p < len(r.buf) {
		if b := r.buf[p]; b < 0x80 {
			r.pos = p + 1
			return uint64(b)
		}
	}
	return r.varintSlow()
}

//go:noinline
func (r *pbReader) varintSlow() uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			r.fail(errVarintOverflow)
			return 0
		}
		if r.pos >= len(r.buf) {
			r.fail(io.ErrUnexpectedEOF)
			return 0
		}
		b := r.buf[r.pos]
		r.pos++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v
		}
	}
}

// tag reads a field tag. Like pdata, it truncates the field number to 32
// bits and refuses numbers below 1. After an error it returns field 0.
func (r *pbReader) tag() (int32, wireType) {
	if p := r.pos; p < len(r.buf) {
		if b := r.buf[p]; b-8 < 0x80-8 { // a one-byte tag of a field above 0
			r.pos = p + 1
			return int32(b >> 3), wireType(b & 7)
		}
	}
	return r.tagSlow()
}

//go:noinline
func (r *pbReader) tagSlow() (int32, wireType) {
	v := r.varint()
	if r.err != nil {
		return 0, 0
	}
	num := int32(v >> 3)
	if num <= 0 {
		r.fail(fmt.Errorf("invalid field number %d (tag %d, before byte %d)", num, v, r.pos))
		return 0, 0
	}
	return num, wireType(v & 7)
}

// fixed64 reads a little-endian 64-bit value.
func (r *pbReader) fixed64() uint64 {
	if p := r.pos; len(r.buf)-p >= 8 {
		r.pos = p + 8
		return binary.LittleEndian.Uint64(r.buf[p:])
	}
	r.fail(io.ErrUnexpectedEOF)
	return 0
}

// fixed32 skips a 32-bit value (no OTLP trace field needs its value).
func (r *pbReader) fixed32() {
	if len(r.buf)-r.pos < 4 {
		r.fail(io.ErrUnexpectedEOF)
		return
	}
	r.pos += 4
}

// bytes reads a length-delimited payload; the result aliases buf.
func (r *pbReader) bytes() []byte {
	if p := r.pos; p < len(r.buf) {
		if n := int(r.buf[p]); n < 0x80 && n < len(r.buf)-p {
			r.pos = p + 1 + n
			return r.buf[p+1 : r.pos : r.pos]
		}
	}
	return r.bytesSlow()
}

//go:noinline
func (r *pbReader) bytesSlow() []byte {
	n := r.varint()
	if r.err != nil {
		return nil
	}
	length := int(n)
	if length < 0 {
		r.fail(errNegativeLength)
		return nil
	}
	end := r.pos + length
	if end < 0 || end > len(r.buf) {
		r.fail(io.ErrUnexpectedEOF)
		return nil
	}
	b := r.buf[r.pos:end:end]
	r.pos = end
	return b
}

// skip skips the value of an unknown field of wire type t, as pdata's
// proto.ConsumeUnknown does: a group ends at its end-group tag, but the
// first non-group field inside a group ends the skip (the rest of the
// group is then read as fields of the enclosing message), and a value at
// the very end of the message is refused when it is a group.
func (r *pbReader) skip(t wireType) {
	depth := 0
	for r.pos < len(r.buf) {
		switch t {
		case wireVarint:
			r.varint()
			return
		case wireI64:
			r.fixed64()
			return
		case wireLen:
			r.bytes()
			return
		case wireI32:
			r.fixed32()
			return
		case wireStartGroup:
			depth++
		case wireEndGroup:
			if depth == 0 {
				r.fail(errEndGroup)
				return
			}
			depth--
		default:
			r.fail(fmt.Errorf("invalid wire type %d (before byte %d)", t, r.pos))
			return
		}
		if depth == 0 {
			return
		}
		if _, t = r.tag(); r.err != nil {
			return
		}
	}
	r.fail(io.ErrUnexpectedEOF)
}

// wrongWireType records the error for a known field sent with another
// wire type.
//
//go:noinline
func (r *pbReader) wrongWireType(field string, got, want wireType) {
	r.fail(fmt.Errorf("field %s has wire type %d (%v); it must be %v", field, got, got, want))
}

// lenField reads the payload of a length-delimited field after checking
// its wire type.
func (r *pbReader) lenField(t wireType, field string) []byte {
	if t != wireLen {
		r.wrongWireType(field, t, wireLen)
		return nil
	}
	return r.bytes()
}

// varintField reads a varint field after checking its wire type.
func (r *pbReader) varintField(t wireType, field string) uint64 {
	if t != wireVarint {
		r.wrongWireType(field, t, wireVarint)
		return 0
	}
	return r.varint()
}

// fixed64Field reads a fixed64 field after checking its wire type.
func (r *pbReader) fixed64Field(t wireType, field string) uint64 {
	if t != wireI64 {
		r.wrongWireType(field, t, wireI64)
		return 0
	}
	return r.fixed64()
}

// fixed32Field skips a fixed32 field after checking its wire type.
func (r *pbReader) fixed32Field(t wireType, field string) {
	if t != wireI32 {
		r.wrongWireType(field, t, wireI32)
		return
	}
	r.fixed32()
}

// traceIDField reads a trace id: 16 bytes, or empty for the zero id.
func (r *pbReader) traceIDField(t wireType, field string, dst *[16]byte) {
	b := r.lenField(t, field)
	switch {
	case r.err != nil:
	case len(b) == 16:
		*dst = [16]byte(b)
	case len(b) == 0:
		*dst = [16]byte{}
	default:
		r.fail(fmt.Errorf("%s is %d bytes long; it must be 16 bytes (or empty)", field, len(b)))
	}
}

// spanIDField reads a span id: 8 bytes, or empty for the zero id.
func (r *pbReader) spanIDField(t wireType, field string, dst *[8]byte) {
	b := r.lenField(t, field)
	switch {
	case r.err != nil:
	case len(b) == 8:
		*dst = [8]byte(b)
	case len(b) == 0:
		*dst = [8]byte{}
	default:
		r.fail(fmt.Errorf("%s is %d bytes long; it must be 8 bytes (or empty)", field, len(b)))
	}
}

// viewString returns b as a string without copying. The string is valid
// while b is neither modified nor reused; the converter only uses it for
// request bytes, which do not change during Convert, and the SpanBatch
// copies what it keeps.
func viewString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// msgID names an OTLP trace message in wireSchema.
type msgID uint8

// The OTLP trace messages.
const (
	msgRequest msgID = iota
	msgResourceSpans
	msgResource
	msgEntityRef
	msgScopeSpans
	msgScope
	msgSpan
	msgEvent
	msgLink
	msgStatus
	msgKeyValue
	msgAnyValue
	msgArrayValue
	msgKeyValueList
	numMsgs
)

// fieldKind is how a known field is encoded.
type fieldKind uint8

const (
	kindVarint  fieldKind = iota + 1 // int, enum, bool
	kindI64                          // fixed64, double
	kindI32                          // fixed32
	kindBytes                        // string, bytes
	kindTraceID                      // bytes: 16 or 0
	kindSpanID                       // bytes: 8 or 0
	kindMessage                      // embedded message
)

func (k fieldKind) wireType() wireType {
	switch k {
	case kindVarint:
		return wireVarint
	case kindI64:
		return wireI64
	case kindI32:
		return wireI32
	default:
		return wireLen
	}
}

// fieldDesc describes a known field.
type fieldDesc struct {
	num  int32
	name string // for errors: "Span.trace_id"
	kind fieldKind
	msg  msgID // for kindMessage
}

// msgDesc describes a message.
type msgDesc struct {
	fields []fieldDesc
	// nested counts towards maxWireDepth (the attribute value messages,
	// whose depth pdata bounds).
	nested bool
}

// wireSchema describes the OTLP trace messages, as the pdata version the
// receivers used before decodes them (opentelemetry-proto v1.9).
var wireSchema = [numMsgs]msgDesc{
	msgRequest: {fields: []fieldDesc{
		{1, "ExportTraceServiceRequest.resource_spans", kindMessage, msgResourceSpans},
	}},
	msgResourceSpans: {fields: []fieldDesc{
		{1, "ResourceSpans.resource", kindMessage, msgResource},
		{2, "ResourceSpans.scope_spans", kindMessage, msgScopeSpans},
		{3, "ResourceSpans.schema_url", kindBytes, 0},
		{1000, "ResourceSpans.instrumentation_library_spans", kindMessage, msgScopeSpans},
	}},
	msgResource: {fields: []fieldDesc{
		{1, "Resource.attributes", kindMessage, msgKeyValue},
		{2, "Resource.dropped_attributes_count", kindVarint, 0},
		{3, "Resource.entity_refs", kindMessage, msgEntityRef},
	}},
	msgEntityRef: {fields: []fieldDesc{
		{1, "EntityRef.schema_url", kindBytes, 0},
		{2, "EntityRef.type", kindBytes, 0},
		{3, "EntityRef.id_keys", kindBytes, 0},
		{4, "EntityRef.description_keys", kindBytes, 0},
	}},
	msgScopeSpans: {fields: []fieldDesc{
		{1, "ScopeSpans.scope", kindMessage, msgScope},
		{2, "ScopeSpans.spans", kindMessage, msgSpan},
		{3, "ScopeSpans.schema_url", kindBytes, 0},
	}},
	msgScope: {fields: []fieldDesc{
		{1, "InstrumentationScope.name", kindBytes, 0},
		{2, "InstrumentationScope.version", kindBytes, 0},
		{3, "InstrumentationScope.attributes", kindMessage, msgKeyValue},
		{4, "InstrumentationScope.dropped_attributes_count", kindVarint, 0},
	}},
	msgSpan: {fields: []fieldDesc{
		{1, "Span.trace_id", kindTraceID, 0},
		{2, "Span.span_id", kindSpanID, 0},
		{3, "Span.trace_state", kindBytes, 0},
		{4, "Span.parent_span_id", kindSpanID, 0},
		{5, "Span.name", kindBytes, 0},
		{6, "Span.kind", kindVarint, 0},
		{7, "Span.start_time_unix_nano", kindI64, 0},
		{8, "Span.end_time_unix_nano", kindI64, 0},
		{9, "Span.attributes", kindMessage, msgKeyValue},
		{10, "Span.dropped_attributes_count", kindVarint, 0},
		{11, "Span.events", kindMessage, msgEvent},
		{12, "Span.dropped_events_count", kindVarint, 0},
		{13, "Span.links", kindMessage, msgLink},
		{14, "Span.dropped_links_count", kindVarint, 0},
		{15, "Span.status", kindMessage, msgStatus},
		{16, "Span.flags", kindI32, 0},
	}},
	msgEvent: {fields: []fieldDesc{
		{1, "Span.Event.time_unix_nano", kindI64, 0},
		{2, "Span.Event.name", kindBytes, 0},
		{3, "Span.Event.attributes", kindMessage, msgKeyValue},
		{4, "Span.Event.dropped_attributes_count", kindVarint, 0},
	}},
	msgLink: {fields: []fieldDesc{
		{1, "Span.Link.trace_id", kindTraceID, 0},
		{2, "Span.Link.span_id", kindSpanID, 0},
		{3, "Span.Link.trace_state", kindBytes, 0},
		{4, "Span.Link.attributes", kindMessage, msgKeyValue},
		{5, "Span.Link.dropped_attributes_count", kindVarint, 0},
		{6, "Span.Link.flags", kindI32, 0},
	}},
	msgStatus: {fields: []fieldDesc{
		{2, "Status.message", kindBytes, 0},
		{3, "Status.code", kindVarint, 0},
	}},
	msgKeyValue: {nested: true, fields: []fieldDesc{
		{1, "KeyValue.key", kindBytes, 0},
		{2, "KeyValue.value", kindMessage, msgAnyValue},
		{3, "KeyValue.key_strindex", kindVarint, 0},
	}},
	msgAnyValue: {nested: true, fields: []fieldDesc{
		{1, "AnyValue.string_value", kindBytes, 0},
		{2, "AnyValue.bool_value", kindVarint, 0},
		{3, "AnyValue.int_value", kindVarint, 0},
		{4, "AnyValue.double_value", kindI64, 0},
		{5, "AnyValue.array_value", kindMessage, msgArrayValue},
		{6, "AnyValue.kvlist_value", kindMessage, msgKeyValueList},
		{7, "AnyValue.bytes_value", kindBytes, 0},
		{8, "AnyValue.string_value_strindex", kindVarint, 0},
	}},
	msgArrayValue: {nested: true, fields: []fieldDesc{
		{1, "ArrayValue.values", kindMessage, msgAnyValue},
	}},
	msgKeyValueList: {nested: true, fields: []fieldDesc{
		{1, "KeyValueList.values", kindMessage, msgKeyValue},
	}},
}

func (d *msgDesc) field(num int32) *fieldDesc {
	for i := range d.fields {
		if d.fields[i].num == num {
			return &d.fields[i]
		}
	}
	return nil
}

// validateMessage checks that buf is a well-formed message id, with
// everything it contains, without converting anything. depth is the
// nesting depth of buf among the attribute value messages (0 for a
// KeyValue of a span, resource, scope, event or link).
func validateMessage(buf []byte, id msgID, depth int) error {
	d := &wireSchema[id]
	if d.nested {
		if depth >= maxWireDepth {
			return errTooDeep
		}
		depth++
	} else {
		depth = 0
	}
	r := pbReader{buf: buf}
	for r.more() {
		num, t := r.tag()
		f := d.field(num)
		if f == nil {
			r.skip(t)
			continue
		}
		if want := f.kind.wireType(); t != want {
			r.wrongWireType(f.name, t, want)
			break
		}
		switch f.kind {
		case kindVarint:
			r.varint()
		case kindI64:
			r.fixed64()
		case kindI32:
			r.fixed32()
		case kindBytes:
			r.bytes()
		case kindTraceID:
			var id [16]byte
			r.traceIDField(t, f.name, &id)
		case kindSpanID:
			var id [8]byte
			r.spanIDField(t, f.name, &id)
		case kindMessage:
			if b := r.bytes(); r.err == nil {
				if err := validateMessage(b, f.msg, depth); err != nil {
					return err
				}
			}
		}
	}
	return r.err
}

// validateAll validates every message of bufs.
func validateAll(bufs [][]byte, id msgID) error {
	for _, b := range bufs {
		if err := validateMessage(b, id, 0); err != nil {
			return err
		}
	}
	return nil
}
