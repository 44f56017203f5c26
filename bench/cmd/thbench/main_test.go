package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tracehoundBin is the binary under test: $TRACEHOUND_BIN, else
// ../bin/tracehound relative to the bench module (the repository's build).
// A missing binary fails the test: `make bench-smoke` builds it.
func tracehoundBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRACEHOUND_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("TRACEHOUND_BIN=%s: %v", p, err)
		}
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/tracehound/tracehound/bench\n") {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("bench module root (go.mod) not found above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "bin", "tracehound")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("tracehound binary not found at %s (run `make build`, or set TRACEHOUND_BIN): %v", p, err)
	}
	return p
}

// otelcolBin is the OpenTelemetry Collector peer's binary: $OTELCOL_BIN,
// else ../bin/otelcol-bench relative to the bench module. `make bench-smoke`
// builds it and sets OTELCOL_BIN; a missing binary fails the test when
// OTELCOL_BIN is set or under CI=true, and skips it otherwise (a plain
// `go test ./...` in bench/ without `make otelcol-bench`).
func otelcolBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OTELCOL_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("OTELCOL_BIN=%s: %v (run `make otelcol-bench`)", p, err)
		}
		return p
	}
	p := filepath.Join(filepath.Dir(tracehoundBin(t)), "otelcol-bench")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the collector peer's binary is missing under CI (run `make otelcol-bench`, or set OTELCOL_BIN): %v", err)
		}
		t.Skipf("no collector peer binary at %s (run `make otelcol-bench`, or set OTELCOL_BIN)", p)
	}
	return p
}

