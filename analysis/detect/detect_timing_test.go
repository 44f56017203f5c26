package detect

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchTraces builds n realistic traces of 30 spans each: a frontend
// request fanning out to seven downstream calls, each server running two
// queries, plus one internal span. Every tenth trace has an N+1 (its seven
// calls go to the same operation), every twentieth a slow query, and a
// quarter of the calls carry body sizes.
func benchTraces(n int) []Trace {
	rng := rand.New(rand.NewPCG(1, 2))
	services := []string{"catalog", "cart", "inventory", "pricing", "shipping", "reviews"}
	ops := []string{"items", "stock", "prices", "quotes", "reviews", "carts"}
	out := make([]Trace, 0, n)
	for ti := range n {
		b := newTrace(ti)
		r := b.httpServer(root, "frontend", "GET", "/products/{id}", 0, 400)
		at := 2.0
		for c := range 7 {
			svc, op := services[rng.IntN(len(services))], ops[rng.IntN(len(ops))]
			if ti%10 == 0 {
				svc, op = "inventory", "items"
			}
			dur := 10 + rng.Float64()*30
			var opts []spanOpt
			if rng.IntN(4) == 0 {
				opts = append(opts, typed("http.request.body.size", "0"),
					typed("http.response.body.size", fmt.Sprint(rng.IntN(400_000))))
			}
			b.httpCall(r, "frontend", svc, "GET", fmt.Sprintf("/%s/%d", op, rng.IntN(100000)), "/"+op+"/{id}", at, dur, opts...)
			// The server child is the last span added; give it two queries.
			sid := b.t.Spans[len(b.t.Spans)-1].SpanID
			q := (dur - 4) / 2
			if ti%20 == 0 && c == 3 {
				q = 300
			}
			b.add(sid, svc, "SELECT "+op, client, at+1, q,
				attr("db.system.name", "postgresql"), attr("db.namespace", svc),
				attr("db.query.text", fmt.Sprintf("SELECT * FROM %s WHERE id = %d AND tenant = 'acme'", op, rng.IntN(1e6))))
			b.add(sid, svc, "UPDATE "+op, client, at+1+q, q,
				attr("db.system.name", "postgresql"), attr("db.namespace", svc),
				attr("db.query.text", fmt.Sprintf("UPDATE %s SET seen = now() WHERE id IN (%d, %d, %d)", op, rng.IntN(1e6), rng.IntN(1e6), rng.IntN(1e6))))
			at += max(dur, 2*q+2) + 1
		}
		b.add(r, "frontend", "render", internal, at, 5)
		b.t.Spans[0].DurationNano = msNs(at + 10)
		out = append(out, b.build())
	}
	return out
}

func TestBenchTracesShape(t *testing.T) {
	t.Parallel()
	traces := benchTraces(40)
	for _, tr := range traces {
		if len(tr.Spans) != 30 {
			t.Fatalf("trace has %d spans, want 30", len(tr.Spans))
		}
	}
	got := Detect(traces, NewDefaultConfig())
	kinds := map[string]int{}
	for _, f := range got {
		kinds[f.Kind]++
	}
	if kinds[KindChatty] == 0 || kinds[KindBottleneck] == 0 {
		t.Errorf("benchmark data should show chatty and bottleneck findings:\n%s", dump(got))
	}
}

func BenchmarkDetect(b *testing.B) {
	traces := benchTraces(1000)
	cfg := NewDefaultConfig()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Detect(traces, cfg)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(traces)*30), "ns/span")
}

func BenchmarkCalls(b *testing.B) {
	traces := benchTraces(100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Calls(traces[i%len(traces)])
	}
}
