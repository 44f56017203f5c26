package sut

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/bench/internal/chq"
)

// Collector is the peer system: the OpenTelemetry Collector contrib's
// pipeline otlp receiver → batch processor → ClickHouse exporter (the
// bench/otelcol distribution, bin/otelcol-bench) writing into an embedded
// ClickHouse of its own, the one `tracehound serve` would start, run alone
// with `tracehound clickhouse` on a fresh data directory.
//
// Every component runs with its defaults; the config sets only the
// addresses, the database (otel) and create_schema. The collector's own
// metrics are served on a free loopback port: the driver reads from them
// when the collector has nothing left to export.
type Collector struct {
	Bin        string // the otelcol-bench binary
	Tracehound string // the tracehound binary, for `tracehound clickhouse`
	// Dir is an empty, fresh directory: the ClickHouse data (data/), the
	// collector's config (otelcol.yaml) and both logs go there.
	Dir string
	// Env is extra environment of the collector process.
	Env []string

	ch       *proc // tracehound clickhouse
	col      *proc // otelcol-bench
	grpcAddr string
	metrics  string // URL of the collector's Prometheus metrics
	chTCP    string
	chHTTP   string
	client   *chq.Client
	http     *http.Client

	mu      sync.Mutex
	chPID   int
	stopped bool
}

// Database and tables the ClickHouse exporter writes (its defaults, with
// the database named in the config).
const (
	collectorDatabase    = "otel"
	collectorTracesTable = "otel_traces"
	collectorLookupTable = "otel_traces_trace_id_ts"
)

// CollectorConfigName, CollectorLogName and ClickHouseLogName are the files
// the Collector writes in Dir.
const (
	CollectorConfigName = "otelcol.yaml"
	CollectorLogName    = "otelcol.log"
	ClickHouseLogName   = "clickhouse.log"
)

// Name implements System.
func (c *Collector) Name() string { return "otelcol" }

// DataDir is where the ClickHouse data goes (the --data-dir of `tracehound
// clickhouse`).
func (c *Collector) DataDir() string { return filepath.Join(c.Dir, "data") }

// readyLine is what `tracehound clickhouse` prints once ClickHouse answers.
var readyLine = regexp.MustCompile(`ClickHouse is ready: native (\S+?),? HTTP (\S+?)[,\s]`)

// parseClickHouseReady reads the native and HTTP addresses from the output
// of `tracehound clickhouse`.
func parseClickHouseReady(out string) (tcp, http string, ok bool) {
	m := readyLine.FindStringSubmatch(out)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// Start implements System: ClickHouse first, then the collector, which
// creates its tables before it opens the OTLP port.
func (c *Collector) Start(ctx context.Context) (err error) {
	if _, err := os.Stat(c.Bin); err != nil {
		return fmt.Errorf("otelcol-bench binary: %w (run `make otelcol-bench`)", err)
	}
	if _, err := os.Stat(c.Tracehound); err != nil {
		return fmt.Errorf("tracehound binary: %w (run `make build`)", err)
	}
	c.http = &http.Client{Timeout: 10 * time.Second}
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = c.Stop(sctx)
		}
	}()
	if err := c.startClickHouse(ctx); err != nil {
		return err
	}
	grpcPort, err := freePort()
	if err != nil {
		return err
	}
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(c.Dir, CollectorConfigName)
	if err := os.WriteFile(cfgPath, []byte(CollectorConfig(grpcPort, c.chTCP, metricsPort)), 0o644); err != nil {
		return fmt.Errorf("writing the collector config: %w", err)
	}
	c.grpcAddr = fmt.Sprintf("127.0.0.1:%d", grpcPort)
	c.metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	c.col, err = startProc("otelcol-bench", c.Bin, []string{"--config", cfgPath}, c.Env, filepath.Join(c.Dir, CollectorLogName))
	if err != nil {
		return err
	}
	if err := c.waitCollector(ctx, 2*time.Minute); err != nil {
		return err
	}
	v, err := c.client.Ints(ctx, fmt.Sprintf("SELECT toInt64(count()) FROM system.tables WHERE database = '%s' AND name IN ('%s', '%s')",
		collectorDatabase, collectorTracesTable, collectorLookupTable))
	if err != nil {
		return fmt.Errorf("checking the collector's tables: %w", err)
	}
	if v[0] != 2 {
		return fmt.Errorf("the collector is ready but %s.%s and %s.%s are not both there (create_schema):\n%s",
			collectorDatabase, collectorTracesTable, collectorDatabase, collectorLookupTable, c.col.logTail(30))
	}
	return nil
}

