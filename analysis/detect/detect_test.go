package detect

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/storage"
)

// plantNPlusOne builds a trace in which orders calls inventory
// GET /items/1..calls sequentially, each call taking 4.5 ms.
func plantNPlusOne(n, calls int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, float64(5*calls+10))
	for i := range calls {
		b.httpCall(r, "orders", "inventory", "GET", fmt.Sprintf("/items/%d", i+1), "/items/{id}", float64(2+5*i), 4.5)
	}
	return b.build()
}

// plantStorm builds a trace in which orders calls inventory
// GET /items/{id} calls times in parallel, each call taking 20 ms.
func plantStorm(n, calls int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "orders", "GET", "/orders/{id}/items", 0, 30)
	for i := range calls {
		b.httpCall(r, "orders", "inventory", "GET", fmt.Sprintf("/items/%d", 100+i), "/items/{id}", 2+0.1*float64(i), 20)
	}
	return b.build()
}

// plantSlowDB builds a 700 ms request of which 600 ms is one query.
func plantSlowDB(n int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 700)
	b.dbCall(r, "orders", fmt.Sprintf("SELECT * FROM orders WHERE customer_id = %d", 1000+n), 20, 600)
	b.add(r, "orders", "render", internal, 630, 60)
	return b.build()
}

// plantBigResponses builds a trace in which orders fetches a 5 MB report.
func plantBigResponses(n int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "orders", "GET", "/orders/export", 0, 80)
	c := b.add(r, "orders", "GET", client, 5, 60, attr("http.request.method", "GET"),
		attr("url.full", "http://reports/reports/"+fmt.Sprint(n)), typed("http.request.body.size", "0"))
	b.httpServer(c, "reports", "GET", "/reports/{id}", 6, 58, typed("http.response.body.size", "5242880"))
	return b.build()
}

// Decoys: patterns that must not produce findings.

// decoyAsyncConsumer: a 300 ms request made of three different calls, plus
// a 3 s consumer of a message it published (not on the critical path).
func decoyAsyncConsumer(n int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "orders", "POST", "/orders", 0, 300)
	b.httpCall(r, "orders", "inventory", "POST", "/reserve", "/reserve", 1, 95)
	b.httpCall(r, "orders", "payments", "POST", "/charge", "/charge", 100, 95)
	b.httpCall(r, "orders", "shipping", "POST", "/quote", "/quote", 200, 95)
	p := b.add(r, "orders", "orders publish", producer, 296, 2,
		attr("messaging.system", "kafka"), attr("messaging.destination.name", "orders"))
	b.add(p, "billing", "orders process", consumer, 320, 3000,
		attr("messaging.system", "kafka"), attr("messaging.destination.name", "orders"))
	return b.build()
}

// decoySlowParent: a 400 ms request slow only because of four different
// 90 ms queries under an internal span.
func decoySlowParent(n int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "orders", "GET", "/dashboard", 0, 400)
	w := b.add(r, "orders", "render dashboard", internal, 10, 380)
	for i, table := range []string{"orders", "customers", "invoices", "shipments"} {
		b.dbCall(w, "orders", "SELECT * FROM "+table+" WHERE id = 1", float64(15+92*i), 90)
	}
	return b.build()
}

// decoyFanOut: a parallel fan-out to three different services.
func decoyFanOut(n int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "frontend", "GET", "/home", 0, 60)
	for _, svc := range []string{"catalog", "cart", "recommendations"} {
		b.httpCall(r, "frontend", svc, "GET", "/"+svc+"/1", "/"+svc+"/{id}", 2, 50)
	}
	return b.build()
}

// decoyThreeRepeats: three sequential calls to the same operation.
func decoyThreeRepeats(n int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 40)
	for i := range 3 {
		b.httpCall(r, "orders", "inventory", "GET", fmt.Sprintf("/items/%d", i+1), "/items/{id}", float64(2+10*i), 9)
	}
	return b.build()
}

