package sut

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tracehound/tracehound/bench/internal/chq"
	"github.com/tracehound/tracehound/bench/internal/procstat"
)

// Tracehound runs `tracehound serve` on an embedded ClickHouse in a fresh
// data directory, on port-0 addresses read back from its banner.
type Tracehound struct {
	Bin     string   // the tracehound binary
	DataDir string   // empty, fresh directory
	LogPath string   // where its output goes
	Args    []string // extra serve flags
	Env     []string // extra environment

	cmd      *exec.Cmd
	log      *os.File
	exited   chan struct{}
	grpcAddr string
	apiAddr  string
	ch       *chq.Client
	http     *http.Client

	mu      sync.Mutex
	chPID   int
	chPort  int
	stopped bool
}

// Name implements System.
func (t *Tracehound) Name() string { return "tracehound" }

// Start implements System.
func (t *Tracehound) Start(ctx context.Context) error {
	if _, err := os.Stat(t.Bin); err != nil {
		return fmt.Errorf("tracehound binary: %w (run `make build`)", err)
	}
	f, err := os.Create(t.LogPath)
	if err != nil {
		return err
	}
	t.log = f
	t.http = &http.Client{Timeout: 10 * time.Second}
	args := append([]string{"serve", "--data-dir", t.DataDir,
		"--otlp-grpc-addr", "127.0.0.1:0", "--otlp-http-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, t.Args...)
	t.cmd = exec.Command(t.Bin, args...)
	t.cmd.Env = append(os.Environ(), t.Env...)
	t.cmd.Stdout = f
	t.cmd.Stderr = f
	// If the driver dies, the server gets SIGTERM and shuts down in order.
	t.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := t.cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting %s: %w", t.Bin, err)
	}
	t.exited = make(chan struct{})
	go func() { _ = t.cmd.Wait(); close(t.exited) }()

	deadline := time.Now().Add(120 * time.Second)
	for {
		select {
		case <-t.exited:
			return fmt.Errorf("tracehound exited during start-up (%v):\n%s", t.cmd.ProcessState, t.LogTail(40))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("tracehound not ready after 120 s:\n%s", t.LogTail(40))
		}
		out := t.logText()
		if !strings.Contains(out, "Press Ctrl-C to stop") {
			continue
		}
		t.grpcAddr = bannerField(out, "OTLP gRPC:")
		t.apiAddr = strings.TrimSuffix(strings.TrimPrefix(bannerField(out, "UI and API:"), "http://"), "/")
		if t.grpcAddr == "" || t.apiAddr == "" {
			return fmt.Errorf("cannot read the addresses from the banner:\n%s", out)
		}
		resp, err := t.http.Get("http://" + t.apiAddr + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			continue
		}
		pid, port, err := t.findClickHouse()
		if err != nil {
			return err
		}
		t.chPID, t.chPort = pid, port
		t.ch = chq.New(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if _, err := t.ch.Query(ctx, "SELECT 1"); err != nil {
			return fmt.Errorf("embedded ClickHouse HTTP port %d: %w", port, err)
		}
		return nil
	}
}

func bannerField(out, label string) string {
	i := strings.Index(out, label)
	if i < 0 {
		return ""
	}
	f := strings.Fields(out[i+len(label):])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func (t *Tracehound) logText() string {
	b, _ := os.ReadFile(t.LogPath)
	return string(b)
}

// findClickHouse finds the `tracehound clickhouse-embedded` child and its
// HTTP port.
func (t *Tracehound) findClickHouse() (pid, port int, err error) {
	return findEmbeddedClickHouse("tracehound", t.cmd.Process.Pid)
}

// OTLPGRPCAddr implements System.
func (t *Tracehound) OTLPGRPCAddr() string { return t.grpcAddr }

// PID is the collector's process id.
func (t *Tracehound) PID() int { return t.cmd.Process.Pid }

// Processes implements System. The ClickHouse child is looked up again when
// the known one has gone (the supervisor restarts it on the same port).
func (t *Tracehound) Processes() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := map[string]int{RoleCollector: t.cmd.Process.Pid}
	if t.chPID > 0 {
		if args, err := procstat.Cmdline(t.chPID); err != nil || len(args) < 2 || args[1] != "clickhouse-embedded" {
			t.chPID = 0
			if !t.stopped {
				if pid, _, err := t.findClickHouse(); err == nil {
					t.chPID = pid
				}
			}
		}
	}
	if t.chPID > 0 {
		m[RoleClickHouse] = t.chPID
	}
	return m
}

// Progress implements System from the Prometheus metrics.
func (t *Tracehound) Progress(ctx context.Context) (stored, pending int64, ok bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.apiAddr+"/metrics", nil)
	if err != nil {
		return 0, 0, false, err
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return 0, 0, false, err
	}
	defer resp.Body.Close()
	m, err := scrape(resp.Body, "tracehound_storage_spans_stored_total", "tracehound_storage_queue_spans")
	if err != nil {
		return 0, 0, false, err
	}
	s, ok1 := m["tracehound_storage_spans_stored_total"]
	q, ok2 := m["tracehound_storage_queue_spans"]
	if !ok1 || !ok2 {
		return 0, 0, false, errors.New("/metrics lacks tracehound_storage_spans_stored_total or tracehound_storage_queue_spans")
	}
	return int64(s), int64(q), true, nil
}

// APIURL implements Analyzer.
func (t *Tracehound) APIURL() string { return "http://" + t.apiAddr }

// Analysis metric names.
const (
	mAnalysisSpans    = "tracehound_analysis_spans_total"
	mAnalysisTraces   = "tracehound_analysis_traces_total"
	mAnalysisUnitsOK  = `tracehound_analysis_units_total{outcome="ok"}`
	mAnalysisUnitsErr = `tracehound_analysis_units_total{outcome="error"}`
	mAnalysisFindings = "tracehound_analysis_finding_observations_total"
	mAnalysisLag      = "tracehound_analysis_lag_seconds"
	mAnalysisUnitSum  = "tracehound_analysis_unit_duration_seconds_sum"
)

// AnalysisProgress implements Analyzer from the Prometheus metrics.
func (t *Tracehound) AnalysisProgress(ctx context.Context) (AnalysisProgress, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.APIURL()+"/metrics", nil)
	if err != nil {
		return AnalysisProgress{}, err
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return AnalysisProgress{}, err
	}
	defer resp.Body.Close()
	m, err := scrape(resp.Body, mAnalysisSpans, mAnalysisTraces, mAnalysisUnitsOK, mAnalysisUnitsErr, mAnalysisFindings, mAnalysisLag, mAnalysisUnitSum)
	if err != nil {
		return AnalysisProgress{}, err
	}
	if _, ok := m[mAnalysisSpans]; !ok {
		return AnalysisProgress{}, errors.New("/metrics lacks " + mAnalysisSpans + " (is analysis enabled?)")
	}
	// Labelled counters appear once they were first incremented.
	return AnalysisProgress{
		Spans: int64(m[mAnalysisSpans]), Traces: int64(m[mAnalysisTraces]),
		UnitsOK: int64(m[mAnalysisUnitsOK]), UnitsError: int64(m[mAnalysisUnitsErr]),
		FindingObservations: int64(m[mAnalysisFindings]), LagSeconds: m[mAnalysisLag], UnitSeconds: m[mAnalysisUnitSum],
	}, nil
}