// TestSmoke runs the whole driver with --smoke --queries against the real
// binary: every sent span must be stored exactly once, analysed, and found
// again through the API, and the server must stop cleanly.
func TestSmoke(t *testing.T) {
	bin := tracehoundBin(t)
	out := filepath.Join(t.TempDir(), "result.json")
	o, err := parseFlags([]string{"--smoke", "--queries", "--fast-analysis", "--analysis-timeout", "1m", "--bin", bin, "--out", out}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := run(ctx, o, testWriter{t})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var sb strings.Builder
	if err := report(&sb, res, o.Out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + sb.String())

	if res.SentSpans != smokeSpans {
		t.Errorf("sent %d spans, want %d", res.SentSpans, smokeSpans)
	}
	if res.Lost != 0 {
		t.Errorf("%d spans lost", res.Lost)
	}
	if res.Duplicates != 0 {
		t.Errorf("%d duplicate spans", res.Duplicates)
	}
	if res.StoredRows != res.SentSpans || res.DistinctSpans != res.SentSpans {
		t.Errorf("stored %d rows (%d distinct), sent %d", res.StoredRows, res.DistinctSpans, res.SentSpans)
	}
	if res.Stop.ExitCode != 0 {
		t.Errorf("tracehound exit: %+v", res.Stop)
	}
	if !res.Pass || len(res.Failures) > 0 {
		t.Errorf("failures: %q", res.Failures)
	}
	// The numbers are plausible.
	if res.SpansPerSec <= 0 || res.CollectorCPUS <= 0 || res.CollectorPeakRSSMB <= 0 || res.ClickHouseCPUS <= 0 {
		t.Errorf("implausible measurements: %+v", res)
	}
	if res.Before.BytesPerSpan <= 0 || res.After.BytesPerSpan <= 0 || res.After.Parts < 1 {
		t.Errorf("implausible disk numbers: before %+v after %+v", res.Before, res.After)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"spans_per_s"`) {
		t.Errorf("result file %s: %v", out, errors.Join(err))
	}

	// Analysis: every stored span analysed, within seconds (--fast-analysis).
	a := res.Analysis
	if a == nil {
		t.Fatal("no analysis result")
	}
	if !a.CaughtUp || a.AnalysedSpans != res.StoredRows || a.UnitsOK == 0 || a.SpansPerSec <= 0 || a.BusySpansPerSec <= 0 {
		t.Errorf("analysis: %+v", *a)
	}
	if a.CatchUpAfterIngestS > 30 {
		t.Errorf("analysis took %.1f s after ingest; --fast-analysis should make it a few seconds", a.CatchUpAfterIngestS)
	}
	// Queries: every one ran, without errors, and found what was stored.
	if res.Query == nil {
		t.Fatal("no query result")
	}
	want := map[string]string{qTraceByID: "10 spans", qServices: "8 services", qSearchAttr: "20 traces", qSearchService: "20 traces", qSearchAll: "20 traces"}
	seen := map[string]bool{}
	for _, q := range res.Query.Queries {
		seen[q.Name] = true
		runs := smokeQueryRuns
		if q.Name == qTraceByID {
			runs = smokeTraceIDs
		}
		if q.Runs != runs || q.Errors != 0 || len(q.Ms) != runs || q.MedianMs <= 0 || q.P95Ms < q.MedianMs || q.MaxMs < q.P95Ms {
			t.Errorf("query %q: %+v", q.Name, q)
		}
		if w, ok := want[q.Name]; ok && q.Result != w {
			t.Errorf("query %q: result %q, want %q", q.Name, q.Result, w)
		}
	}
	for _, n := range []string{qTraceByID, qServiceGraph, qFindings, qServices, qSearchAttr, qSearchNeedle, qSearchService, qSearchAll} {
		if !seen[n] {
			t.Errorf("query %q not run", n)
		}
	}
	if len(res.Query.ServerQueries) == 0 || len(a.ServerQueries) == 0 {
		t.Errorf("no system.query_log summary (analysis %d, queries %d rows)", len(a.ServerQueries), len(res.Query.ServerQueries))
	}
}

// TestSmokePeer runs the whole driver with --smoke on both systems, the
// same 20,000 spans each: tracehound must store every span exactly once;
// the OpenTelemetry Collector peer must store every span (its duplicates
// are only reported) and both must stop cleanly. No timing is asserted.
func TestSmokePeer(t *testing.T) {
	bin, col := tracehoundBin(t), otelcolBin(t)
	out := filepath.Join(t.TempDir(), "result.json")
	o, err := parseFlags([]string{"--smoke", "--bin", bin, "--otelcol-bin", col, "--out", out}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Systems) != 2 {
		t.Fatalf("systems %q, want both by default", o.Systems)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := run(ctx, o, testWriter{t})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var sb strings.Builder
	if err := report(&sb, res, o.Out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + sb.String())

	if res.System != sysTracehound || res.Peer == nil || res.Peer.System != sysOtelcol || res.Ratios == nil {
		t.Fatalf("want tracehound with the otelcol peer and ratios, got %q, peer %v, ratios %v", res.System, res.Peer, res.Ratios)
	}
	if f := res.allFailures(); len(f) > 0 || !res.Pass || !res.Peer.Pass {
		t.Errorf("failures: %q", f)
	}
	for _, r := range []*Result{res, res.Peer} {
		if r.SentSpans != smokeSpans || r.AckedSpans != smokeSpans {
			t.Errorf("%s: sent %d, acked %d spans, want %d", r.System, r.SentSpans, r.AckedSpans, smokeSpans)
		}
		if r.Lost != 0 || r.DistinctSpans != r.SentSpans {
			t.Errorf("%s: %d distinct spans stored of %d sent, %d lost", r.System, r.DistinctSpans, r.SentSpans, r.Lost)
		}
		if !r.Stop.Clean() {
			t.Errorf("%s: unclean stop %+v (ClickHouse %+v)", r.System, r.Stop, r.Stop.ClickHouse)
		}
		if r.SpansPerSec <= 0 || r.CollectorCPUS <= 0 || r.CollectorPeakRSSMB <= 0 || r.ClickHouseCPUS <= 0 || r.ClickHousePeakRSSMB <= 0 {
			t.Errorf("%s: implausible measurements: %+v", r.System, r)
		}
		if r.Before.BytesPerSpan <= 0 || r.After.BytesPerSpan <= 0 || r.After.Parts < 1 || r.After.Rows != r.StoredRows {
			t.Errorf("%s: implausible disk numbers: before %+v after %+v", r.System, r.Before, r.After)
		}
		if r.ClickHouseProcesses != 1 {
			t.Errorf("%s: %d ClickHouse processes seen, want 1", r.System, r.ClickHouseProcesses)
		}
	}
	if res.Duplicates != 0 {
		t.Errorf("tracehound: %d duplicate spans", res.Duplicates)
	}
	if res.Peer.Duplicates != 0 {
		t.Logf("otelcol stored %d duplicates (reported, not a failure)", res.Peer.Duplicates)
	}
	p := res.Peer
	if p.Stop.ClickHouse == nil {
		t.Error("otelcol: no stop result of its ClickHouse")
	}
	if c := p.CollectorCounters; c == nil || c.Accepted != p.AckedSpans || c.Sent < p.AckedSpans || c.SendFailed != 0 {
		t.Errorf("otelcol counters: %+v", c)
	}
	if len(p.OtherTables) != 1 || p.OtherTables[0].Table != "otel.otel_traces_trace_id_ts" || p.OtherTables[0].After.Rows <= 0 || p.OtherTables[0].Error != "" {
		t.Errorf("otelcol other tables: %+v", p.OtherTables)
	}
	if !strings.Contains(p.Version, "clickhouseexporter v") || !strings.Contains(p.Version, "ClickHouse ") {
		t.Errorf("otelcol version %q lacks the exporter's or ClickHouse's version", p.Version)
	}
	if res.Ratios.SpansPerSec <= 0 || res.Ratios.CollectorCPUSPerM <= 0 || res.Ratios.CollectorPeakRSS <= 0 || res.Ratios.BytesPerSpanAfter <= 0 {
		t.Errorf("ratios: %+v", *res.Ratios)
	}
	for _, want := range []string{"| tracehound |", "| otelcol |", "| tracehound ÷ otelcol |", "otel.otel_traces_trace_id_ts"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"peer"`) || !strings.Contains(string(b), `"ratios"`) {
		t.Errorf("result file %s lacks the peer or the ratios: %v", out, err)
	}
}

func TestSystemsFlag(t *testing.T) {
	for _, c := range []struct {
		args    []string
		want    string // joined systems; "" for an error
		queries bool
	}{
		{nil, "tracehound,otelcol", false},
		{[]string{"--systems", "tracehound"}, "tracehound", false},
		{[]string{"--systems", "otelcol"}, "otelcol", false},
		{[]string{"--systems", "otelcol, tracehound"}, "tracehound,otelcol", false},
		{[]string{"--queries"}, "tracehound", true},
		{[]string{"--queries", "--systems", "tracehound"}, "tracehound", true},
		{[]string{"--queries", "--systems", "tracehound,otelcol"}, "", false},
		{[]string{"--systems", "jaeger"}, "", false},
		{[]string{"--systems", "otelcol,otelcol"}, "", false},
		{[]string{"--systems", ","}, "", false},
	} {
		o, err := parseFlags(c.args, io.Discard)
		if c.want == "" {
			if err == nil {
				t.Errorf("%q: accepted (%q)", c.args, o.Systems)
			}
			continue
		}
		if err != nil || strings.Join(o.Systems, ",") != c.want || o.Queries != c.queries {
			t.Errorf("%q: systems %q queries %v, %v; want %q", c.args, o.Systems, o.Queries, err, c.want)
		}
	}
}

func TestRatios(t *testing.T) {
	a := &Result{System: "tracehound", SpansPerSec: 300, CollectorCPUSPerM: 10, CollectorPeakRSSMB: 200, ClickHouseCPUSPerM: 8,
		ClickHousePeakRSSMB: 400, Before: Disk{BytesPerSpan: 100}, After: Disk{BytesPerSpan: 90}}
	b := &Result{System: "otelcol", SpansPerSec: 100, CollectorCPUSPerM: 20, CollectorPeakRSSMB: 100, ClickHouseCPUSPerM: 0,
		ClickHousePeakRSSMB: 400, Before: Disk{BytesPerSpan: 50}, After: Disk{BytesPerSpan: 45}}
	r := newRatios(a, b)
	want := Ratios{Of: "tracehound ÷ otelcol", SpansPerSec: 3, CollectorCPUSPerM: 0.5, CollectorPeakRSS: 2, ClickHouseCPUSPerM: 0,
		ClickHousePeakRSS: 1, BytesPerSpanBefore: 2, BytesPerSpanAfter: 2}
	if *r != want {
		t.Errorf("ratios %+v, want %+v", *r, want)
	}
	row := r.MarkdownRow()
	if wantRow := "| tracehound ÷ otelcol | | | 3.00× | 0.50× | 2.00× | – | 1.00× | 2.00× → 2.00× | | | |"; row != wantRow {
		t.Errorf("row\n%s\nwant\n%s", row, wantRow)
	}
	if got, want := strings.Count(row, "|"), strings.Count(strings.SplitN(markdownHeader, "\n", 2)[0], "|"); got != want {
		t.Errorf("ratio row has %d cells separators, header %d", got, want)
	}
}

func TestProblem(t *testing.T) {
	strict := &Result{strict: true}
	strict.problem("%d lost", 3)
	peer := &Result{}
	peer.problem("%d duplicates", 2)
	if len(strict.Failures) != 1 || len(strict.Notes) != 0 || len(peer.Failures) != 0 || len(peer.Notes) != 1 || peer.Notes[0] != "2 duplicates" {
		t.Errorf("strict %+v, peer %+v", strict, peer)
	}
	strict.Peer = &Result{System: "otelcol", Failures: []string{"did not start"}}
	if f := strict.allFailures(); len(f) != 2 || f[1] != "otelcol: did not start" {
		t.Errorf("allFailures = %q", f)
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {0.5, 3}, {0.95, 5}, {1, 5}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", xs, c.p, got, c.want)
		}
	}
	var twenty []float64
	for i := 1; i <= 20; i++ {
		twenty = append(twenty, float64(i))
	}
	if got := percentile(twenty, 0.95); got != 19 { // nearest rank: ceil(0.95·20) = 19th
		t.Errorf("p95 of 1..20 = %v, want 19", got)
	}
	if got := percentile(twenty, 0.5); got != 10.5 {
		t.Errorf("median of 1..20 = %v, want 10.5", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil) = %v", got)
	}
}

