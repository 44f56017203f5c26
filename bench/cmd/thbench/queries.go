package main

// The analysis and query benchmark (--queries): after the load, wait until
// the analyzer has analysed every stored span, then time the HTTP API on the
// stored data. See docs/benchmarks.md, "Analysis and queries at 10 million
// spans".

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/bench/internal/procstat"
	"github.com/tracehound/tracehound/bench/internal/sut"
)

const (
	// caughtUpFraction: the analyzer has caught up when it analysed at
	// least this share of the stored spans and stopped growing (all of them,
	// normally: every trace is sent whole in one request).
	caughtUpFraction = 0.99
	// analysisQuiet is how long the analysed count must stand still at or
	// above caughtUpFraction (but below 100 %) before the driver accepts it
	// as final: longer than idle + window + interval (35 s by default), the
	// longest a ready window can wait for its pass.
	analysisQuiet     = 45 * time.Second
	fastAnalysisQuiet = 5 * time.Second
	// curveEvery is how often the analysis progress is kept in the result.
	curveEvery = 5 * time.Second
	// queryTimeout bounds one API request (the server's own is 30 s).
	queryTimeout = 60 * time.Second
)

// fastAnalysisYAML is the configuration --fast-analysis gives the server, so
// a small run's traces are analysed within ~2 s instead of 20–35 s.
const fastAnalysisYAML = `# written by thbench --fast-analysis
analysis:
  window: 1s
  idle: 1s
  interval: 200ms
`

// Targets the query latencies are reported against (not asserted).
var queryTargets = map[string]struct {
	stat string
	ms   float64
}{
	qTraceByID:    {"p95", 50},
	qServiceGraph: {"p95", 300},
}

// Names of the timed queries.
const (
	qTraceByID     = "trace by id"
	qServiceGraph  = "service graph 24 h"
	qFindings      = "findings 24 h"
	qServices      = "services 24 h"
	qSearchAttr    = "trace search attr (1 h)"
	qSearchNeedle  = "trace search rare attr (1 h)"
	qSearchService = "trace search service (1 h)"
	qSearchAll     = "trace search, no filter (1 h)"
)

// AnalysisResult is how fast the analyzer went through the stored spans.
// Times are seconds from the first send.
type AnalysisResult struct {
	StoredSpans         int64   `json:"stored_spans"`
	AnalysedSpans       int64   `json:"analysed_spans"` // tracehound_analysis_spans_total at catch-up
	AnalysedTraces      int64   `json:"analysed_traces"`
	AnalysedFraction    float64 `json:"analysed_fraction"`
	UnitsOK             int64   `json:"units_ok"`
	UnitsError          int64   `json:"units_error"`
	FindingObservations int64   `json:"finding_observations"`
	CaughtUp            bool    `json:"caught_up"`

	FirstAnalysedS float64 `json:"first_analysed_s"` // first poll that saw analysed spans
	IngestEndS     float64 `json:"ingest_end_s"`     // every acknowledged span stored
	CaughtUpS      float64 `json:"caught_up_s"`      // the analysed count reached its final value
	// CatchUpAfterIngestS = CaughtUpS − IngestEndS; at least idle + window
	// (30 s by default) even for an analyzer that keeps up.
	CatchUpAfterIngestS float64 `json:"catch_up_after_ingest_s"`
	// SpansPerSec = AnalysedSpans ÷ (CaughtUpS − FirstAnalysedS).
	SpansPerSec float64 `json:"spans_per_s"`
	// UnitSeconds is the time the analyzer spent inside units (sum of
	// tracehound_analysis_unit_duration_seconds); BusySpansPerSec =
	// AnalysedSpans ÷ UnitSeconds, its rate while it has work.
	UnitSeconds     float64 `json:"unit_seconds"`
	BusySpansPerSec float64 `json:"busy_spans_per_s"`

	// At the end of ingest: spans stored but not analysed yet, and the lag
	// (server time − start of the newest analysed window, from
	// analysis_units; ≥ idle + window = 30 s by default when keeping up).
	BacklogAtIngestEnd int64   `json:"backlog_spans_at_ingest_end"`
	LagAtIngestEndS    float64 `json:"lag_s_at_ingest_end"`
	MaxLagS            float64 `json:"max_lag_s"`
	MaxBacklog         int64   `json:"max_backlog_spans"`

	// From the end of ingest to catch-up only the analyzer (and merges)
	// work: their CPU then.
	DrainCollectorCPUS  float64 `json:"drain_collector_cpu_s"`
	DrainClickHouseCPUS float64 `json:"drain_clickhouse_cpu_s"`
	DrainOtherCPUS      float64 `json:"drain_other_cpu_s"`

	// ServerQueries: system.query_log from the first send to catch-up (all
	// query kinds: the writer's inserts, the analyzer's reads and writes).
	ServerQueries []ServerQuery `json:"server_queries,omitempty"`

	Curve []AnalysisSample `json:"curve"`
}