// startClickHouse runs `tracehound clickhouse` on free ports and waits for
// its ready line.
func (c *Collector) startClickHouse(ctx context.Context) error {
	var err error
	c.ch, err = startProc("tracehound clickhouse", c.Tracehound,
		[]string{"clickhouse", "--data-dir", c.DataDir(), "--tcp-port", "0", "--http-port", "0"}, nil,
		filepath.Join(c.Dir, ClickHouseLogName))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-c.ch.exited:
			return fmt.Errorf("`tracehound clickhouse` exited during start-up (%v):\n%s", c.ch.cmd.ProcessState, c.ch.logTail(40))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("`tracehound clickhouse` not ready after 2 minutes:\n%s", c.ch.logTail(40))
		}
		tcp, httpAddr, ok := parseClickHouseReady(c.ch.logText())
		if !ok {
			continue
		}
		pid, port, err := findEmbeddedClickHouse("tracehound clickhouse", c.ch.pid())
		if err != nil {
			return err
		}
		if want := fmt.Sprintf("127.0.0.1:%d", port); want != httpAddr {
			return fmt.Errorf("`tracehound clickhouse` says HTTP %s but its child listens on %s", httpAddr, want)
		}
		c.chTCP, c.chHTTP = tcp, httpAddr
		c.mu.Lock()
		c.chPID = pid
		c.mu.Unlock()
		c.client = chq.New("http://" + httpAddr + "/")
		if _, err := c.client.Query(ctx, "SELECT 1"); err != nil {
			return fmt.Errorf("embedded ClickHouse HTTP %s: %w", httpAddr, err)
		}
		return nil
	}
}

// waitCollector waits until the collector says it is ready and its OTLP
// gRPC port accepts connections.
func (c *Collector) waitCollector(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-c.col.exited:
			return fmt.Errorf("otelcol-bench exited during start-up (%v):\n%s", c.col.cmd.ProcessState, c.col.logTail(40))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("otelcol-bench not ready after %v:\n%s", timeout, c.col.logTail(40))
		}
		if !strings.Contains(c.col.logText(), "Everything is ready") {
			continue
		}
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", c.grpcAddr)
		if err != nil {
			continue
		}
		conn.Close()
		return nil
	}
}

// CollectorConfig is the collector's YAML config: OTLP/gRPC on
// 127.0.0.1:grpcPort, the batch processor and the ClickHouse exporter to
// tcp://chTCP (database otel, create_schema) with their defaults — timeout
// 5 s, sending queue and retry as the exporter ships them, async inserts —
// and the collector's own metrics on 127.0.0.1:metricsPort.
func CollectorConfig(grpcPort int, chTCP string, metricsPort int) string {
	return fmt.Sprintf(`# Written by thbench (docs/benchmarks.md): otlp → batch → clickhouse, each
# component with its defaults; only addresses, the database and create_schema
# are set.
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
processors:
  batch: {}
exporters:
  clickhouse:
    endpoint: tcp://%s
    database: %s
    create_schema: true
service:
  telemetry:
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [clickhouse]
`, grpcPort, chTCP, collectorDatabase, metricsPort)
}

// OTLPGRPCAddr implements System.
func (c *Collector) OTLPGRPCAddr() string { return c.grpcAddr }

// Processes implements System: the collector and the embedded ClickHouse
// child of `tracehound clickhouse` (looked up again when it was restarted).
func (c *Collector) Processes() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	if c.col != nil {
		m[RoleCollector] = c.col.pid()
	}
	if c.chPID > 0 && !alive(c.chPID) {
		c.chPID = 0
		if !c.stopped && c.ch != nil {
			if pid, _, err := findEmbeddedClickHouse("tracehound clickhouse", c.ch.pid()); err == nil {
				c.chPID = pid
			}
		}
	}
	if c.chPID > 0 {
		m[RoleClickHouse] = c.chPID
	}
	return m
}

// Collector metric names (the Prometheus reader writes them with or without
// the _total suffix, depending on its settings).
var (
	mAccepted      = []string{"otelcol_receiver_accepted_spans", "otelcol_receiver_accepted_spans_total"}
	mSent          = []string{"otelcol_exporter_sent_spans", "otelcol_exporter_sent_spans_total"}
	mSendFailed    = []string{"otelcol_exporter_send_failed_spans", "otelcol_exporter_send_failed_spans_total"}
	mEnqueueFailed = []string{"otelcol_exporter_enqueue_failed_spans", "otelcol_exporter_enqueue_failed_spans_total"}
)

// Progress implements System: stored is the row count of otel.otel_traces
// (duplicates included: the driver confirms with distinct spans), pending
// the spans the collector accepted but has neither exported nor given up
// on (batch processor, sending queue, retries), from its own metrics.
func (c *Collector) Progress(ctx context.Context) (stored, pending int64, ok bool, err error) {
	v, err := c.client.Ints(ctx, fmt.Sprintf("SELECT count() FROM %s.%s", collectorDatabase, collectorTracesTable))
	if err != nil {
		return 0, 0, false, err
	}
	m, err := c.scrapeMetrics(ctx)
	if err != nil {
		return 0, 0, false, err
	}
	pending = int64(m.sum(mAccepted) - m.sum(mSent) - m.sum(mSendFailed) - m.sum(mEnqueueFailed))
	return v[0], max(0, pending), true, nil
}

