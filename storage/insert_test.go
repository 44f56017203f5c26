package storage

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"
)

// TestInsertSpansRoundTrip inserts batches with the native encoder into a
// real ClickHouse and reads them back: every column, empty and non-empty
// maps, events and links, dictionaries wider than one byte, and a retried
// insert with the same token.
func TestInsertSpansRoundTrip(t *testing.T) {
	s := testStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	now := time.Now().UnixNano()
	spans := testSpans()
	for i := range spans {
		spans[i].StartUnixNano = now + int64(i)*1000
		for j := range spans[i].Events {
			spans[i].Events[j].TimeUnixNano = now + int64(j)
		}
	}
	b := batchOf(spans)
	if err := s.InsertSpans(ctx, b, "token-1"); err != nil {
		t.Fatal(err)
	}
	// The same rows with the same token again: dropped by ClickHouse.
	if err := s.InsertSpans(ctx, batchOf(spans), "token-1"); err != nil {
		t.Fatal(err)
	}

	for _, tid := range [][16]byte{spans[0].TraceID, spans[2].TraceID} {
		got, err := s.GetTrace(ctx, tid)
		if err != nil {
			t.Fatal(err)
		}
		var want []Span
		for _, sp := range spans {
			if sp.TraceID == tid {
				want = append(want, sp)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("trace %x: %d spans, want %d", tid, len(got), len(want))
		}
		sort.Slice(got, func(i, j int) bool { return got[i].StartUnixNano < got[j].StartUnixNano })
		for i := range want {
			g := got[i]
			if d := time.Since(time.Unix(g.IngestedAt, 0)); d < -time.Minute || d > time.Minute {
				t.Errorf("span %d: ingested_at %s, want about now (the column's DEFAULT)", i, time.Unix(g.IngestedAt, 0))
			}
			g.IngestedAt = 0
			w := want[i]
			normalizeEmpty(&g)
			normalizeEmpty(&w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("span %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
	}

	var rows uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+".spans").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != uint64(len(spans)) {
		t.Errorf("%d rows after a retried insert, want %d", rows, len(spans))
	}

	t.Run("wide dictionaries", func(t *testing.T) {
		// 70,000 distinct operation names need 32-bit dictionary indexes,
		// 300 distinct attribute keys 16-bit ones.
		big := NewSpanBatch(70_000)
		for i := range 70_000 {
			big.AddAttribute(Attributes, "key."+strconv.Itoa(i%300), "v")
			big.AppendRow(&SpanRow{TraceID: [16]byte{0xbb, byte(i >> 8), byte(i)}, SpanID: [8]byte{1, byte(i >> 16), byte(i >> 8), byte(i)},
				Service: "svc", Name: "op-" + strconv.Itoa(i), StartUnixNano: now, DurationNano: 1})
		}
		if err := s.InsertSpans(ctx, big, "token-big"); err != nil {
			t.Fatal(err)
		}
		var n, names, keys uint64
		q := fmt.Sprintf("SELECT count(), uniqExact(name), uniqExact(arrayJoin(mapKeys(attributes))) FROM %s.spans WHERE service = 'svc'", s.db)
		if err := s.conn.QueryRow(ctx, q).Scan(&n, &names, &keys); err != nil {
			t.Fatal(err)
		}
		if n != 70_000 || names != 70_000 || keys != 300 {
			t.Errorf("stored %d rows, %d names, %d keys; want 70000, 70000, 300", n, names, keys)
		}
		// Sent in blocks of insertBlockRows, stored as one part (the first
		// batch made another).
		var parts uint64
		q = fmt.Sprintf("SELECT count() FROM system.parts WHERE database = '%s' AND table = 'spans' AND active", s.db)
		if err := s.conn.QueryRow(ctx, q).Scan(&parts); err != nil {
			t.Fatal(err)
		}
		if parts > 2 {
			t.Errorf("%d active parts, want 2: the blocks of one insert must make one part", parts)
		}
		// The same batch again with its token: dropped as a whole.
		if err := s.InsertSpans(ctx, big, "token-big"); err != nil {
			t.Fatal(err)
		}
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+".spans WHERE service = 'svc'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 70_000 {
			t.Errorf("%d rows after retrying a multi-block insert, want 70000", n)
		}
	})
}

// normalizeEmpty makes nil and empty maps and slices compare equal.
func normalizeEmpty(s *Span) {
	for _, m := range []*map[string]string{&s.ResourceAttributes, &s.ResourceTypedAttributes, &s.Attributes, &s.TypedAttributes} {
		if len(*m) == 0 {
			*m = nil
		}
	}
	if len(s.Events) == 0 {
		s.Events = nil
	}
	if len(s.Links) == 0 {
		s.Links = nil
	}
}