// AnalysisSample is one point of the analysis progress.
type AnalysisSample struct {
	T        float64 `json:"t"` // seconds from the first send
	Stored   int64   `json:"stored"`
	Analysed int64   `json:"analysed"`
	Backlog  int64   `json:"backlog"`
	// LagS: server time − start of the newest analysed window (-1: none yet).
	LagS float64 `json:"lag_s"`
	// LagMetricS: tracehound_analysis_lag_seconds.
	LagMetricS float64 `json:"lag_metric_s"`
	Load1      float64 `json:"load1"`
}

// QueryResult is the latency of one API query over its runs, measured by
// the client (request sent → body read) over loopback.
type QueryResult struct {
	Name    string  `json:"name"`
	Request string  `json:"request"` // the first timed request
	Runs    int     `json:"runs"`
	Errors  int     `json:"errors"`
	FirstMs float64 `json:"first_ms"` // an untimed warm-up request before the runs
	// Statistics over the runs: median, nearest-rank p95.
	MedianMs float64 `json:"median_ms"`
	P95Ms    float64 `json:"p95_ms"`
	MinMs    float64 `json:"min_ms"`
	MaxMs    float64 `json:"max_ms"`
	MeanMs   float64 `json:"mean_ms"`
	// Result describes the last response (e.g. "10 spans", "23 edges").
	Result        string    `json:"result"`
	ResponseBytes int64     `json:"response_bytes_avg"`
	LastError     string    `json:"last_error,omitempty"`
	TargetStat    string    `json:"target_stat,omitempty"`
	TargetMs      float64   `json:"target_ms,omitempty"`
	MetTarget     *bool     `json:"met_target,omitempty"`
	Ms            []float64 `json:"ms"`
}

// QueryPhase is the query benchmark and its context.
type QueryPhase struct {
	StartedS   float64 `json:"started_s"` // from the first send
	Seconds    float64 `json:"seconds"`
	Load1      float64 `json:"loadavg1_before"`
	OtherCPUS  float64 `json:"other_cpu_s"`
	SpansParts int64   `json:"spans_parts"` // active parts when the queries began
	TraceParts int64   `json:"traces_parts"`
	// Peak RSS of the run so far (VmHWM), at the end of the queries.
	CollectorPeakRSSMB  float64 `json:"collector_peak_rss_mb"`
	ClickHousePeakRSSMB float64 `json:"clickhouse_peak_rss_mb"`
	// ServerQueries: what ClickHouse's system.query_log says about the
	// queries that ran during the phase, per normalised query, most total
	// time first (empty when the query log is off).
	ServerQueries []ServerQuery `json:"server_queries,omitempty"`
	Queries       []QueryResult `json:"queries"`
}

