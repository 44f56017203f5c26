package e2e

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// makeRequest builds one OTLP request of n spans in traces of 10 spans.
func makeRequest(service string, n int) ptraceotlp.ExportRequest {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	now := time.Now()
	var traceID pcommon.TraceID
	for i := 0; i < n; i++ {
		if i%10 == 0 {
			_, _ = rand.Read(traceID[:])
		}
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(traceID)
		var sid pcommon.SpanID
		_, _ = rand.Read(sid[:])
		if binary.BigEndian.Uint64(sid[:]) == 0 {
			sid[0] = 1
		}
		sp.SetSpanID(sid)
		sp.SetName("op-" + strconv.Itoa(i%7))
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		sp.Attributes().PutStr("http.route", "/items/{id}")
		sp.Attributes().PutInt("seq", int64(i))
	}
	return ptraceotlp.NewExportRequestFromTraces(td)
}

// TestClickHouseOutageLosesNothing kills the embedded ClickHouse while spans
// are being sent; the supervisor restarts it and every acknowledged span must
// be stored exactly once.
func TestClickHouseOutageLosesNothing(t *testing.T) {
	srv := startServer(t, serverOpts{})
	conn, err := grpc.NewClient(srv.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	const spansPerRequest = 200
	var acked, refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				resp, err := client.Export(ctx, makeRequest("outage-svc", spansPerRequest))
				cancel()
				if err != nil {
					refused.Add(spansPerRequest)
					time.Sleep(50 * time.Millisecond)
					continue
				}
				acked.Add(spansPerRequest - resp.PartialSuccess().RejectedSpans())
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}

	time.Sleep(2 * time.Second)
	pid, httpPort := srv.chChild()
	beforeKill := acked.Load()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Keep sending while ClickHouse is down and while it comes back.
	time.Sleep(6 * time.Second)
	close(stop)
	wg.Wait()
	total := acked.Load()
	if total <= beforeKill {
		t.Fatalf("no span acknowledged after the kill (%d before, %d total, %d refused)", beforeKill, total, refused.Load())
	}
	newPID, _ := srv.chChild()
	if newPID == pid {
		t.Fatalf("ClickHouse child was not restarted (pid %d)", pid)
	}
	if !strings.Contains(srv.out.String(), "exited unexpectedly") {
		t.Errorf("crash of the child not reported in the log")
	}

	var stored, distinct string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res := chQuery(t, httpPort, "SELECT count(), uniqExact(span_id) FROM tracehound.spans WHERE service = 'outage-svc'")
		f := strings.Fields(res)
		stored, distinct = f[0], f[1]
		if stored == strconv.FormatInt(total, 10) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("acknowledged %d spans (%d before the kill), refused %d, stored %s (%s distinct)", total, beforeKill, refused.Load(), stored, distinct)
	if stored != strconv.FormatInt(total, 10) || distinct != stored {
		t.Fatalf("acknowledged %d spans but stored %s rows with %s distinct span ids", total, stored, distinct)
	}
}
