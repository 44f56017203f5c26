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

	"github.com/tracehound/tracehound/bench/internal/load"
	"github.com/tracehound/tracehound/bench/internal/otlpgen"
	"github.com/tracehound/tracehound/bench/internal/procstat"
	"github.com/tracehound/tracehound/bench/internal/sut"
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

	// With --queries: the analyzer's progress and the API's latencies.
	Analysis *AnalysisResult `json:"analysis,omitempty"`
	Query    *QueryPhase     `json:"query,omitempty"`

	Stop     sut.StopResult `json:"stop"`
	DataDir  string         `json:"data_dir,omitempty"` // when kept
	Failures []string       `json:"failures"`
	Pass     bool           `json:"pass"`
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

// run does one benchmark run. A non-nil Result may come with an error (a
// run that failed half-way reports what it measured).
func run(ctx context.Context, o options, logw io.Writer) (*Result, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(logw, "thbench: "+format+"\n", args...) }
	res := &Result{System: "tracehound", Label: o.Label, ServeFlags: o.ServeFlags, ServeEnv: o.ServeEnv, StartedAt: time.Now().UTC(), Machine: machine(), Failures: []string{}}

	// 1. Pre-build the requests.
	cpu0, t0 := procstat.SelfCPU(), time.Now()
	tpls, err := otlpgen.Build(otlpgen.Options{Templates: o.Templates, Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	res.TemplateBuildSec = time.Since(t0).Seconds()
	res.LoadgenTemplateBuildCS = (procstat.SelfCPU() - cpu0).Seconds()
	perReq := int64(tpls[0].Spans())
	nReq := (o.Spans + perReq - 1) / perReq
	res.Config = Config{Spans: nReq * perReq, Conns: o.Conns, InFlight: o.InFlight, SpansPerRequest: int(perReq),
		SpansPerTrace: otlpgen.SpansPerTrace, Templates: o.Templates, Seed: o.Seed, Client: o.Client, Gzip: o.Gzip, Smoke: o.Smoke}
	if o.Queries {
		res.Config.Queries, res.Config.QueryRuns, res.Config.TraceIDs, res.Config.FastAnalysis = true, o.QueryRuns, o.TraceIDs, o.FastAnalysis
		res.Config.QueryLog = o.QueryLog
	}
	if nReq*perReq != o.Spans {
		logf("--spans %d rounded up to %d (whole requests of %d spans)", o.Spans, nReq*perReq, perReq)
	}
	logf("%d templates of %d spans (%d KiB each) built in %.2f s", len(tpls), perReq, tpls[0].Size()>>10, res.TemplateBuildSec)

	// 2. Start the system under test on a fresh directory.
	bin, err := filepath.Abs(o.Bin)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "thbench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if o.Keep {
			logf("kept %s (data/ and tracehound.log)", tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	}()
	serveFlags := o.ServeFlags
	if o.FastAnalysis {
		f, err := writeFastAnalysisConfig(tmp)
		if err != nil {
			return nil, err
		}
		serveFlags = append(append([]string(nil), serveFlags...), f)
		res.ServeFlags = serveFlags
	}
	sys := &sut.Tracehound{Bin: bin, DataDir: filepath.Join(tmp, "data"), LogPath: filepath.Join(tmp, "tracehound.log"),
		Args: serveFlags, Env: o.ServeEnv}
	if o.QueryLog {
		if err := writeQueryLogConfig(sys.DataDir); err != nil {
			return nil, err
		}
	}
	if o.Keep {
		res.DataDir = tmp
	}
	logf("starting %s serve (data in %s)", bin, sys.DataDir)
	if err := sys.Start(ctx); err != nil {
		return nil, err
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res.Stop = sys.Stop(sctx)
	}
	defer stop()
	res.Version = sys.Version(ctx)
	logf("%s; OTLP gRPC on %s", res.Version, sys.OTLPGRPCAddr())

	err = measure(ctx, o, sys, tpls, int(nReq), res, logf)
	stop()
	if res.Stop.ExitCode != 0 {
		res.Failures = append(res.Failures, fmt.Sprintf("tracehound did not stop cleanly on SIGTERM: exit code %d %s", res.Stop.ExitCode, res.Stop.Error))
	} else {
		logf("tracehound stopped cleanly in %.1f s", res.Stop.Seconds)
	}
	if err != nil {
		res.Failures = append(res.Failures, err.Error())
		logf("tracehound output (end):\n%s", sys.LogTail(40))
	} else if len(res.Failures) > 0 {
		logf("tracehound output (end):\n%s", sys.LogTail(20))
	}
	res.Pass = len(res.Failures) == 0
	return res, err
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

	var (
		acked                   bool
		ackAt, storedAt         time.Time
		selfCPU                 time.Duration
		lastStored, lastPending int64
		lastProgress            = time.Now()
		lastPrint               = time.Now()
		printedStored           int64
		loadErr                 error
	)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for storedAt.IsZero() {
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
			storedAt = time.Now()
			sample()
			break
		}
		if now := time.Now(); now.Sub(lastPrint) >= progressEvery {
			rate := float64(lastStored-printedStored) / now.Sub(lastPrint).Seconds()
			procs := sys.Processes()
			analysed := ""
			if at != nil {
				analysed = fmt.Sprintf("  analysed %9d (lag %3.0f s)", at.analysed(), at.lastLag)
			}
			fmt.Fprintf(os.Stderr, "[%6.1fs] sent %9d  acked %9d  stored %9d  queue %7d  %7.0f spans/s stored  retries %4d  RSS collector %5d MB, ClickHouse %5d MB%s\n",
				now.Sub(start).Seconds(), st.SentSpans.Load(), st.AckedSpans.Load(), lastStored, lastPending, rate, st.Retries.Load(),
				procstat.RSS(procs[sut.RoleCollector])>>20, procstat.RSS(procs[sut.RoleClickHouse])>>20, analysed)
			lastPrint, printedStored = now, lastStored
		}
		if acked && time.Since(lastProgress) > o.SettleTimeout {
			res.Failures = append(res.Failures, fmt.Sprintf("spans not all stored: %d of %d acknowledged after %v without progress (queue %d)",
				lastStored, st.AckedSpans.Load(), o.SettleTimeout, lastPending))
			storedAt = time.Now()
		}
	}
	busy1, _ := procstat.SystemBusy()
	busy := busy1 - busy0
	elapsed := storedAt.Sub(start)
	if at != nil {
		at.ingestEnd(ctx, storedAt, lastStored)
	}
	fmt.Fprintf(os.Stderr, "[%6.1fs] all %d acknowledged spans stored\n", elapsed.Seconds(), st.AckedSpans.Load())

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
	res.SpansPerSec = float64(lastStored) / res.StoredSeconds
	perM := func(d time.Duration, n int64) float64 {
		if n == 0 {
			return 0
		}
		return d.Seconds() / float64(n) * 1e6
	}
	coll := trackers[sut.RoleCollector].CPU() - base[sut.RoleCollector]
	chc := trackers[sut.RoleClickHouse].CPU() - base[sut.RoleClickHouse]
	res.CollectorCPUS = coll.Seconds()
	res.CollectorCPUSPerM = perM(coll, lastStored)
	res.CollectorPeakRSSMB = float64(trackers[sut.RoleCollector].PeakRSS()) / (1 << 20)
	res.ClickHouseCPUS = chc.Seconds()
	res.ClickHouseCPUSPerM = perM(chc, lastStored)
	res.ClickHousePeakRSSMB = float64(trackers[sut.RoleClickHouse].PeakRSS()) / (1 << 20)
	res.ClickHouseProcesses = trackers[sut.RoleClickHouse].PIDs()
	res.LoadgenCPUS = selfCPU.Seconds()
	res.LoadgenCPUSPerM = perM(selfCPU, res.SentSpans)
	// The driver's own CPU while waiting for storage is negligible (polling).
	res.OtherCPUS = max(0, (busy - coll - chc - (procstat.SelfCPU() - selfCPU0)).Seconds())
	if res.ClickHouseProcesses > 1 {
		res.Failures = append(res.Failures, fmt.Sprintf("the embedded ClickHouse was restarted during the run (%d processes)", res.ClickHouseProcesses))
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
	if res.Before, err = disk(qctx, store); err != nil {
		return err
	}
	logf("stored %d rows (%d distinct) in %d parts, %.1f bytes/span; running OPTIMIZE TABLE %s FINAL …",
		res.StoredRows, res.DistinctSpans, res.Before.Parts, res.Before.BytesPerSpan, table)
	t := time.Now()
	if _, err := store.CH.Query(qctx, "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	res.OptimizeS = time.Since(t).Seconds()
	// Replaced parts stay listed until they are dropped; active ones count.
	if res.After, err = disk(qctx, store); err != nil {
		return err
	}
	logf("after OPTIMIZE FINAL (%.1f s): %d parts, %.1f bytes/span", res.OptimizeS, res.After.Parts, res.After.BytesPerSpan)
	if v, err := store.CH.Ints(qctx, fmt.Sprintf("SELECT count(), uniqExact(%s) FROM %s", store.SpanKey, table)); err == nil && (v[0] != res.StoredRows || v[1] != res.DistinctSpans) {
		res.Failures = append(res.Failures, fmt.Sprintf("row counts changed across OPTIMIZE: %d/%d → %d/%d", res.StoredRows, res.DistinctSpans, v[0], v[1]))
	}

	// 5. Verdict.
	if res.Duplicates != 0 {
		res.Failures = append(res.Failures, fmt.Sprintf("%d duplicate spans stored", res.Duplicates))
	}
	if res.Lost != 0 {
		res.Failures = append(res.Failures, fmt.Sprintf("%d acknowledged spans lost", res.Lost))
	}
	if res.DistinctSpans != res.SentSpans {
		res.Failures = append(res.Failures, fmt.Sprintf("stored %d distinct spans, sent %d (acked %d, rejected %d, failed %d)",
			res.DistinctSpans, res.SentSpans, res.AckedSpans, res.RejectedSpans, res.FailedSpans))
	}
	if st.RetryDeadline.Load() > 0 {
		logf("note: %d requests timed out and were resent; a resend of a request that was in fact accepted can duplicate spans", st.RetryDeadline.Load())
	}
	return nil
}

// disk reads the active parts of the spans table.
func disk(ctx context.Context, s sut.Store) (Disk, error) {
	v, err := s.CH.Ints(ctx, fmt.Sprintf(
		"SELECT toInt64(sum(rows)), toInt64(count()), toInt64(sum(bytes_on_disk)), toInt64(sum(data_uncompressed_bytes)) "+
			"FROM system.parts WHERE database = '%s' AND table = '%s' AND active", s.Database, s.Table))
	if err != nil {
		return Disk{}, fmt.Errorf("reading system.parts: %w", err)
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