// ServerQuery aggregates system.query_log rows of one normalised query.
type ServerQuery struct {
	Query      string  `json:"query_text"` // one example, whitespace collapsed, cut at 300 characters
	Count      int64   `json:"count"`
	TotalS     float64 `json:"total_s"`
	MedianMs   float64 `json:"median_ms"`
	MaxMs      float64 `json:"max_ms"`
	ReadRows   float64 `json:"read_rows_avg"`
	ReadBytes  float64 `json:"read_bytes_avg"`
	MemoryPeak float64 `json:"memory_bytes_max"`
}

// analysisTracker follows the analyzer from the first send on.
type analysisTracker struct {
	an       sut.Analyzer
	lagQuery func(ctx context.Context) (float64, error)
	onTick   func() // called on every poll of waitAnalysis
	start    time.Time

	base       int64 // analysed spans before the load (0 on a fresh server)
	last       sut.AnalysisProgress
	firstAt    time.Time
	lastGrowth time.Time
	lastCurve  time.Time
	lastLag    float64
	lastLagAt  time.Time
	res        AnalysisResult
	err        error
}

func newAnalysisTracker(ctx context.Context, an sut.Analyzer, lagQuery func(context.Context) (float64, error)) (*analysisTracker, error) {
	p, err := an.AnalysisProgress(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading analysis progress: %w", err)
	}
	return &analysisTracker{an: an, lagQuery: lagQuery, base: p.Spans, last: p, lastLag: -1}, nil
}

// begin marks the first send.
func (a *analysisTracker) begin(t time.Time) { a.start, a.lastGrowth = t, t }

// sample polls the analyzer; stored is the count of stored spans now.
func (a *analysisTracker) sample(ctx context.Context, now time.Time, stored int64) {
	p, err := a.an.AnalysisProgress(ctx)
	if err != nil {
		a.err = err
		return
	}
	if p.Spans > a.last.Spans {
		a.lastGrowth = now
		if a.firstAt.IsZero() && p.Spans > a.base {
			a.firstAt = now
		}
	}
	a.last = p
	backlog := stored - (p.Spans - a.base)
	a.res.MaxBacklog = max(a.res.MaxBacklog, backlog)
	if now.Sub(a.lastLagAt) >= progressEvery {
		if lag, err := a.lagQuery(ctx); err == nil {
			a.lastLag = lag
			a.res.MaxLagS = max(a.res.MaxLagS, lag)
		}
		a.lastLagAt = now
	}
	if a.res.Curve == nil || now.Sub(a.lastCurve) >= curveEvery {
		a.res.Curve = append(a.res.Curve, AnalysisSample{T: round1(now.Sub(a.start).Seconds()), Stored: stored,
			Analysed: p.Spans - a.base, Backlog: backlog, LagS: a.lastLag, LagMetricS: round1(p.LagSeconds), Load1: procstat.LoadAvg1()})
		a.lastCurve = now
	}
}

func (a *analysisTracker) analysed() int64 { return a.last.Spans - a.base }

// ingestEnd records the state when every span is stored.
func (a *analysisTracker) ingestEnd(ctx context.Context, now time.Time, stored int64) {
	a.lastLagAt = time.Time{} // force a fresh lag reading
	a.lastCurve = time.Time{}
	a.sample(ctx, now, stored)
	a.res.IngestEndS = now.Sub(a.start).Seconds()
	a.res.BacklogAtIngestEnd = stored - a.analysed()
	a.res.LagAtIngestEndS = a.lastLag
}

