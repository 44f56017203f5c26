// Command thbench is tracehound's benchmark driver: it starts
// `tracehound serve` on a fresh embedded ClickHouse, sends a fixed number of
// realistic spans over OTLP/gRPC as fast as the server accepts them, waits
// until every span is stored, and reports throughput, CPU and memory of the
// collector and of ClickHouse, bytes per span on disk, duplicates and
// losses. It then runs the same load against the peer, an OpenTelemetry
// Collector (otlp receiver → batch processor → contrib ClickHouse exporter,
// bin/otelcol-bench) writing into an identical fresh embedded ClickHouse,
// and prints both rows and their ratios (--systems picks the systems). With
// --queries (tracehound only) it then waits until the analyzer has analysed
// every stored span (analysis throughput and lag) and times the HTTP API on
// the stored data (trace by id, service graph, findings, services, trace
// search). See docs/benchmarks.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, opts, os.Stderr)
	if res != nil {
		if werr := report(os.Stdout, res, opts.Out); werr != nil {
			fmt.Fprintln(os.Stderr, "thbench:", werr)
			os.Exit(1)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "thbench:", err)
		os.Exit(1)
	}
	for _, r := range []*Result{res, res.Peer} {
		if r != nil && len(r.Notes) > 0 {
			fmt.Fprintf(os.Stderr, "thbench: reported for %s (not failures):\n", r.System)
			for _, n := range r.Notes {
				fmt.Fprintln(os.Stderr, "  -", n)
			}
		}
	}
	if f := res.allFailures(); len(f) > 0 {
		fmt.Fprintln(os.Stderr, "thbench: FAILED:")
		for _, f := range f {
			fmt.Fprintln(os.Stderr, "  -", f)
		}
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("thbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Int64Var(&o.Spans, "spans", o.Spans, "spans to send (rounded up to whole requests of 500 spans)")
	fs.IntVar(&o.Conns, "conns", o.Conns, "OTLP gRPC connections")
	fs.IntVar(&o.InFlight, "inflight", o.InFlight, "requests in flight per connection")
	fs.StringVar(&o.Bin, "bin", o.Bin, "the tracehound binary")
	systems := fs.String("systems", strings.Join(o.Systems, ","), "systems to run in turn on the same load, comma-separated: tracehound (fails the run on a lost or duplicated span), otelcol (the OpenTelemetry Collector peer: its duplicates and losses are reported); --queries runs tracehound only")
	fs.StringVar(&o.OtelcolBin, "otelcol-bin", o.OtelcolBin, "the OpenTelemetry Collector peer's binary (`make otelcol-bench`)")
	fs.BoolVar(&o.Keep, "keep", o.Keep, "keep the temporary directories, one per system (ClickHouse data, logs, the peer's config)")
	fs.StringVar(&o.Out, "out", o.Out, "also write the JSON result to this file")
	smoke := fs.Bool("smoke", false, fmt.Sprintf("quick run: %d spans (unless --spans is given) and fewer templates", smokeSpans))
	fs.IntVar(&o.Templates, "templates", o.Templates, "distinct pre-built requests (ids, times and random values are renewed on every send)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the generated data")
	fs.StringVar(&o.Client, "client", o.Client, "raw: send pre-encoded bytes; pdata: decode and send with ptraceotlp's client (re-encodes, more load-generator CPU)")
	fs.BoolVar(&o.Gzip, "gzip", o.Gzip, "gzip-compress requests")
	fs.DurationVar(&o.SettleTimeout, "settle-timeout", o.SettleTimeout, "give up waiting for spans to be stored after this long without progress")
	fs.StringVar(&o.Label, "label", o.Label, "free-text label of the run, shown in the table")
	fs.Func("serve-flag", "extra flag for `tracehound serve` (repeatable), e.g. --serve-flag=--config=bench.yaml", func(v string) error {
		o.ServeFlags = append(o.ServeFlags, v)
		return nil
	})
	fs.Func("serve-env", "extra NAME=value in tracehound's environment (repeatable), e.g. --serve-env=GOGC=200", func(v string) error {
		if !strings.Contains(v, "=") {
			return errors.New("want NAME=value")
		}
		o.ServeEnv = append(o.ServeEnv, v)
		return nil
	})
	fs.BoolVar(&o.Queries, "queries", o.Queries, "after the load, wait until the analyzer has analysed every stored span, then time the HTTP API (trace by id, service graph, findings, services, trace search)")
	queryRuns := fs.Int("query-runs", o.QueryRuns, "with --queries: timed runs of each query other than trace by id (after one warm-up run)")
	traceIDs := fs.Int("trace-ids", o.TraceIDs, "with --queries: random stored trace ids to fetch, one request each (after one warm-up request)")
	fs.DurationVar(&o.AnalysisTimeout, "analysis-timeout", o.AnalysisTimeout, "with --queries: give up waiting for the analyzer after this long without progress")
	fs.BoolVar(&o.FastAnalysis, "fast-analysis", o.FastAnalysis, "give the server a config with analysis window 1s, idle 1s, interval 200ms (quick analysis of small runs; not with a --config serve flag)")
	queryLog := fs.Bool("query-log", true, "with --queries: turn on the embedded ClickHouse's system.query_log (a config.d file in the data directory) and report the slowest queries")
	err := fs.Parse(args)
	if err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "thbench: unexpected arguments %q\n", fs.Args())
		return o, errors.New("arguments")
	}
	if *smoke {
		o.Smoke = true
		spansSet := false
		fs.Visit(func(f *flag.Flag) { spansSet = spansSet || f.Name == "spans" })
		if !spansSet {
			o.Spans = smokeSpans
		}
		if o.Templates > 8 {
			o.Templates = 8
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.Queries && !set["systems"] {
		*systems = sysTracehound
	}
	if o.Systems, err = parseSystems(*systems); err != nil {
		fmt.Fprintln(stderr, "thbench: --systems:", err)
		return o, err
	}
	if o.Queries && (len(o.Systems) != 1 || o.Systems[0] != sysTracehound) {
		fmt.Fprintln(stderr, "thbench: --queries times tracehound's API: use it with --systems tracehound (the default with --queries)")
		return o, errors.New("flags")
	}
	o.QueryRuns, o.TraceIDs = *queryRuns, *traceIDs
	o.QueryLog = o.Queries && *queryLog
	if o.Smoke {
		if !set["query-runs"] {
			o.QueryRuns = smokeQueryRuns
		}
		if !set["trace-ids"] {
			o.TraceIDs = smokeTraceIDs
		}
	}
	if o.QueryRuns <= 0 || o.TraceIDs <= 0 || o.AnalysisTimeout <= 0 {
		fmt.Fprintln(stderr, "thbench: --query-runs, --trace-ids and --analysis-timeout must be positive")
		return o, errors.New("flags")
	}
	if o.FastAnalysis && hasConfigFlag(o.ServeFlags) {
		fmt.Fprintln(stderr, "thbench: --fast-analysis writes the server's --config; put the analysis settings in your config file instead")
		return o, errors.New("flags")
	}
	if o.Spans <= 0 || o.Conns <= 0 || o.InFlight <= 0 || o.Templates <= 0 {
		fmt.Fprintln(stderr, "thbench: --spans, --conns, --inflight and --templates must be positive")
		return o, errors.New("flags")
	}
	return o, nil
}

// parseSystems reads the --systems list: known names, no repeats; the
// first is the primary system, tracehound first when both are given.
func parseSystems(v string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if s != sysTracehound && s != sysOtelcol {
			return nil, fmt.Errorf("unknown system %q (want %s, %s or both)", s, sysTracehound, sysOtelcol)
		}
		if seen[s] {
			return nil, fmt.Errorf("%s named twice", s)
		}
		seen[s] = true
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("no system named")
	}
	if len(out) == 2 && out[0] != sysTracehound {
		out[0], out[1] = out[1], out[0]
	}
	return out, nil
}

