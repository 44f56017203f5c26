package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tracehound/tracehound/bench/internal/chq"
	"github.com/tracehound/tracehound/bench/internal/load"
	"github.com/tracehound/tracehound/bench/internal/otlpgen"
	"github.com/tracehound/tracehound/bench/internal/procstat"
	"github.com/tracehound/tracehound/bench/internal/sut"
)

// Systems the driver can run (--systems).
const (
	sysTracehound = "tracehound"
	sysOtelcol    = "otelcol"
)

const (
	defaultSpans = 2_000_000
	smokeSpans   = 20_000
	// With --smoke --queries, unless given.
	smokeQueryRuns = 3
	smokeTraceIDs  = 10
	// pollEvery is how often the driver samples CPU and storage progress.
	pollEvery = 200 * time.Millisecond
	// progressEvery is how often progress is printed.
	progressEvery = 2 * time.Second
	// settleCheckEvery is how often distinct spans are counted once a
	// system that may store duplicates has as many rows as acknowledged
	// spans; the row count must be equal at two such checks.
	settleCheckEvery = time.Second
)

type options struct {
	Spans         int64
	Conns         int
	InFlight      int
	Bin           string
	Keep          bool
	Out           string
	Smoke         bool
	Templates     int
	Seed          uint64
	Client        string
	Gzip          bool
	SettleTimeout time.Duration
	Label         string
	ServeFlags    []string
	ServeEnv      []string
	// Systems to run, in order: the first is the primary (the top of the
	// result), a second one its peer.
	Systems    []string
	OtelcolBin string

	// The analysis and query benchmark.
	Queries         bool
	QueryRuns       int
	TraceIDs        int
	AnalysisTimeout time.Duration
	FastAnalysis    bool
	QueryLog        bool
}

func defaultOptions() options {
	return options{
		Spans:         defaultSpans,
		Conns:         4,
		InFlight:      1,
		Bin:           "./bin/tracehound",
		Templates:     64,
		Seed:          1,
		Client:        load.ClientRaw,
		SettleTimeout: 2 * time.Minute,
		Systems:       []string{sysTracehound, sysOtelcol},
		OtelcolBin:    "./bin/otelcol-bench",

		QueryRuns:       20,
		TraceIDs:        200,
		AnalysisTimeout: 5 * time.Minute,
	}
}