// waitAnalysis polls until the analyzer has caught up with stored spans, or
// made no progress for timeout; a.onTick (if set) runs on every poll.
func waitAnalysis(ctx context.Context, a *analysisTracker, stored int64, timeout, quiet time.Duration, logf func(string, ...any)) error {
	waitFrom := time.Now()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	lastPrint := time.Now()
	for {
		now := time.Now()
		n := a.analysed()
		idle := now.Sub(a.lastGrowth)
		switch {
		case n >= stored:
			a.res.CaughtUp = true
		case float64(n) >= caughtUpFraction*float64(stored) && idle >= quiet:
			a.res.CaughtUp = true
		case now.Sub(maxTime(a.lastGrowth, waitFrom)) >= timeout:
			return fmt.Errorf("analysis did not catch up: %d of %d stored spans analysed (%.2f %%), no progress for %v",
				n, stored, 100*float64(n)/float64(max(stored, 1)), timeout)
		}
		if a.res.CaughtUp {
			return nil
		}
		if now.Sub(lastPrint) >= progressEvery {
			fmt.Fprintf(os.Stderr, "[%6.1fs] analysed %9d of %9d spans (%5.1f %%), lag %4.0f s, units %d (+%d failed), load %.1f\n",
				now.Sub(a.start).Seconds(), n, stored, 100*float64(n)/float64(max(stored, 1)), a.lastLag,
				a.last.UnitsOK, a.last.UnitsError, procstat.LoadAvg1())
			lastPrint = now
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if a.onTick != nil {
			a.onTick()
		}
		a.sample(ctx, time.Now(), stored)
		if a.err != nil {
			logf("reading analysis progress: %v", a.err)
			a.err = nil
		}
	}
}

// finish fills the result once the wait is over.
func (a *analysisTracker) finish(stored int64) *AnalysisResult {
	r := &a.res
	r.StoredSpans = stored
	r.AnalysedSpans = a.analysed()
	r.AnalysedTraces = a.last.Traces
	r.UnitsOK, r.UnitsError = a.last.UnitsOK, a.last.UnitsError
	r.FindingObservations = a.last.FindingObservations
	if stored > 0 {
		r.AnalysedFraction = float64(r.AnalysedSpans) / float64(stored)
	}
	r.UnitSeconds = a.last.UnitSeconds
	if r.UnitSeconds > 0 {
		r.BusySpansPerSec = float64(r.AnalysedSpans) / r.UnitSeconds
	}
	if !a.firstAt.IsZero() {
		r.FirstAnalysedS = a.firstAt.Sub(a.start).Seconds()
	}
	if r.CaughtUp {
		r.CaughtUpS = a.lastGrowth.Sub(a.start).Seconds()
		r.CatchUpAfterIngestS = max(0, r.CaughtUpS-r.IngestEndS)
		if d := r.CaughtUpS - r.FirstAnalysedS; d > 0 {
			r.SpansPerSec = float64(r.AnalysedSpans) / d
		}
	}
	return r
}

// analysisLagQuery returns server time − start of the newest analysed
// window, from the analysis_units table (shard 65535 marks the per-minute
// regression pass, not a window), or -1 when none is done.
func analysisLagQuery(store sut.Store) func(ctx context.Context) (float64, error) {
	return func(ctx context.Context) (float64, error) {
		v, err := store.CH.Ints(ctx, fmt.Sprintf(
			"SELECT toInt64(dateDiff('second', max(window_start), now())), toInt64(count()) FROM %s.analysis_units WHERE state = 'done' AND shard != 65535",
			store.Database))
		if err != nil {
			return -1, err
		}
		if v[1] == 0 {
			return -1, nil
		}
		return float64(v[0]), nil
	}
}

// runQueries times the API on the stored data.
func runQueries(ctx context.Context, o options, apiURL string, store sut.Store, logf func(string, ...any)) (*QueryPhase, error) {
	ph := &QueryPhase{Load1: procstat.LoadAvg1()}
	if v, err := store.CH.Ints(ctx, fmt.Sprintf(
		"SELECT toInt64(countIf(table = 'spans')), toInt64(countIf(table = 'traces')) FROM system.parts WHERE database = '%s' AND active", store.Database)); err == nil {
		ph.SpansParts, ph.TraceParts = v[0], v[1]
	}
	db := store.Database

	// Trace ids, picked at random by ClickHouse, plus one for the warm-up.
	out, err := store.CH.Query(ctx, fmt.Sprintf("SELECT lower(hex(trace_id)) FROM %s.traces ORDER BY rand() LIMIT %d FORMAT TabSeparated", db, o.TraceIDs+1))
	if err != nil {
		return nil, fmt.Errorf("picking trace ids: %w", err)
	}
	ids := strings.Fields(out)
	if len(ids) < 2 {
		return nil, fmt.Errorf("picking trace ids: got %d", len(ids))
	}
	// A rare attribute value: the user of one stored span.
	needle, err := store.CH.Query(ctx, fmt.Sprintf(
		"SELECT attributes['enduser.id'] FROM %s.spans WHERE attributes['enduser.id'] != '' ORDER BY rand() LIMIT 1 FORMAT TabSeparatedRaw", db))
	if err != nil {
		return nil, fmt.Errorf("picking an attribute value: %w", err)
	}

	now := time.Now()
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	day := url.Values{"from": {ms(now.Add(-24 * time.Hour))}, "to": {ms(now)}}.Encode()
	hour := func(extra url.Values) string {
		v := url.Values{"from": {ms(now.Add(-time.Hour))}, "to": {ms(now)}, "limit": {"20"}}
		for k, x := range extra {
			v[k] = x
		}
		return v.Encode()
	}
	repeat := func(u string) []string {
		out := make([]string, o.QueryRuns+1)
		for i := range out {
			out[i] = u
		}
		return out
	}
	traceURLs := make([]string, len(ids))
	for i, id := range ids {
		traceURLs[i] = "/api/v1/traces/" + id
	}
	specs := []struct {
		name  string
		urls  []string // the first is the warm-up
		check func([]byte) (string, error)
	}{
		{qTraceByID, traceURLs, countOf("spans", "spans", otlpSpansPerTrace)},
		{qServiceGraph, repeat("/api/v1/servicegraph?" + day), countOf("edges", "edges", 1)},
		{qFindings, repeat("/api/v1/findings?" + day), countOf("findings", "findings", 0)},
		{qServices, repeat("/api/v1/services?" + day), countOf("services", "services", 1)},
		{qSearchAttr, repeat("/api/v1/traces?" + hour(url.Values{"attr": {"http.request.method=POST"}})), countOf("traces", "traces", 1)},
		{qSearchNeedle, repeat("/api/v1/traces?" + hour(url.Values{"attr": {"enduser.id=" + needle}})), countOf("traces", "traces", 1)},
		{qSearchService, repeat("/api/v1/traces?" + hour(url.Values{"service": {"payment"}})), countOf("traces", "traces", 1)},
		{qSearchAll, repeat("/api/v1/traces?" + hour(nil)), countOf("traces", "traces", 1)},
	}
	client := &http.Client{Timeout: queryTimeout}
	for _, sp := range specs {
		q := timeQuery(ctx, client, apiURL, sp.name, sp.urls, sp.check)
		if t, ok := queryTargets[sp.name]; ok {
			v := q.P95Ms
			if t.stat == "median" {
				v = q.MedianMs
			}
			met := v <= t.ms && q.Errors == 0
			q.TargetStat, q.TargetMs, q.MetTarget = t.stat, t.ms, &met
		}
		logf("%-30s %4d runs  median %8.1f ms  p95 %8.1f ms  max %8.1f ms  (first %.1f ms; %s)%s",
			q.Name, q.Runs, q.MedianMs, q.P95Ms, q.MaxMs, q.FirstMs, q.Result, errNote(q))
		ph.Queries = append(ph.Queries, q)
		if ctx.Err() != nil {
			return ph, ctx.Err()
		}
	}
	ph.ServerQueries = serverQueries(ctx, store, now.Add(-time.Second), time.Time{}, []string{"Select"}, 15)
	return ph, nil
}

// otlpSpansPerTrace is the size of every generated trace.
const otlpSpansPerTrace = 10

func errNote(q QueryResult) string {
	if q.Errors == 0 {
		return ""
	}
	return fmt.Sprintf("  %d ERRORS: %s", q.Errors, q.LastError)
}

// countOf checks a JSON response holding an array under key with at least
// minimum elements and describes it as "N noun".
func countOf(key, noun string, minimum int) func([]byte) (string, error) {
	return func(b []byte) (string, error) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return "", fmt.Errorf("response is not a JSON object: %w", err)
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(m[key], &arr); err != nil {
			return "", fmt.Errorf("response has no %q array", key)
		}
		extra := ""
		if key == "edges" {
			var nodes []json.RawMessage
			_ = json.Unmarshal(m["nodes"], &nodes)
			extra = fmt.Sprintf(", %d nodes", len(nodes))
		}
		s := fmt.Sprintf("%d %s%s", len(arr), noun, extra)
		if len(arr) < minimum {
			return s, fmt.Errorf("%d %s, want at least %d", len(arr), noun, minimum)
		}
		return s, nil
	}
}