func TestCountOf(t *testing.T) {
	s, err := countOf("edges", "edges", 1)([]byte(`{"nodes":[{},{}],"edges":[{},{},{}]}`))
	if err != nil || s != "3 edges, 2 nodes" {
		t.Errorf("edges: %q, %v", s, err)
	}
	if _, err := countOf("spans", "spans", 10)([]byte(`{"trace_id":"x","spans":[{}]}`)); err == nil {
		t.Error("1 span accepted where 10 are wanted")
	}
	if _, err := countOf("traces", "traces", 0)([]byte(`{"error":"boom"}`)); err == nil {
		t.Error("a response without the array accepted")
	}
}

func TestQueryFlags(t *testing.T) {
	o, err := parseFlags([]string{"--queries"}, io.Discard)
	if err != nil || !o.Queries || !o.QueryLog || o.QueryRuns != 20 || o.TraceIDs != 200 || o.FastAnalysis {
		t.Errorf("--queries: %+v, %v", o, err)
	}
	o, err = parseFlags([]string{"--smoke", "--queries", "--query-runs", "7", "--query-log=false"}, io.Discard)
	if err != nil || o.QueryRuns != 7 || o.TraceIDs != smokeTraceIDs || o.QueryLog {
		t.Errorf("--smoke --queries --query-runs 7: %+v, %v", o, err)
	}
	if _, err := parseFlags([]string{"--fast-analysis", "--serve-flag=--config=x.yaml"}, io.Discard); err == nil {
		t.Error("--fast-analysis with a --config serve flag accepted")
	}
	if _, err := parseFlags([]string{"--queries", "--trace-ids", "0"}, io.Discard); err == nil {
		t.Error("--trace-ids 0 accepted")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
