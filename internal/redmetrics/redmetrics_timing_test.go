package redmetrics

import (
	"context"
	"fmt"
	"testing"

	"github.com/tracehound/tracehound/storage"
)

// BenchmarkSinkEnqueue measures the per-span cost of the span metrics on
// batches of 512 spans of existing series.
func BenchmarkSinkEnqueue(b *testing.B) {
	c := NewDefaultConfig()
	c.Dimensions = []string{"http.request.method"}
	m, err := New(c, nil)
	if err != nil {
		b.Fatal(err)
	}
	s := &Sink{Next: &fakeNext{}, Metrics: m}
	spans := make([]storage.Span, 512)
	for i := range spans {
		spans[i] = span(fmt.Sprint("svc", i%10), fmt.Sprint("GET /items/", i%40), storage.SpanKind(2+i%2), storage.StatusCode(i%3), float64(i%500))
		spans[i].Attributes = map[string]string{"http.request.method": "GET"}
	}
	batch := batchOf(spans...)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(spans))) // "MB/s" reads as millions of spans per second
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = s.Enqueue(ctx, batch)
		}
	})
}
