package ingest

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracehound/tracehound/storage"
)

// pb builds protobuf messages field by field, in any order, for tests.
type pb []byte

func (b pb) varint(num protowire.Number, v uint64) pb {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (b pb) fixed64(num protowire.Number, v uint64) pb {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func (b pb) fixed32(num protowire.Number, v uint32) pb {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

func (b pb) bytes(num protowire.Number, v []byte) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func (b pb) str(num protowire.Number, s string) pb { return b.bytes(num, []byte(s)) }

func (b pb) msg(num protowire.Number, m pb) pb { return b.bytes(num, m) }

// raw appends bytes as they are.
func (b pb) raw(v ...byte) pb { return append(b, v...) }

// unknowns appends unknown fields (number 99) of every wire type,
// including an empty group (not last: pdata refuses a group at the end of
// a message).
func (b pb) unknowns() pb {
	b = protowire.AppendTag(b, 99, protowire.StartGroupType)
	b = protowire.AppendTag(b, 99, protowire.EndGroupType)
	return b.varint(99, 1<<40).fixed64(99, 7).fixed32(99, 7).str(99, "x")
}

// Values and attributes.
func strVal(s string) pb         { return pb(nil).str(1, s) }
func boolVal(v bool) pb          { return pb(nil).varint(2, protowire.EncodeBool(v)) }
func intVal(v int64) pb          { return pb(nil).varint(3, uint64(v)) }
func dblVal(v float64) pb        { return pb(nil).fixed64(4, math.Float64bits(v)) }
func bytesVal(v []byte) pb       { return pb(nil).bytes(7, v) }
func kv(key string, v pb) pb     { return pb(nil).str(1, key).msg(2, v) }
func arrVal(elems ...pb) pb      { return pb(nil).msg(5, concatMsgs(1, elems)) }
func kvlistVal(kvs ...pb) pb     { return pb(nil).msg(6, concatMsgs(1, kvs)) }
func concat(parts ...pb) pb      { return pb(bytes.Join(toBytes(parts), nil)) }
func request(rss ...pb) pb       { return concatMsgs(1, rss) }
func resourceAttrs(kvs ...pb) pb { return concatMsgs(1, kvs) }

func concatMsgs(num protowire.Number, msgs []pb) pb {
	var b pb
	for _, m := range msgs {
		b = b.msg(num, m)
	}
	return b
}

func toBytes(parts []pb) [][]byte {
	out := make([][]byte, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

var (
	wTraceID = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	wSpanID  = []byte{0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 1, 2}
)

// spanCore is the fields of a valid span, followed by more fields.
func spanCore(more ...pb) pb {
	b := pb(nil).bytes(1, wTraceID).bytes(2, wSpanID).str(5, "op").fixed64(7, testStart).fixed64(8, testStart+1000)
	return concat(append([]pb{b}, more...)...)
}

// oneSpan is a request with one resource (service "svc"), one scope and
// the span.
func oneSpan(span pb) pb {
	res := resourceAttrs(kv("service.name", strVal("svc")))
	ss := pb(nil).msg(1, pb(nil).str(1, "scope")).msg(2, span)
	return request(pb(nil).msg(1, res).msg(2, ss))
}

func TestPBReaderPrimitives(t *testing.T) {
	t.Parallel()
	length := func(r *pbReader) uint64 { return uint64(len(r.bytes())) }
	tests := []struct {
		name    string
		in      []byte
		read    func(r *pbReader) uint64
		want    uint64
		wantPos int
		wantErr string
	}{
		{name: "varint 1 byte", in: []byte{0x7f}, read: (*pbReader).varint, want: 127, wantPos: 1},
		{name: "varint 2 bytes", in: []byte{0xac, 0x02}, read: (*pbReader).varint, want: 300, wantPos: 2},
		{name: "varint max", in: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, read: (*pbReader).varint, want: math.MaxUint64, wantPos: 10},
		{name: "varint 11 bytes", in: bytes.Repeat([]byte{0x80}, 11), read: (*pbReader).varint, wantErr: errVarintOverflow.Error()},
		{name: "varint truncated", in: []byte{0x80, 0x80}, read: (*pbReader).varint, wantErr: "unexpected EOF"},
		{name: "varint empty", in: nil, read: (*pbReader).varint, wantErr: "unexpected EOF"},
		{name: "fixed64", in: []byte{1, 0, 0, 0, 0, 0, 0, 0x80}, read: (*pbReader).fixed64, want: 1 | 1<<63, wantPos: 8},
		{name: "fixed64 truncated", in: []byte{1, 2, 3, 4, 5, 6, 7}, read: (*pbReader).fixed64, wantErr: "unexpected EOF"},
		{name: "fixed32", in: []byte{1, 2, 3, 4, 5}, read: func(r *pbReader) uint64 { r.fixed32(); return 0 }, wantPos: 4},
		{name: "fixed32 truncated", in: []byte{1, 2, 3}, read: func(r *pbReader) uint64 { r.fixed32(); return 0 }, wantErr: "unexpected EOF"},
		{name: "bytes", in: []byte{3, 'a', 'b', 'c', 'd'}, read: length, want: 3, wantPos: 4},
		{name: "bytes to the end", in: []byte{3, 'a', 'b', 'c'}, read: length, want: 3, wantPos: 4},
		{name: "bytes with a 2-byte length", in: append([]byte{0x80, 0x01}, make([]byte, 128)...), read: length, want: 128, wantPos: 130},
		{name: "bytes past the end", in: []byte{4, 'a', 'b', 'c'}, read: length, wantErr: "unexpected EOF"},
		{name: "bytes of negative length", in: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, read: length, wantErr: errNegativeLength.Error()},
		{name: "tag", in: []byte{0x82, 0x01}, read: func(r *pbReader) uint64 {
			num, wt := r.tag()
			return uint64(num)<<3 | uint64(wt)
		}, want: 16<<3 | 2, wantPos: 2},
		{name: "tag of field 0", in: []byte{0x02}, read: func(r *pbReader) uint64 {
			num, _ := r.tag()
			return uint64(num)
		}, wantErr: "invalid field number 0"},
		{name: "tag with a field number over 32 bits", in: protowire.AppendVarint(nil, (1<<32|5)<<3|2), read: func(r *pbReader) uint64 {
			num, _ := r.tag()
			return uint64(num) // truncated to 32 bits, as pdata does
		}, want: 5, wantPos: 6},
		{name: "first error sticks", in: []byte{0x80}, read: func(r *pbReader) uint64 {
			r.varint()
			r.fail(errors.New("second"))
			return r.varint()
		}, wantErr: "unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := pbReader{buf: tc.in}
			got := tc.read(&r)
			if tc.wantErr != "" {
				if r.err == nil || !strings.HasPrefix(r.err.Error(), tc.wantErr) || r.more() || got != 0 {
					t.Fatalf("error %v, more %v, value %d; want %q, no more, 0", r.err, r.more(), got, tc.wantErr)
				}
				return
			}
			if r.err != nil || got != tc.want || r.pos != tc.wantPos {
				t.Fatalf("got %d at %d (error %v); want %d at %d", got, r.pos, r.err, tc.want, tc.wantPos)
			}
		})
	}
}

func TestPBReaderSkip(t *testing.T) {
	t.Parallel()
	group := func(inner ...byte) []byte {
		b := protowire.AppendTag(nil, 5, protowire.StartGroupType)
		b = append(b, inner...)
		return protowire.AppendTag(b, 5, protowire.EndGroupType)
	}
	tests := []struct {
		name    string
		wt      wireType
		in      []byte // after the tag
		wantPos int
		wantErr string
	}{
		{"varint", wireVarint, []byte{0x80, 0x01, 9}, 2, ""},
		{"fixed64", wireI64, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 8, ""},
		{"fixed32", wireI32, []byte{1, 2, 3, 4, 9}, 4, ""},
		{"length-delimited", wireLen, []byte{2, 1, 2, 9}, 3, ""},
		{"length-delimited past the end", wireLen, []byte{5, 1}, 0, "unexpected EOF"},
		{"empty group followed by more", wireStartGroup, append(group()[1:], 9), 1, ""},
		// pdata's quirks, kept so that the same requests are refused:
		{"empty group at the end", wireStartGroup, group()[1:], 0, "unexpected EOF"},
		{"group with a field", wireStartGroup, append(group(0x08, 1)[1:], 9), 2, ""}, // stops after the field
		{"end group alone", wireEndGroup, []byte{9}, 0, "end-group tag without a matching start-group tag"},
		{"nothing left", wireVarint, nil, 0, "unexpected EOF"},
		{"wire type 6", 6, []byte{1}, 0, "invalid wire type 6"},
		{"wire type 7", 7, []byte{1}, 0, "invalid wire type 7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := pbReader{buf: tc.in}
			r.skip(tc.wt)
			if tc.wantErr != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want %q", r.err, tc.wantErr)
				}
				return
			}
			if r.err != nil || r.pos != tc.wantPos {
				t.Fatalf("pos %d, error %v; want %d", r.pos, r.err, tc.wantPos)
			}
		})
	}
}

// wireCase is a request given as protobuf bytes, with what Convert must
// make of it.
type wireCase struct {
	name    string
	body    pb
	cfg     *Config // default: NewDefaultConfig()
	wantErr string  // substring of Convert's error
	check   func(t *testing.T, res converted)
}

// wireCases covers every field, unknown fields, fields out of order,
// repeated and merged messages, and malformed input.
func wireCases() []wireCase {
	full := spanCore(
		pb(nil).str(3, "k=v").bytes(4, []byte{9, 9, 9, 9, 9, 9, 9, 9}).varint(6, 3),
		pb(nil).msg(9, kv("s", strVal("text"))).msg(9, kv("b", boolVal(true))).msg(9, kv("i", intVal(-3))),
		pb(nil).msg(9, kv("d", dblVal(2.5))).msg(9, kv("raw", bytesVal([]byte{0xff, 0}))),
		pb(nil).msg(9, kv("arr", arrVal(strVal("a"), intVal(1), arrVal()))),
		pb(nil).msg(9, kv("map", kvlistVal(kv("x", boolVal(false)), kv("y", pb(nil))))),
		pb(nil).msg(9, kv("empty", pb(nil))).varint(10, 2),
		pb(nil).msg(11, pb(nil).fixed64(1, testStart+5).str(2, "ev").msg(3, kv("a", intVal(1))).varint(4, 1)).varint(12, 3),
		pb(nil).msg(13, pb(nil).bytes(1, wTraceID).bytes(2, wSpanID).str(3, "ls").msg(4, kv("l", strVal("v"))).varint(5, 1).fixed32(6, 1)).varint(14, 4),
		pb(nil).msg(15, pb(nil).str(2, "failed").varint(3, 2)).fixed32(16, 0x301),
	)
	wantFull := storage.Span{
		TraceID: [16]byte(wTraceID), SpanID: [8]byte(wSpanID), ParentSpanID: [8]byte{9, 9, 9, 9, 9, 9, 9, 9},
		TraceState: "k=v", Service: "svc", Name: "op", Kind: storage.SpanKindClient,
		StartUnixNano: testStart, DurationNano: 1000, StatusCode: storage.StatusError, StatusMessage: "failed",
		ScopeName: "scope", ResourceAttributes: map[string]string{"service.name": "svc"},
		Attributes: map[string]string{"s": "text"},
		TypedAttributes: map[string]string{"b": "true", "i": "-3", "d": "2.5", "raw": `"/wA="`,
			"arr": `["a",1,[]]`, "map": `{"x":false,"y":null}`, "empty": "null"},
		Events:                 []storage.Event{{TimeUnixNano: testStart + 5, Name: "ev", AttributesJSON: `{"a":1}`}},
		Links:                  []storage.Link{{TraceID: [16]byte(wTraceID), SpanID: [8]byte(wSpanID), TraceState: "ls", AttributesJSON: `{"l":"v"}`}},
		DroppedAttributesCount: 2, DroppedEventsCount: 3, DroppedLinksCount: 4,
	}
	wantSpan := func(want storage.Span) func(t *testing.T, res converted) {
		return func(t *testing.T, res converted) {
			t.Helper()
			if len(res.Spans) != 1 {
				t.Fatalf("%d spans: %q", len(res.Spans), res.Messages)
			}
			assertSpan(t, res.Spans[0], want)
		}
	}
	reversed := func(b pb) pb { // the fields of a message in reverse order
		var fields [][]byte
		for r := (pbReader{buf: b}); r.more(); {
			start := r.pos
			_, wt := r.tag()
			r.skip(wt)
			fields = append(fields, b[start:r.pos])
		}
		var out pb
		for i := len(fields) - 1; i >= 0; i-- {
			out = append(out, fields[i]...)
		}
		return out
	}
	noLimits := Config{}

	return []wireCase{
		{name: "every field", body: oneSpan(full), check: wantSpan(wantFull)},
		{name: "every field in reverse order", body: oneSpan(reversed(full)), check: func(t *testing.T, res converted) {
			want := wantFull
			// Attribute order changes nothing; events and links are single.
			wantSpan(want)(t, res)
		}},
		{name: "resource after the scope spans, scope after the spans",
			body: request(pb(nil).
				msg(2, pb(nil).msg(2, spanCore()).msg(1, pb(nil).str(2, "1.0").str(1, "late scope"))).
				msg(1, resourceAttrs(kv("service.name", strVal("late"))))),
			check: func(t *testing.T, res converted) {
				if s := res.Spans[0]; s.Service != "late" || s.ScopeName != "late scope" || s.ScopeVersion != "1.0" {
					t.Fatalf("service %q scope %q %q", s.Service, s.ScopeName, s.ScopeVersion)
				}
			}},
		{name: "unknown fields at every level",
			body: request(concat(pb(nil).unknowns(),
				pb(nil).msg(1, concat(resourceAttrs(kv("service.name", concat(strVal("svc"), pb(nil).unknowns()))), pb(nil).unknowns(), pb(nil).msg(3, pb(nil).str(2, "host").unknowns()))),
				pb(nil).str(3, "https://schema").unknowns(),
				pb(nil).msg(2, concat(pb(nil).msg(1, pb(nil).str(1, "scope").unknowns()), pb(nil).unknowns(),
					pb(nil).msg(2, spanCore(pb(nil).unknowns(),
						pb(nil).msg(9, concat(kv("k", concat(strVal("v"), pb(nil).unknowns())), pb(nil).unknowns())),
						pb(nil).msg(11, pb(nil).str(2, "e").unknowns()),
						pb(nil).msg(13, pb(nil).bytes(1, wTraceID).unknowns()),
						pb(nil).msg(15, pb(nil).varint(1, 2).unknowns()))), // field 1 is the deprecated code: ignored
				)),
				pb(nil).unknowns())).unknowns(),
			check: func(t *testing.T, res converted) {
				s := res.Spans[0]
				if s.Service != "svc" || s.Attributes["k"] != "v" || len(s.Events) != 1 || len(s.Links) != 1 || s.StatusCode != storage.StatusUnset {
					t.Fatalf("span %+v", s)
				}
			}},
		{name: "repeated resource and status merge, last scalar wins",
			body: request(pb(nil).
				msg(1, resourceAttrs(kv("a", strVal("1")))).
				msg(2, pb(nil).msg(2, spanCore(
					pb(nil).msg(15, pb(nil).str(2, "first").varint(3, 2)).msg(15, pb(nil).str(2, "second")),
					pb(nil).str(5, "renamed").varint(6, 2).varint(6, 1),
				))).
				msg(1, resourceAttrs(kv("service.name", strVal("merged"))))),
			check: func(t *testing.T, res converted) {
				s := res.Spans[0]
				if s.Service != "merged" || s.ResourceAttributes["a"] != "1" || s.StatusMessage != "second" ||
					s.StatusCode != storage.StatusError || s.Name != "renamed" || s.Kind != storage.SpanKindInternal {
					t.Fatalf("span %+v", s)
				}
			}},
		{name: "value sent in parts: the last oneof field wins",
			body: oneSpan(spanCore(pb(nil).msg(9, pb(nil).msg(2, strVal("s")).str(1, "k").msg(2, intVal(5))),
				pb(nil).msg(9, pb(nil).str(1, "k2").msg(2, concat(intVal(1), strVal("last")))),
				pb(nil).msg(9, pb(nil).str(1, "k3").msg(2, concat(strVal("x"), pb(nil).varint(8, 3)))))), // string_value_strindex: empty
			check: func(t *testing.T, res converted) {
				s := res.Spans[0]
				if s.TypedAttributes["k"] != "5" || s.Attributes["k2"] != "last" || s.TypedAttributes["k3"] != "null" {
					t.Fatalf("attributes %v typed %v", s.Attributes, s.TypedAttributes)
				}
			}},
		{name: "duplicate keys: first string, else first typed",
			body: oneSpan(spanCore(pb(nil).msg(9, kv("k", intVal(1))).msg(9, kv("k", strVal("a"))).msg(9, kv("k", strVal("b"))).
				msg(9, kv("n", intVal(1))).msg(9, kv("n", intVal(2))))),
			check: func(t *testing.T, res converted) {
				s := res.Spans[0]
				if s.Attributes["k"] != "a" || s.TypedAttributes["n"] != "1" || len(s.TypedAttributes) != 1 {
					t.Fatalf("attributes %v typed %v", s.Attributes, s.TypedAttributes)
				}
			}},
		{name: "duplicate keys above the linear search",
			body: oneSpan(spanCore(func() pb {
				var b pb
				for i := range 3 * linearDedupMax {
					b = b.msg(9, kv("k"+itoa(i%(linearDedupMax+5)), intVal(int64(i))))
				}
				return b.msg(9, kv("k3", strVal("s")))
			}())),
			cfg: &noLimits,
			check: func(t *testing.T, res converted) {
				s := res.Spans[0]
				if len(s.TypedAttributes) != linearDedupMax+4 || s.TypedAttributes["k0"] != "0" || s.Attributes["k3"] != "s" || s.TypedAttributes["k3"] != "" {
					t.Fatalf("%d typed attributes %v; strings %v", len(s.TypedAttributes), s.TypedAttributes, s.Attributes)
				}
			}},
		{name: "deprecated instrumentation_library_spans used without scope_spans",
			body: request(pb(nil).msg(1000, pb(nil).msg(2, spanCore()))),
			check: func(t *testing.T, res converted) {
				if res.Received != 1 || len(res.Spans) != 1 || res.Spans[0].Service != unknownService {
					t.Fatalf("received %d spans %d", res.Received, len(res.Spans))
				}
			}},
		{name: "deprecated instrumentation_library_spans ignored with scope_spans",
			body: request(pb(nil).msg(1000, pb(nil).msg(2, spanCore())).msg(2, pb(nil).msg(2, spanCore()).msg(2, spanCore()))),
			check: func(t *testing.T, res converted) {
				if res.Received != 2 || len(res.Spans) != 2 {
					t.Fatalf("received %d spans %d", res.Received, len(res.Spans))
				}
			}},
		{name: "empty request", body: nil, check: func(t *testing.T, res converted) {
			if res.Received != 0 || res.Batch != nil {
				t.Fatalf("%+v", res)
			}
		}},
		{name: "resource without spans is checked",
			body:    request(pb(nil).msg(1, resourceAttrs(pb(nil).raw(0x0a, 5)))),
			wantErr: "unexpected EOF"},
		{name: "empty trace ids and span ids are zero",
			body: oneSpan(spanCore(pb(nil).bytes(1, nil), pb(nil).msg(13, pb(nil).bytes(1, nil).bytes(2, nil)))),
			check: func(t *testing.T, res converted) {
				if res.Rejected != 1 || !strings.Contains(res.Messages[0], "trace_id is missing") {
					t.Fatalf("%+v", res.ConvertResult)
				}
			}},
		{name: "limits", body: oneSpan(spanCore(pb(nil).msg(9, kv("a", strVal("1"))).msg(9, kv("b", strVal("2"))).msg(9, kv("c", strVal("3"))),
			pb(nil).msg(11, pb(nil).str(2, "e1").msg(3, kv("x", intVal(1))).msg(3, kv("y", intVal(2))).msg(3, kv("z", intVal(3)))).msg(11, pb(nil).str(2, "e2")).msg(11, pb(nil).str(2, "e3")),
			pb(nil).msg(13, pb(nil).bytes(1, wTraceID)).msg(13, pb(nil)).msg(13, pb(nil)))),
			cfg: &Config{MaxAttributesPerSpan: 2, MaxEventsPerSpan: 2, MaxLinksPerSpan: 1},
			check: func(t *testing.T, res converted) {
				s := res.Spans[0]
				if len(s.Attributes) != 2 || s.DroppedAttributesCount != 1 || len(s.Events) != 2 || s.DroppedEventsCount != 1 ||
					s.Events[0].AttributesJSON != `{"x":1,"y":2}` || len(s.Links) != 1 || s.DroppedLinksCount != 2 {
					t.Fatalf("span %+v", s)
				}
			}},
		{name: "attributes over the limit are still checked",
			body:    oneSpan(spanCore(pb(nil).msg(9, kv("a", strVal("1"))).msg(9, pb(nil).raw(0x12, 3, 0x08)))),
			cfg:     &Config{MaxAttributesPerSpan: 1},
			wantErr: "unexpected EOF"},
		{name: "rejected spans are still checked",
			body:    oneSpan(pb(nil).msg(9, kv("a", arrVal(pb(nil).raw(0x18))))),
			wantErr: "unexpected EOF"},
		// Malformed input.
		{name: "truncated length", body: pb{0x0a, 0xff, 0xff}, wantErr: "unexpected EOF"},
		{name: "length past the end", body: pb{0x0a, 0xff, 0xff, 0x01}, wantErr: "unexpected EOF"},
		{name: "field number 0", body: pb{0x02, 0x00}, wantErr: "invalid field number 0"},
		{name: "resource_spans as a varint", body: pb(nil).varint(1, 1), wantErr: "field ExportTraceServiceRequest.resource_spans has wire type 0 (varint); it must be length-delimited"},
		{name: "packed (length-delimited) kind", body: oneSpan(spanCore(pb(nil).bytes(6, []byte{2, 3}))), wantErr: "field Span.kind has wire type 2"},
		{name: "start time as a varint", body: oneSpan(pb(nil).varint(7, 5)), wantErr: "field Span.start_time_unix_nano has wire type 0"},
		{name: "short trace id", body: oneSpan(pb(nil).bytes(1, []byte{1, 2})), wantErr: "Span.trace_id is 2 bytes long; it must be 16 bytes (or empty)"},
		{name: "long span id in a link", body: oneSpan(spanCore(pb(nil).msg(13, pb(nil).bytes(2, wTraceID)))), wantErr: "Span.Link.span_id is 16 bytes long"},
		{name: "status code as fixed64", body: oneSpan(spanCore(pb(nil).msg(15, pb(nil).fixed64(3, 1)))), wantErr: "field Status.code has wire type 1"},
		{name: "value nested too deep", body: oneSpan(spanCore(pb(nil).msg(9, kv("deep", func() pb {
			v := intVal(1)
			for range maxWireDepth / 2 {
				v = arrVal(v)
			}
			return v
		}())))), wantErr: "nested more than 100"},
		{name: "value nested below the JSON depth limit", body: oneSpan(spanCore(pb(nil).msg(9, kv("deep", func() pb {
			v := kvlistVal(kv("leaf", strVal("x")))
			for range maxValueDepth + 3 {
				v = arrVal(v, intVal(1))
			}
			return v
		}())))), check: func(t *testing.T, res converted) {
			want := strings.Repeat("[", maxValueDepth) + `"` + tooDeepMarker + `"` + strings.Repeat(",1]", maxValueDepth)
			if got := res.Spans[0].TypedAttributes["deep"]; got != want {
				t.Fatalf("deep = %s; want %s", got, want)
			}
		}},
		{name: "unterminated group", body: concat(pb(nil).msg(1, pb(nil)), pb{0x2b}), wantErr: "unexpected EOF"},
		{name: "stray end group", body: concat(pb{0x2c}, pb(nil).msg(1, pb(nil))), wantErr: "end-group tag without a matching start-group tag"},
		{name: "wire type 7", body: pb{0x2f, 0x00}, wantErr: "invalid wire type 7"},
	}
}

// wireSeeds returns the bodies of wireCases, as fuzz seeds.
func wireSeeds() [][]byte {
	var out [][]byte
	for _, tc := range wireCases() {
		out = append(out, tc.body)
	}
	return out
}

func TestConvertWire(t *testing.T) {
	t.Parallel()
	for _, tc := range wireCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := NewDefaultConfig()
			if tc.cfg != nil {
				cfg = *tc.cfg
			}
			res, err := Convert(tc.body, cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Convert: %v", err)
			} else if tc.check != nil {
				tc.check(t, converted{ConvertResult: res, Spans: batchSpans(res.Batch)})
			}
			// Whatever the case, pdata and the former converter agree.
			compareWithReference(t, tc.body, cfg)
		})
	}
}