// decoyDifferentOps: six sequential calls to six different operations.
func decoyDifferentOps(n int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 70)
	for i, op := range []string{"items", "stock", "prices", "discounts", "taxes", "images"} {
		b.httpCall(r, "orders", "inventory", "GET", "/"+op, "/"+op, float64(2+10*i), 9)
	}
	return b.build()
}

// decoyMediumPayloads: 300 KB responses.
func decoyMediumPayloads(n int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "orders", "GET", "/catalog", 0, 30)
	c := b.add(r, "orders", "GET /catalog", client, 2, 25, typed("http.request.body.size", "0"))
	b.httpServer(c, "catalog", "GET", "/catalog", 3, 23, typed("http.response.body.size", "307200"))
	return b.build()
}

// decoyOrdinaryOp: a 40 ms request whose single query takes 35 ms.
func decoyOrdinaryOp(n int) Trace {
	b := newTrace(n)
	r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 40)
	b.dbCall(r, "orders", "SELECT * FROM orders WHERE id = 7", 2, 35)
	return b.build()
}

// batchOf builds count traces with each builder, numbering them from first.
func batchOf(first, count int, builders ...func(int) Trace) []Trace {
	var out []Trace
	n := first
	for _, build := range builders {
		for range count {
			out = append(out, build(n))
			n++
		}
	}
	return out
}

// want describes an expected finding.
type want struct {
	kind, service, operation, peer, peerKind string
	occurrences                              int
	evidence                                 map[string]any
}

func TestDetectGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		traces []Trace
		want   []want
	}{
		{
			name:   "N+1",
			traces: batchOf(0, 3, func(n int) Trace { return plantNPlusOne(n, 10) }),
			want: []want{{KindChatty, "orders", "GET /items/{id}", "inventory", "service", 3, map[string]any{
				"calls_per_trace": 10.0, "sequential": true, "pattern": "n_plus_one",
				"caller_operation": "GET /orders/{id}", "total_ms_p50": 45.0, "estimated_savings_ms": 40.5,
			}}},
		},
		{
			name:   "call storm",
			traces: batchOf(0, 2, func(n int) Trace { return plantStorm(n, 8) }),
			want: []want{{KindChatty, "orders", "GET /items/{id}", "inventory", "service", 2, map[string]any{
				"calls_per_trace": 8.0, "sequential": false, "pattern": "call_storm",
				"total_ms_p50": 160.0, "estimated_savings_ms": 140.0,
			}}},
		},
		{
			name:   "slow query on the critical path",
			traces: batchOf(0, 5, plantSlowDB),
			want: []want{{KindBottleneck, "orders", "SELECT * FROM orders WHERE customer_id = ?", "postgresql/orders", "database", 5, map[string]any{
				"entry_service": "orders", "entry_operation": "GET /orders/{id}",
				"share": 0.857, "exclusive_ms_p50": 600.0, "trace_duration_ms_p50": 700.0,
				"slow_traces": 5, "traces_examined": 5,
			}}},
		},
		{
			name:   "5 MB responses",
			traces: batchOf(0, 4, plantBigResponses),
			want: []want{{KindOversizedPayload, "orders", "GET /reports/{id}", "reports", "service", 4, map[string]any{
				"direction": "response", "p50_bytes": int64(5242880), "p95_bytes": int64(5242880), "max_bytes": int64(5242880),
				"threshold_bytes": int64(1 << 20), "samples": 4, "reason": "absolute",
			}}},
		},
		{
			name: "decoys",
			traces: batchOf(0, 6, decoyAsyncConsumer, decoySlowParent, decoyFanOut, decoyThreeRepeats,
				decoyDifferentOps, decoyMediumPayloads, decoyOrdinaryOp),
			want: nil,
		},
		{
			name: "planted problems among decoys",
			traces: append(batchOf(0, 6, decoyAsyncConsumer, decoySlowParent, decoyFanOut, decoyThreeRepeats,
				decoyDifferentOps, decoyMediumPayloads, decoyOrdinaryOp),
				append(batchOf(100, 2, func(n int) Trace { return plantNPlusOne(n, 10) }, plantSlowDB), plantBigResponses(200))...),
			want: []want{
				{KindBottleneck, "orders", "SELECT * FROM orders WHERE customer_id = ?", "postgresql/orders", "database", 2, nil},
				{KindChatty, "orders", "GET /items/{id}", "inventory", "service", 2, nil},
				{KindOversizedPayload, "orders", "GET /reports/{id}", "reports", "service", 1, nil},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Detect(tc.traces, NewDefaultConfig())
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(got), len(tc.want), dump(got))
			}
			for _, w := range tc.want {
				f := findKind(got, w.kind)
				if f == nil {
					t.Errorf("no %s finding:\n%s", w.kind, dump(got))
					continue
				}
				checkFinding(t, f, w)
			}
		})
	}
}

