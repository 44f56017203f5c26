package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRestartKeepsDataAndLeavesNoOrphan stops the server with SIGTERM, checks
// the ClickHouse child is gone, restarts on the same data dir and reads the
// trace back.
func TestRestartKeepsDataAndLeavesNoOrphan(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, serverOpts{dataDir: dataDir})
	traceID := randomHex(16)
	start := time.Now().Add(-time.Second).UnixNano()
	if code, body, _ := postOTLP(t, srv.otlpHTTP, "application/json",
		[]byte(fmt.Sprintf(rawJSONTrace, traceID, start, start+1000)), nil); code != http.StatusOK {
		t.Fatalf("export: %d %s", code, body)
	}
	childPID, _ := srv.chChild()
	// Stop right away: graceful shutdown must flush the queued span.
	srv.stop()
	if processAlive(childPID) {
		t.Fatalf("embedded ClickHouse (pid %d) still running after tracehound stopped", childPID)
	}
	if !strings.Contains(srv.out.String(), "Stopped cleanly") {
		t.Errorf("no clean-stop message:\n%s", srv.out.String())
	}

	// Restart with another --retention: the data is there and the TTL follows.
	srv2 := startServer(t, serverOpts{dataDir: dataDir, extra: []string{"--retention", "48h"}})
	srv2.waitTrace(t, traceID, 1)
	_, httpPort := srv2.chChild()
	ttl := chQuery(t, httpPort, "SELECT engine_full FROM system.tables WHERE database = 'tracehound' AND name = 'spans'")
	if !strings.Contains(ttl, "toIntervalSecond(172800)") {
		t.Errorf("spans TTL after --retention 48h: %s", ttl)
	}
}

// TestCtrlCStopsEverything sends SIGINT to the whole process group, as a
// terminal does.
func TestCtrlCStopsEverything(t *testing.T) {
	srv := startServer(t, serverOpts{})
	childPID, _ := srv.chChild()
	srv.stopped = true
	if err := syscall.Kill(srv.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.exited:
	case <-time.After(45 * time.Second):
		t.Fatal("tracehound did not stop after SIGINT")
	}
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGINT", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(childPID) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if processAlive(childPID) {
		t.Fatalf("ClickHouse child %d orphaned", childPID)
	}
}

// TestParentKilledChildExits: even a SIGKILL of tracehound leaves no
// ClickHouse behind (the lifeline pipe closes).
func TestParentKilledChildExits(t *testing.T) {
	srv := startServer(t, serverOpts{})
	childPID, _ := srv.chChild()
	srv.stopped = true
	_ = srv.cmd.Process.Kill()
	<-srv.exited
	deadline := time.Now().Add(20 * time.Second)
	for processAlive(childPID) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if processAlive(childPID) {
		_ = syscall.Kill(childPID, syscall.SIGKILL)
		t.Fatalf("ClickHouse child %d survived its parent", childPID)
	}
}

func runServeExpectFailure(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("tracehound did not exit")
	}
	if err == nil {
		t.Fatalf("tracehound serve %v succeeded; want failure. Output:\n%s", args, out)
	}
	if strings.Contains(string(out), "goroutine ") || strings.Contains(string(out), "panic:") {
		t.Errorf("stack trace instead of a clear error:\n%s", out)
	}
	return string(out)
}

