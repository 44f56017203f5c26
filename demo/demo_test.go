package demo

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

// rspan is a received span in a form convenient for assertions.
type rspan struct {
	traceID, spanID, parentID string
	service, name             string
	kind                      ptrace.SpanKind
	start, end                time.Time
	attrs                     map[string]any
	links                     []string // "traceID/spanID"
	errStatus                 bool
}

func (s *rspan) dur() time.Duration { return s.end.Sub(s.start) }

func (s *rspan) str(k string) string {
	v, _ := s.attrs[k].(string)
	return v
}

func (s *rspan) num(k string) (int64, bool) {
	v, ok := s.attrs[k].(int64)
	return v, ok
}

// receiver records every span it is sent.
type receiver struct {
	ptraceotlp.UnimplementedGRPCServer
	mu       sync.Mutex
	spans    []*rspan
	requests int
}

func (r *receiver) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r.add(req.Traces())
	return ptraceotlp.NewExportResponse(), nil
}

func (r *receiver) add(td ptrace.Traces) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for j := range rs.ScopeSpans().Len() {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				s := &rspan{
					traceID:   sp.TraceID().String(),
					spanID:    sp.SpanID().String(),
					parentID:  sp.ParentSpanID().String(),
					service:   svc.AsString(),
					name:      sp.Name(),
					kind:      sp.Kind(),
					start:     sp.StartTimestamp().AsTime(),
					end:       sp.EndTimestamp().AsTime(),
					attrs:     sp.Attributes().AsRaw(),
					errStatus: sp.Status().Code() == ptrace.StatusCodeError,
				}
				for l := range sp.Links().Len() {
					ln := sp.Links().At(l)
					s.links = append(s.links, ln.TraceID().String()+"/"+ln.SpanID().String())
				}
				r.spans = append(r.spans, s)
			}
		}
	}
}

func (r *receiver) all() []*rspan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.spans)
}

// startGRPC starts an in-process OTLP gRPC receiver on 127.0.0.1.
func startGRPC(t *testing.T) (string, *receiver) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &receiver{}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, rec)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), rec
}

// startHTTP starts an in-process OTLP/HTTP receiver (protobuf, optional gzip).
func startHTTP(t *testing.T) (string, *receiver) {
	t.Helper()
	rec := &receiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			http.Error(w, "unexpected content type "+ct, http.StatusUnsupportedMediaType)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		data, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(data); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.add(req.Traces())
		out, _ := ptraceotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), rec
}

func testOptions(endpoint string) Options {
	o := DefaultOptions()
	o.Endpoint = endpoint
	o.Duration = 0
	o.Traces = 40
	o.Seed = 42
	return o
}

// runDemo runs the generator and checks the statistics against what arrived.
func runDemo(t *testing.T, opts Options, rec *receiver) (Stats, *index) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	st, err := Run(ctx, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	spans := rec.all()
	if opts.Traces > 0 && opts.Duration == 0 && st.Traces != opts.Traces {
		t.Errorf("Stats.Traces = %d, want %d", st.Traces, opts.Traces)
	}
	if st.Exported != len(spans) || st.Spans != len(spans) || st.Failed != 0 {
		t.Errorf("Stats: spans %d, exported %d, failed %d; received %d", st.Spans, st.Exported, st.Failed, len(spans))
	}
	idx := newIndex(spans)
	if got, want := len(idx.traces), st.Traces+st.LinkedTraces; got != want {
		t.Errorf("received %d traces, Stats says %d (+%d linked)", got, st.Traces, st.LinkedTraces)
	}
	return st, idx
}

// index organises received spans.
type index struct {
	spans    []*rspan
	byID     map[string]*rspan
	children map[string][]*rspan
	traces   map[string][]*rspan
}

func newIndex(spans []*rspan) *index {
	x := &index{spans: spans, byID: map[string]*rspan{}, children: map[string][]*rspan{}, traces: map[string][]*rspan{}}
	for _, s := range spans {
		x.byID[s.spanID] = s
		x.traces[s.traceID] = append(x.traces[s.traceID], s)
		if s.parentID != "" {
			x.children[s.parentID] = append(x.children[s.parentID], s)
		}
	}
	return x
}

func (x *index) root(s *rspan) *rspan {
	for s.parentID != "" {
		p, ok := x.byID[s.parentID]
		if !ok {
			return s
		}
		s = p
	}
	return s
}

