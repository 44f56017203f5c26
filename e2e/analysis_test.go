package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// world emits spans of many services through the real SDK, one
// TracerProvider (and OTLP gRPC exporter) per service.
type world struct {
	t         *testing.T
	endpoint  string
	providers map[string]*sdktrace.TracerProvider
}

func newWorld(t *testing.T, endpoint string) *world {
	w := &world{t: t, endpoint: endpoint, providers: map[string]*sdktrace.TracerProvider{}}
	t.Cleanup(func() {
		for _, tp := range w.providers {
			_ = tp.Shutdown(context.Background())
		}
	})
	return w
}

func (w *world) tracer(service string) trace.Tracer {
	tp, ok := w.providers[service]
	if !ok {
		exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(w.endpoint), otlptracegrpc.WithInsecure())
		if err != nil {
			w.t.Fatal(err)
		}
		tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
		w.providers[service] = tp
	}
	return tp.Tracer("e2e")
}

// flush exports everything emitted so far.
func (w *world) flush() {
	for name, tp := range w.providers {
		if err := tp.ForceFlush(context.Background()); err != nil {
			w.t.Fatalf("flushing %s: %v", name, err)
		}
	}
}

// span starts and ends a span at explicit times and returns its context.
func (w *world) span(ctx context.Context, service, name string, kind trace.SpanKind, start time.Time, dur time.Duration,
	opts ...func(trace.Span)) context.Context {
	ctx, sp := w.tracer(service).Start(ctx, name, trace.WithSpanKind(kind), trace.WithTimestamp(start))
	for _, o := range opts {
		o(sp)
	}
	sp.End(trace.WithTimestamp(start.Add(dur)))
	return ctx
}

func attrs(kv ...attribute.KeyValue) func(trace.Span) {
	return func(s trace.Span) { s.SetAttributes(kv...) }
}

func failed(s trace.Span) { s.SetStatus(codes.Error, "failed") }

// call emits a CLIENT span in caller and, when callee != "", the SERVER span
// it caused, 1 ms inside it.
func (w *world) call(ctx context.Context, caller, callee, name string, start time.Time, dur time.Duration, opts ...func(trace.Span)) {
	cctx := w.span(ctx, caller, name, trace.SpanKindClient, start, dur, opts...)
	if callee != "" {
		w.span(cctx, callee, name, trace.SpanKindServer, start.Add(time.Millisecond), dur-2*time.Millisecond)
	}
}

// writeConfig writes a YAML config into a temp dir and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tracehound.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type apiFinding struct {
	ID              string         `json:"id"`
	Kind            string         `json:"kind"`
	Service         string         `json:"service"`
	Operation       string         `json:"operation"`
	Peer            string         `json:"peer"`
	Severity        string         `json:"severity"`
	Score           float64        `json:"score"`
	Summary         string         `json:"summary"`
	Evidence        map[string]any `json:"evidence"`
	ExampleTraceIDs []string       `json:"example_trace_ids"`
	FirstSeen       time.Time      `json:"first_seen"`
	LastSeen        time.Time      `json:"last_seen"`
}

func (s *server) findings(t *testing.T, params url.Values) []apiFinding {
	t.Helper()
	var out struct {
		Findings []apiFinding `json:"findings"`
	}
	if code := s.getJSON(t, "/api/v1/findings?"+params.Encode(), &out); code != 200 {
		t.Fatalf("findings: status %d", code)
	}
	return out.Findings
}