// Result is everything one run measured. Field names are stable: results
// files are compared across versions.
type Result struct {
	System    string    `json:"system"`
	Version   string    `json:"version"`
	Label     string    `json:"label,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Machine   Machine   `json:"machine"`
	Config    Config    `json:"config"`
	// ServeFlags and ServeEnv are the non-default settings of the server.
	ServeFlags []string `json:"serve_flags,omitempty"`
	ServeEnv   []string `json:"serve_env,omitempty"`

	// Load.
	Requests        int64   `json:"requests"`
	SentSpans       int64   `json:"sent_spans"`
	AckedSpans      int64   `json:"acked_spans"`
	RejectedSpans   int64   `json:"rejected_spans"` // partial success
	FailedSpans     int64   `json:"failed_spans"`   // non-retryable errors
	Retries         int64   `json:"retries"`
	RetriesByCode   Retries `json:"retries_by_code"`
	RetryWaitS      float64 `json:"retry_wait_s"` // summed over workers
	LastError       string  `json:"last_error,omitempty"`
	RequestBytesAvg int64   `json:"request_bytes_avg"`

	// Time: from the first send to the last acknowledgement and to the moment
	// every acknowledged span was stored.
	AckSeconds       float64 `json:"ack_seconds"`
	StoredSeconds    float64 `json:"stored_seconds"`
	AckSpansPerSec   float64 `json:"ack_spans_per_s"`
	SpansPerSec      float64 `json:"spans_per_s"` // end to end: stored spans / StoredSeconds
	TemplateBuildSec float64 `json:"template_build_s"`

	// Resources during the load (first send → all stored).
	CollectorCPUS          float64 `json:"collector_cpu_s"`
	CollectorCPUSPerM      float64 `json:"collector_cpu_s_per_million_spans"`
	CollectorPeakRSSMB     float64 `json:"collector_peak_rss_mb"`
	ClickHouseCPUS         float64 `json:"clickhouse_cpu_s"`
	ClickHouseCPUSPerM     float64 `json:"clickhouse_cpu_s_per_million_spans"`
	ClickHousePeakRSSMB    float64 `json:"clickhouse_peak_rss_mb"`
	ClickHouseProcesses    int     `json:"clickhouse_processes"` // > 1: it was restarted
	LoadgenCPUS            float64 `json:"loadgen_cpu_s"`        // first send → last ack
	LoadgenCPUSPerM        float64 `json:"loadgen_cpu_s_per_million_spans"`
	LoadgenTemplateBuildCS float64 `json:"loadgen_template_build_cpu_s"`
	// OtherCPUS is the CPU the rest of the machine used meanwhile (all busy
	// CPU time minus collector, ClickHouse and load generator): interference
	// from other work; near 0 on a quiet machine.
	OtherCPUS     float64 `json:"other_cpu_s"`
	LoadAvgBefore float64 `json:"loadavg1_before"`

	// Storage.
	StoredRows    int64   `json:"stored_rows"`    // count()
	DistinctSpans int64   `json:"distinct_spans"` // uniqExact(trace_id, span_id)
	Duplicates    int64   `json:"duplicates"`     // stored_rows - distinct_spans
	Lost          int64   `json:"lost"`           // acked_spans - distinct_spans (if positive)
	Before        Disk    `json:"disk_before_optimize"`
	After         Disk    `json:"disk_after_optimize"`
	OptimizeS     float64 `json:"optimize_s"`
	// OtherTables are the system's further tables that grow with the spans
	// (tracehound.traces; otel.otel_traces_trace_id_ts), not counted in
	// bytes_per_span above.
	OtherTables []TableDisk `json:"other_tables,omitempty"`
	// CollectorCounters are the OpenTelemetry Collector's own span counters
	// at the end of the run (the peer only).
	CollectorCounters *sut.CollectorCounters `json:"collector_counters,omitempty"`

	// With --queries: the analyzer's progress and the API's latencies.
	Analysis *AnalysisResult `json:"analysis,omitempty"`
	Query    *QueryPhase     `json:"query,omitempty"`

	Stop     sut.StopResult `json:"stop"`
	DataDir  string         `json:"data_dir,omitempty"` // when kept
	Failures []string       `json:"failures"`
	Pass     bool           `json:"pass"`
	// Notes are problems that are reported, not failures: the peer's
	// duplicates and lost spans (also when it runs alone), an unclean stop
	// other than tracehound's own exit status.
	Notes []string `json:"notes,omitempty"`

	// Peer is the second system of the run (the OpenTelemetry Collector),
	// measured the same way on the same load; Ratios compare this result
	// with it.
	Peer   *Result `json:"peer,omitempty"`
	Ratios *Ratios `json:"ratios,omitempty"`

	// strict: problems are failures (tracehound); otherwise notes (the
	// peer, also when it runs alone).
	strict bool
}

// problem records a correctness problem: a failure of tracehound, a note
// of the peer.
func (r *Result) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if r.strict {
		r.Failures = append(r.Failures, msg)
		return
	}
	r.Notes = append(r.Notes, msg)
}

// TableDisk is the size of one further table.
type TableDisk struct {
	Table  string `json:"table"`
	Before Disk   `json:"disk_before_optimize"`
	After  Disk   `json:"disk_after_optimize"`
	// Bytes on disk per stored (distinct) span of the spans table.
	BytesPerSpanBefore float64 `json:"bytes_per_stored_span_before_optimize"`
	BytesPerSpanAfter  float64 `json:"bytes_per_stored_span_after_optimize"`
	OptimizeS          float64 `json:"optimize_s"`
	Error              string  `json:"error,omitempty"`
}

// Ratios compare the primary system with its peer from the same run:
// primary ÷ peer for each measure (0 where the peer's value is 0).
type Ratios struct {
	Of                 string  `json:"of"` // "tracehound ÷ otelcol"
	SpansPerSec        float64 `json:"spans_per_s"`
	CollectorCPUSPerM  float64 `json:"collector_cpu_s_per_million_spans"`
	CollectorPeakRSS   float64 `json:"collector_peak_rss"`
	ClickHouseCPUSPerM float64 `json:"clickhouse_cpu_s_per_million_spans"`
	ClickHousePeakRSS  float64 `json:"clickhouse_peak_rss"`
	BytesPerSpanBefore float64 `json:"bytes_per_span_before_optimize"`
	BytesPerSpanAfter  float64 `json:"bytes_per_span_after_optimize"`
}

// newRatios divides a's measures by b's.
func newRatios(a, b *Result) *Ratios {
	div := func(x, y float64) float64 {
		if y == 0 {
			return 0
		}
		return x / y
	}
	return &Ratios{
		Of:                 a.System + " ÷ " + b.System,
		SpansPerSec:        div(a.SpansPerSec, b.SpansPerSec),
		CollectorCPUSPerM:  div(a.CollectorCPUSPerM, b.CollectorCPUSPerM),
		CollectorPeakRSS:   div(a.CollectorPeakRSSMB, b.CollectorPeakRSSMB),
		ClickHouseCPUSPerM: div(a.ClickHouseCPUSPerM, b.ClickHouseCPUSPerM),
		ClickHousePeakRSS:  div(a.ClickHousePeakRSSMB, b.ClickHousePeakRSSMB),
		BytesPerSpanBefore: div(a.Before.BytesPerSpan, b.Before.BytesPerSpan),
		BytesPerSpanAfter:  div(a.After.BytesPerSpan, b.After.BytesPerSpan),
	}
}

// MarkdownRow is the ratios as a row of the results table.
func (q *Ratios) MarkdownRow() string {
	x := func(v float64) string {
		if v == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", v)
	}
	return fmt.Sprintf("| %s | | | %s | %s | %s | %s | %s | %s → %s | | | |",
		q.Of, x(q.SpansPerSec), x(q.CollectorCPUSPerM), x(q.CollectorPeakRSS), x(q.ClickHouseCPUSPerM), x(q.ClickHousePeakRSS),
		x(q.BytesPerSpanBefore), x(q.BytesPerSpanAfter))
}

// allFailures lists the failures of the primary system and of the peer.
func (r *Result) allFailures() []string {
	out := append([]string(nil), r.Failures...)
	if r.Peer != nil {
		for _, f := range r.Peer.Failures {
			out = append(out, r.Peer.System+": "+f)
		}
	}
	return out
}

// Retries counts resends by gRPC code.
type Retries struct {
	Unavailable       int64 `json:"unavailable"`
	ResourceExhausted int64 `json:"resource_exhausted"`
	DeadlineExceeded  int64 `json:"deadline_exceeded"`
	Other             int64 `json:"other"`
}

// Disk is the size of the active parts of the spans table.
type Disk struct {
	Rows              int64   `json:"rows"`
	Parts             int64   `json:"parts"`
	BytesOnDisk       int64   `json:"bytes_on_disk"`
	UncompressedBytes int64   `json:"data_uncompressed_bytes"`
	BytesPerSpan      float64 `json:"bytes_per_span"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemoryGB int64  `json:"memory_gb"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
}

// Config repeats the settings of the run.
type Config struct {
	Spans           int64  `json:"spans"`
	Conns           int    `json:"conns"`
	InFlight        int    `json:"inflight"`
	SpansPerRequest int    `json:"spans_per_request"`
	SpansPerTrace   int    `json:"spans_per_trace"`
	Templates       int    `json:"templates"`
	Seed            uint64 `json:"seed"`
	Client          string `json:"client"`
	Gzip            bool   `json:"gzip"`
	Smoke           bool   `json:"smoke"`
	Queries         bool   `json:"queries,omitempty"`
	QueryRuns       int    `json:"query_runs,omitempty"`
	TraceIDs        int    `json:"trace_ids,omitempty"`
	FastAnalysis    bool   `json:"fast_analysis,omitempty"`
	QueryLog        bool   `json:"query_log,omitempty"`
	// Systems run, in order (the primary first).
	Systems []string `json:"systems,omitempty"`
}

const markdownHeader = "| system | spans | conns | spans/s | collector CPU s / M spans | collector peak RSS MB | ClickHouse CPU s / M spans | ClickHouse peak RSS MB | bytes/span (before → after OPTIMIZE) | duplicates | lost | load-gen CPU s |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

// MarkdownRow is the result as one row of the table in docs/benchmarks.md.
func (r *Result) MarkdownRow() string {
	name := r.System
	if r.Label != "" {
		name += " (" + r.Label + ")"
	}
	return fmt.Sprintf("| %s | %d | %d | %.0f | %.2f | %.0f | %.2f | %.0f | %.1f → %.1f | %d | %d | %.2f |",
		name, r.SentSpans, r.Config.Conns, r.SpansPerSec, r.CollectorCPUSPerM, r.CollectorPeakRSSMB,
		r.ClickHouseCPUSPerM, r.ClickHousePeakRSSMB, r.Before.BytesPerSpan, r.After.BytesPerSpan,
		r.Duplicates, r.Lost, r.LoadgenCPUS)
}

// run does one benchmark run: the same load against each of o.Systems in
// turn, each on a fresh ClickHouse. The first system's result is returned,
// with the second's as its Peer and their ratios. A non-nil Result may come
// with an error (a run that failed half-way reports what it measured).
func run(ctx context.Context, o options, logw io.Writer) (*Result, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "thbench: "+format+"\n", args...) }

	// 1. Pre-build the requests, once for every system.
	cpu0, t0 := procstat.SelfCPU(), time.Now()
	tpls, err := otlpgen.Build(otlpgen.Options{Templates: o.Templates, Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	tb := templateBuild{seconds: time.Since(t0).Seconds(), cpu: (procstat.SelfCPU() - cpu0).Seconds()}
	perReq := int64(tpls[0].Spans())
	nReq := (o.Spans + perReq - 1) / perReq
	if nReq*perReq != o.Spans {
		logf("--spans %d rounded up to %d (whole requests of %d spans)", o.Spans, nReq*perReq, perReq)
	}
	logf("%d templates of %d spans (%d KiB each) built in %.2f s", len(tpls), perReq, tpls[0].Size()>>10, tb.seconds)

	var primary *Result
	for i, name := range o.Systems {
		peer := i > 0
		res, err := runSystem(ctx, o, name, tpls, int(nReq), tb, logf)
		if res == nil && err != nil && peer {
			res = &Result{System: name, StartedAt: time.Now().UTC(), Machine: machine(), Failures: []string{err.Error()}}
		}
		if !peer {
			primary = res
			if res != nil {
				res.Config.Systems = o.Systems
			}
		} else if primary != nil && res != nil {
			primary.Peer = res
			if err == nil {
				primary.Ratios = newRatios(primary, res)
			}
		}
		if err != nil {
			return primary, err
		}
	}
	return primary, nil
}

// templateBuild is the one-off cost of pre-building the requests.
type templateBuild struct{ seconds, cpu float64 }

// newSystem returns the system under test called name, with its files in
// dir.
func newSystem(o options, name, dir string, serveFlags []string) (sut.System, error) {
	bin, err := filepath.Abs(o.Bin)
	if err != nil {
		return nil, err
	}
	switch name {
	case sysTracehound:
		return &sut.Tracehound{Bin: bin, DataDir: filepath.Join(dir, "data"), LogPath: filepath.Join(dir, "tracehound.log"),
			Args: serveFlags, Env: o.ServeEnv}, nil
	case sysOtelcol:
		col, err := filepath.Abs(o.OtelcolBin)
		if err != nil {
			return nil, err
		}
		return &sut.Collector{Bin: col, Tracehound: bin, Dir: dir}, nil
	}
	return nil, fmt.Errorf("unknown system %q (want %s or %s)", name, sysTracehound, sysOtelcol)
}

// runSystem runs the load against one system on a fresh directory.
// tracehound's correctness problems are failures; the peer's are notes.
func runSystem(ctx context.Context, o options, name string, tpls []*otlpgen.Template, nReq int, tb templateBuild,
	logf func(string, ...any)) (*Result, error) {
	res := &Result{System: name, Label: o.Label, StartedAt: time.Now().UTC(), Machine: machine(), Failures: []string{},
		TemplateBuildSec: tb.seconds, LoadgenTemplateBuildCS: tb.cpu, strict: name == sysTracehound}
	perReq := int64(tpls[0].Spans())
	res.Config = Config{Spans: int64(nReq) * perReq, Conns: o.Conns, InFlight: o.InFlight, SpansPerRequest: int(perReq),
		SpansPerTrace: otlpgen.SpansPerTrace, Templates: o.Templates, Seed: o.Seed, Client: o.Client, Gzip: o.Gzip, Smoke: o.Smoke}
	if o.Queries {
		res.Config.Queries, res.Config.QueryRuns, res.Config.TraceIDs, res.Config.FastAnalysis = true, o.QueryRuns, o.TraceIDs, o.FastAnalysis
		res.Config.QueryLog = o.QueryLog
	}

	// 2. Start the system under test on a fresh directory.
	tmp, err := os.MkdirTemp("", "thbench-"+name+"-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if o.Keep {
			logf("kept %s (data/ and the logs of %s)", tmp, name)
			return
		}
		_ = os.RemoveAll(tmp)
	}()
	var serveFlags []string
	if name == sysTracehound {
		res.ServeFlags, res.ServeEnv = o.ServeFlags, o.ServeEnv
		serveFlags = o.ServeFlags
		if o.FastAnalysis {
			f, err := writeFastAnalysisConfig(tmp)
			if err != nil {
				return nil, err
			}
			serveFlags = append(append([]string(nil), serveFlags...), f)
			res.ServeFlags = serveFlags
		}
	}
	sys, err := newSystem(o, name, tmp, serveFlags)
	if err != nil {
		return nil, err
	}
	if th, ok := sys.(*sut.Tracehound); ok && o.QueryLog {
		if err := writeQueryLogConfig(th.DataDir); err != nil {
			return nil, err
		}
	}
	if o.Keep {
		res.DataDir = tmp
	}
	logf("starting %s (files in %s)", name, tmp)
	if err := sys.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		res.Stop = sys.Stop(sctx)
	}
	defer stop()
	res.Version = sys.Version(ctx)
	logf("%s; OTLP gRPC on %s", res.Version, sys.OTLPGRPCAddr())

	if err = measure(ctx, o, sys, tpls, nReq, res, logf); err != nil {
		err = fmt.Errorf("%s: %w", name, err)
	}
	stop()
	switch {
	case name == sysTracehound && res.Stop.ExitCode != 0:
		res.Failures = append(res.Failures, fmt.Sprintf("tracehound did not stop cleanly on SIGTERM: exit code %d %s", res.Stop.ExitCode, res.Stop.Error))
	case !res.Stop.Clean():
		// tracehound fails on its exit status alone, as before; the rest
		// (its ClickHouse child outliving it, the peer's stop) is reported.
		res.Notes = append(res.Notes, fmt.Sprintf("%s did not stop cleanly on SIGTERM: %s", name, stopSummary(res.Stop)))
	case res.Stop.ClickHouse != nil:
		logf("%s stopped cleanly in %.1f s, then its ClickHouse in %.1f s", name, res.Stop.Seconds, res.Stop.ClickHouse.Seconds)
	default:
		logf("%s stopped cleanly in %.1f s", name, res.Stop.Seconds)
	}
	if err != nil {
		res.Failures = append(res.Failures, err.Error())
		logf("%s output (end):\n%s", name, sys.LogTail(40))
	} else if len(res.Failures) > 0 || len(res.Notes) > 0 {
		logf("%s output (end):\n%s", name, sys.LogTail(20))
	}
	res.Pass = len(res.Failures) == 0
	return res, err
}

// stopSummary describes an unclean stop.
func stopSummary(s sut.StopResult) string {
	msg := fmt.Sprintf("exit code %d %s", s.ExitCode, s.Error)
	if c := s.ClickHouse; c != nil && !c.Clean() {
		msg += fmt.Sprintf("; its ClickHouse: exit code %d %s", c.ExitCode, c.Error)
	}
	return msg
}

// measure runs the load and collects every number.
func measure(ctx context.Context, o options, sys sut.System, tpls []*otlpgen.Template, nReq int, res *Result, logf func(string, ...any)) error {
	trackers := map[string]*procstat.Tracker{sut.RoleCollector: procstat.NewTracker(), sut.RoleClickHouse: procstat.NewTracker()}
	sample := func() {
		for role, pid := range sys.Processes() {
			if tr := trackers[role]; tr != nil {
				tr.Sample(pid)
			}
		}
	}
	res.LoadAvgBefore = procstat.LoadAvg1()
	busy0, _ := procstat.SystemBusy()
	sample()
	base := map[string]time.Duration{}
	for role, tr := range trackers {
		base[role] = tr.CPU()
	}
	store := sys.Store()
	stored := func(ctx context.Context) (int64, int64, error) {
		s, p, ok, err := sys.Progress(ctx)
		if err != nil || ok {
			return s, p, err
		}
		v, err := store.CH.Ints(ctx, "SELECT count() FROM "+store.FullName())
		if err != nil {
			return 0, 0, err
		}
		return v[0], 0, nil
	}
	preStored, _, err := stored(ctx)
	if err != nil {
		return fmt.Errorf("reading storage progress: %w", err)
	}
	var at *analysisTracker // with --queries: follows the analyzer from the first send
	if o.Queries {
		an, ok := sys.(sut.Analyzer)
		if !ok {
			return errNoAnalyzer
		}
		if at, err = newAnalysisTracker(ctx, an, analysisLagQuery(store)); err != nil {
			return err
		}
	}

	// 3. Load.
	st := &load.Stats{}
	cfg := load.Config{Addr: sys.OTLPGRPCAddr(), Conns: o.Conns, InFlight: o.InFlight, Requests: nReq,
		Templates: tpls, Seed: o.Seed, Client: o.Client, Gzip: o.Gzip}
	loadDone := make(chan error, 1)
	selfCPU0 := procstat.SelfCPU()
	start := time.Now()
	if at != nil {
		at.begin(start)
	}
	go func() { loadDone <- load.Run(ctx, cfg, st) }()

	// snap is the state at the moment every acknowledged span was stored;
	// with a store that may duplicate, it is taken at the first check that
	// found them all and kept when the next check finds the same row count.
	type snap struct {
		at             time.Time
		cpu            map[string]time.Duration
		busy, driver   time.Duration
		rows, distinct int64
	}
	takeSnap := func(rows, distinct int64) snap {
		sample()
		s := snap{at: time.Now(), cpu: map[string]time.Duration{}, driver: procstat.SelfCPU() - selfCPU0, rows: rows, distinct: distinct}
		for role, tr := range trackers {
			s.cpu[role] = tr.CPU()
		}
		s.busy, _ = procstat.SystemBusy()
		return s
	}
	var (
		acked                   bool
		ackAt                   time.Time
		end, candidate          snap
		lastCheck               time.Time
		selfCPU                 time.Duration
		lastStored, lastPending int64
		lastDistinct            int64 = -1
		lastProgress                  = time.Now()
		lastPrint                     = time.Now()
		printedStored           int64
		loadErr                 error
	)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for end.at.IsZero() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-loadDone:
			acked, ackAt, selfCPU, loadErr = true, time.Now(), procstat.SelfCPU()-selfCPU0, err
			if loadErr != nil {
				return fmt.Errorf("load: %w", loadErr)
			}
		case <-tick.C:
		}
		sample()
		s, p, err := stored(ctx)
		if err == nil {
			if s-preStored != lastStored || p != lastPending {
				lastProgress = time.Now()
			}
			lastStored, lastPending = s-preStored, p
		}
		if at != nil {
			at.sample(ctx, time.Now(), lastStored)
		}
		if acked && lastStored >= st.AckedSpans.Load() && lastPending == 0 {
			if !store.MayDuplicate {
				end = takeSnap(lastStored, lastStored)
				break
			}
			// Rows may include duplicates: count distinct spans, at most
			// once a second, until they are all there and the row count
			// stands still between two checks.
			if time.Since(lastCheck) >= settleCheckEvery {
				lastCheck = time.Now()
				v, err := store.CH.Ints(ctx, fmt.Sprintf("SELECT count(), uniqExact(%s) FROM %s", store.SpanKey, store.FullName()))
				if err == nil {
					rows, distinct := v[0]-preStored, v[1]-preStored
					if distinct != lastDistinct {
						lastProgress, lastDistinct = time.Now(), distinct
					}
					switch {
					case distinct < st.AckedSpans.Load():
						candidate = snap{}
					case !candidate.at.IsZero() && candidate.rows == rows:
						end = candidate
					default:
						candidate = takeSnap(rows, distinct)
					}
				}
			}
		}
		if now := time.Now(); end.at.IsZero() && now.Sub(lastPrint) >= progressEvery {
			rate := float64(lastStored-printedStored) / now.Sub(lastPrint).Seconds()
			procs := sys.Processes()
			analysed := ""
			if at != nil {
				analysed = fmt.Sprintf("  analysed %9d (lag %3.0f s)", at.analysed(), at.lastLag)
			}
			fmt.Fprintf(os.Stderr, "[%6.1fs] %s: sent %9d  acked %9d  stored %9d  queue %7d  %7.0f spans/s stored  retries %4d  RSS collector %5d MB, ClickHouse %5d MB%s\n",
				now.Sub(start).Seconds(), sys.Name(), st.SentSpans.Load(), st.AckedSpans.Load(), lastStored, lastPending, rate, st.Retries.Load(),
				procstat.RSS(procs[sut.RoleCollector])>>20, procstat.RSS(procs[sut.RoleClickHouse])>>20, analysed)
			lastPrint, printedStored = now, lastStored
		}
		if end.at.IsZero() && acked && time.Since(lastProgress) > o.SettleTimeout {
			distinct := lastStored
			if store.MayDuplicate {
				if v, err := store.CH.Ints(ctx, fmt.Sprintf("SELECT uniqExact(%s) FROM %s", store.SpanKey, store.FullName())); err == nil {
					lastDistinct = v[0] - preStored
				}
				distinct = max(0, lastDistinct)
			}
			res.problem("spans not all stored: %d of %d acknowledged after %v without progress (queue %d)",
				distinct, st.AckedSpans.Load(), o.SettleTimeout, lastPending)
			end = takeSnap(lastStored, distinct)
		}
	}
	busy := end.busy - busy0
	elapsed := end.at.Sub(start)
	if at != nil {
		at.ingestEnd(ctx, end.at, lastStored)
	}
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s: %d of %d acknowledged spans stored (%d rows)\n", elapsed.Seconds(), sys.Name(), end.distinct, st.AckedSpans.Load(), end.rows)

	// Load numbers.
	res.Requests = st.Requests.Load()
	res.SentSpans = st.SentSpans.Load()
	res.AckedSpans = st.AckedSpans.Load()
	res.RejectedSpans = st.RejectedSpans.Load()
	res.FailedSpans = st.FailedSpans.Load()
	res.Retries = st.Retries.Load()
	res.RetriesByCode = Retries{st.RetryUnavailable.Load(), st.RetryExhausted.Load(), st.RetryDeadline.Load(), st.RetryOther.Load()}
	res.RetryWaitS = time.Duration(st.RetryWaitNanos.Load()).Seconds()
	if e, ok := st.LastError.Load().(string); ok {
		res.LastError = e
	}
	if res.Requests > 0 {
		var sum int64
		for _, t := range tpls {
			sum += int64(t.Size())
		}
		res.RequestBytesAvg = sum / int64(len(tpls))
	}
	res.AckSeconds = ackAt.Sub(start).Seconds()
	res.StoredSeconds = elapsed.Seconds()
	res.AckSpansPerSec = float64(res.AckedSpans) / res.AckSeconds
	res.SpansPerSec = float64(end.distinct) / res.StoredSeconds
	perM := func(d time.Duration, n int64) float64 {
		if n == 0 {
			return 0
		}
		return d.Seconds() / float64(n) * 1e6
	}
	coll := end.cpu[sut.RoleCollector] - base[sut.RoleCollector]
	chc := end.cpu[sut.RoleClickHouse] - base[sut.RoleClickHouse]
	res.CollectorCPUS = coll.Seconds()
	res.CollectorCPUSPerM = perM(coll, end.distinct)
	res.CollectorPeakRSSMB = float64(trackers[sut.RoleCollector].PeakRSS()) / (1 << 20)
	res.ClickHouseCPUS = chc.Seconds()
	res.ClickHouseCPUSPerM = perM(chc, end.distinct)
	res.ClickHousePeakRSSMB = float64(trackers[sut.RoleClickHouse].PeakRSS()) / (1 << 20)
	res.ClickHouseProcesses = trackers[sut.RoleClickHouse].PIDs()
	res.LoadgenCPUS = selfCPU.Seconds()
	res.LoadgenCPUSPerM = perM(selfCPU, res.SentSpans)
	// The driver's own CPU while waiting for storage is negligible (polling).
	res.OtherCPUS = max(0, (busy - coll - chc - end.driver).Seconds())
	if res.ClickHouseProcesses > 1 {
		res.problem("the embedded ClickHouse was restarted during the run (%d processes)", res.ClickHouseProcesses)
	}
	if cr, ok := sys.(interface {
		Counters(context.Context) (sut.CollectorCounters, error)
	}); ok {
		if c, err := cr.Counters(ctx); err == nil {
			res.CollectorCounters = &c
		} else {
			logf("reading the collector's counters: %v", err)
		}
	}

	// With --queries: wait for the analyzer, then time the API, before the
	// storage checks below add their own load.
	if at != nil {
		if err := analysisAndQueries(ctx, o, sys, at, lastStored, trackers, sample, res, logf); err != nil {
			return err
		}
	}

	// 4. Storage: correctness, then size before and after OPTIMIZE FINAL.
	qctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	table := store.FullName()
	v, err := store.CH.Ints(qctx, fmt.Sprintf("SELECT count(), uniqExact(%s) FROM %s", store.SpanKey, table))
	if err != nil {
		return fmt.Errorf("counting stored spans: %w", err)
	}
	res.StoredRows, res.DistinctSpans = v[0], v[1]
	res.Duplicates = res.StoredRows - res.DistinctSpans
	res.Lost = max(0, res.AckedSpans-res.DistinctSpans)
	if res.Before, err = disk(qctx, store.CH, store.Database, store.Table); err != nil {
		return err
	}
	others := make([]TableDisk, len(store.OtherTables))
	for i, t := range store.OtherTables {
		others[i].Table = store.Database + "." + t
		if others[i].Before, err = disk(qctx, store.CH, store.Database, t); err != nil {
			others[i].Error = err.Error()
		}
	}
	logf("stored %d rows (%d distinct) in %d parts, %.1f bytes/span; running OPTIMIZE TABLE %s FINAL …",
		res.StoredRows, res.DistinctSpans, res.Before.Parts, res.Before.BytesPerSpan, table)
	t := time.Now()
	if _, err := store.CH.Query(qctx, "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	res.OptimizeS = time.Since(t).Seconds()
	// Replaced parts stay listed until they are dropped; active ones count.
	if res.After, err = disk(qctx, store.CH, store.Database, store.Table); err != nil {
		return err
	}
	logf("after OPTIMIZE FINAL (%.1f s): %d parts, %.1f bytes/span", res.OptimizeS, res.After.Parts, res.After.BytesPerSpan)
	for i := range others {
		ot := &others[i]
		if ot.Error != "" {
			continue
		}
		t := time.Now()
		if _, err := store.CH.Query(qctx, "OPTIMIZE TABLE "+ot.Table+" FINAL"); err != nil {
			ot.Error = err.Error()
			continue
		}
		ot.OptimizeS = time.Since(t).Seconds()
		if ot.After, err = disk(qctx, store.CH, store.Database, strings.TrimPrefix(ot.Table, store.Database+".")); err != nil {
			ot.Error = err.Error()
		}
		if res.DistinctSpans > 0 {
			ot.BytesPerSpanBefore = float64(ot.Before.BytesOnDisk) / float64(res.DistinctSpans)
			ot.BytesPerSpanAfter = float64(ot.After.BytesOnDisk) / float64(res.DistinctSpans)
		}
		logf("%s: %d rows, %.1f → %.1f bytes per stored span (before → after OPTIMIZE FINAL)", ot.Table, ot.After.Rows, ot.BytesPerSpanBefore, ot.BytesPerSpanAfter)
	}
	res.OtherTables = others
	if v, err := store.CH.Ints(qctx, fmt.Sprintf("SELECT count(), uniqExact(%s) FROM %s", store.SpanKey, table)); err == nil && (v[0] != res.StoredRows || v[1] != res.DistinctSpans) {
		res.problem("row counts changed across OPTIMIZE: %d/%d → %d/%d", res.StoredRows, res.DistinctSpans, v[0], v[1])
	}

	// 5. Verdict.
	if res.Duplicates != 0 {
		res.problem("%d duplicate spans stored", res.Duplicates)
	}
	if res.Lost != 0 {
		res.problem("%d acknowledged spans lost", res.Lost)
	}
	if res.DistinctSpans != res.SentSpans {
		res.problem("stored %d distinct spans, sent %d (acked %d, rejected %d, failed %d)",
			res.DistinctSpans, res.SentSpans, res.AckedSpans, res.RejectedSpans, res.FailedSpans)
	}
	if st.RetryDeadline.Load() > 0 {
		logf("note: %d requests timed out and were resent; a resend of a request that was in fact accepted can duplicate spans", st.RetryDeadline.Load())
	}
	return nil
}

// disk reads the active parts of database.table.
func disk(ctx context.Context, ch *chq.Client, database, table string) (Disk, error) {
	v, err := ch.Ints(ctx, fmt.Sprintf(
		"SELECT toInt64(sum(rows)), toInt64(count()), toInt64(sum(bytes_on_disk)), toInt64(sum(data_uncompressed_bytes)) "+
			"FROM system.parts WHERE database = '%s' AND table = '%s' AND active", database, table))
	if err != nil {
		return Disk{}, fmt.Errorf("reading system.parts of %s.%s: %w", database, table, err)
	}
	d := Disk{Rows: v[0], Parts: v[1], BytesOnDisk: v[2], UncompressedBytes: v[3]}
	if d.Rows > 0 {
		d.BytesPerSpan = float64(d.BytesOnDisk) / float64(d.Rows)
	}
	return d, nil
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGB = (kb + (1 << 19)) >> 20
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
