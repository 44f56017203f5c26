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
