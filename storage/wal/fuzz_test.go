package wal

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/tracehound/tracehound/storage"
)

// FuzzWALRecord feeds arbitrary payloads to the record decoder: it must
// never panic or allocate beyond the input, and whatever it accepts must
// survive an encode/decode round trip unchanged.
func FuzzWALRecord(f *testing.F) {
	f.Add(appendBatch(nil, testSpans(1, 1)))
	f.Add(appendBatch(nil, testSpans(2, 3)))
	f.Add(appendBatch(nil, []storage.Span{{}}))
	f.Add(appendBatch(nil, nil))
	f.Add([]byte{formatV1, 1})
	f.Add([]byte{formatV1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, payload []byte) {
		in := bytes.Clone(payload)
		spans, err := decodeBatch(in)
		if err != nil {
			return
		}
		if n, err := batchSpanCount(payload); err != nil || n != len(spans) {
			t.Fatalf("count %d (%v), decoded %d", n, err, len(spans))
		}
		again, err := decodeBatch(appendBatch(nil, spans))
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, normalize(spans)) {
			t.Fatal("round trip changed the spans")
		}
	})
}

// FuzzWALSegment scans arbitrary segment contents: the scan must stop at
// the first bad record without panicking, and report only records that
// lie within the input.
func FuzzWALSegment(f *testing.F) {
	two := appendRecord(appendRecord(nil, testSpans(1, 2)), testSpans(2, 1))
	f.Add(two)
	f.Add(two[:len(two)-3])
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, seg []byte) {
		var last int64
		end, err := scanSegment(bytes.NewReader(seg), int64(len(seg)), func(off, size int64, spans int) {
			if off != last || size < headerSize || off+size > int64(len(seg)) || spans < 0 {
				t.Fatalf("record at %d size %d after %d in %d bytes", off, size, last, len(seg))
			}
			last = off + size
		})
		if end != last || end > int64(len(seg)) || err == nil && end != int64(len(seg)) {
			t.Fatalf("valid end %d, last record end %d, input %d bytes, err %v", end, last, len(seg), err)
		}
	})
}
