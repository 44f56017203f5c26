package analysis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/analysis/detect"
	"github.com/tracehound/tracehound/storage"
)

// Config configures trace assembly and the analysis loop.
type Config struct {
	// Enabled runs the analyzer in this instance. Default true.
	Enabled bool `yaml:"enabled"`
	// Window is the width of an ingestion window, the unit of work. Default 10s.
	Window time.Duration `yaml:"window"`
	// Idle is how long a trace must receive no span before it is analysed.
	// Default 20s.
	Idle time.Duration `yaml:"idle"`
	// Interval is how often the analyzer looks for work. Default 5s.
	Interval time.Duration `yaml:"interval"`
	// Shards splits each window by trace id so several instances share it.
	// Default 4.
	Shards int `yaml:"shards"`
	// Lease is how long a claimed unit stays reserved for its instance.
	// Default 2m.
	Lease time.Duration `yaml:"lease"`
	// Lookback is how far back the analyzer looks for unanalysed windows;
	// older ones are never analysed (a warning is logged as the lag nears
	// it). Default 1h.
	Lookback time.Duration `yaml:"lookback"`
	// BatchTraces bounds the traces loaded into memory at once. Default 2000.
	BatchTraces int `yaml:"batch_traces"`
}

// NewDefaultConfig returns the defaults documented on Config.
func NewDefaultConfig() Config {
	return Config{Enabled: true, Window: 10 * time.Second, Idle: 20 * time.Second, Interval: 5 * time.Second,
		Shards: 4, Lease: 2 * time.Minute, Lookback: time.Hour, BatchTraces: 2000}
}

// Validate reports configuration errors, naming the YAML field.
func (c Config) Validate() error {
	var errs []error
	if c.Window < time.Second || c.Window%time.Second != 0 {
		errs = append(errs, fmt.Errorf("analysis.window %s must be a whole number of seconds ≥ 1s", c.Window))
	}
	if c.Idle < time.Second {
		errs = append(errs, fmt.Errorf("analysis.idle %s must be ≥ 1s", c.Idle))
	}
	if c.Interval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("analysis.interval %s must be ≥ 100ms", c.Interval))
	}
	if c.Shards < 1 || c.Shards > 1024 {
		errs = append(errs, fmt.Errorf("analysis.shards %d must be in 1..1024", c.Shards))
	}
	if c.Lease < 10*time.Second {
		errs = append(errs, fmt.Errorf("analysis.lease %s must be ≥ 10s", c.Lease))
	}
	if c.Lookback < c.Window {
		errs = append(errs, fmt.Errorf("analysis.lookback %s must be ≥ analysis.window", c.Lookback))
	}
	if c.BatchTraces < 1 {
		errs = append(errs, errors.New("analysis.batch_traces must be positive"))
	}
	return errors.Join(errs...)
}

// Analyzer assembles complete traces from ClickHouse, derives service-graph
// calls and runs the detectors, writing results back to ClickHouse. It keeps
// no state between units: work is claimed through the analysis_units table,
// so any number of collectors can run it.
type Analyzer struct {
	calls    CallObserver // nil: none
	store    *storage.Store
	cfg      Config
	det      detect.Config
	instance string
	log      *slog.Logger
	m        *analyzerMetrics

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New validates the configuration and returns an analyzer; reg may be nil.
func New(store *storage.Store, cfg Config, det detect.Config, reg prometheus.Registerer, log *slog.Logger) (*Analyzer, error) {
	if err := errors.Join(cfg.Validate(), det.Validate()); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return &Analyzer{
		store: store, cfg: cfg, det: det, log: log, m: newAnalyzerMetrics(reg),
		instance: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(r[:])),
	}, nil
}

// CallObserver receives every service-graph call once it is stored
// (redmetrics.Metrics). It must not block and must not keep the slice.
type CallObserver interface {
	ObserveCalls(calls []storage.EdgeCall)
}