// findKind returns the first finding of a kind, or nil.
func findKind(fs []Finding, kind string) *Finding {
	for i := range fs {
		if fs[i].Kind == kind {
			return &fs[i]
		}
	}
	return nil
}

// checkFinding compares a finding with what is wanted and checks the
// invariants every finding must satisfy.
func checkFinding(t *testing.T, f *Finding, w want) {
	t.Helper()
	if f.Service != w.service || f.Operation != w.operation || f.Peer != w.peer || f.PeerKind != w.peerKind {
		t.Errorf("%s: got service=%q operation=%q peer=%q peer_kind=%q, want %q %q %q %q",
			f.Kind, f.Service, f.Operation, f.Peer, f.PeerKind, w.service, w.operation, w.peer, w.peerKind)
	}
	if f.Occurrences != w.occurrences {
		t.Errorf("%s: occurrences = %d, want %d", f.Kind, f.Occurrences, w.occurrences)
	}
	for k, v := range w.evidence {
		if got, ok := f.Evidence[k]; !ok || got != v {
			t.Errorf("%s: evidence[%q] = %#v, want %#v", f.Kind, k, got, v)
		}
	}
	if len(f.ID) != 16 || strings.Trim(f.ID, "0123456789abcdef") != "" {
		t.Errorf("%s: id %q is not 16 hex characters", f.Kind, f.ID)
	}
	if f.Score < 0 || f.Score > 100 || f.Severity != severityOf(f.Score) {
		t.Errorf("%s: score %v severity %q", f.Kind, f.Score, f.Severity)
	}
	if f.Summary == "" || strings.Contains(f.Summary, "%!") {
		t.Errorf("%s: bad summary %q", f.Kind, f.Summary)
	}
	if n := min(f.Occurrences, maxExamples); len(f.ExampleTraceIDs) != n {
		t.Errorf("%s: %d example traces, want %d", f.Kind, len(f.ExampleTraceIDs), n)
	}
	if f.FirstSeen.IsZero() || f.LastSeen.Before(f.FirstSeen) {
		t.Errorf("%s: first_seen %v last_seen %v", f.Kind, f.FirstSeen, f.LastSeen)
	}
	keys := map[string][]string{
		KindBottleneck:       {"entry_service", "entry_operation", "share", "exclusive_ms_p50", "trace_duration_ms_p50", "slow_traces", "traces_examined"},
		KindChatty:           {"calls_per_trace", "sequential", "total_ms_p50", "estimated_savings_ms", "caller_operation", "pattern"},
		KindOversizedPayload: {"direction", "p50_bytes", "p95_bytes", "max_bytes", "threshold_bytes", "samples", "reason"},
	}[f.Kind]
	for _, k := range keys {
		if _, ok := f.Evidence[k]; !ok {
			t.Errorf("%s: evidence lacks %q", f.Kind, k)
		}
	}
}

// dump renders findings for failure messages.
func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s %q peer=%q score=%v occ=%d %s\n    %v\n", f.Kind, f.Service, f.Operation, f.Peer, f.Score, f.Occurrences, f.Summary, f.Evidence)
	}
	return b.String()
}

