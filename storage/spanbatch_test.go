package storage

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
)

func testSpans() []Span {
	return []Span{
		{
			TraceID: [16]byte{1, 2, 3}, SpanID: [8]byte{4}, ParentSpanID: [8]byte{5}, TraceState: "k=v",
			Service: "checkout", Name: "GET /cart", Kind: SpanKindServer, StartUnixNano: 1_700_000_000_000_000_000,
			DurationNano: 2500, StatusCode: StatusError, StatusMessage: "boom", ScopeName: "otelhttp", ScopeVersion: "0.60.0",
			ResourceAttributes:      map[string]string{"service.name": "checkout", "host.name": "h1"},
			ResourceTypedAttributes: map[string]string{"process.pid": "4711"},
			Attributes:              map[string]string{"http.route": "/cart"},
			TypedAttributes:         map[string]string{"http.response.status_code": "500"},
			Events: []Event{
				{TimeUnixNano: 1_700_000_000_000_001_000, Name: "exception", AttributesJSON: `{"exception.type":"E"}`},
				{TimeUnixNano: 1_700_000_000_000_002_000, Name: "retry", AttributesJSON: "{}"},
			},
			Links:                  []Link{{TraceID: [16]byte{9}, SpanID: [8]byte{8}, TraceState: "a=b", AttributesJSON: "{}"}},
			DroppedAttributesCount: 1, DroppedEventsCount: 2, DroppedLinksCount: 3,
		},
		{TraceID: [16]byte{1, 2, 3}, SpanID: [8]byte{6}, Service: "cart", Name: "SELECT", Kind: SpanKindClient,
			StartUnixNano: 1_700_000_000_000_000_500, DurationNano: 100},
		{TraceID: [16]byte{7}, SpanID: [8]byte{7}, Service: "checkout", Name: "GET /cart", Kind: SpanKindServer,
			StartUnixNano: 1_700_000_000_100_000_000, DurationNano: 1,
			Attributes: map[string]string{"http.route": "/cart", "user": "u1"}},
	}
}

func batchOf(spans []Span) *SpanBatch {
	b := NewSpanBatch(len(spans))
	for i := range spans {
		b.AppendSpan(&spans[i])
	}
	return b
}

func checkSpans(t *testing.T, b *SpanBatch, want []Span) {
	t.Helper()
	if b.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", b.Len(), len(want))
	}
	for i := range want {
		if got := b.Span(i); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("span %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}

func TestSpanBatchRoundTrip(t *testing.T) {
	spans := testSpans()
	b := batchOf(spans)
	checkSpans(t, b, spans)

	if v, ok := b.Attribute(0, TypedAttributes, "http.response.status_code"); !ok || v != "500" {
		t.Errorf("Attribute = %q, %v", v, ok)
	}
	if _, ok := b.Attribute(1, Attributes, "http.route"); ok {
		t.Error("span 1 has no attributes")
	}
	if got, got1 := b.Row(2).Service, b.Row(1).Service; got != "checkout" || got1 != "cart" {
		t.Errorf("services %q %q", got, got1)
	}

	t.Run("codec", func(t *testing.T) {
		data := b.MarshalAppend(nil)
		if len(data) > b.MarshalSizeHint() {
			t.Errorf("encoded %d bytes, hint %d", len(data), b.MarshalSizeHint())
		}
		d, err := UnmarshalSpanBatch(data)
		if err != nil {
			t.Fatal(err)
		}
		checkSpans(t, d, spans)
		// A decoded batch keeps deduplicating its dictionaries.
		d.AppendSpan(&spans[0])
		if d.service.dict.len() != 2 {
			t.Errorf("service dictionary has %d values, want 2", d.service.dict.len())
		}
		checkSpans(t, d, append(append([]Span(nil), spans...), spans[0]))
	})

	t.Run("append batch", func(t *testing.T) {
		a := batchOf(spans[:1])
		a.AppendBatch(batchOf(spans[1:]))
		a.AppendBatch(NewSpanBatch(0))
		checkSpans(t, a, spans)
	})
}

func TestUnmarshalSpanBatchRejectsCorruptInput(t *testing.T) {
	good := batchOf(testSpans()).MarshalAppend(nil)
	cases := map[string][]byte{
		"empty":          nil,
		"unknown format": append([]byte{9}, good[1:]...),
		"truncated":      good[:len(good)/2],
		"trailing bytes": append(append([]byte(nil), good...), 0),
		"huge count":     {SpanBatchFormat, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for i := 1; i < len(good); i += 7 {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0xff
		cases["flipped byte "+strconv.Itoa(i)] = bad
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := UnmarshalSpanBatch(data)
			if err == nil {
				// Some flipped bytes are data (an id, a time): still a
				// consistent batch, which must then be usable.
				if len(name) > 12 && name[:12] == "flipped byte" {
					for i := range b.Len() {
						_ = b.Span(i)
					}
					return
				}
				t.Fatal("no error")
			}
			if !errors.Is(err, errCorruptBatch) {
				t.Errorf("error %v does not wrap errCorruptBatch", err)
			}
		})
	}
}

func BenchmarkSpanBatchMarshal(b *testing.B) {
	spans := testSpans()
	batch := NewSpanBatch(500)
	for i := range 500 {
		batch.AppendSpan(&spans[i%len(spans)])
	}
	buf := make([]byte, 0, batch.MarshalSizeHint())
	b.ReportAllocs()
	b.SetBytes(int64(len(batch.MarshalAppend(nil))))
	for b.Loop() {
		buf = batch.MarshalAppend(buf[:0])
	}
}

func TestSpanBatchShapeAndRepeatRowAttributes(t *testing.T) {
	spans := testSpans()
	src := batchOf(spans)
	b := NewSpanBatchShaped(src.Shape(), 10)
	b.AppendSpan(&spans[0])
	b.AppendSpan(&spans[1])
	// The third row repeats the first row's resource attributes.
	b.RepeatRowAttributes(ResourceAttributes, 0)
	b.RepeatRowAttributes(ResourceTypedAttributes, 0)
	b.RepeatRowAttributes(Attributes, 1) // an empty row: nothing
	b.AppendRow(&SpanRow{TraceID: [16]byte{1}, SpanID: [8]byte{2}, Service: "checkout", Name: "x"})
	want := Span{TraceID: [16]byte{1}, SpanID: [8]byte{2}, Service: "checkout", Name: "x",
		ResourceAttributes: spans[0].ResourceAttributes, ResourceTypedAttributes: spans[0].ResourceTypedAttributes}
	checkSpans(t, b, []Span{spans[0], spans[1], want})
	if got := NewSpanBatchShaped(SpanBatchShape{}, 3); got.Len() != 0 {
		t.Error("a zero shape must give an empty batch")
	}
}