// report prints the Markdown table (header, a row per system and, with a
// peer, the ratio row), the further tables and the peer's notes, and the
// JSON result, and writes the JSON to out when set.
func report(w io.Writer, res *Result, out string) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, markdownHeader)
	fmt.Fprintln(w, res.MarkdownRow())
	if res.Peer != nil {
		fmt.Fprintln(w, res.Peer.MarkdownRow())
	}
	if res.Ratios != nil {
		fmt.Fprintln(w, res.Ratios.MarkdownRow())
	}
	fmt.Fprintln(w)
	var notes []string
	for _, r := range []*Result{res, res.Peer} {
		if r == nil {
			continue
		}
		for _, t := range r.OtherTables {
			if t.Error != "" {
				notes = append(notes, fmt.Sprintf("%s also stores %s: %s", r.System, t.Table, t.Error))
				continue
			}
			notes = append(notes, fmt.Sprintf("%s also stores %s: %d rows, %.1f → %.1f bytes per stored span (before → after OPTIMIZE FINAL)",
				r.System, t.Table, t.After.Rows, t.BytesPerSpanBefore, t.BytesPerSpanAfter))
		}
		for _, n := range r.Notes {
			notes = append(notes, r.System+": "+n)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "- "+strings.Join(notes, "\n- "))
		fmt.Fprintln(w)
	}
	if res.Analysis != nil {
		analysisMarkdown(w, res.Analysis)
		fmt.Fprintln(w)
	}
	if res.Query != nil {
		queriesMarkdown(w, res.Query)
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, string(b))
	if out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "thbench: result written to", out)
	}
	return nil
}
