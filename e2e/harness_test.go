// Package e2e runs the real tracehound binary on an embedded ClickHouse and
// talks to it the way users do: OpenTelemetry SDK exporters, raw OTLP and
// the JSON API.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binPath string // the tracehound binary under test
	libPath string // libchdb.so
)

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	if code >= 0 {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// setup finds (or builds) the binary and finds libchdb. A missing library is
// a failure, not a skip: `make test` fetches it.
func setup() (int, error) {
	root, err := repoRoot()
	if err != nil {
		return 1, err
	}
	libPath = os.Getenv("TRACEHOUND_CHDB_LIB")
	if libPath == "" {
		libPath = filepath.Join(root, "lib", "libchdb.so")
	}
	if _, err := os.Stat(libPath); err != nil {
		return 1, fmt.Errorf("libchdb.so not found at %s (run `make chdb`, or `make test` which does it): %w", libPath, err)
	}
	binPath = os.Getenv("TRACEHOUND_BIN")
	if binPath == "" {
		dir, err := os.MkdirTemp("", "tracehound-e2e-bin")
		if err != nil {
			return 1, err
		}
		binPath = filepath.Join(dir, "tracehound")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/tracehound")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 1, fmt.Errorf("building tracehound: %v\n%s", err, out)
		}
	}
	return -1, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test directory")
		}
		dir = parent
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// server is one running `tracehound serve`.
type server struct {
	t        *testing.T
	cmd      *exec.Cmd
	dataDir  string
	grpcAddr string
	otlpHTTP string
	apiAddr  string
	out      *syncBuffer
	exited   chan struct{}
	stopped  bool
}

type serverOpts struct {
	dataDir string
	dsn     string
	extra   []string
	env     []string
}

func startServer(t *testing.T, o serverOpts) *server {
	t.Helper()
	s := &server{
		t:        t,
		dataDir:  o.dataDir,
		grpcAddr: "127.0.0.1:0",
		otlpHTTP: "127.0.0.1:0",
		apiAddr:  "127.0.0.1:0",
		out:      &syncBuffer{},
		exited:   make(chan struct{}),
	}
	if s.dataDir == "" {
		s.dataDir = t.TempDir()
	}
	args := []string{"serve", "--data-dir", s.dataDir, "--otlp-grpc-addr", s.grpcAddr,
		"--otlp-http-addr", s.otlpHTTP, "--http-addr", s.apiAddr}
	if o.dsn != "" {
		args = append(args, "--clickhouse-dsn", o.dsn)
	}
	args = append(args, o.extra...)
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Env = append(os.Environ(), "TRACEHOUND_CHDB_LIB="+libPath)
	s.cmd.Env = append(s.cmd.Env, o.env...)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting tracehound: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		if !s.stopped {
			s.stop()
		}
		if t.Failed() {
			t.Logf("tracehound output:\n%s", s.out.String())
		}
	})
	s.waitReady()
	return s
}

// bannerField returns the first word after label in the start-up banner.
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