func TestDetectDecoysOneByOne(t *testing.T) {
	t.Parallel()
	decoys := map[string]func(int) Trace{
		"long async consumer":                  decoyAsyncConsumer,
		"parent slow only because of children": decoySlowParent,
		"fan-out to three services":            decoyFanOut,
		"three repeated calls":                 decoyThreeRepeats,
		"calls to different operations":        decoyDifferentOps,
		"300 KB payloads":                      decoyMediumPayloads,
		"40 ms ordinary operation":             decoyOrdinaryOp,
	}
	for name, build := range decoys {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, count := range []int{1, 3, 25} {
				if got := Detect(batchOf(0, count, build), NewDefaultConfig()); len(got) != 0 {
					t.Errorf("%d traces: got findings:\n%s", count, dump(got))
				}
			}
		})
	}
}

func TestBottleneckOnlySlowTraces(t *testing.T) {
	t.Parallel()
	// Six fast requests of the same entry (the query takes 30 ms) and two
	// slow ones: only the slow ones are examined.
	fast := func(n int) Trace {
		b := newTrace(n)
		r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 40)
		b.dbCall(r, "orders", "SELECT * FROM orders WHERE customer_id = 1", 5, 30)
		return b.build()
	}
	traces := append(batchOf(0, 6, fast), batchOf(10, 2, plantSlowDB)...)
	got := Detect(traces, NewDefaultConfig())
	if len(got) != 1 {
		t.Fatalf("got %d findings:\n%s", len(got), dump(got))
	}
	checkFinding(t, &got[0], want{KindBottleneck, "orders", "SELECT * FROM orders WHERE customer_id = ?", "postgresql/orders", "database", 2,
		map[string]any{"slow_traces": 2, "traces_examined": 8}})

	// Above the p75 of its entry, a trace of only 300 ms with a 200 ms
	// query is slow; with p75 at 700 ms it is not.
	mid := func(n int) Trace {
		b := newTrace(n)
		r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 300)
		b.dbCall(r, "orders", "SELECT * FROM orders WHERE customer_id = 1", 20, 200)
		return b.build()
	}
	got = Detect(append(batchOf(0, 1, mid), batchOf(10, 6, plantSlowDB)...), NewDefaultConfig())
	if len(got) != 1 || got[0].Occurrences != 6 {
		t.Fatalf("want one finding from the six 700 ms traces:\n%s", dump(got))
	}
}

func TestBottleneckRootSelfTime(t *testing.T) {
	t.Parallel()
	// The handler's own code takes 450 of 500 ms.
	build := func(n int) Trace {
		b := newTrace(n)
		r := b.httpServer(root, "pricing", "POST", "/quote", 0, 500)
		b.dbCall(r, "pricing", "SELECT * FROM rates", 5, 20)
		b.httpCall(r, "pricing", "fx", "GET", "/rates", "/rates", 30, 30)
		return b.build()
	}
	got := Detect(batchOf(0, 3, build), NewDefaultConfig())
	if len(got) != 1 {
		t.Fatalf("got %d findings:\n%s", len(got), dump(got))
	}
	checkFinding(t, &got[0], want{KindBottleneck, "pricing", "POST /quote", "", "", 3, map[string]any{"share": 0.9}})
}

func TestChattyGenericClientNames(t *testing.T) {
	t.Parallel()
	// Client spans named just "GET" without a URL take the server's
	// operation; with a URL, their own.
	for _, withURL := range []bool{false, true} {
		b := newTrace(1)
		r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 80)
		for i := range 6 {
			opts := []spanOpt{attr("http.request.method", "GET"), attr("server.address", "inventory")}
			if withURL {
				opts = append(opts, attr("url.full", fmt.Sprintf("http://inventory/items/%d?x=1", i)))
			}
			c := b.add(r, "orders", "GET", client, float64(2+10*i), 8, opts...)
			b.httpServer(c, "inventory", "GET", "/items/{itemId}", float64(3+10*i), 6)
		}
		got := Detect([]Trace{b.build()}, NewDefaultConfig())
		wantOp := "GET /items/{itemId}"
		if withURL {
			wantOp = "GET /items/{id}"
		}
		if len(got) != 1 {
			t.Fatalf("withURL=%v: got %d findings:\n%s", withURL, len(got), dump(got))
		}
		checkFinding(t, &got[0], want{KindChatty, "orders", wantOp, "inventory", "service", 1,
			map[string]any{"calls_per_trace": 6.0, "sequential": true}})
	}
}

