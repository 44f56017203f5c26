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

// TestOperationsAndServiceNames reads the per-minute span_names table,
// filled by its materialized view: every kind of span counts, a service
// that only sends CLIENT spans included.
func TestOperationsAndServiceNames(t *testing.T) {
	s := testStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now()
	at := now.Add(-2 * time.Minute).UnixNano()
	spans := []Span{
		{TraceID: [16]byte{9}, SpanID: [8]byte{1}, Service: "shop", Name: "GET /", Kind: SpanKindServer, StartUnixNano: at, DurationNano: 1},
		{TraceID: [16]byte{9}, SpanID: [8]byte{2}, Service: "shop", Name: "SELECT", Kind: SpanKindClient, StartUnixNano: at, DurationNano: 1},
		{TraceID: [16]byte{9}, SpanID: [8]byte{3}, ParentSpanID: [8]byte{1}, Service: "batch-client", Name: "POST", Kind: SpanKindClient, StartUnixNano: at, DurationNano: 1},
	}
	if err := s.InsertSpans(ctx, batchOf(spans), "names-1"); err != nil {
		t.Fatal(err)
	}
	ops, err := s.Operations(ctx, OperationQuery{Service: "shop", From: now.Add(-time.Hour), To: now})
	if err != nil {
		t.Fatal(err)
	}
	want := []Operation{{Name: "GET /", Kind: SpanKindServer}, {Name: "SELECT", Kind: SpanKindClient}}
	if len(ops) != len(want) || ops[0] != want[0] || ops[1] != want[1] {
		t.Errorf("operations %+v, want %+v", ops, want)
	}
	ops, err = s.Operations(ctx, OperationQuery{Service: "shop", Kind: "client", From: now.Add(-time.Hour), To: now})
	if err != nil || len(ops) != 1 || ops[0] != want[1] {
		t.Errorf("client operations %+v (%v), want %+v", ops, err, want[1:])
	}
	ops, err = s.Operations(ctx, OperationQuery{Service: "shop", From: now.Add(-time.Hour), To: now.Add(-30 * time.Minute)})
	if err != nil || len(ops) != 0 {
		t.Errorf("operations of an empty window %+v (%v)", ops, err)
	}
	names, err := s.ServiceNames(ctx, now.Add(-time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0] != "batch-client" || names[1] != "shop" {
		t.Errorf("services %q, want [batch-client shop]", names)
	}
}