// nPlusOne returns the spans with ≥ 10 sequential CLIENT children named
// "GET /items/<id>".
func (x *index) nPlusOne() []*rspan {
	var out []*rspan
	for id, kids := range x.children {
		var calls []*rspan
		for _, c := range kids {
			if c.kind == ptrace.SpanKindClient && strings.HasPrefix(c.name, "GET /items/") {
				calls = append(calls, c)
			}
		}
		if len(calls) < 10 {
			continue
		}
		sort.Slice(calls, func(i, j int) bool { return calls[i].start.Before(calls[j].start) })
		sequential := true
		for i := 1; i < len(calls); i++ {
			if calls[i].start.Before(calls[i-1].end) {
				sequential = false
			}
		}
		if sequential {
			out = append(out, x.byID[id])
		}
	}
	return out
}

func (x *index) find(f func(*rspan) bool) []*rspan {
	var out []*rspan
	for _, s := range x.spans {
		if f(s) {
			out = append(out, s)
		}
	}
	return out
}

func (x *index) slowDB() []*rspan {
	return x.find(func(s *rspan) bool {
		return s.kind == ptrace.SpanKindClient && s.str("db.query.text") == slowLedgerSQL && s.dur() > 400*time.Millisecond
	})
}

func (x *index) bigPayloads() []*rspan {
	return x.find(func(s *rspan) bool {
		n, _ := s.num("http.response.body.size")
		return n >= 4<<20
	})
}

func (x *index) mediumPayloads() []*rspan {
	return x.find(func(s *rspan) bool {
		n, _ := s.num("http.response.body.size")
		return n >= 200<<10 && n < 1<<20
	})
}

func (x *index) longConsumers() []*rspan {
	return x.find(func(s *rspan) bool { return s.kind == ptrace.SpanKindConsumer && s.dur() > time.Second })
}

func (x *index) dashboards() []*rspan {
	return x.find(func(s *rspan) bool { return s.service == svcGateway && s.name == "GET /api/dashboard" })
}

// parallelFanOuts returns search-service spans whose CLIENT children to
// distinct services overlap in time.
func (x *index) parallelFanOuts() []*rspan {
	return x.find(func(s *rspan) bool {
		if s.service != svcSearch || s.kind != ptrace.SpanKindServer {
			return false
		}
		var kids []*rspan
		for _, c := range x.children[s.spanID] {
			if c.kind == ptrace.SpanKindClient {
				kids = append(kids, c)
			}
		}
		if len(kids) < 3 {
			return false
		}
		for i := range kids {
			for j := range i {
				if !kids[i].start.Before(kids[j].end) || !kids[j].start.Before(kids[i].end) {
					return false
				}
			}
		}
		return true
	})
}

