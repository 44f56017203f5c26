package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// ledger records the fate of every request a load generator sent, by
// request id: acknowledged, refused by the server with a retryable error
// (RetryInfo present: nothing of it may be stored), or unknown (the
// connection failed with the request in flight: all of it or nothing may
// be stored, as a client would send it again).
type ledger struct {
	mu      sync.Mutex
	spans   int // per request
	acked   map[string]bool
	refused map[string]bool
	unknown map[string]bool
	codes   map[string]int // refusal reasons
}

func newLedger(spansPerRequest int) *ledger {
	return &ledger{spans: spansPerRequest, acked: map[string]bool{}, refused: map[string]bool{}, unknown: map[string]bool{}, codes: map[string]int{}}
}

func (l *ledger) record(id string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.acked[id] = true
		return
	}
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			l.refused[id] = true
			l.codes[st.Code().String()]++
			return
		}
	}
	l.unknown[id] = true
	l.codes["unknown: "+st.Code().String()]++
}

func (l *ledger) counts() (acked, refused, unknown int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked), len(l.refused), len(l.unknown)
}

// runLoad sends requests of l.spans spans from workers goroutines, pausing
// between requests, until stop is closed. Every span carries the request
// id in its "req" attribute.
func runLoad(conn *grpc.ClientConn, l *ledger, service string, workers int, pause time.Duration, stop <-chan struct{}) *sync.WaitGroup {
	client := ptraceotlp.NewGRPCClient(conn)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%d", w, n)
				req := makeRequest(service, l.spans)
				spans := req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans()
				for i := range spans.Len() {
					spans.At(i).Attributes().PutStr("req", id)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				resp, err := client.Export(ctx, req)
				cancel()
				if err == nil && resp.PartialSuccess().RejectedSpans() != 0 {
					err = fmt.Errorf("partial success: %s", resp.PartialSuccess().ErrorMessage())
				}
				l.record(id, err)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
				} else {
					time.Sleep(pause)
				}
			}
		})
	}
	return &wg
}

// verifyLedger waits until ClickHouse holds what the ledger says and checks
// it exactly: every acknowledged request stored once, no refused one, each
// unknown one entirely or not at all, no duplicate span.
func verifyLedger(t *testing.T, httpPort int, service string, l *ledger, wait time.Duration) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	want := len(l.acked) * l.spans
	q := fmt.Sprintf("SELECT attributes['req'], count(), uniqExact(trace_id, span_id) FROM tracehound.spans WHERE service = '%s' GROUP BY 1 FORMAT TSV", service)
	var (
		rows  map[string][2]int
		total int
	)
	deadline := time.Now().Add(wait)
	for {
		rows, total = map[string][2]int{}, 0
		for line := range strings.SplitSeq(chQuery(t, httpPort, q), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			c, _ := strconv.Atoi(f[1])
			d, _ := strconv.Atoi(f[2])
			rows[f[0]] = [2]int{c, d}
			total += c
		}
		stored := 0
		for id := range l.acked {
			stored += rows[id][0]
		}
		if stored >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	unknownStored := 0
	for id, r := range rows {
		switch {
		case r[0] != r[1]:
			t.Errorf("request %s: %d rows but %d distinct spans (duplicates)", id, r[0], r[1])
		case l.acked[id] && r[0] != l.spans:
			t.Errorf("acknowledged request %s: %d of %d spans stored", id, r[0], l.spans)
		case l.refused[id]:
			t.Errorf("refused request %s: %d spans stored", id, r[0])
		case l.unknown[id] && r[0] != l.spans:
			t.Errorf("request %s in flight at the failure: %d of %d spans stored (want all or none)", id, r[0], l.spans)
		case l.unknown[id]:
			unknownStored++
		case !l.acked[id]:
			t.Errorf("request %s stored but never sent", id)
		}
	}
	for id := range l.acked {
		if _, ok := rows[id]; !ok {
			t.Errorf("acknowledged request %s: nothing stored", id)
		}
	}
	t.Logf("acknowledged %d requests = %d spans; stored %d spans (%d of %d in-flight-at-failure requests stored whole); refused %d requests %v",
		len(l.acked), want, total, unknownStored, len(l.unknown), len(l.refused), l.codes)
	if total != want+unknownStored*l.spans {
		t.Errorf("stored %d spans, acknowledged %d (+%d of unknown outcome)", total, want, unknownStored*l.spans)
	}
}