// timeQuery requests urls[0] untimed (warm-up), then each of the others
// once, in order, and summarises the latencies.
func timeQuery(ctx context.Context, client *http.Client, base, name string, urls []string, check func([]byte) (string, error)) QueryResult {
	q := QueryResult{Name: name, Request: urls[min(1, len(urls)-1)]}
	get := func(u string) (time.Duration, int64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+u, nil)
		if err != nil {
			return 0, 0, err
		}
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return time.Since(t), 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t)
		if err != nil {
			return d, 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return d, int64(len(body)), fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
		res, err := check(body)
		q.Result = res
		return d, int64(len(body)), err
	}
	var bytes int64
	for i, u := range urls {
		if ctx.Err() != nil {
			break
		}
		d, n, err := get(u)
		if err != nil {
			q.Errors++
			q.LastError = fmt.Sprintf("GET %s: %v", u, err)
		}
		if i == 0 {
			q.FirstMs = round2(ms(d))
			continue
		}
		q.Ms = append(q.Ms, round2(ms(d)))
		bytes += n
	}
	q.Runs = len(q.Ms)
	if q.Runs > 0 {
		q.ResponseBytes = bytes / int64(q.Runs)
		q.MedianMs, q.P95Ms = percentile(q.Ms, 0.5), percentile(q.Ms, 0.95)
		q.MinMs, q.MaxMs, q.MeanMs = percentile(q.Ms, 0), percentile(q.Ms, 1), round2(mean(q.Ms))
	}
	return q
}