func (s *server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			s.t.Fatalf("tracehound exited during start-up (%v):\n%s", s.cmd.ProcessState, s.out.String())
		default:
		}
		if out := s.out.String(); strings.Contains(out, "Press Ctrl-C to stop") {
			// Ports were 0: read the bound addresses from the banner.
			s.grpcAddr = bannerField(out, "OTLP gRPC:")
			s.otlpHTTP = bannerField(out, "OTLP HTTP:")
			s.apiAddr = strings.TrimSuffix(strings.TrimPrefix(bannerField(out, "UI and API:"), "http://"), "/")
			if resp, err := http.Get("http://" + s.apiAddr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("tracehound not ready after 90s:\n%s", s.out.String())
}

// stop sends SIGTERM and asserts a clean exit within 45 s.
func (s *server) stop() {
	s.t.Helper()
	s.stopped = true
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(45 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("tracehound did not stop within 45s after SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		s.t.Errorf("tracehound exited with %d after SIGTERM:\n%s", code, s.out.String())
	}
}

// chChild returns the pid and HTTP port of the embedded ClickHouse child.
func (s *server) chChild() (pid, httpPort int) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, child := range childPIDs(s.cmd.Process.Pid) {
			cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child))
			if err != nil {
				continue
			}
			args := strings.Split(string(cmdline), "\x00")
			if len(args) < 2 || args[1] != "clickhouse-embedded" {
				continue
			}
			for i, a := range args {
				if a == "--http-port" && i+1 < len(args) {
					port, _ := strconv.Atoi(args[i+1])
					return child, port
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatal("embedded ClickHouse child process not found")
	return 0, 0
}

func childPIDs(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(field); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// state is the field after the parenthesised command name; Z is a zombie.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// chQuery runs a query on a ClickHouse HTTP port and returns the output.
func chQuery(t *testing.T, httpPort int, q string) string {
	t.Helper()
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/", httpPort), "text/plain", strings.NewReader(q))
	if err != nil {
		t.Fatalf("clickhouse query %q: %v", q, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("clickhouse query %q: %s: %s", q, resp.Status, b)
	}
	return strings.TrimSpace(string(b))
}

// getJSON GETs an API path into v and returns the status code.
func (s *server) getJSON(t *testing.T, path string, v any) int {
	t.Helper()
	resp, err := http.Get("http://" + s.apiAddr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: decoding %q: %v", path, b, err)
		}
	}
	return resp.StatusCode
}

// apiTrace is the /api/v1/traces/{id} response.
type apiTrace struct {
	TraceID string    `json:"trace_id"`
	Spans   []apiSpan `json:"spans"`
}

type apiSpan struct {
	SpanID             string         `json:"span_id"`
	ParentSpanID       string         `json:"parent_span_id"`
	Service            string         `json:"service"`
	Name               string         `json:"name"`
	Kind               string         `json:"kind"`
	StartUnixNano      int64          `json:"start_unix_nano"`
	DurationNs         int64          `json:"duration_ns"`
	StatusCode         string         `json:"status_code"`
	StatusMessage      string         `json:"status_message"`
	Attributes         map[string]any `json:"attributes"`
	ResourceAttributes map[string]any `json:"resource_attributes"`
	Events             []struct {
		TimeUnixNano int64          `json:"time_unix_nano"`
		Name         string         `json:"name"`
		Attributes   map[string]any `json:"attributes"`
	} `json:"events"`
	Links []struct {
		TraceID    string         `json:"trace_id"`
		SpanID     string         `json:"span_id"`
		Attributes map[string]any `json:"attributes"`
	} `json:"links"`
	SelfTimeNs     int64 `json:"self_time_ns"`
	OnCriticalPath bool  `json:"on_critical_path"`
}

// waitTrace polls the API until the trace has want spans.
func (s *server) waitTrace(t *testing.T, traceID string, want int) apiTrace {
	t.Helper()
	var tr apiTrace
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		tr = apiTrace{}
		code := s.getJSON(t, "/api/v1/traces/"+traceID, &tr)
		if code == http.StatusOK && len(tr.Spans) >= want {
			return tr
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("trace %s: want %d spans, have %d after 30s", traceID, want, len(tr.Spans))
	return tr
}

func (s *server) traceSearch(t *testing.T, params url.Values) []map[string]any {
	t.Helper()
	var out struct {
		Traces []map[string]any `json:"traces"`
	}
	if code := s.getJSON(t, "/api/v1/traces?"+params.Encode(), &out); code != http.StatusOK {
		t.Fatalf("trace search %v: status %d", params, code)
	}
	return out.Traces
}

func (s *server) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.apiAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sum, found := 0.0, false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
			found = true
		}
	}
	if !found {
		t.Fatalf("metric %s not exposed", name)
	}
	return sum
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