// TestDetectorsPlantedAndDecoys plants an N+1, a slow database call and 5 MB
// responses among decoys, with default analysis settings, and expects
// exactly the three planted findings within 60 s of the last span.
func TestDetectorsPlantedAndDecoys(t *testing.T) {
	srv := startServer(t, serverOpts{})
	w := newWorld(t, srv.grpcAddr)
	base := time.Now().Add(-90 * time.Second)
	ms := time.Millisecond
	for i := 0; i < 5; i++ {
		t0 := base.Add(time.Duration(i) * 5 * time.Second)
		// Planted N+1: orders calls inventory 10 times in sequence.
		ctx := w.span(context.Background(), "orders", "GET /orders/{id}", trace.SpanKindServer, t0, 100*ms,
			attrs(attribute.String("http.route", "/orders/{id}")))
		for k := 0; k < 10; k++ {
			w.call(ctx, "orders", "inventory", fmt.Sprintf("GET /items/%d", 1000+k), t0.Add(time.Duration(5+9*k)*ms), 8*ms)
		}
		// Planted slow database call on the critical path.
		ctx = w.span(context.Background(), "payments", "POST /charge", trace.SpanKindServer, t0, 700*ms)
		w.call(ctx, "payments", "", "SELECT ledger", t0.Add(50*ms), 600*ms, attrs(
			attribute.String("db.system.name", "postgresql"), attribute.String("db.namespace", "payments"),
			attribute.String("db.query.text", fmt.Sprintf("SELECT * FROM ledger WHERE account_id = %d", 40+i))))
		// Planted 5 MB responses on catalog → image-service.
		ctx = w.span(context.Background(), "catalog", "GET /products", trace.SpanKindServer, t0, 60*ms)
		w.call(ctx, "catalog", "image-service", fmt.Sprintf("GET /images/%d", 7+i), t0.Add(5*ms), 40*ms,
			attrs(attribute.Int("http.response.body.size", 5<<20)))

		// Decoy: a long async consumer after the request ended.
		ctx = w.span(context.Background(), "checkout", "POST /checkout", trace.SpanKindServer, t0, 50*ms)
		pctx := w.span(ctx, "checkout", "orders publish", trace.SpanKindProducer, t0.Add(10*ms), 2*ms, attrs(
			attribute.String("messaging.system", "kafka"), attribute.String("messaging.destination.name", "orders")))
		w.span(pctx, "email-worker", "orders process", trace.SpanKindConsumer, t0.Add(80*ms), 2*time.Second)
		// Decoy: a parent slow only because of its children (none dominates).
		ctx = w.span(context.Background(), "gateway", "GET /dashboard", trace.SpanKindServer, t0, 400*ms)
		w.call(ctx, "gateway", "users", "GET /me", t0.Add(5*ms), 120*ms)
		w.call(ctx, "gateway", "stats", "GET /stats", t0.Add(130*ms), 130*ms)
		w.call(ctx, "gateway", "billing", "GET /invoices", t0.Add(265*ms), 130*ms)
		// Decoy: a parallel fan-out to three services.
		ctx = w.span(context.Background(), "search", "GET /search", trace.SpanKindServer, t0, 60*ms)
		for _, callee := range []string{"catalog", "reviews", "recommendations"} {
			w.call(ctx, "search", callee, "GET /query", t0.Add(5*ms), 50*ms)
		}
		// Decoy: three repeated calls.
		ctx = w.span(context.Background(), "cart", "GET /cart", trace.SpanKindServer, t0, 40*ms)
		for k := 0; k < 3; k++ {
			w.call(ctx, "cart", "inventory", fmt.Sprintf("GET /stock/%d", k), t0.Add(time.Duration(2+10*k)*ms), 9*ms)
		}
		// Decoy: 300 KB payloads.
		ctx = w.span(context.Background(), "reviews", "GET /reviews", trace.SpanKindServer, t0, 30*ms)
		w.call(ctx, "reviews", "avatar-service", fmt.Sprintf("GET /avatars/%d", i), t0.Add(2*ms), 20*ms,
			attrs(attribute.Int("http.response.body.size", 300*1024)))
		// Decoy: an ordinary 40 ms operation.
		w.span(context.Background(), "users", "GET /profile", trace.SpanKindServer, t0, 40*ms)
	}
	w.flush()
	lastSpan := time.Now()

	want := map[string]struct{ service, operation, peer string }{
		"chatty":            {"orders", "GET /items/{id}", "inventory"},
		"bottleneck":        {"payments", "SELECT * FROM ledger WHERE account_id = ?", "postgresql/payments"},
		"oversized_payload": {"catalog", "GET /images/{id}", "image-service"},
	}
	var got []apiFinding
	for time.Since(lastSpan) < 60*time.Second {
		got = srv.findings(t, url.Values{})
		if len(got) >= len(want) {
			break
		}
		time.Sleep(time.Second)
	}
	t.Logf("%d findings %s after the last span", len(got), time.Since(lastSpan).Round(time.Second))
	kinds := map[string]apiFinding{}
	for _, f := range got {
		t.Logf("finding %s %s/%s → %s: %s", f.Kind, f.Service, f.Operation, f.Peer, f.Summary)
		if _, dup := kinds[f.Kind]; dup {
			t.Errorf("more than one %s finding (a decoy was flagged?): %+v", f.Kind, f)
		}
		kinds[f.Kind] = f
	}
	if len(got) != len(want) {
		t.Fatalf("want exactly %d findings within 60 s, got %d", len(want), len(got))
	}
	for kind, w := range want {
		f, ok := kinds[kind]
		if !ok {
			t.Errorf("no %s finding", kind)
			continue
		}
		if f.Service != w.service || f.Operation != w.operation || f.Peer != w.peer {
			t.Errorf("%s finding is %s/%q → %s, want %s/%q → %s", kind, f.Service, f.Operation, f.Peer, w.service, w.operation, w.peer)
		}
		if len(f.ExampleTraceIDs) == 0 || f.Summary == "" || f.Severity == "" || f.FirstSeen.IsZero() || f.LastSeen.Before(f.FirstSeen) {
			t.Errorf("%s finding incomplete: %+v", kind, f)
		}
	}
	if f := kinds["chatty"]; f.Evidence["sequential"] != true || f.Evidence["calls_per_trace"] != float64(10) {
		t.Errorf("chatty evidence: %v", f.Evidence)
	}
	if f := kinds["oversized_payload"]; f.Evidence["direction"] != "response" {
		t.Errorf("payload evidence: %v", f.Evidence)
	}
	if f := kinds["bottleneck"]; f.Evidence["entry_operation"] != "POST /charge" {
		t.Errorf("bottleneck evidence: %v", f.Evidence)
	}
	// Kind filter and example trace that opens with its critical path.
	if only := srv.findings(t, url.Values{"kind": {"chatty"}}); len(only) != 1 || only[0].Kind != "chatty" {
		t.Errorf("kind=chatty returned %+v", only)
	}
	t.Run("analyze CLI", func(t *testing.T) {
		run := func(args ...string) (string, int) {
			cmd := exec.Command(binPath, append([]string{"analyze", "--server", "http://" + srv.apiAddr}, args...)...)
			out, err := cmd.CombinedOutput()
			code := 0
			if err != nil {
				code = cmd.ProcessState.ExitCode()
			}
			return string(out), code
		}
		out, code := run("--fail-on", "chatty")
		if code != 3 || !strings.Contains(out, "orders") || !strings.Contains(out, "N+1") {
			t.Errorf("analyze --fail-on chatty: exit %d, output:\n%s", code, out)
		}
		out, code = run("--kind", "oversized_payload", "--format", "json", "--fail-on", "bottleneck")
		if code != 0 || !strings.Contains(out, `"kind": "oversized_payload"`) || strings.Contains(out, `"kind": "chatty"`) {
			t.Errorf("analyze --kind oversized_payload --format json: exit %d, output:\n%s", code, out)
		}
		if out, code = run("--since", "1m", "--to", fmt.Sprint(lastSpan.Add(-time.Hour).UnixMilli()), "--fail-on", "any"); code != 0 ||
			!strings.Contains(out, "No findings") {
			t.Errorf("analyze on an empty window: exit %d, output:\n%s", code, out)
		}
	})
	tr := srv.waitTrace(t, kinds["bottleneck"].ExampleTraceIDs[0], 2)
	for _, sp := range tr.Spans {
		if !sp.OnCriticalPath {
			t.Errorf("span %s of the slow-DB trace not on the critical path", sp.Name)
		}
	}
}