// TestConvertTruncated cuts a request with every field at each byte: every
// prefix is refused or converted exactly as pdata and the former converter
// do, and Convert never panics.
func TestConvertTruncated(t *testing.T) {
	t.Parallel()
	body := protoBody(t, richTraces())
	cfg := fuzzConfig()
	for n := range len(body) {
		compareWithReference(t, body[:n], cfg)
	}
	// And with one byte changed, at each byte.
	mutated := bytes.Clone(body)
	for i := range body {
		for _, v := range []byte{0x00, 0x7f, 0x80, 0xff, body[i] ^ 0x07} {
			mutated[i] = v
			compareWithReference(t, mutated, cfg)
		}
		mutated[i] = body[i]
	}
}

// TestConvertRandomRequests converts random requests with odd encodings
// (fields shuffled, repeated, split, unknown; random values, keys and
// UTF-8) and compares with pdata and the former converter.
func TestConvertRandomRequests(t *testing.T) {
	t.Parallel()
	n := 3000
	if testing.Short() {
		n = 300
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cfgs := fuzzConfigs()
	for i := range n {
		body := randomRequest(rng)
		for _, cfg := range cfgs {
			compareWithReference(t, body, cfg)
			if t.Failed() {
				t.Fatalf("request %d: % x", i, body)
			}
		}
	}
}

// randomRequest builds a random request.
func randomRequest(rng *rand.Rand) pb {
	g := gen{rng}
	var rss []pb
	for range g.n(3) {
		var fields []pb
		for range g.n(2) {
			var attrs []pb
			for range g.n(4) {
				attrs = append(attrs, pb(nil).msg(1, g.kv(0)))
			}
			if g.rng.IntN(2) == 0 {
				attrs = append(attrs, pb(nil).msg(1, kv("service.name", strVal(g.str()))))
			}
			attrs = append(attrs, pb(nil).varint(2, uint64(g.rng.IntN(3))))
			fields = append(fields, pb(nil).msg(1, g.shuffle(attrs)))
		}
		field := protowire.Number(2)
		if g.rng.IntN(8) == 0 {
			field = 1000
		}
		for range g.n(3) {
			var ss []pb
			for range g.n(2) {
				ss = append(ss, pb(nil).msg(1, g.shuffle([]pb{pb(nil).str(1, g.str()), pb(nil).str(2, g.str()), pb(nil).msg(3, g.kv(0))})))
			}
			for range g.n(4) {
				ss = append(ss, pb(nil).msg(2, g.span()))
			}
			fields = append(fields, pb(nil).msg(field, g.shuffle(ss)))
		}
		if g.rng.IntN(4) == 0 {
			fields = append(fields, pb(nil).unknowns())
		}
		rss = append(rss, g.shuffle(fields))
	}
	return request(rss...)
}

type gen struct{ rng *rand.Rand }

// n is a small count, up to max.
func (g gen) n(max int) int { return g.rng.IntN(max + 1) }

func (g gen) shuffle(fields []pb) pb {
	g.rng.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
	return concat(fields...)
}

var genStrings = []string{"", "a", "k", "service.name", "http.route", "caf\xe9", "\xff\xfe", "line\nbreak", `q"\`,
	"ü", strings.Repeat("long", 10), "\x00", "emoji 😀", "😀"[:2]}

func (g gen) str() string {
	if g.rng.IntN(10) == 0 {
		b := make([]byte, g.rng.IntN(40))
		for i := range b {
			b[i] = byte(g.rng.IntN(256))
		}
		return string(b)
	}
	return genStrings[g.rng.IntN(len(genStrings))]
}

func (g gen) id(n int) []byte {
	switch g.rng.IntN(10) {
	case 0:
		return nil
	case 1:
		return make([]byte, n)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.IntN(256))
	}
	return b
}

func (g gen) value(depth int) pb {
	switch k := g.rng.IntN(12); {
	case k < 4:
		return strVal(g.str())
	case k == 4:
		return boolVal(g.rng.IntN(2) == 0)
	case k == 5:
		return intVal(int64(g.rng.Uint64()))
	case k == 6:
		return dblVal([]float64{0, -0.0, 1.5, 3, 1e-7, 1e21, math.NaN(), math.Inf(-1), g.rng.NormFloat64()}[g.rng.IntN(9)])
	case k == 7:
		return bytesVal(g.id(g.rng.IntN(5)))
	case k == 8 && depth < 20:
		var elems []pb
		for range g.n(3) {
			elems = append(elems, g.value(depth+1))
		}
		return arrVal(elems...)
	case k == 9 && depth < 20:
		var kvs []pb
		for range g.n(3) {
			kvs = append(kvs, g.kv(depth+1))
		}
		return kvlistVal(kvs...)
	case k == 10:
		return concat(strVal(g.str()), intVal(1)) // two oneof fields
	default:
		return nil // empty
	}
}

func (g gen) kv(depth int) pb {
	key := g.str()
	if g.rng.IntN(3) == 0 {
		key = []string{"a", "k", "dup"}[g.rng.IntN(3)]
	}
	fields := []pb{pb(nil).str(1, key), pb(nil).msg(2, g.value(depth))}
	if g.rng.IntN(10) == 0 {
		fields = append(fields, pb(nil).msg(2, g.value(depth))) // merged value
	}
	return g.shuffle(fields)
}

func (g gen) attrs(num protowire.Number, max int) []pb {
	var out []pb
	for range g.n(max) {
		out = append(out, pb(nil).msg(num, g.kv(0)))
	}
	return out
}

func (g gen) span() pb {
	start := uint64(testStart + g.rng.IntN(1000))
	end := start + uint64(g.rng.IntN(1000))
	switch g.rng.IntN(12) {
	case 0:
		start = 0
	case 1:
		end = start - 1
	case 2:
		end = math.MaxUint64
	}
	fields := []pb{
		pb(nil).bytes(1, g.id(16)), pb(nil).bytes(2, g.id(8)), pb(nil).fixed64(7, start), pb(nil).fixed64(8, end),
		pb(nil).str(5, g.str()),
	}
	if g.rng.IntN(2) == 0 {
		fields = append(fields, pb(nil).str(3, g.str()), pb(nil).bytes(4, g.id(8)), pb(nil).varint(6, uint64(g.rng.IntN(8)-1)),
			pb(nil).varint(10, uint64(g.rng.IntN(3))), pb(nil).varint(12, g.rng.Uint64()), pb(nil).varint(14, uint64(g.rng.IntN(3))),
			pb(nil).fixed32(16, 1))
	}
	fields = append(fields, g.attrs(9, 6)...)
	for range g.n(3) {
		ev := append([]pb{pb(nil).fixed64(1, g.rng.Uint64()), pb(nil).str(2, g.str()), pb(nil).varint(4, 1)}, g.attrs(3, 5)...)
		fields = append(fields, pb(nil).msg(11, g.shuffle(ev)))
	}
	for range g.n(3) {
		lk := append([]pb{pb(nil).bytes(1, g.id(16)), pb(nil).bytes(2, g.id(8)), pb(nil).str(3, g.str()), pb(nil).fixed32(6, 1)}, g.attrs(4, 5)...)
		fields = append(fields, pb(nil).msg(13, g.shuffle(lk)))
	}
	for range g.n(2) {
		fields = append(fields, pb(nil).msg(15, g.shuffle([]pb{pb(nil).str(2, g.str()), pb(nil).varint(3, uint64(g.rng.IntN(5)-1))})))
	}
	if g.rng.IntN(5) == 0 {
		fields = append(fields, pb(nil).unknowns())
	}
	return g.shuffle(fields)
}