func TestChattyThroughWrapperSpans(t *testing.T) {
	t.Parallel()
	// Each query is wrapped in its own repository span: the N+1 is still
	// seen from the handler (the caller's local entry span).
	b := newTrace(1)
	r := b.httpServer(root, "orders", "GET", "/orders", 0, 100)
	for i := range 7 {
		w := b.add(r, "orders", "ItemRepository.find", internal, float64(2+12*i), 11)
		b.dbCall(w, "orders", fmt.Sprintf("SELECT * FROM items WHERE id = %d", i), float64(3+12*i), 10)
	}
	got := Detect([]Trace{b.build()}, NewDefaultConfig())
	if len(got) != 1 {
		t.Fatalf("got %d findings:\n%s", len(got), dump(got))
	}
	checkFinding(t, &got[0], want{KindChatty, "orders", "SELECT * FROM items WHERE id = ?", "postgresql/orders", "database", 1,
		map[string]any{"calls_per_trace": 7.0, "sequential": true, "caller_operation": "GET /orders", "estimated_savings_ms": 60.0}})
}

func TestChattyToleratesSmallOverlap(t *testing.T) {
	t.Parallel()
	// Calls of 10 ms every 9.5 ms overlap by 5 %: still sequential.
	b := newTrace(1)
	r := b.httpServer(root, "orders", "GET", "/orders", 0, 100)
	for i := range 6 {
		b.dbCall(r, "orders", "SELECT 1", float64(2)+9.5*float64(i), 10)
	}
	got := Detect([]Trace{b.build()}, NewDefaultConfig())
	if len(got) != 1 || got[0].Evidence["sequential"] != true {
		t.Fatalf("want one sequential chatty finding:\n%s", dump(got))
	}
}

func TestPayloadOutlier(t *testing.T) {
	t.Parallel()
	// 40 requests of 20 KB and 4 of 2 MB on the same edge: p50 20 KB, p95
	// 2 MB ≥ 10 × p50 and ≥ 512 KiB.
	var traces []Trace
	for n := range 44 {
		size := 20_000
		if n%11 == 0 {
			size = 2_000_000
		}
		b := newTrace(n)
		r := b.httpServer(root, "gateway", "POST", "/upload", 0, 30)
		b.add(r, "gateway", "POST /store", client, 2, 20, typed("http.request.body.size", fmt.Sprint(size)),
			attr("server.address", "blobstore"))
		traces = append(traces, b.build())
	}
	got := Detect(traces, NewDefaultConfig())
	if len(got) != 1 {
		t.Fatalf("got %d findings:\n%s", len(got), dump(got))
	}
	checkFinding(t, &got[0], want{KindOversizedPayload, "gateway", "POST /store", "blobstore", "external", 4, map[string]any{
		"direction": "request", "reason": "outlier", "p50_bytes": int64(20000), "p95_bytes": int64(2000000),
		"threshold_bytes": int64(512 << 10), "samples": 44,
	}})
}

func TestPayloadMessages(t *testing.T) {
	t.Parallel()
	build := func(n int) Trace {
		b := newTrace(n)
		r := b.httpServer(root, "orders", "POST", "/orders", 0, 30)
		p := b.add(r, "orders", "orders publish", producer, 2, 3, attr("messaging.system", "kafka"),
			attr("messaging.destination.name", "orders"), typed("messaging.message.body.size", "3000000"))
		b.add(p, "billing", "orders process", consumer, 10, 20, attr("messaging.system", "kafka"),
			attr("messaging.destination.name", "orders"))
		return b.build()
	}
	got := Detect(batchOf(0, 3, build), NewDefaultConfig())
	if len(got) != 1 {
		t.Fatalf("got %d findings:\n%s", len(got), dump(got))
	}
	checkFinding(t, &got[0], want{KindOversizedPayload, "orders", "orders publish", "kafka/orders", "messaging", 3,
		map[string]any{"direction": "message", "samples": 3}})
}