// percentile is the nearest-rank percentile (p in [0, 1]) of xs: the
// smallest value with at least p of the values at or below it; for an even
// count the median is the mean of the two middle values.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if p == 0.5 && len(s)%2 == 0 {
		return round2((s[len(s)/2-1] + s[len(s)/2]) / 2)
	}
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round2(x float64) float64 { return math.Round(x*100) / 100 }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// queryLogXML turns on ClickHouse's system.query_log (off in the embedded
// ClickHouse's generated config); --query-log puts it in the config.d
// directory beside that config.
const queryLogXML = `<clickhouse>
  <!-- written by thbench (query-log option) -->
  <query_log>
    <database>system</database>
    <table>query_log</table>
    <flush_interval_milliseconds>7500</flush_interval_milliseconds>
  </query_log>
</clickhouse>
`

// writeQueryLogConfig enables the query log of the embedded ClickHouse that
// tracehound will start on dataDir.
func writeQueryLogConfig(dataDir string) error {
	dir := filepath.Join(dataDir, "clickhouse", "config.d")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "thbench-query-log.xml"), []byte(queryLogXML), 0o640)
}

// serverQueries summarises system.query_log between from and to (Unix
// seconds; to 0: now) per normalised query, most total time first, for
// the given query kinds (empty: all). It returns nothing when the query log
// is not available.
func serverQueries(ctx context.Context, store sut.Store, from, to time.Time, kinds []string, limit int) []ServerQuery {
	if _, err := store.CH.Query(ctx, "SYSTEM FLUSH LOGS"); err != nil {
		return nil
	}
	where := fmt.Sprintf("event_time >= toDateTime(%d)", from.Unix())
	if !to.IsZero() {
		where += fmt.Sprintf(" AND event_time <= toDateTime(%d)", to.Unix()+1)
	}
	if len(kinds) > 0 {
		where += " AND query_kind IN ('" + strings.Join(kinds, "', '") + "')"
	}
	out, err := store.CH.Query(ctx, fmt.Sprintf(`SELECT
	substring(replaceRegexpAll(any(query), '\\s+', ' '), 1, 300) AS query_text, count() AS count,
	quantileExact(0.5)(query_duration_ms) AS median_ms, max(query_duration_ms) AS max_ms,
	sum(query_duration_ms) / 1000 AS total_s,
	avg(read_rows) AS read_rows_avg, avg(read_bytes) AS read_bytes_avg, max(memory_usage) AS memory_bytes_max
FROM system.query_log
WHERE type = 'QueryFinish' AND %s
  AND query NOT LIKE '%%system.query_log%%' AND query NOT LIKE '%%system.parts%%'
GROUP BY normalized_query_hash
ORDER BY sum(query_duration_ms) DESC
LIMIT %d
FORMAT JSONEachRow SETTINGS output_format_json_quote_64bit_integers = 0`, where, limit))
	if err != nil {
		return nil
	}
	var res []ServerQuery
	for _, line := range strings.Split(out, "\n") {
		var s ServerQuery
		if json.Unmarshal([]byte(line), &s) == nil {
			res = append(res, s)
		}
	}
	return res
}

