package storage

import (
	"context"
	"testing"
	"time"
)

// TestFindTracesFilters runs the trace search, with each of its filters,
// against a real ClickHouse.
func TestFindTracesFilters(t *testing.T) {
	s := testStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	at := now.Add(-time.Minute).UnixNano()
	spans := []Span{
		{TraceID: [16]byte{1}, SpanID: [8]byte{1}, Service: "frontend", Name: "GET /", Kind: SpanKindServer,
			StartUnixNano: at, DurationNano: 5e6, Attributes: map[string]string{"http.route": "/"}},
		{TraceID: [16]byte{1}, SpanID: [8]byte{2}, ParentSpanID: [8]byte{1}, Service: "cart", Name: "SELECT cart",
			Kind: SpanKindClient, StartUnixNano: at + 1e6, DurationNano: 2e6, StatusCode: StatusError},
		{TraceID: [16]byte{2}, SpanID: [8]byte{3}, Service: "frontend", Name: "GET /health", Kind: SpanKindServer,
			StartUnixNano: at + 2e6, DurationNano: 1e6, TypedAttributes: map[string]string{"http.response.status_code": "200"}},
	}
	if err := s.InsertSpans(ctx, batchOf(spans), "find-1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    TraceQuery
		want [][16]byte // newest first
	}{
		{"window", TraceQuery{}, [][16]byte{{2}, {1}}},
		{"service only", TraceQuery{Service: "cart"}, [][16]byte{{1}}},
		{"service of both", TraceQuery{Service: "frontend"}, [][16]byte{{2}, {1}}},
		{"unknown service", TraceQuery{Service: "nope"}, nil},
		{"service and operation", TraceQuery{Service: "frontend", Operation: "GET /health"}, [][16]byte{{2}}},
		{"operation of another service", TraceQuery{Service: "cart", Operation: "GET /"}, nil},
		{"string attribute", TraceQuery{Attributes: map[string]string{"http.route": "/"}}, [][16]byte{{1}}},
		{"typed attribute", TraceQuery{Attributes: map[string]string{"http.response.status_code": "200"}}, [][16]byte{{2}}},
		{"errors only", TraceQuery{ErrorsOnly: true}, [][16]byte{{1}}},
		{"min duration", TraceQuery{MinDuration: 4 * time.Millisecond}, [][16]byte{{1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.From, q.To, q.Limit = now.Add(-time.Hour), now, 10
			got, err := s.FindTraces(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var ids [][16]byte
			for _, r := range got {
				ids = append(ids, r.TraceID)
			}
			if len(ids) != len(tc.want) {
				t.Fatalf("got %x, want %x", ids, tc.want)
			}
			for i := range ids {
				if ids[i] != tc.want[i] {
					t.Fatalf("got %x, want %x", ids, tc.want)
				}
			}
		})
	}
}