// stockCalls returns the number of "GET /stock/<id>" CLIENT children per
// cart-service span that has any.
func (x *index) stockCalls() []int {
	var out []int
	for _, s := range x.spans {
		if s.service != svcCart || s.kind != ptrace.SpanKindServer {
			continue
		}
		n := 0
		for _, c := range x.children[s.spanID] {
			if c.kind == ptrace.SpanKindClient && strings.HasPrefix(c.name, "GET /stock/") {
				n++
			}
		}
		if n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func TestRunGRPCAllPatterns(t *testing.T) {
	endpoint, rec := startGRPC(t)
	before := time.Now()
	st, x := runDemo(t, testOptions(endpoint), rec)
	after := time.Now()
	t.Logf("stats: %+v", st)

	// Services and virtual peers.
	services := map[string]bool{}
	for _, s := range x.spans {
		services[s.service] = true
		if s.start.Before(before.Add(-time.Minute)) || s.end.After(after) || s.end.Before(s.start) {
			t.Errorf("span %s %q has times %v..%v outside the run", s.service, s.name, s.start, s.end)
		}
	}
	if len(services) < 8 {
		t.Errorf("got %d services, want ≥ 8: %v", len(services), services)
	}
	hasAttr := func(k, v string) bool {
		return len(x.find(func(s *rspan) bool {
			return (s.kind == ptrace.SpanKindClient || s.kind == ptrace.SpanKindProducer) && s.str(k) == v
		})) > 0
	}
	for _, kv := range [][2]string{
		{"db.system.name", "postgresql"}, {"db.namespace", "shop"}, {"messaging.system", "kafka"},
		{"messaging.destination.name", "orders"}, {"server.address", "api.stripe.com"}, {"rpc.system", "grpc"},
	} {
		if !hasAttr(kv[0], kv[1]) {
			t.Errorf("no CLIENT/PRODUCER span with %s=%s", kv[0], kv[1])
		}
	}
	for _, s := range x.find(func(s *rspan) bool { return s.str("server.address") == "api.stripe.com" }) {
		if len(x.children[s.spanID]) != 0 || s.kind != ptrace.SpanKindClient {
			t.Errorf("external call %q should be a leaf CLIENT span", s.name)
		}
	}
	attrs := 0
	for _, s := range x.spans {
		attrs += len(s.attrs)
	}
	if avg := float64(attrs) / float64(len(x.spans)); avg < 8 {
		t.Errorf("average %.1f attributes per span, want about 10", avg)
	}

	// N+1.
	np := x.nPlusOne()
	if len(np) == 0 || len(np) != st.Scenarios.NPlusOne {
		t.Errorf("found %d N+1 parents, Stats says %d", len(np), st.Scenarios.NPlusOne)
	}
	for _, p := range np {
		if p.service != svcOrders || p.name != "GET /orders/{id}" {
			t.Errorf("N+1 parent is %s %q", p.service, p.name)
		}
		n := 0
		for _, c := range x.children[p.spanID] {
			if strings.HasPrefix(c.name, "GET /items/") {
				n++
				if d := c.dur(); d < 3*time.Millisecond || d > 14*time.Millisecond {
					t.Errorf("N+1 call %q took %v, want ~5–10 ms", c.name, d)
				}
				if !strings.HasPrefix(c.str("url.full"), "http://inventory-service:8080/items/") {
					t.Errorf("N+1 call url.full = %q", c.str("url.full"))
				}
			}
		}
		if n != 10 {
			t.Errorf("N+1 parent has %d item calls, want 10", n)
		}
	}

	// Slow DB on the critical path.
	slow := x.slowDB()
	if len(slow) == 0 || len(slow) != st.Scenarios.SlowDB {
		t.Errorf("found %d slow ledger queries, Stats says %d", len(slow), st.Scenarios.SlowDB)
	}
	for _, s := range slow {
		root := x.root(s)
		if d := s.dur(); d < 500*time.Millisecond || d > 720*time.Millisecond {
			t.Errorf("slow query took %v, want ~600 ms", d)
		}
		if s.service != svcPayments || s.str("db.system.name") != "postgresql" || len(x.children[s.spanID]) != 0 {
			t.Errorf("slow query span: %s %q %v", s.service, s.name, s.attrs)
		}
		if d := root.dur(); d < 600*time.Millisecond || d > 900*time.Millisecond {
			t.Errorf("request with the slow query took %v, want ~700 ms", d)
		}
		if share := float64(s.dur()) / float64(root.dur()); share < 0.7 {
			t.Errorf("slow query is %.0f%% of its request, want ≥ 70%%", 100*share)
		}
	}

	// Big payload on catalog-service → image-service.
	big := x.bigPayloads()
	if len(big) == 0 {
		t.Error("no 5 MiB response")
	}
	for _, s := range big {
		n, _ := s.num("http.response.body.size")
		if n < bigImageBytes-1024 || n > bigImageBytes+1024 {
			t.Errorf("big payload %d bytes, want 5242880 ± 1024", n)
		}
		if !strings.HasPrefix(s.name, "GET /images/") {
			t.Errorf("big payload on %s %q", s.service, s.name)
		}
		if s.kind == ptrace.SpanKindClient && s.service != svcCatalog {
			t.Errorf("big payload client is %s", s.service)
		}
	}
	if clients := len(x.find(func(s *rspan) bool {
		n, _ := s.num("http.response.body.size")
		return s.kind == ptrace.SpanKindClient && n >= 4<<20
	})); clients != st.Scenarios.BigPayload || clients == 0 {
		t.Errorf("%d big payload client spans, Stats says %d", clients, st.Scenarios.BigPayload)
	}

	// Producer and consumers: one child of the producer, one linked.
	producers := x.find(func(s *rspan) bool { return s.kind == ptrace.SpanKindProducer })
	if len(producers) == 0 {
		t.Fatal("no PRODUCER span")
	}
	var childConsumers, linkedConsumers int
	for _, p := range producers {
		if p.service != svcCheckout || p.name != "send orders" || p.str("messaging.operation.type") != "send" {
			t.Errorf("producer: %s %q %v", p.service, p.name, p.attrs)
		}
		for _, c := range x.children[p.spanID] {
			if c.kind == ptrace.SpanKindConsumer {
				childConsumers++
				if c.service != svcEmail {
					t.Errorf("child consumer is %s", c.service)
				}
			}
		}
		for _, c := range x.spans {
			if slices.Contains(c.links, p.traceID+"/"+p.spanID) {
				if c.kind != ptrace.SpanKindConsumer || c.service != svcNotify || c.parentID != "" || c.traceID == p.traceID {
					t.Errorf("linked span: %s %q kind %v parent %q", c.service, c.name, c.kind, c.parentID)
				}
				if c.str("messaging.operation.type") != "process" || c.str("messaging.destination.name") != "orders" {
					t.Errorf("linked consumer attributes: %v", c.attrs)
				}
				linkedConsumers++
			}
		}
	}
	if childConsumers != len(producers) || linkedConsumers != len(producers) || st.LinkedTraces != len(producers) {
		t.Errorf("%d producers, %d child consumers, %d linked consumers, %d linked traces",
			len(producers), childConsumers, linkedConsumers, st.LinkedTraces)
	}

	// Decoys.
	long := x.longConsumers()
	if len(long) == 0 || len(long) != st.Scenarios.AsyncConsumer {
		t.Errorf("%d long consumers, Stats says %d", len(long), st.Scenarios.AsyncConsumer)
	}
	for _, c := range long {
		root := x.root(c)
		if c.service != svcEmail || !c.start.After(root.end) || c.dur() < 1800*time.Millisecond || c.dur() > 2200*time.Millisecond {
			t.Errorf("async consumer %s %v long, starts %v after the request ended", c.service, c.dur(), c.start.Sub(root.end))
		}
	}
	dash := x.dashboards()
	if len(dash) == 0 || len(dash) != st.Scenarios.GatewayFanIn {
		t.Errorf("%d dashboards, Stats says %d", len(dash), st.Scenarios.GatewayFanIn)
	}
	for _, d := range dash {
		if d.dur() < 350*time.Millisecond || d.dur() > 450*time.Millisecond {
			t.Errorf("dashboard gateway span %v, want ~400 ms", d.dur())
		}
		var covered time.Duration
		services := map[string]bool{}
		for _, c := range x.children[d.spanID] {
			covered += c.dur()
			services[c.str("server.address")] = true
			if share := float64(c.dur()) / float64(d.dur()); share > 0.35 {
				t.Errorf("dashboard child %q is %.0f%% of the gateway span", c.name, 100*share)
			}
		}
		if share := float64(covered) / float64(d.dur()); share < 0.9 || len(services) < 4 {
			t.Errorf("dashboard children cover %.0f%% over %d services", 100*share, len(services))
		}
	}
	if n := len(x.parallelFanOuts()); n == 0 || n != st.Scenarios.ParallelFanOut {
		t.Errorf("%d parallel fan-outs, Stats says %d", n, st.Scenarios.ParallelFanOut)
	}
	stock := x.stockCalls()
	if len(stock) == 0 || len(stock) != st.Scenarios.RepeatedCalls {
		t.Errorf("%d cart spans with stock calls, Stats says %d", len(stock), st.Scenarios.RepeatedCalls)
	}
	for _, n := range stock {
		if n != 3 {
			t.Errorf("cart made %d GET /stock/{id} calls, want 3", n)
		}
	}
	for _, s := range x.mediumPayloads() {
		n, _ := s.num("http.response.body.size")
		if n < mediumBytes-512 || n > mediumBytes+512 || !strings.HasPrefix(s.name, "GET /products") {
			t.Errorf("medium payload: %s %q %d bytes", s.service, s.name, n)
		}
	}
	if len(x.mediumPayloads()) == 0 {
		t.Error("no 300 KiB payloads")
	}
	// Ordinary operations stay in the tens of milliseconds.
	for _, s := range x.spans {
		if s.kind == ptrace.SpanKindServer && s.service == svcCatalog && s.name == "GET /products/{id}" && s.dur() > 150*time.Millisecond {
			t.Errorf("ordinary catalog request took %v", s.dur())
		}
	}
}

func TestSwitchesRemovePatterns(t *testing.T) {
	cases := []struct {
		name   string
		off    func(*Options)
		absent func(*index) bool
	}{
		{"NPlusOne", func(o *Options) { o.NPlusOne = false }, func(x *index) bool {
			return len(x.nPlusOne()) == 0 &&
				len(x.find(func(s *rspan) bool { return strings.HasPrefix(s.name, "GET /items/") })) == 0
		}},
		{"SlowDB", func(o *Options) { o.SlowDB = false }, func(x *index) bool {
			return len(x.find(func(s *rspan) bool { return s.str("db.system.name") != "" && s.dur() > 100*time.Millisecond })) == 0
		}},
		{"BigPayload", func(o *Options) { o.BigPayload = false }, func(x *index) bool { return len(x.bigPayloads()) == 0 }},
		{"Decoys", func(o *Options) { o.Decoys = false }, func(x *index) bool {
			return len(x.longConsumers()) == 0 && len(x.dashboards()) == 0 && len(x.parallelFanOuts()) == 0 &&
				len(x.stockCalls()) == 0 && len(x.mediumPayloads()) == 0
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			endpoint, rec := startGRPC(t)
			opts := testOptions(endpoint)
			tc.off(&opts)
			st, x := runDemo(t, opts, rec)
			if !tc.absent(x) {
				t.Errorf("pattern still present with %s off", tc.name)
			}
			// The other patterns are still there.
			if tc.name != "NPlusOne" && len(x.nPlusOne()) == 0 {
				t.Error("N+1 missing")
			}
			if tc.name != "SlowDB" && len(x.slowDB()) == 0 {
				t.Error("slow DB missing")
			}
			if tc.name != "BigPayload" && len(x.bigPayloads()) == 0 {
				t.Error("big payload missing")
			}
			if tc.name != "Decoys" && len(x.dashboards()) == 0 {
				t.Error("decoys missing")
			}
			c := st.Scenarios
			counts := map[string]int{"NPlusOne": c.NPlusOne, "SlowDB": c.SlowDB, "BigPayload": c.BigPayload,
				"Decoys": c.AsyncConsumer + c.GatewayFanIn + c.ParallelFanOut + c.RepeatedCalls + c.MediumPayload + c.Dashboard}
			if counts[tc.name] != 0 {
				t.Errorf("Stats still counts %s: %+v", tc.name, c)
			}
			if len(x.find(func(s *rspan) bool { return s.kind == ptrace.SpanKindProducer })) == 0 ||
				len(x.find(func(s *rspan) bool { return s.kind == ptrace.SpanKindConsumer })) == 0 {
				t.Error("producer/consumer pair missing")
			}
		})
	}
}

func TestRunHTTPGzip(t *testing.T) {
	endpoint, rec := startHTTP(t)
	opts := testOptions(endpoint)
	opts.Protocol = ProtocolHTTP
	opts.Gzip = true
	opts.Traces = 12
	_, x := runDemo(t, opts, rec)
	if len(x.nPlusOne()) == 0 || len(x.slowDB()) == 0 || len(x.bigPayloads()) == 0 {
		t.Error("planted patterns missing over OTLP/HTTP")
	}
	// Endpoint as a URL works too, with or without the signal path.
	for _, u := range []string{"http://" + endpoint + "/v1/traces", "http://" + endpoint, "http://" + endpoint + "/"} {
		opts.Endpoint = u
		opts.Gzip = false
		n := len(rec.all())
		st, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if got := len(rec.all()) - n; got != st.Exported || got == 0 {
			t.Errorf("URL endpoint %s: received %d spans, exported %d", u, got, st.Exported)
		}
	}
}

func TestConsumerStyles(t *testing.T) {
	for _, style := range []ConsumerStyle{ConsumersChild, ConsumersLink} {
		t.Run(style.String(), func(t *testing.T) {
			t.Parallel()
			endpoint, rec := startGRPC(t)
			opts := testOptions(endpoint)
			opts.Traces = 15
			opts.Consumers = style
			st, x := runDemo(t, opts, rec)
			consumers := x.find(func(s *rspan) bool { return s.kind == ptrace.SpanKindConsumer })
			if len(consumers) == 0 {
				t.Fatal("no consumers")
			}
			for _, c := range consumers {
				linked := len(c.links) == 1 && c.parentID == ""
				child := len(c.links) == 0 && x.byID[c.parentID] != nil && x.byID[c.parentID].kind == ptrace.SpanKindProducer
				if (style == ConsumersLink && !linked) || (style == ConsumersChild && !child) {
					t.Errorf("%s consumer of %s: parent %q links %v", style, c.service, c.parentID, c.links)
				}
			}
			if want := 0; style == ConsumersLink {
				if st.LinkedTraces != len(consumers) {
					t.Errorf("LinkedTraces = %d, want %d", st.LinkedTraces, len(consumers))
				}
			} else if st.LinkedTraces != want {
				t.Errorf("LinkedTraces = %d, want 0", st.LinkedTraces)
			}
		})
	}
}

func TestDeterministicSeed(t *testing.T) {
	endpoint, rec := startGRPC(t)
	opts := testOptions(endpoint)
	opts.Traces = 15
	shape := func() []string {
		n := len(rec.all())
		if _, err := Run(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range rec.all()[n:] {
			out = append(out, fmt.Sprintf("%s|%s|%d|%v|%d", s.service, s.name, s.kind, s.dur(), len(s.attrs)))
		}
		sort.Strings(out)
		return out
	}
	a, b := shape(), shape()
	if !slices.Equal(a, b) {
		t.Error("two runs with the same seed differ")
	}
	opts.Seed++
	if c := shape(); slices.Equal(a, c) {
		t.Error("a different seed gave identical traffic")
	}
}

func TestStreamingProgressAndCancel(t *testing.T) {
	endpoint, rec := startGRPC(t)
	opts := testOptions(endpoint)
	opts.Traces = 0
	opts.Duration = -1 // until cancelled
	opts.Rate = 50
	var progress []Stats
	opts.Progress = func(s Stats) { progress = append(progress, s) }
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	st, err := Run(ctx, opts)
	if err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Run took %v after cancellation", el)
	}
	if st.Traces < 40 || st.Traces > 90 {
		t.Errorf("sent %d traces in 1.5 s at 50/s", st.Traces)
	}
	if len(progress) == 0 {
		t.Error("Progress never called")
	}
	if got := len(rec.all()); got != st.Exported || got != st.Spans {
		t.Errorf("received %d spans, stats %+v", got, st)
	}
	// Streamed requests end close to when they were generated (linked
	// consumer traces end earlier: they belong to an earlier request).
	x := newIndex(rec.all())
	for _, spans := range x.traces {
		if x.root(spans[0]).service != svcFrontend {
			continue
		}
		last := spans[0].end
		for _, s := range spans {
			if s.end.After(last) {
				last = s.end
			}
		}
		if last.Before(start.Add(-100*time.Millisecond)) || last.After(time.Now()) {
			t.Errorf("trace ends at %v, run started %v", last, start)
			break
		}
	}
}

func TestDurationAndTracesLimits(t *testing.T) {
	endpoint, _ := startGRPC(t)
	opts := testOptions(endpoint)
	opts.Duration = 300 * time.Millisecond
	opts.Traces = 0
	opts.Rate = 100
	st, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Traces < 25 || st.Traces > 31 {
		t.Errorf("300 ms at 100/s sent %d traces", st.Traces)
	}
	opts.Duration = 10 * time.Second
	opts.Traces = 7
	opts.Rate = 1000
	if st, err = Run(context.Background(), opts); err != nil || st.Traces != 7 {
		t.Errorf("Traces limit: %d traces, err %v", st.Traces, err)
	}
	// A burst without Traces sends 10×Rate traces.
	opts.Duration, opts.Traces, opts.Rate = 0, 0, 3
	if st, err = Run(context.Background(), opts); err != nil || st.Traces != 30 {
		t.Errorf("default burst: %d traces, err %v", st.Traces, err)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	opts := testOptions(addr)
	start := time.Now()
	_, err = Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("err = %v, want a 'cannot reach' error", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v to fail", time.Since(start))
	}
}

// rejectingServer fails every export, as a collector that is overloaded.
type rejectingServer struct {
	ptraceotlp.UnimplementedGRPCServer
}

func TestExportErrorsReturned(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, &rejectingServer{}) // Export → Unimplemented (not retryable)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	opts := testOptions(lis.Addr().String())
	opts.Traces = 5
	st, err := Run(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "Unimplemented") {
		t.Errorf("err = %v, want the exporter's error", err)
	}
	if st.Failed == 0 || st.Exported != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{Protocol: "thrift"},
		{Endpoint: "no-port"},
		{Endpoint: "ftp://x:1"},
		{Rate: -1},
		{Traces: -1},
		{Consumers: 7},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v) succeeded", o)
		}
	}
	o, err := Options{Protocol: "HTTP"}.normalized()
	if err != nil || o.Endpoint != DefaultHTTPEndpoint || o.Rate != 20 {
		t.Errorf("normalized: %+v %v", o, err)
	}
	for _, s := range []string{"mixed", "child", "link"} {
		if st, err := ParseConsumerStyle(s); err != nil || st.String() != s {
			t.Errorf("ParseConsumerStyle(%q) = %v, %v", s, st, err)
		}
	}
}