// writeFastAnalysisConfig writes fastAnalysisYAML into dir and returns the
// serve flag that loads it.
func writeFastAnalysisConfig(dir string) (string, error) {
	p := filepath.Join(dir, "analysis-fast.yaml")
	if err := os.WriteFile(p, []byte(fastAnalysisYAML), 0o644); err != nil {
		return "", err
	}
	return "--config=" + p, nil
}

// hasConfigFlag reports whether the serve flags already name a config file.
func hasConfigFlag(flags []string) bool {
	for _, f := range flags {
		if f == "--config" || f == "-config" || strings.HasPrefix(f, "--config=") || strings.HasPrefix(f, "-config=") {
			return true
		}
	}
	return false
}

var errNoAnalyzer = errors.New("--queries: the system under test has no analyzer/API")

// analysisMarkdown is the analysis result as a table.
func analysisMarkdown(w io.Writer, a *AnalysisResult) {
	fmt.Fprintln(w, "| stored spans | analysed spans | analysis spans/s (first analysed → caught up) | busy spans/s (per unit-second) | backlog at ingest end (spans) | lag at ingest end (s) | max lag (s) | catch-up after ingest (s) | units ok / failed |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	fmt.Fprintf(w, "| %d | %d (%.2f %%) | %.0f | %.0f | %d | %.0f | %.0f | %.1f | %d / %d |\n",
		a.StoredSpans, a.AnalysedSpans, 100*a.AnalysedFraction, a.SpansPerSec, a.BusySpansPerSec,
		a.BacklogAtIngestEnd, a.LagAtIngestEndS, a.MaxLagS, a.CatchUpAfterIngestS, a.UnitsOK, a.UnitsError)
}

