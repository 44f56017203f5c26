package load

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tracehound/tracehound/bench/internal/otlpgen"
)

// fakeReceiver refuses every request the first time it sees its first span
// id (UNAVAILABLE with RetryInfo, or RESOURCE_EXHAUSTED without), accepts it
// the second time, and reports one rejected span on every tenth request.
type fakeReceiver struct {
	ptraceotlp.UnimplementedGRPCServer
	mu       sync.Mutex
	attempts map[string]int
	order    map[string]int // 1-based order of first arrival
	payloads map[string][]byte
	resent   int
	changed  int
}

func (f *fakeReceiver) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	b, err := req.MarshalProto()
	if err != nil {
		return ptraceotlp.ExportResponse{}, err
	}
	key := req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID().String()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts[key]++
	n := f.attempts[key]
	if n == 1 {
		f.order[key] = len(f.attempts)
	}
	if prev, ok := f.payloads[key]; ok {
		f.resent++
		if string(prev) != string(b) {
			f.changed++
		}
	}
	f.payloads[key] = b
	if n == 1 {
		if f.order[key]%2 == 0 {
			st, _ := status.New(codes.Unavailable, "queue full").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(5 * time.Millisecond)})
			return ptraceotlp.ExportResponse{}, st.Err()
		}
		return ptraceotlp.ExportResponse{}, status.Error(codes.ResourceExhausted, "slow down")
	}
	resp := ptraceotlp.NewExportResponse()
	if f.order[key]%10 == 0 {
		resp.PartialSuccess().SetRejectedSpans(1)
	}
	return resp, nil
}

func TestRunResendsRefusedRequestsUnchanged(t *testing.T) {
	for _, client := range []string{ClientRaw, ClientPData} {
		t.Run(client, func(t *testing.T) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := grpc.NewServer()
			fake := &fakeReceiver{attempts: map[string]int{}, order: map[string]int{}, payloads: map[string][]byte{}}
			ptraceotlp.RegisterGRPCServer(srv, fake)
			go func() { _ = srv.Serve(lis) }()
			defer srv.Stop()

			tpls, err := otlpgen.Build(otlpgen.Options{Templates: 3, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			st := &Stats{}
			cfg := Config{Addr: lis.Addr().String(), Conns: 2, InFlight: 2, Requests: 20, Templates: tpls, Seed: 9, Client: client}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := Run(ctx, cfg, st); err != nil {
				t.Fatal(err)
			}
			if got := st.Requests.Load(); got != 20 {
				t.Errorf("%d requests sent, want 20", got)
			}
			if got := len(fake.attempts); got != 20 {
				t.Errorf("receiver saw %d distinct requests, want 20", got)
			}
			if fake.resent != 20 || fake.changed != 0 {
				t.Errorf("%d resends (%d changed), want 20 identical resends", fake.resent, fake.changed)
			}
			if st.Retries.Load() != 20 || st.RetryUnavailable.Load() != 10 || st.RetryExhausted.Load() != 10 {
				t.Errorf("retries %d (unavailable %d, exhausted %d)", st.Retries.Load(), st.RetryUnavailable.Load(), st.RetryExhausted.Load())
			}
			if st.RejectedSpans.Load() != 2 || st.AckedSpans.Load() != 20*500-2 {
				t.Errorf("acked %d, rejected %d", st.AckedSpans.Load(), st.RejectedSpans.Load())
			}
		})
	}
}

func TestRunStopsOnNonRetryableErrorsCounted(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, &badReceiver{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	tpls, err := otlpgen.Build(otlpgen.Options{Templates: 1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	st := &Stats{}
	if err := Run(context.Background(), Config{Addr: lis.Addr().String(), Conns: 1, InFlight: 1, Requests: 3, Templates: tpls}, st); err != nil {
		t.Fatal(err)
	}
	if st.FailedSpans.Load() != 1500 || st.AckedSpans.Load() != 0 || st.Retries.Load() != 0 {
		t.Errorf("failed %d, acked %d, retries %d", st.FailedSpans.Load(), st.AckedSpans.Load(), st.Retries.Load())
	}
}

type badReceiver struct {
	ptraceotlp.UnimplementedGRPCServer
}

func (badReceiver) Export(context.Context, ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	return ptraceotlp.ExportResponse{}, status.Error(codes.InvalidArgument, "bad")
}