func dialGRPC(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestClickHouseStopped60s: ClickHouse is frozen (SIGSTOP) for 60 s under
// steady load. Ingest goes on into the write-ahead log (spilling to disk:
// the in-memory queue is small), and once ClickHouse resumes every
// acknowledged span is stored exactly once.
func TestClickHouseStopped60s(t *testing.T) {
	if testing.Short() {
		t.Skip("60 s outage")
	}
	cfg := writeConfig(t, "writer:\n  queue_spans: 20000\n  batch_spans: 10000\n  insert_timeout: 10s\n  max_retry_backoff: 2s\n")
	srv := startServer(t, serverOpts{extra: []string{"--config", cfg}})
	pid, httpPort := srv.chChild()
	const service = "stopped-ch"
	l := newLedger(100)
	stop := make(chan struct{})
	wg := runLoad(dialGRPC(t, srv.grpcAddr), l, service, 2, 40*time.Millisecond, stop)

	time.Sleep(3 * time.Second)
	before, _, _ := l.counts()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	resumed := false
	defer func() {
		if !resumed {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	time.Sleep(60 * time.Second)
	during, refusedDuring, unknownDuring := l.counts()
	walBytes := srv.metric(t, "tracehound_wal_bytes")
	_ = syscall.Kill(pid, syscall.SIGCONT)
	resumed = true
	t.Logf("ClickHouse stopped for %v: %d requests acknowledged before, %d during (%d refused, %d unknown); WAL %.0f bytes",
		time.Since(stopped).Round(time.Second), before, during-before, refusedDuring, unknownDuring, walBytes)
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	acked, refused, unknown := l.counts()
	if during-before < 100 {
		t.Errorf("only %d requests acknowledged while ClickHouse was stopped; the WAL should take them", during-before)
	}
	if refused+unknown > 0 {
		t.Errorf("%d requests refused and %d failed during the outage; want none (the WAL has room)", refused, unknown)
	}
	start := time.Now()
	verifyLedger(t, httpPort, service, l, 3*time.Minute)
	diskReads := srv.metric(t, "tracehound_wal_disk_reads_total")
	t.Logf("%d requests acknowledged in total; all stored %v after load stopped; %.0f records read back from disk",
		acked, time.Since(start).Round(time.Second), diskReads)
	if diskReads == 0 {
		t.Error("no record was read back from disk: the in-memory bound did not apply")
	}
}

// TestKill9MidLoad: tracehound is killed with SIGKILL under load while
// ClickHouse is frozen (so the log holds seconds of acknowledged spans and
// an insert may be half done), then restarted on the same data directory:
// every acknowledged span is stored exactly once.
func TestKill9MidLoad(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, serverOpts{dataDir: dataDir})
	pid, _ := srv.chChild()
	const service = "kill9"
	l := newLedger(100)
	stop := make(chan struct{})
	wg := runLoad(dialGRPC(t, srv.grpcAddr), l, service, 3, 20*time.Millisecond, stop)

	time.Sleep(3 * time.Second)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	pending := srv.metric(t, "tracehound_wal_pending_spans")
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.stopped = true
	<-srv.exited
	_ = syscall.Kill(pid, syscall.SIGCONT) // it sees its pipe closed and exits
	close(stop)
	wg.Wait()
	for deadline := time.Now().Add(30 * time.Second); processAlive(pid); {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("embedded ClickHouse %d still running 30 s after tracehound died", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	acked, refused, unknown := l.counts()
	t.Logf("killed with %.0f spans pending in the WAL; %d requests acknowledged, %d refused, %d cut by the kill", pending, acked, refused, unknown)
	if pending == 0 {
		t.Error("nothing was pending in the WAL at the kill; the test did not test replay")
	}

	again := startServer(t, serverOpts{dataDir: dataDir})
	if !strings.Contains(again.out.String(), "write-ahead log holds spans not yet stored") {
		t.Errorf("restart did not report a replay")
	}
	_, httpPort := again.chChild()
	verifyLedger(t, httpPort, service, l, 2*time.Minute)
	if replayed := again.metric(t, "tracehound_wal_replayed_spans_total"); replayed == 0 {
		t.Error("tracehound_wal_replayed_spans_total is 0 after the restart")
	}
}

// TestOverloadBoundedMemory offers far more load than the server can
// store, with a memory bound and a small WAL: memory stays under the bound,
// the excess gets retryable errors only, and everything acknowledged is
// stored.
func TestOverloadBoundedMemory(t *testing.T) {
	const limit = 384 << 20
	cfg := writeConfig(t, fmt.Sprintf(`otlp:
  memory_limit_bytes: %d
  max_concurrent_requests: 16
wal:
  max_bytes: 134217728
  segment_bytes: 16777216
`, limit))
	srv := startServer(t, serverOpts{extra: []string{"--config", cfg}})
	_, httpPort := srv.chChild()
	const service = "overload"
	l := newLedger(1000)

	// HTTP senders with pre-encoded bodies are cheap for the test process:
	// 24 of them without pause offer far more than two CPUs can store.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var nonRetryable sync.Map
	client := &http.Client{Timeout: 60 * time.Second}
	for w := range 24 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("h%d-%d", w, n)
				req := makeRequest(service, l.spans)
				spans := req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans()
				for i := range spans.Len() {
					spans.At(i).Attributes().PutStr("req", id)
				}
				body, _ := req.MarshalProto()
				resp, err := client.Post("http://"+srv.otlpHTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
				if err != nil {
					l.record(id, err)
					continue
				}
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusOK:
					l.record(id, nil)
				case (resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests) && resp.Header.Get("Retry-After") != "":
					l.mu.Lock()
					l.refused[id] = true
					l.codes[strconv.Itoa(resp.StatusCode)]++
					l.mu.Unlock()
					time.Sleep(50 * time.Millisecond)
				default:
					nonRetryable.Store(id, resp.StatusCode)
					l.record(id, fmt.Errorf("status %d", resp.StatusCode))
				}
			}
		})
	}
	var peak int64
	samples := 0
	for end := time.Now().Add(40 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if rss := rssBytes(srv.cmd.Process.Pid); rss > peak {
			peak = rss
		}
		samples++
	}
	close(stop)
	wg.Wait()
	acked, refused, unknown := l.counts()
	t.Logf("40 s of overload: peak RSS %.0f MiB (bound %d MiB, %d samples); %d requests acknowledged, %d refused (retryable) %v, %d failed",
		float64(peak)/(1<<20), limit>>20, samples, acked, refused, l.codes, unknown)
	t.Logf("refusals by reason: %s", metricLines(t, srv, `tracehound_ingest_requests_total{outcome=`))
	if peak > limit {
		t.Errorf("peak RSS %d bytes above the %d-byte bound", peak, limit)
	}
	if refused == 0 {
		t.Error("no request was refused: the load was not above capacity")
	}
	nonRetryable.Range(func(k, v any) bool {
		t.Errorf("request %v got non-retryable status %v", k, v)
		return true
	})
	verifyLedger(t, httpPort, service, l, 3*time.Minute)
}

// rssBytes is a process's resident set size.
func rssBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// metricLines returns the /metrics lines starting with prefix, joined.
func metricLines(t *testing.T, srv *server, prefix string) string {
	t.Helper()
	resp, err := http.Get("http://" + srv.apiAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var out []string
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if strings.HasPrefix(line, prefix) || strings.Contains(line, prefix) && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "; ")
}