type apiEdge struct {
	Source, Target   string
	Calls, Errors    float64
	P50Ms            float64 `json:"p50_ms"`
	P99Ms            float64 `json:"p99_ms"`
	RequestBytesAvg  float64 `json:"request_bytes_avg"`
	ResponseBytesAvg float64 `json:"response_bytes_avg"`
	CallsPerTraceAvg float64 `json:"calls_per_trace_avg"`
}

type apiGraph struct {
	Nodes []struct{ ID, Name, Kind string } `json:"nodes"`
	Edges []apiEdge                         `json:"edges"`
}

func (s *server) graph(t *testing.T, from, to time.Time) apiGraph {
	t.Helper()
	var g apiGraph
	q := url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {fmt.Sprint(to.UnixMilli())}}
	if code := s.getJSON(t, "/api/v1/servicegraph?"+q.Encode(), &g); code != 200 {
		t.Fatalf("servicegraph: status %d", code)
	}
	return g
}

func edgeCounts(g apiGraph) map[string]string {
	out := map[string]string{}
	for _, e := range g.Edges {
		out[e.Source+" -> "+e.Target] = fmt.Sprintf("%v/%v", e.Calls, e.Errors)
	}
	return out
}

// TestServiceGraphExactCounts checks calls and errors on every edge, with
// database and messaging nodes, across a minute boundary and for windows
// that cut minutes in half (granularity: whole minutes; a minute counts when
// it starts in [floor(from), to)).
func TestServiceGraphExactCounts(t *testing.T) {
	cfg := writeConfig(t, "analysis:\n  idle: 1s\n  window: 1s\n  interval: 200ms\n")
	srv := startServer(t, serverOpts{extra: []string{"--config", cfg}})
	w := newWorld(t, srv.grpcAddr)
	m0 := time.Now().Truncate(time.Minute).Add(-5 * time.Minute)
	m1 := m0.Add(time.Minute)
	ms := time.Millisecond
	emit := func(t0 time.Time, fail bool) {
		var opts []func(trace.Span)
		if fail {
			opts = append(opts, failed)
		}
		ctx := w.span(context.Background(), "frontend", "GET /checkout", trace.SpanKindServer, t0, 200*ms)
		w.call(ctx, "frontend", "checkout", "POST /checkout", t0.Add(5*ms), 150*ms, opts...)
		cctx := w.span(ctx, "checkout", "insert order", trace.SpanKindClient, t0.Add(20*ms), 10*ms, attrs(
			attribute.String("db.system", "postgresql"), attribute.String("db.name", "shop"),
			attribute.Int("http.request.body.size", 100)))
		_ = cctx
		pctx := w.span(ctx, "checkout", "orders publish", trace.SpanKindProducer, t0.Add(40*ms), 2*ms, attrs(
			attribute.String("messaging.system", "kafka"), attribute.String("messaging.destination.name", "orders")))
		w.span(pctx, "notifier", "orders process", trace.SpanKindConsumer, t0.Add(300*ms), 20*ms)
		w.span(ctx, "frontend", "GET api.stripe.com", trace.SpanKindClient, t0.Add(160*ms), 30*ms,
			attrs(attribute.String("server.address", "api.stripe.com")))
	}
	// Minute 0: 3 traces (1 failing checkout call); minute 1: 2 traces (1 failing).
	emit(m0.Add(10*time.Second), false)
	emit(m0.Add(20*time.Second), true)
	emit(m0.Add(50*time.Second), false)
	emit(m1.Add(5*time.Second), true)
	emit(m1.Add(40*time.Second), false)
	w.flush()

	want := map[string]string{
		"frontend -> checkout":                 "5/2",
		"checkout -> database:postgresql/shop": "5/0",
		"checkout -> messaging:kafka/orders":   "5/0",
		"messaging:kafka/orders -> notifier":   "5/0",
		"frontend -> external:api.stripe.com":  "5/0",
	}
	var g apiGraph
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		g = srv.graph(t, m0, m1.Add(time.Minute))
		if fmt.Sprint(edgeCounts(g)) == fmt.Sprint(want) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got := edgeCounts(g); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("edges (calls/errors) over both minutes:\n got %v\nwant %v", got, want)
	}
	kinds := map[string]string{}
	for _, n := range g.Nodes {
		kinds[n.ID] = n.Kind + ":" + n.Name
	}
	for id, kn := range map[string]string{"frontend": "service:frontend", "database:postgresql/shop": "database:postgresql/shop",
		"messaging:kafka/orders": "messaging:kafka/orders", "external:api.stripe.com": "external:api.stripe.com", "notifier": "service:notifier"} {
		if kinds[id] != kn {
			t.Errorf("node %s: got %q want %q", id, kinds[id], kn)
		}
	}
	for _, e := range g.Edges {
		if e.Source == "frontend" && e.Target == "checkout" {
			if e.P50Ms != 150 || e.P99Ms != 150 || e.CallsPerTraceAvg != 1 {
				t.Errorf("frontend -> checkout latency/calls per trace: %+v", e)
			}
		}
		if e.Target == "database:postgresql/shop" && e.RequestBytesAvg != 100 {
			t.Errorf("db edge request bytes avg %v, want 100", e.RequestBytesAvg)
		}
	}

	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     string
	}{
		{"minute 0 only", m0, m1, "3/1"},
		{"minute 1 only", m1, m1.Add(time.Minute), "2/1"},
		{"from cuts minute 0 in half: whole minute 0 counts", m0.Add(30 * time.Second), m1, "3/1"},
		{"to cuts minute 1 in half: whole minute 1 counts", m1, m1.Add(30 * time.Second), "2/1"},
		{"before the data", m0.Add(-10 * time.Minute), m0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := edgeCounts(srv.graph(t, tc.from, tc.to))["frontend -> checkout"]
			if got != tc.want {
				t.Errorf("frontend -> checkout = %q, want %q", got, tc.want)
			}
		})
	}

	var svcs struct {
		Services []map[string]any `json:"services"`
	}
	q := url.Values{"from": {fmt.Sprint(m0.UnixMilli())}, "to": {fmt.Sprint(m1.Add(time.Minute).UnixMilli())}}
	srv.getJSON(t, "/api/v1/services?"+q.Encode(), &svcs)
	got := map[string]string{}
	for _, s := range svcs.Services {
		got[s["name"].(string)] = fmt.Sprintf("%v/%v", s["requests"], s["errors"])
	}
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if got["frontend"] != "5/0" || got["checkout"] != "5/0" || got["notifier"] != "5/0" {
		t.Errorf("service RED requests/errors: %v", got)
	}
	_ = strings.Join
}