func TestDetectDisabledAndEmpty(t *testing.T) {
	t.Parallel()
	if got := Detect(nil, NewDefaultConfig()); len(got) != 0 {
		t.Errorf("no traces: %v", got)
	}
	if got := Detect([]Trace{{ID: [16]byte{1}}}, NewDefaultConfig()); len(got) != 0 {
		t.Errorf("empty trace: %v", got)
	}
	cfg := NewDefaultConfig()
	cfg.Bottleneck.Enabled, cfg.Chatty.Enabled, cfg.Payload.Enabled = false, false, false
	traces := append(batchOf(0, 2, plantSlowDB, plantBigResponses), plantNPlusOne(9, 10))
	if got := Detect(traces, cfg); len(got) != 0 {
		t.Errorf("all detectors disabled: %s", dump(got))
	}
	// Invalid configurations must not panic.
	var zero Config
	zero.Bottleneck.Enabled, zero.Chatty.Enabled, zero.Payload.Enabled = true, true, true
	zero.Bottleneck.SlowQuantile = math.NaN()
	_ = Detect(traces, zero)
}

func TestDetectOrderingAndStableIDs(t *testing.T) {
	t.Parallel()
	batch1 := append(batchOf(0, 3, plantSlowDB, plantBigResponses), plantNPlusOne(50, 10), plantNPlusOne(51, 12))
	batch2 := append(batchOf(100, 2, plantSlowDB, plantBigResponses), plantNPlusOne(150, 12))
	f1, f2 := Detect(batch1, NewDefaultConfig()), Detect(batch2, NewDefaultConfig())
	if len(f1) != 3 || len(f2) != 3 {
		t.Fatalf("want 3 findings per batch:\n%s\n%s", dump(f1), dump(f2))
	}
	ids := map[string]string{}
	for i, f := range f1 {
		ids[f.Kind] = f.ID
		if i > 0 && f1[i-1].Score < f.Score {
			t.Errorf("findings not sorted by score: %v before %v", f1[i-1].Score, f.Score)
		}
	}
	for _, f := range f2 {
		if ids[f.Kind] != f.ID {
			t.Errorf("%s: id changed across batches: %s → %s", f.Kind, ids[f.Kind], f.ID)
		}
	}
	// Deterministic output.
	again := Detect(batch1, NewDefaultConfig())
	for i := range f1 {
		if dump(f1[i:i+1]) != dump(again[i:i+1]) {
			t.Errorf("non-deterministic finding:\n%s\n%s", dump(f1[i:i+1]), dump(again[i:i+1]))
		}
	}
	// Examples are worst first: trace 51 (12 calls) before trace 50.
	if c := findKind(f1, KindChatty); c.ExampleTraceIDs[0] != batch1[len(batch1)-1].ID {
		t.Errorf("worst example not first: %x", c.ExampleTraceIDs)
	}
}

