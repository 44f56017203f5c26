package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	"time"
)

// ErrDataDirLocked is returned by Start when another ClickHouse (usually
// another tracehound) already uses the data directory.
var ErrDataDirLocked = errors.New("data directory is locked by another ClickHouse")

// Config configures the embedded ClickHouse.
type Config struct {
	// DataDir is the root of tracehound's local state; ClickHouse keeps its
	// data in DataDir/clickhouse. Required.
	DataDir string
	// LibPath is the path of libchdb.so; empty means FindLibrary.
	LibPath string
	// TCPPort and HTTPPort are the loopback ports; 0 picks free ports once,
	// which are then kept across restarts of the child.
	TCPPort, HTTPPort int
	// Executable is the binary started as the child with the hidden
	// `clickhouse-embedded` subcommand; empty means os.Executable().
	Executable string
	// StartTimeout bounds the wait for ClickHouse to answer (default 60 s).
	StartTimeout time.Duration
	// Logger receives lifecycle messages; nil discards them.
	Logger *slog.Logger
}

// Server supervises one embedded ClickHouse child process.
//
// Start launches it and returns once it answers queries; if the child later
// exits unexpectedly, the crash is logged with the end of its error output and
// the child is restarted with backoff on the same ports and data. Shutdown
// stops it cleanly. Methods are safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	cmd      *exec.Cmd
	lifeline *os.File // write end of the pipe; closing it stops ClickHouse
	exited   chan struct{}
	stderr   *tailBuffer
	stopping bool
	started  bool
	restarts int
	done     chan struct{} // closed when the supervisor goroutine returns
}

// New validates cfg and returns a Server that is not yet started.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("embedded clickhouse: data directory is required (--data-dir)")
	}
	if cfg.LibPath == "" {
		p, err := FindLibrary()
		if err != nil {
			return nil, err
		}
		cfg.LibPath = p
	}
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("embedded clickhouse: locating own executable: %w", err)
		}
		cfg.Executable = exe
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log}, nil
}

// TCPAddr is the native-protocol address (127.0.0.1:port).
func (s *Server) TCPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.TCPPort)) }

// HTTPAddr is the HTTP-interface address (127.0.0.1:port).
func (s *Server) HTTPAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.HTTPPort))
}

// DSN is a clickhouse-go DSN for the default database of this server.
func (s *Server) DSN() string { return "clickhouse://" + s.TCPAddr() + "/default" }

// PID is the child's process id, or 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Restarts counts the unexpected exits that led to a restart.
func (s *Server) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

// Start launches ClickHouse and waits until it answers, or ctx ends, or the
// start timeout passes. It fails with ErrDataDirLocked when another instance
// holds the data directory.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("embedded clickhouse: already started")
	}
	s.started = true
	s.mu.Unlock()

	chDir := filepath.Join(s.cfg.DataDir, "clickhouse")
	if err := os.MkdirAll(filepath.Join(chDir, "logs"), 0o750); err != nil {
		return fmt.Errorf("embedded clickhouse: creating %s: %w", chDir, err)
	}
	var err error
	if s.cfg.TCPPort == 0 {
		if s.cfg.TCPPort, err = freePort(); err != nil {
			return err
		}
	}
	if s.cfg.HTTPPort == 0 {
		if s.cfg.HTTPPort, err = freePort(); err != nil {
			return err
		}
	}
	if err := os.WriteFile(s.configPath(), []byte(configXML(chDir)), 0o640); err != nil {
		return fmt.Errorf("embedded clickhouse: writing config: %w", err)
	}
	if err := s.launch(ctx); err != nil {
		return err
	}
	s.done = make(chan struct{})
	go s.supervise()
	return nil
}

func (s *Server) configPath() string {
	return filepath.Join(s.cfg.DataDir, "clickhouse", "config.xml")
}

// launch starts one child and waits for readiness.
func (s *Server) launch(ctx context.Context) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("embedded clickhouse: creating lifeline pipe: %w", err)
	}
	stderr := newTailBuffer(64 << 10)
	cmd := exec.Command(s.cfg.Executable, "clickhouse-embedded",
		"--lib", s.cfg.LibPath,
		"--config", s.configPath(),
		"--path", filepath.Join(s.cfg.DataDir, "clickhouse")+"/",
		"--tcp-port", strconv.Itoa(s.cfg.TCPPort),
		"--http-port", strconv.Itoa(s.cfg.HTTPPort),
		"--pipe-fd", "3",
	)
	cmd.ExtraFiles = []*os.File{r}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	cmd.Dir = filepath.Join(s.cfg.DataDir, "clickhouse")
	// Own process group: a terminal's Ctrl-C reaches only the collector,
	// which then stops ClickHouse in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("embedded clickhouse: starting %s: %w", s.cfg.Executable, err)
	}
	r.Close()
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()

	s.mu.Lock()
	s.cmd, s.lifeline, s.exited, s.stderr = cmd, w, exited, stderr
	s.mu.Unlock()

	start := time.Now()
	s.log.Info("starting embedded ClickHouse", "pid", cmd.Process.Pid, "tcp", s.TCPAddr(), "data", s.cfg.DataDir)
	if err := s.waitReady(ctx, exited, stderr); err != nil {
		w.Close()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		return err
	}
	s.log.Info("embedded ClickHouse ready", "after", time.Since(start).Round(time.Millisecond))
	return nil
}

