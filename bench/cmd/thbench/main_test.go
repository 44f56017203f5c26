package main

import (
	"context"
	"errors"
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

// TestSmoke runs the whole driver with --smoke against the real binary:
// every sent span must be stored exactly once and the server must stop
// cleanly.
func TestSmoke(t *testing.T) {
	bin := tracehoundBin(t)
	out := filepath.Join(t.TempDir(), "result.json")
	o, err := parseFlags([]string{"--smoke", "--bin", bin, "--out", out}, os.Stderr)
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
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