// TestLatencyRegression: an operation whose p95 rose 8× over its own hour of
// history is reported as a bottleneck regression; a stable one is not. The
// spans are stored by an instance with analysis off, then a second instance
// evaluates the current minute as it starts.
func TestLatencyRegression(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, serverOpts{dataDir: dataDir, extra: []string{"--config", writeConfig(t, "analysis:\n  enabled: false\n")}})
	w := newWorld(t, srv.grpcAddr)
	now := time.Now()
	ms := time.Millisecond
	for i := 0; i < 150; i++ { // baseline: 40 to 10 minutes ago
		at := now.Add(-40*time.Minute + time.Duration(i)*12*time.Second)
		w.span(context.Background(), "quotes", "GET /quotes", trace.SpanKindServer, at, time.Duration(40+i%20)*ms)
		w.span(context.Background(), "steady", "GET /steady", trace.SpanKindServer, at, time.Duration(40+i%20)*ms)
	}
	for i := 0; i < 40; i++ { // recent: 4 to 2 minutes ago, quotes 8× slower
		at := now.Add(-4*time.Minute + time.Duration(i)*3*time.Second)
		w.span(context.Background(), "quotes", "GET /quotes", trace.SpanKindServer, at, time.Duration(400+i)*ms)
		w.span(context.Background(), "steady", "GET /steady", trace.SpanKindServer, at, time.Duration(40+i%20)*ms)
	}
	w.flush()
	time.Sleep(2 * time.Second) // the writer's flush interval
	srv.stop()

	srv2 := startServer(t, serverOpts{dataDir: dataDir})
	var got []apiFinding
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if got = srv2.findings(t, url.Values{"kind": {"bottleneck"}}); len(got) > 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(got) != 1 {
		t.Fatalf("want exactly one regression finding, got %+v", got)
	}
	f := got[0]
	if f.Service != "quotes" || f.Operation != "GET /quotes" || f.Evidence["regression"] != true ||
		f.Evidence["baseline_p95_ms"].(float64) > 60 || f.Evidence["current_p95_ms"].(float64) < 400 || len(f.ExampleTraceIDs) == 0 {
		t.Errorf("regression finding: %+v", f)
	}
}
