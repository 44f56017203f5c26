package wal

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/tracehound/tracehound/storage"
)

// FuzzWALRecord feeds arbitrary payloads, of either format, to the record
// decoder: it must never panic and must report every rejection as
// errCorrupt; a batch it accepts must not reference the payload, and must
// re-encode (in the current format) to a payload that decodes to the same
// spans.
func FuzzWALRecord(f *testing.F) {
	f.Add(testBatch(1, 1).MarshalAppend(nil))
	f.Add(testBatch(2, 3).MarshalAppend(nil))
	f.Add(batchOf([]storage.Span{{}}).MarshalAppend(nil))
	f.Add(storage.NewSpanBatch(0).MarshalAppend(nil))
	f.Add(appendBatchV1(nil, testSpans(2, 3)))
	f.Add(appendBatchV1(nil, []storage.Span{{}}))
	f.Add(appendBatchV1(nil, nil))
	f.Add([]byte{formatV1, 1})
	f.Add([]byte{formatV2, 1})
	f.Add([]byte{formatV2, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, payload []byte) {
		in := bytes.Clone(payload)
		batch, err := decodeBatch(in)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		if n, err := batchSpanCount(payload); err != nil || n != batch.Len() {
			t.Fatalf("count %d (%v), decoded %d", n, err, batch.Len())
		}
		spans := spansOf(batch)
		clear(in)
		if !reflect.DeepEqual(spansOf(batch), spans) {
			t.Fatal("the decoded batch references the payload")
		}
		again, err := decodeBatch(batch.MarshalAppend(nil))
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if !reflect.DeepEqual(spansOf(again), spans) {
			t.Fatal("round trip changed the spans")
		}
	})
}

// FuzzWALSegment scans arbitrary segment contents: the scan must stop at
// the first bad record without panicking, and report only records that
// lie within the input.
func FuzzWALSegment(f *testing.F) {
	two := appendRecord(appendRecord(nil, testBatch(1, 2)), testBatch(2, 1))
	f.Add(two)
	f.Add(two[:len(two)-3])
	f.Add(appendRecord(appendRecordV1(nil, testSpans(1, 2)), testBatch(2, 1)))
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