// scrape reads samples of the named metrics from the Prometheus text
// format. A name matches a series exactly as written there: `name` for an
// unlabelled one, `name{label="value"}` for a labelled one.
func scrape(r io.Reader, names ...string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok || !want[name] {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", name, err)
		}
		out[name] = v
	}
	return out, sc.Err()
}

// Store implements System.
func (t *Tracehound) Store() Store {
	return Store{CH: t.ch, Database: "tracehound", Table: "spans", SpanKey: "trace_id, span_id", OtherTables: []string{"traces"}}
}

// Version implements System.
func (t *Tracehound) Version(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, t.Bin, "version").Output()
	v := strings.TrimSpace(string(out))
	if err != nil || v == "" {
		v = "tracehound (unknown version)"
	}
	if t.ch != nil {
		if chv, err := t.ch.Version(ctx); err == nil {
			v += ", ClickHouse " + chv
		}
	}
	return v
}

// Stop implements System: SIGTERM, then wait for a graceful exit (the
// server's own shutdown is bounded by 30 s); SIGKILL after timeout.
func (t *Tracehound) Stop(ctx context.Context) StopResult {
	t.mu.Lock()
	t.stopped = true
	chPID := t.chPID
	t.mu.Unlock()
	defer t.log.Close()
	start := time.Now()
	select {
	case <-t.exited:
		return StopResult{ExitCode: t.cmd.ProcessState.ExitCode(), Error: "exited before the stop request: " + t.cmd.ProcessState.String()}
	default:
	}
	if err := t.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return StopResult{ExitCode: -1, Error: err.Error()}
	}
	timeout := time.NewTimer(90 * time.Second)
	defer timeout.Stop()
	res := StopResult{}
	select {
	case <-t.exited:
		res.ExitCode = t.cmd.ProcessState.ExitCode()
	case <-timeout.C:
		_ = t.cmd.Process.Kill()
		<-t.exited
		res = StopResult{ExitCode: -1, Killed: true, Error: "did not exit within 90 s of SIGTERM; killed"}
	case <-ctx.Done():
		_ = t.cmd.Process.Kill()
		<-t.exited
		res = StopResult{ExitCode: -1, Killed: true, Error: "interrupted; killed"}
	}
	res.Seconds = time.Since(start).Seconds()
	if res.ExitCode != 0 && res.Error == "" {
		res.Error = "exit status: " + t.cmd.ProcessState.String()
	}
	// The embedded ClickHouse stops with its parent; make sure of it.
	if chPID > 0 {
		for i := 0; i < 100 && alive(chPID); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(chPID) {
			_ = syscall.Kill(chPID, syscall.SIGKILL)
			res.Error = strings.TrimPrefix(res.Error+"; embedded ClickHouse outlived tracehound by 10 s and was killed", "; ")
		}
	}
	return res
}

// LogTail implements System.
func (t *Tracehound) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(t.logText(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