// queriesMarkdown is the query latencies as a table.
func queriesMarkdown(w io.Writer, ph *QueryPhase) {
	fmt.Fprintln(w, "| query | runs | median ms | p95 ms | max ms | first (warm-up) ms | result | target |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|---|")
	for _, q := range ph.Queries {
		target := "—"
		if q.MetTarget != nil {
			verdict := "met"
			if !*q.MetTarget {
				verdict = "**missed**"
			}
			target = fmt.Sprintf("%s ≤ %.0f ms: %s", q.TargetStat, q.TargetMs, verdict)
		}
		result := q.Result
		if q.Errors > 0 {
			result += fmt.Sprintf(" (%d errors)", q.Errors)
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %s | %s |\n",
			q.Name, q.Runs, q.MedianMs, q.P95Ms, q.MaxMs, q.FirstMs, result, target)
	}
}

// analysisAndQueries waits for the analyzer to catch up with the stored
// spans, then times the API. A lagging analyzer is a failure of the run
// but the queries are timed anyway.
func analysisAndQueries(ctx context.Context, o options, sys sut.System, at *analysisTracker, stored int64,
	trackers map[string]*procstat.Tracker, sample func(), res *Result, logf func(string, ...any)) error {
	cpu := func() (coll, ch, self, busy time.Duration) {
		sample()
		b, _ := procstat.SystemBusy()
		return trackers[sut.RoleCollector].CPU(), trackers[sut.RoleClickHouse].CPU(), procstat.SelfCPU(), b
	}
	other := func(c0, h0, s0, b0 time.Duration) (coll, ch, oth float64) {
		c1, h1, s1, b1 := cpu()
		return (c1 - c0).Seconds(), (h1 - h0).Seconds(), max(0, (b1 - b0 - (c1 - c0) - (h1 - h0) - (s1 - s0)).Seconds())
	}

	quiet := analysisQuiet
	if o.FastAnalysis {
		quiet = fastAnalysisQuiet
	}
	logf("waiting for the analyzer: %d of %d stored spans analysed at the end of ingest", at.analysed(), stored)
	c0, h0, s0, b0 := cpu()
	at.onTick = sample
	werr := waitAnalysis(ctx, at, stored, o.AnalysisTimeout, quiet, logf)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	a := at.finish(stored)
	a.DrainCollectorCPUS, a.DrainClickHouseCPUS, a.DrainOtherCPUS = other(c0, h0, s0, b0)
	res.Analysis = a
	if o.QueryLog {
		end := at.lastGrowth
		if !a.CaughtUp {
			end = time.Now()
		}
		a.ServerQueries = serverQueries(ctx, sys.Store(), at.start, end, nil, 15)
	}
	if werr != nil {
		res.Failures = append(res.Failures, werr.Error())
		logf("%v", werr)
	} else {
		logf("analyzer caught up %.1f s after the end of ingest: %d spans analysed, %.0f spans/s from the first analysed span, %.0f spans/s per second inside units",
			a.CatchUpAfterIngestS, a.AnalysedSpans, a.SpansPerSec, a.BusySpansPerSec)
	}
	if a.UnitsError > 0 {
		logf("note: %d analysis units failed (retried later)", a.UnitsError)
	}

	an := sys.(sut.Analyzer)
	c0, h0, s0, b0 = cpu()
	t := time.Now()
	ph, err := runQueries(ctx, o, an.APIURL(), sys.Store(), logf)
	if ph != nil {
		ph.StartedS = t.Sub(at.start).Seconds()
		ph.Seconds = time.Since(t).Seconds()
		_, _, ph.OtherCPUS = other(c0, h0, s0, b0)
		ph.CollectorPeakRSSMB = float64(trackers[sut.RoleCollector].PeakRSS()) / (1 << 20)
		ph.ClickHousePeakRSSMB = float64(trackers[sut.RoleClickHouse].PeakRSS()) / (1 << 20)
		res.Query = ph
		for _, q := range ph.Queries {
			if q.Errors > 0 {
				res.Failures = append(res.Failures, fmt.Sprintf("%s: %d of %d requests failed: %s", q.Name, q.Errors, q.Runs+1, q.LastError))
			}
		}
	}
	return err
}