func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}, stderr *tailBuffer) error {
	deadline := time.NewTimer(s.cfg.StartTimeout)
	defer deadline.Stop()
	client := &http.Client{Timeout: time.Second}
	pingURL := "http://" + s.HTTPAddr() + "/?query=" + url.QueryEscape("SELECT 1")
	for {
		select {
		case <-exited:
			return s.exitError(stderr)
		case <-ctx.Done():
			return fmt.Errorf("embedded clickhouse: waiting for start: %w", ctx.Err())
		case <-deadline.C:
			return fmt.Errorf("embedded clickhouse did not answer within %s; last output: %s",
				s.cfg.StartTimeout, stderr.Tail(2000))
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := client.Get(pingURL)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "1" {
			return nil
		}
	}
}

func (s *Server) exitError(stderr *tailBuffer) error {
	out := stderr.Tail(4000)
	errLog := tailOfFile(filepath.Join(s.cfg.DataDir, "clickhouse", "logs", "clickhouse.err.log"), 2000)
	if strings.Contains(out, "Cannot lock file") || strings.Contains(out, "is already used by another") {
		return fmt.Errorf("%w: %s is in use (is another tracehound running with this --data-dir?)",
			ErrDataDirLocked, s.cfg.DataDir)
	}
	return fmt.Errorf("embedded clickhouse exited during start-up: %s%s", strings.TrimSpace(out), errLog)
}

// supervise restarts the child when it exits without being asked to.
func (s *Server) supervise() {
	defer close(s.done)
	backoff := time.Second
	for {
		s.mu.Lock()
		exited, stderr, cmd := s.exited, s.stderr, s.cmd
		s.mu.Unlock()
		<-exited
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			return
		}
		s.log.Error("embedded ClickHouse exited unexpectedly; restarting",
			"pid", cmd.Process.Pid, "status", cmd.ProcessState.String(),
			"output", stderr.Tail(1000), "restart_in", backoff)
		for {
			time.Sleep(backoff)
			s.mu.Lock()
			stopping = s.stopping
			if !stopping {
				s.restarts++
			}
			s.mu.Unlock()
			if stopping {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StartTimeout)
			err := s.launch(ctx)
			cancel()
			if err == nil {
				backoff = time.Second
				break
			}
			backoff = min(backoff*2, 30*time.Second)
			s.log.Error("restarting embedded ClickHouse failed", "err", err, "retry_in", backoff)
		}
	}
}

// Shutdown stops ClickHouse cleanly: it cancels running client queries,
// closes the lifeline pipe and waits for the child to exit, killing it if ctx
// ends first. Safe to call without Start and more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.started || s.stopping {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	cmd, lifeline, exited := s.cmd, s.lifeline, s.exited
	s.mu.Unlock()

	s.killClientQueries()
	lifeline.Close()
	var err error
	select {
	case <-exited:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-exited
		err = fmt.Errorf("embedded clickhouse did not stop in time and was killed: %w", ctx.Err())
	}
	if s.done != nil {
		<-s.done
	}
	s.log.Info("embedded ClickHouse stopped")
	return err
}

// killClientQueries asks ClickHouse to cancel queries from clients so that
// it can exit promptly once the lifeline closes.
func (s *Server) killClientQueries() {
	q := "KILL QUERY WHERE query NOT LIKE '%/proc/self/fd/%' AND query NOT LIKE 'KILL QUERY%' ASYNC"
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Post("http://"+s.HTTPAddr()+"/", "text/plain", strings.NewReader(q))
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("embedded clickhouse: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// Tail returns at most n trailing bytes, without the chdb log-file notices.
func (t *tailBuffer) Tail(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b bytes.Buffer
	for _, line := range strings.Split(string(t.buf), "\n") {
		if strings.HasPrefix(line, "Logging trace to") || strings.HasPrefix(line, "Logging errors to") || line == "" {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	out := b.String()
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

func tailOfFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return ""
	}
	off := max(st.Size()-n, 0)
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	return "\nend of " + path + ":\n" + string(b)
}
