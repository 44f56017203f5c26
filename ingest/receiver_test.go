package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"

	"github.com/tracehound/tracehound/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeSink records the spans it accepts. Set err to make Enqueue fail; set
// block to make Enqueue wait (entered gets a value when it starts waiting).
type fakeSink struct {
	mu      sync.Mutex
	spans   []storage.Span
	calls   int
	err     error
	block   chan struct{}
	entered chan struct{}
}

func (s *fakeSink) Enqueue(ctx context.Context, batch *storage.SpanBatch) error {
	s.mu.Lock()
	block, entered, err := s.block, s.entered, s.err
	s.calls++
	s.mu.Unlock()
	if block != nil {
		if entered != nil {
			entered <- struct{}{}
		}
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spans = append(s.spans, batchSpans(batch)...)
	return nil
}

func (s *fakeSink) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// take returns the recorded spans and forgets them.
func (s *fakeSink) take() []storage.Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.spans
	s.spans = nil
	return out
}

func testConfig() Config {
	cfg := NewDefaultConfig()
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	return cfg
}

// startReceiver starts a receiver on free ports; it is shut down when the
// test ends.
func startReceiver(t *testing.T, cfg Config, sink Sink, reg prometheus.Registerer) *Receiver {
	t.Helper()
	r, err := New(cfg, sink, reg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return r
}

func TestShutdownWithoutStart(t *testing.T) {
	t.Parallel()
	r, err := New(testConfig(), &fakeSink{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown without Start: %v", err)
		}
	}
	if err := r.Start(context.Background()); err == nil {
		t.Fatal("Start after Shutdown succeeded; want an error")
	}
	if r.GRPCAddr() != "" || r.HTTPAddr() != "" {
		t.Fatalf("addresses before Start: %q %q; want empty", r.GRPCAddr(), r.HTTPAddr())
	}
}

func TestStartShutdownTwice(t *testing.T) {
	t.Parallel()
	for i := range 2 {
		reg := prometheus.NewPedanticRegistry()
		r, err := New(testConfig(), &fakeSink{}, reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatalf("round %d: Start: %v", i, err)
		}
		if err := r.Start(context.Background()); err == nil || err.Error() != "ingest: receiver already started" {
			t.Fatalf("second Start: %v; want already started", err)
		}
		for _, addr := range []string{r.GRPCAddr(), r.HTTPAddr()} {
			if _, port, _ := net.SplitHostPort(addr); port == "" || port == "0" {
				t.Fatalf("bound address %q has no port", addr)
			}
		}
		if err := r.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if err := r.Shutdown(context.Background()); err != nil {
			t.Fatalf("second Shutdown: %v", err)
		}
		if _, err := reg.Gather(); err != nil {
			t.Fatalf("Gather: %v", err)
		}
	}
}

func TestStartPortInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()

	t.Run("grpc", func(t *testing.T) {
		cfg := testConfig()
		cfg.GRPCAddr = addr
		r, err := New(cfg, &fakeSink{}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = r.Start(context.Background())
		if err == nil {
			t.Fatal("Start succeeded on a busy port")
		}
		want := "ingest: cannot listen for OTLP/gRPC on " + addr + " (otlp.grpc_addr): "
		if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("error %q; want prefix %q and 'address already in use'", err, want)
		}
		if err := r.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("http", func(t *testing.T) {
		// Pick a free port for gRPC, and check it is released after the
		// HTTP listener fails.
		free, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		grpcAddr := free.Addr().String()
		free.Close()

		cfg := testConfig()
		cfg.GRPCAddr = grpcAddr
		cfg.HTTPAddr = addr
		r, err := New(cfg, &fakeSink{}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = r.Start(context.Background())
		if err == nil {
			t.Fatal("Start succeeded on a busy port")
		}
		want := "ingest: cannot listen for OTLP/HTTP on " + addr + " (otlp.http_addr): "
		if !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("error %q; want prefix %q", err, want)
		}
		again, err := net.Listen("tcp", grpcAddr)
		if err != nil {
			t.Fatalf("gRPC port still bound after failed Start: %v", err)
		}
		again.Close()
		if err := r.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNewRejectsBadInput(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxEventsPerSpan = 0
	_, err := New(cfg, &fakeSink{}, nil, nil)
	if err == nil || err.Error() != "ingest: invalid configuration: otlp.max_events_per_span is 0; it must be positive" {
		t.Fatalf("New with bad config: %v", err)
	}
	if _, err := New(testConfig(), nil, nil, nil); err == nil {
		t.Fatal("New with nil sink succeeded")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(testConfig(), &fakeSink{}, reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := New(testConfig(), &fakeSink{}, reg, nil); err == nil || !strings.Contains(err.Error(), "ingest: register metrics") {
		t.Fatalf("second New on the same registry: %v; want a registration error", err)
	}
}

// TestShutdownDrainsInFlight checks that Shutdown lets an in-flight request
// finish.
func TestShutdownDrainsInFlight(t *testing.T) {
	t.Parallel()
	for _, protocol := range []string{protoGRPC, protoHTTP} {
		t.Run(protocol, func(t *testing.T) {
			sink := &fakeSink{block: make(chan struct{}), entered: make(chan struct{}, 1)}
			r, err := New(testConfig(), sink, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			client := grpcClient(t, r.GRPCAddr())
			body := protoBody(t, validTraces())
			done := make(chan error, 1)
			go func() {
				if protocol == protoHTTP {
					res, err := postTraces(r.HTTPAddr(), contentTypeProto, "", body)
					if err == nil && res.status != http.StatusOK {
						err = fmt.Errorf("status %d: %s", res.status, res.body)
					}
					done <- err
					return
				}
				_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(validTraces()))
				done <- err
			}()
			<-sink.entered

			stopped := make(chan error, 1)
			go func() { stopped <- r.Shutdown(context.Background()) }()
			select {
			case err := <-stopped:
				t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
			case <-time.After(50 * time.Millisecond):
			}
			close(sink.block)
			if err := <-done; err != nil {
				t.Fatalf("in-flight request: %v", err)
			}
			if err := <-stopped; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if n := len(sink.take()); n != 1 {
				t.Fatalf("sink got %d spans; want 1", n)
			}
		})
	}
}

// TestShutdownForcesAfterDeadline checks that Shutdown waits for a request
// stuck in the sink until its deadline, then aborts it.
func TestShutdownForcesAfterDeadline(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	r, err := New(testConfig(), sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	body := protoBody(t, validTraces())
	go func() {
		_, err := postTraces(r.HTTPAddr(), contentTypeProto, "", body)
		done <- err
	}()
	<-sink.entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = r.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v; want deadline exceeded", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("Shutdown returned after %v, before its deadline", d)
	}
	if err := <-done; err == nil {
		t.Fatal("the aborted request succeeded")
	}
	close(sink.block)
}

// counterValue reads one sample from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metric
				}
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	sink := &fakeSink{}
	r := startReceiver(t, testConfig(), sink, reg)

	td := validTraces()
	addSpan(td, func(s ptrace.Span) { s.SetEndTimestamp(1) }) // invalid: end before start
	if _, err := postTraces(r.HTTPAddr(), contentTypeProto, "", protoBody(t, td)); err != nil {
		t.Fatal(err)
	}
	sink.setErr(storage.ErrQueueFull)
	if _, err := postTraces(r.HTTPAddr(), contentTypeProto, "", protoBody(t, validTraces())); err != nil {
		t.Fatal(err)
	}
	if _, err := postTraces(r.HTTPAddr(), "text/plain", "", []byte("x")); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tracehound_ingest_spans_received_total", map[string]string{"protocol": "http"}, 3},
		{"tracehound_ingest_spans_accepted_total", map[string]string{"protocol": "http"}, 1},
		{"tracehound_ingest_spans_refused_total", map[string]string{"protocol": "http", "reason": "invalid"}, 1},
		{"tracehound_ingest_spans_refused_total", map[string]string{"protocol": "http", "reason": "queue_full"}, 1},
		{"tracehound_ingest_requests_total", map[string]string{"protocol": "http", "outcome": "partial_success"}, 1},
		{"tracehound_ingest_requests_total", map[string]string{"protocol": "http", "outcome": "queue_full"}, 1},
		{"tracehound_ingest_requests_total", map[string]string{"protocol": "http", "outcome": "unsupported_media_type"}, 1},
		{"tracehound_ingest_request_bytes", map[string]string{"protocol": "http"}, 2},
		{"tracehound_ingest_spans_received_total", map[string]string{"protocol": "grpc"}, 0},
	} {
		if got := counterValue(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v; want %v", c.name, c.labels, got, c.want)
		}
	}
}
