package otlpgen

import (
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// walker reads a marshalled ExportTraceServiceRequest and records, with
// absolute offsets, the fields Render overwrites. Field numbers are those of
// opentelemetry/proto/{collector/trace,trace,common,resource}/v1.
type walker struct {
	t        *Template
	varying  map[string][]region
	traceIdx map[[2]uint64]int
}

// fieldFunc receives one field: for length-delimited fields v is the
// content, for fixed64/fixed32 the raw bytes, for varints nil; off is the
// absolute offset of v.
type fieldFunc func(num protowire.Number, typ protowire.Type, v []byte, off int) error

func fields(b []byte, base int, fn fieldFunc) error {
	pos := 0
	for pos < len(b) {
		num, typ, n := protowire.ConsumeTag(b[pos:])
		if n < 0 {
			return protowire.ParseError(n)
		}
		pos += n
		var (
			v   []byte
			off = base + pos
		)
		switch typ {
		case protowire.BytesType:
			val, m := protowire.ConsumeBytes(b[pos:])
			if m < 0 {
				return protowire.ParseError(m)
			}
			v = val
			off = base + pos + m - len(val)
			n = m
		case protowire.Fixed64Type:
			if len(b)-pos < 8 {
				return errors.New("truncated fixed64")
			}
			v, n = b[pos:pos+8], 8
		case protowire.Fixed32Type:
			if len(b)-pos < 4 {
				return errors.New("truncated fixed32")
			}
			v, n = b[pos:pos+4], 4
		case protowire.VarintType:
			_, m := protowire.ConsumeVarint(b[pos:])
			if m < 0 {
				return protowire.ParseError(m)
			}
			n = m
		default:
			return fmt.Errorf("unexpected wire type %d", typ)
		}
		if err := fn(num, typ, v, off); err != nil {
			return err
		}
		pos += n
	}
	return nil
}

func (w *walker) request(b []byte) error {
	return fields(b, 0, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
		if num == 1 && typ == protowire.BytesType { // resource_spans
			return w.resourceSpans(v, off)
		}
		return nil
	})
}

func (w *walker) resourceSpans(b []byte, base int) error {
	return fields(b, base, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
		switch {
		case num == 1 && typ == protowire.BytesType: // resource
			return fields(v, off, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
				if num == 1 && typ == protowire.BytesType {
					return w.keyValue(v, off)
				}
				return nil
			})
		case num == 2 && typ == protowire.BytesType: // scope_spans
			return fields(v, off, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
				if num == 2 && typ == protowire.BytesType { // spans
					return w.span(v, off)
				}
				return nil
			})
		}
		return nil
	})
}

// span records the ids, times and texts of one span. Times are assigned to
// the span's trace once the whole span is read (field order is free).
func (w *walker) span(b []byte, base int) error {
	var (
		traceID [2]uint64
		haveID  bool
		times   []int
	)
	addID := func(v []byte, off int) error {
		switch len(v) {
		case 16:
			w.t.ids = append(w.t.ids, idPatch{off: off, wide: true,
				a: binary.LittleEndian.Uint64(v), b: binary.LittleEndian.Uint64(v[8:])})
		case 8:
			w.t.ids = append(w.t.ids, idPatch{off: off, a: binary.LittleEndian.Uint64(v)})
		case 0:
		default:
			return fmt.Errorf("id of %d bytes", len(v))
		}
		return nil
	}
	err := fields(b, base, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
		switch {
		case num == 1 && typ == protowire.BytesType: // trace_id
			if len(v) != 16 {
				return fmt.Errorf("trace id of %d bytes", len(v))
			}
			traceID = [2]uint64{binary.LittleEndian.Uint64(v), binary.LittleEndian.Uint64(v[8:])}
			haveID = true
			return addID(v, off)
		case (num == 2 || num == 4) && typ == protowire.BytesType: // span_id, parent_span_id
			return addID(v, off)
		case (num == 7 || num == 8) && typ == protowire.Fixed64Type: // start, end
			times = append(times, off)
		case num == 9 && typ == protowire.BytesType: // attributes
			return w.keyValue(v, off)
		case num == 11 && typ == protowire.BytesType: // events
			return fields(v, off, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
				switch {
				case num == 1 && typ == protowire.Fixed64Type:
					times = append(times, off)
				case num == 3 && typ == protowire.BytesType:
					return w.keyValue(v, off)
				}
				return nil
			})
		case num == 13 && typ == protowire.BytesType: // links
			return fields(v, off, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
				switch {
				case (num == 1 || num == 2) && typ == protowire.BytesType:
					return addID(v, off)
				case num == 4 && typ == protowire.BytesType:
					return w.keyValue(v, off)
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !haveID {
		return errors.New("span without trace id")
	}
	ti, ok := w.traceIdx[traceID]
	if !ok {
		ti = len(w.traceIdx)
		w.traceIdx[traceID] = ti
		w.t.traceBase = append(w.t.traceBase, ^uint64(0))
		w.t.traceLen = append(w.t.traceLen, 0)
	}
	for _, off := range times {
		ts := binary.LittleEndian.Uint64(w.t.bytes[off:])
		w.t.traceBase[ti] = min(w.t.traceBase[ti], ts)
		w.t.traceLen[ti] = max(w.t.traceLen[ti], ts) // latest; prepare subtracts the base
		w.t.times = append(w.t.times, timePatch{off: off, trace: ti})
	}
	w.t.spans++
	return nil
}

// keyValue records the varying regions of a string attribute value.
func (w *walker) keyValue(b []byte, base int) error {
	return fields(b, base, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
		if num != 2 || typ != protowire.BytesType { // value (AnyValue)
			return nil
		}
		return fields(v, off, func(num protowire.Number, typ protowire.Type, v []byte, off int) error {
			if num != 1 || typ != protowire.BytesType { // string_value
				return nil
			}
			regs, ok := w.varying[string(v)]
			if !ok {
				return nil
			}
			for _, r := range regs {
				w.t.texts = append(w.t.texts, textPatch{off: off + r.start, n: r.n, hex: r.hex,
					seed: fnv64(string(v[r.start : r.start+r.n]))})
			}
			return nil
		})
	})
}