// CollectorCounters are the collector's own span counters.
type CollectorCounters struct {
	Accepted      int64 `json:"accepted"`       // otelcol_receiver_accepted_spans
	Refused       int64 `json:"refused"`        // otelcol_receiver_refused_spans
	Sent          int64 `json:"sent"`           // otelcol_exporter_sent_spans
	SendFailed    int64 `json:"send_failed"`    // otelcol_exporter_send_failed_spans
	EnqueueFailed int64 `json:"enqueue_failed"` // otelcol_exporter_enqueue_failed_spans
}

// Counters reads the collector's own span counters.
func (c *Collector) Counters(ctx context.Context) (CollectorCounters, error) {
	m, err := c.scrapeMetrics(ctx)
	if err != nil {
		return CollectorCounters{}, err
	}
	return CollectorCounters{
		Accepted:      int64(m.sum(mAccepted)),
		Refused:       int64(m.sum([]string{"otelcol_receiver_refused_spans", "otelcol_receiver_refused_spans_total"})),
		Sent:          int64(m.sum(mSent)),
		SendFailed:    int64(m.sum(mSendFailed)),
		EnqueueFailed: int64(m.sum(mEnqueueFailed)),
	}, nil
}

type metricSums map[string]float64

func (m metricSums) sum(names []string) float64 {
	var s float64
	for _, n := range names {
		s += m[n]
	}
	return s
}

func (c *Collector) scrapeMetrics(ctx context.Context) (metricSums, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.metrics, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("collector metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("collector metrics: %s", resp.Status)
	}
	return scrapeSums(resp.Body)
}

// scrapeSums reads the Prometheus text format and sums the samples of each
// metric name over all its label sets.
func scrapeSums(r io.Reader) (metricSums, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	out := metricSums{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		var name, rest string
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			name, rest = line[:i], line[j+1:]
		} else {
			var ok bool
			if name, rest, ok = strings.Cut(line, " "); !ok {
				continue
			}
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue // not a counter we read
		}
		out[name] += v
	}
	return out, nil
}

// Store implements System.
func (c *Collector) Store() Store {
	return Store{CH: c.client, Database: collectorDatabase, Table: collectorTracesTable, SpanKey: "TraceId, SpanId",
		OtherTables: []string{collectorLookupTable}, MayDuplicate: true}
}

// Version implements System: the collector's release, the versions of its
// three components' modules, and ClickHouse's.
func (c *Collector) Version(ctx context.Context) string {
	v := "otelcol-bench (unknown version)"
	if out, err := exec.CommandContext(ctx, c.Bin, "--version").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		v = strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, c.Bin, "components").Output(); err == nil {
		if mods := componentModules(string(out)); len(mods) > 0 {
			v += " (" + strings.Join(mods, ", ") + ")"
		}
	}
	if c.client != nil {
		if chv, err := c.client.Version(ctx); err == nil {
			v += ", ClickHouse " + chv
		}
	}
	return v
}

// componentModules picks "otlpreceiver v0.165.0"-style entries from the
// `module:` lines of `otelcol-bench components`.
func componentModules(out string) []string {
	var mods []string
	for _, line := range strings.Split(out, "\n") {
		_, rest, ok := strings.Cut(strings.TrimSpace(line), "module:")
		if !ok || !strings.HasPrefix(strings.TrimSpace(line), "module:") {
			continue
		}
		f := strings.Fields(strings.Trim(strings.TrimSpace(rest), `"`))
		if len(f) != 2 {
			continue
		}
		mods = append(mods, f[0][strings.LastIndexByte(f[0], '/')+1:]+" "+f[1])
	}
	return mods
}

// Stop implements System: SIGTERM to the collector (it flushes its batch
// and sending queue), then SIGTERM to `tracehound clickhouse`; each is
// killed when it does not exit in time, which is reported.
func (c *Collector) Stop(ctx context.Context) StopResult {
	c.mu.Lock()
	c.stopped = true
	chPID := c.chPID
	c.mu.Unlock()
	res := StopResult{ExitCode: -1, Error: "otelcol-bench was not started"}
	if c.col != nil {
		res = c.col.stop(ctx.Done(), 90*time.Second)
	}
	if c.ch == nil {
		return res
	}
	chRes := c.ch.stop(ctx.Done(), 60*time.Second)
	if chPID > 0 {
		for i := 0; i < 100 && alive(chPID); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(chPID) {
			_ = killPID(chPID)
			chRes.Error = strings.TrimPrefix(chRes.Error+"; the embedded ClickHouse outlived `tracehound clickhouse` by 10 s and was killed", "; ")
		}
	}
	res.ClickHouse = &chRes
	return res
}

// LogTail implements System: the end of the collector's output, then of
// the ClickHouse process's.
func (c *Collector) LogTail(n int) string {
	var parts []string
	if c.col != nil {
		parts = append(parts, "otelcol-bench:\n"+c.col.logTail(n))
	}
	if c.ch != nil {
		parts = append(parts, "tracehound clickhouse:\n"+c.ch.logTail(max(5, n/4)))
	}
	return strings.Join(parts, "\n")
}

func killPID(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