// ObserveCalls makes the analyzer report the calls it stores to o. Call it
// before Start.
func (a *Analyzer) ObserveCalls(o CallObserver) { a.calls = o }

// Start launches the loop and returns at once.
func (a *Analyzer) Start(_ context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done != nil {
		return errors.New("analyzer already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	go a.loop(ctx)
	return nil
}

// Shutdown stops the loop, abandoning a unit in progress (its claim expires
// and another instance, or the next start, redoes it). Safe without Start.
func (a *Analyzer) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("analyzer did not stop: %w", ctx.Err())
	}
}

func (a *Analyzer) loop(ctx context.Context) {
	defer close(a.done)
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		if err := a.RunOnce(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("analysis pass failed; retrying next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce claims and processes every unanalysed unit that is ready.
func (a *Analyzer) RunOnce(ctx context.Context) error {
	now, err := a.store.ServerNow(ctx)
	if err != nil {
		return err
	}
	if a.det.Regression.Enabled {
		if err := a.regressionPass(ctx, now); err != nil {
			return err
		}
	}
	latest := now.Add(-a.cfg.Idle - a.cfg.Window).Truncate(a.cfg.Window)
	from := now.Add(-a.cfg.Lookback).Truncate(a.cfg.Window)
	windows, err := a.store.ActiveWindows(ctx, from, latest, a.cfg.Window)
	if err != nil || len(windows) == 0 {
		return err
	}
	done, claimed, err := a.store.UnitStates(ctx, from, a.cfg.Lease)
	if err != nil {
		return err
	}
	var todo []storage.Unit
	for _, w := range windows {
		if w.After(latest) {
			continue
		}
		for s := 0; s < a.cfg.Shards; s++ {
			u := storage.Unit{WindowStart: w, Shard: uint16(s)}
			if !done[u] && !claimed[u] {
				todo = append(todo, u)
			}
		}
	}
	if len(todo) == 0 {
		return nil
	}
	// Lag: how old the oldest unanalysed window is; near the lookback edge
	// windows are about to be skipped, which is worth a warning.
	oldest := todo[0].WindowStart.Add(a.cfg.Window)
	a.m.lag.Set(now.Sub(oldest).Seconds())
	a.m.backlog.Set(float64(len(todo)))
	if now.Sub(oldest) > a.cfg.Lookback*3/4 {
		a.log.Warn("analysis is falling behind ingest; windows older than analysis.lookback are never analysed",
			"lag", now.Sub(oldest).Round(time.Second), "lookback", a.cfg.Lookback, "pending_units", len(todo))
	}
	won, err := a.store.ClaimUnits(ctx, a.instance, todo, a.cfg.Lease, 300*time.Millisecond)
	if err != nil {
		return err
	}
	passStart := time.Now()
	renewed := passStart
	queue := won
	for len(queue) > 0 {
		// A long pass renews the claims it has not processed yet before
		// their lease ends, so that no other instance takes them over and
		// repeats the work.
		if time.Since(renewed) > a.cfg.Lease/2 {
			if queue, err = a.store.ClaimUnits(ctx, a.instance, queue, a.cfg.Lease, 300*time.Millisecond); err != nil {
				return err
			}
			renewed = time.Now()
			if len(queue) == 0 {
				break
			}
		}
		u := queue[0]
		queue = queue[1:]
		start := time.Now()
		if err := a.processUnit(ctx, u); err != nil {
			a.m.units.WithLabelValues("error").Inc()
			return fmt.Errorf("analysing unit %s: %w", u, err)
		}
		if err := a.store.MarkUnitDone(ctx, a.instance, u); err != nil {
			return err
		}
		a.m.units.WithLabelValues("ok").Inc()
		a.m.unitDuration.Observe(time.Since(start).Seconds())
		a.m.backlog.Set(float64(len(queue)))
		if len(queue) > 0 {
			a.m.lag.Set(now.Add(time.Since(passStart)).Sub(queue[0].WindowStart.Add(a.cfg.Window)).Seconds())
		} else {
			a.m.lag.Set(0)
		}
	}
	return nil
}

// regressionShard marks the per-minute regression evaluation in
// analysis_units, beside the trace shards of ingestion windows.
const regressionShard = 0xFFFF

// regressionGrace lets the spans of a minute arrive before the minute is
// evaluated.
const regressionGrace = 30 * time.Second

// regressionPass compares, once per minute and across all instances, each
// operation's p95 over the recent window with its baseline.
func (a *Analyzer) regressionPass(ctx context.Context, now time.Time) error {
	slot := now.Add(-regressionGrace).Truncate(time.Minute)
	u := storage.Unit{WindowStart: slot, Shard: regressionShard}
	done, claimed, err := a.store.UnitStates(ctx, slot, a.cfg.Lease)
	if err != nil || done[u] || claimed[u] {
		return err
	}
	won, err := a.store.ClaimUnits(ctx, a.instance, []storage.Unit{u}, a.cfg.Lease, 300*time.Millisecond)
	if err != nil || len(won) == 0 {
		return err
	}
	cfg := a.det.Regression
	recentFrom := slot.Add(-cfg.Recent)
	recent, err := a.store.OperationLatencies(ctx, recentFrom, slot)
	if err != nil {
		return err
	}
	baseline, err := a.store.OperationLatencies(ctx, recentFrom.Add(-cfg.Baseline), recentFrom)
	if err != nil {
		return err
	}
	findings := detect.Regressions(toDetectLatencies(recent), toDetectLatencies(baseline), cfg, slot)
	for i := range findings {
		f := &findings[i]
		if f.ExampleTraceIDs, err = a.store.SlowestTraces(ctx, f.Service, f.Operation, recentFrom, slot, 5); err != nil {
			return err
		}
	}
	obs, err := toObservations(findings)
	if err != nil {
		return err
	}
	if err := a.store.InsertFindingObservations(ctx, obs, "regression/"+u.String()); err != nil {
		return err
	}
	a.m.findings.Add(float64(len(obs)))
	return a.store.MarkUnitDone(ctx, a.instance, u)
}

func toDetectLatencies(in []storage.OperationLatency) []detect.OperationLatency {
	out := make([]detect.OperationLatency, len(in))
	for i, o := range in {
		out[i] = detect.OperationLatency{Service: o.Service, Operation: o.Operation, Requests: o.Requests, P95Ms: o.P95Ms}
	}
	return out
}

func (a *Analyzer) processUnit(ctx context.Context, u storage.Unit) error {
	ids, err := a.store.TracesInUnit(ctx, u, a.cfg.Window, a.cfg.Shards)
	if err != nil {
		return err
	}
	for i := 0; i < len(ids); i += a.cfg.BatchTraces {
		part := ids[i:min(i+a.cfg.BatchTraces, len(ids))]
		byID, err := a.store.LoadTraces(ctx, part)
		if err != nil {
			return err
		}
		traces := make([]detect.Trace, 0, len(byID))
		var calls []storage.EdgeCall
		spans := 0
		for _, id := range part {
			sp := byID[id]
			if len(sp) == 0 {
				continue
			}
			spans += len(sp)
			t := detect.Trace{ID: id, Spans: sp}
			traces = append(traces, t)
			calls = append(calls, a.newCalls(t)...)
		}
		token := fmt.Sprintf("%s/%d", u, i)
		if err := a.store.InsertEdgeCalls(ctx, calls, "calls/"+token); err != nil {
			return err
		}
		if a.calls != nil {
			a.calls.ObserveCalls(calls)
		}
		obs, err := toObservations(detect.Detect(traces, a.det))
		if err != nil {
			return err
		}
		if err := a.store.InsertFindingObservations(ctx, obs, "findings/"+token); err != nil {
			return err
		}
		a.m.traces.Add(float64(len(traces)))
		a.m.spans.Add(float64(spans))
		a.m.findings.Add(float64(len(obs)))
	}
	return nil
}

// newCalls returns the trace's service-graph calls that were not counted
// before. A trace that receives spans after it was analysed is analysed
// again; its earlier spans were counted then. Spans arrive in sessions
// separated by more than idle+window; only calls from the last session count.
func (a *Analyzer) newCalls(t detect.Trace) []storage.EdgeCall {
	ingested := make(map[[8]byte]int64, len(t.Spans))
	times := make([]int64, 0, len(t.Spans))
	for i := range t.Spans {
		ingested[t.Spans[i].SpanID] = t.Spans[i].IngestedAt
		times = append(times, t.Spans[i].IngestedAt)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] > times[j] })
	gap := int64((a.cfg.Idle + a.cfg.Window) / time.Second)
	sessionStart := times[0]
	for _, ts := range times[1:] {
		if sessionStart-ts > gap {
			break
		}
		sessionStart = ts
	}
	var out []storage.EdgeCall
	for _, c := range detect.Calls(t) {
		if ingested[c.SpanID] < sessionStart {
			continue
		}
		out = append(out, storage.EdgeCall{
			StartUnixNano: c.StartUnixNano, TraceID: c.TraceID, SpanID: c.SpanID,
			Source: c.Source, SourceKind: c.SourceKind, Target: c.Target, TargetKind: c.TargetKind,
			Operation: c.Operation, DurationNs: c.DurationNs, Error: c.Error,
			RequestBytes: c.RequestBytes, ResponseBytes: c.ResponseBytes,
		})
	}
	return out
}

func toObservations(fs []detect.Finding) ([]storage.FindingObservation, error) {
	out := make([]storage.FindingObservation, 0, len(fs))
	for _, f := range fs {
		ev, err := json.Marshal(f.Evidence)
		if err != nil {
			return nil, fmt.Errorf("encoding evidence of finding %s: %w", f.ID, err)
		}
		out = append(out, storage.FindingObservation{
			ID: f.ID, Kind: f.Kind, Service: f.Service, Operation: f.Operation, Peer: f.Peer, PeerKind: f.PeerKind,
			Severity: f.Severity, Score: f.Score, Summary: f.Summary, EvidenceJSON: string(ev),
			Occurrences: uint64(f.Occurrences), ExampleTraceIDs: f.ExampleTraceIDs,
			FirstSeen: f.FirstSeen, LastSeen: f.LastSeen,
		})
	}
	return out, nil
}

type analyzerMetrics struct {
	units        *prometheus.CounterVec
	unitDuration prometheus.Histogram
	traces       prometheus.Counter
	spans        prometheus.Counter
	findings     prometheus.Counter
	lag          prometheus.Gauge
	backlog      prometheus.Gauge
}

func newAnalyzerMetrics(reg prometheus.Registerer) *analyzerMetrics {
	m := &analyzerMetrics{
		units: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "analysis",
			Name: "units_total", Help: "Analysis units processed, by outcome."}, []string{"outcome"}),
		unitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "tracehound", Subsystem: "analysis",
			Name: "unit_duration_seconds", Help: "Time to analyse one unit.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
		traces: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "analysis",
			Name: "traces_total", Help: "Traces assembled and analysed."}),
		spans: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "analysis",
			Name: "spans_total", Help: "Spans analysed."}),
		findings: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "analysis",
			Name: "finding_observations_total", Help: "Finding observations written."}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tracehound", Subsystem: "analysis",
			Name: "backlog_units", Help: "Analysis units ready but not yet analysed."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tracehound", Subsystem: "analysis",
			Name: "lag_seconds", Help: "Age of the oldest ingestion window that is ready but not yet analysed (0 when caught up)."}),
	}
	if reg != nil {
		reg.MustRegister(m.units, m.unitDuration, m.traces, m.spans, m.findings, m.lag, m.backlog)
	}
	return m
}