func TestFindingJSON(t *testing.T) {
	t.Parallel()
	f := Finding{
		ID: "0123456789abcdef", Kind: KindChatty, Service: "orders", Operation: "GET /items/{id}", Peer: "inventory",
		PeerKind: "service", Severity: SeverityMedium, Score: 30, Summary: "s",
		Evidence:        map[string]any{"calls_per_trace": 10.0},
		Occurrences:     1,
		ExampleTraceIDs: [][16]byte{{0xab, 0xcd}},
		FirstSeen:       time.Unix(1767225600, 0), LastSeen: time.Unix(1767225601, 5e8),
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"id": "0123456789abcdef", "kind": "chatty", "peer": "inventory", "severity": "medium",
		"first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:01.5Z",
	} {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if ids, _ := m["example_trace_ids"].([]any); len(ids) != 1 || ids[0] != "abcd0000000000000000000000000000" {
		t.Errorf("example_trace_ids = %#v", m["example_trace_ids"])
	}
}

func TestCorruptTraces(t *testing.T) {
	t.Parallel()
	// Parent cycles, a self-parent, duplicate span ids and a missing parent
	// must neither hang nor panic.
	b := newTrace(1)
	a := [8]byte{1}
	c := [8]byte{2}
	b.t.Spans = append(b.t.Spans,
		newSpan(b, a, c, "orders", "a", client, 0, 10),
		newSpan(b, c, a, "orders", "c", internal, 0, 10),
		newSpan(b, [8]byte{3}, [8]byte{3}, "orders", "self", client, 0, 10),
		newSpan(b, [8]byte{4}, root, "orders", "GET /x", server, 0, 500),
		newSpan(b, [8]byte{4}, root, "orders", "GET /dup", server, 0, 900),
		newSpan(b, [8]byte{5}, [8]byte{4}, "orders", "SELECT 1", client, 10, 450),
		newSpan(b, [8]byte{6}, [8]byte{99}, "inventory", "GET /lost", server, 0, 10),
	)
	b.t.Spans[5].Attributes = map[string]string{"db.system": "mysql"}
	tr := b.build()
	_ = Calls(tr)
	got := Detect([]Trace{tr, tr}, NewDefaultConfig())
	if f := findKind(got, KindBottleneck); f == nil || f.Operation != "SELECT ?" || f.Peer != "mysql" {
		t.Errorf("want the query as bottleneck:\n%s", dump(got))
	}
}

// newSpan builds a bare span of b's trace.
func newSpan(b *traceBuilder, id, parent [8]byte, service, name string, kind storage.SpanKind, startMs, durMs float64) storage.Span {
	return storage.Span{TraceID: b.t.ID, SpanID: id, ParentSpanID: parent, Service: service, Name: name, Kind: kind,
		StartUnixNano: b.offset + msNs(startMs), DurationNano: msNs(durMs)}
}

func TestChattyUninstrumentedClient(t *testing.T) {
	t.Parallel()
	// The caller has no client spans: inventory's server spans hang directly
	// off the handler. The edges are counted from the server spans.
	b := newTrace(1)
	r := b.httpServer(root, "orders", "GET", "/orders/{id}", 0, 80)
	for i := range 6 {
		b.httpServer(r, "inventory", "GET", "/items/{id}", float64(2+10*i), 8)
	}
	got := Detect([]Trace{b.build()}, NewDefaultConfig())
	if len(got) != 1 {
		t.Fatalf("got %d findings:\n%s", len(got), dump(got))
	}
	checkFinding(t, &got[0], want{KindChatty, "orders", "GET /items/{id}", "inventory", "service", 1,
		map[string]any{"calls_per_trace": 6.0, "sequential": true, "caller_operation": "GET /orders/{id}"}})
}

func TestBottleneckInDownstreamService(t *testing.T) {
	t.Parallel()
	// The frontend waits 900 ms on a recommendations handler that burns
	// 800 ms itself: the server span's group is the bottleneck, with no
	// peer (a server span calls nobody).
	build := func(n int) Trace {
		b := newTrace(n)
		r := b.httpServer(root, "frontend", "GET", "/home", 0, 1000)
		b.httpCall(r, "frontend", "recommendations", "GET", "/recs/42", "/recs/{user}", 50, 900)
		return b.build()
	}
	got := Detect(batchOf(0, 2, build), NewDefaultConfig())
	if len(got) != 1 {
		t.Fatalf("got %d findings:\n%s", len(got), dump(got))
	}
	checkFinding(t, &got[0], want{KindBottleneck, "recommendations", "GET /recs/{user}", "", "", 2,
		map[string]any{"entry_service": "frontend", "entry_operation": "GET /home", "exclusive_ms_p50": 899.0}})
}

func TestNPlusOneCanAlsoBeBottleneck(t *testing.T) {
	t.Parallel()
	// 30 sequential calls of 4.5 ms add up to most of a 160 ms request: the
	// callee group is both chatty and the bottleneck, by design.
	got := Detect([]Trace{plantNPlusOne(1, 30)}, NewDefaultConfig())
	if len(got) != 2 || findKind(got, KindChatty) == nil || findKind(got, KindBottleneck) == nil {
		t.Fatalf("want chatty and bottleneck:\n%s", dump(got))
	}
	if f := findKind(got, KindBottleneck); f.Service != "inventory" || f.Operation != "GET /items/{id}" {
		t.Errorf("bottleneck on %s %s", f.Service, f.Operation)
	}
}