func TestClearStartupErrors(t *testing.T) {
	ports := func() []string {
		return []string{"--otlp-grpc-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			"--otlp-http-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			"--http-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	}
	t.Run("libchdb missing", func(t *testing.T) {
		out := runServeExpectFailure(t, []string{"TRACEHOUND_CHDB_LIB=/nonexistent/libchdb.so"},
			append([]string{"--data-dir", t.TempDir()}, ports()...)...)
		for _, want := range []string{"libchdb.so not found", "/nonexistent/libchdb.so", "make chdb"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("data dir locked", func(t *testing.T) {
		srv := startServer(t, serverOpts{})
		out := runServeExpectFailure(t, []string{"TRACEHOUND_CHDB_LIB=" + libPath},
			append([]string{"--data-dir", srv.dataDir}, ports()...)...)
		if !strings.Contains(out, "data directory is locked") || !strings.Contains(out, srv.dataDir) {
			t.Errorf("want a data-dir-locked error naming %s:\n%s", srv.dataDir, out)
		}
	})
	t.Run("bad flag value", func(t *testing.T) {
		out := runServeExpectFailure(t, nil, "--retention", "10m", "--data-dir", t.TempDir())
		if !strings.Contains(out, "clickhouse.retention (--retention) is 10m0s; it must be at least 1h") {
			t.Errorf("output:\n%s", out)
		}
	})
	t.Run("bad config file", func(t *testing.T) {
		path := t.TempDir() + "/c.yaml"
		_ = os.WriteFile(path, []byte("http_addr: x\nbogus_key: 1\n"), 0o600)
		out := runServeExpectFailure(t, nil, "--config", path)
		if !strings.Contains(out, "bogus_key") || !strings.Contains(out, path) {
			t.Errorf("output:\n%s", out)
		}
	})
	t.Run("port in use", func(t *testing.T) {
		srv := startServer(t, serverOpts{})
		args := append([]string{"--data-dir", t.TempDir()}, ports()...)
		args[3] = srv.grpcAddr // the --otlp-grpc-addr value
		out := runServeExpectFailure(t, []string{"TRACEHOUND_CHDB_LIB=" + libPath}, args...)
		if !strings.Contains(out, srv.grpcAddr) {
			t.Errorf("error does not name the busy address %s:\n%s", srv.grpcAddr, out)
		}
	})
}

// TestExternalClickHouseDSN runs a separately started ClickHouse (the
// embedded launcher on its own ports stands in for an external server) and
// points serve at it with --clickhouse-dsn.
func TestExternalClickHouseDSN(t *testing.T) {
	tcpPort, httpPort := freePort(t), freePort(t)
	ch := exec.Command(binPath, "clickhouse", "--data-dir", t.TempDir(),
		"--tcp-port", fmt.Sprint(tcpPort), "--http-port", fmt.Sprint(httpPort))
	ch.Env = append(os.Environ(), "TRACEHOUND_CHDB_LIB="+libPath)
	chOut := &syncBuffer{}
	ch.Stdout, ch.Stderr = chOut, chOut
	if err := ch.Start(); err != nil {
		t.Fatal(err)
	}
	chExited := make(chan struct{})
	go func() { _ = ch.Wait(); close(chExited) }()
	t.Cleanup(func() {
		_ = ch.Process.Signal(syscall.SIGTERM)
		select {
		case <-chExited:
		case <-time.After(30 * time.Second):
			_ = ch.Process.Kill()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(chOut.String(), "ClickHouse is ready") {
		if time.Now().After(deadline) {
			t.Fatalf("external ClickHouse not ready:\n%s", chOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	srv := startServer(t, serverOpts{dsn: fmt.Sprintf("clickhouse://127.0.0.1:%d/extdb", tcpPort)})
	if strings.Contains(srv.out.String(), "embedded ClickHouse") {
		t.Errorf("serve started an embedded ClickHouse despite --clickhouse-dsn")
	}
	traceID := randomHex(16)
	start := time.Now().Add(-time.Second).UnixNano()
	if code, body, _ := postOTLP(t, srv.otlpHTTP, "application/json",
		[]byte(fmt.Sprintf(rawJSONTrace, traceID, start, start+1000)), nil); code != http.StatusOK {
		t.Fatalf("export: %d %s", code, body)
	}
	srv.waitTrace(t, traceID, 1)
	got := chQuery(t, httpPort, "SELECT count() FROM extdb.spans WHERE hex(trace_id) = upper('"+traceID+"')")
	if got != "1" {
		t.Fatalf("external ClickHouse extdb.spans has %s rows for the trace, want 1", got)
	}
	if v := chQuery(t, httpPort, "SELECT max(version) FROM extdb.tracehound_migrations"); v == "0" || v == "" {
		t.Errorf("migrations not recorded: %q", v)
	}
}
