// Package load sends pre-built OTLP trace requests over several gRPC
// connections as fast as the receiver accepts them, resending a request
// refused with a retryable error after the delay the receiver asks for.
package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip compressor
	"google.golang.org/grpc/status"

	"github.com/tracehound/tracehound/bench/internal/otlpgen"
)

// exportMethod is the OTLP/gRPC trace export method.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// Client modes.
const (
	// ClientRaw sends the rendered bytes as they are (the default: the
	// load generator encodes nothing).
	ClientRaw = "raw"
	// ClientPData decodes each rendered request into pdata and sends it with
	// ptraceotlp's gRPC client, which encodes it again: what an
	// OpenTelemetry Collector's exporter does, at a higher load-generator CPU.
	ClientPData = "pdata"
)

// Config configures Run.
type Config struct {
	Addr      string // host:port of the OTLP/gRPC receiver
	Conns     int    // gRPC connections
	InFlight  int    // requests in flight per connection
	Requests  int    // requests to send
	Templates []*otlpgen.Template
	Seed      uint64 // separates the ids of runs
	Client    string // ClientRaw or ClientPData
	Gzip      bool   // gzip-compress requests
	// AttemptTimeout bounds one export call. Default 60s.
	AttemptTimeout time.Duration
	// GiveUpAfter stops the run when one request has been refused for this
	// long. Default 5 minutes.
	GiveUpAfter time.Duration
}

// Stats are updated while Run works; read them at any time.
type Stats struct {
	Requests      atomic.Int64 // requests sent at least once
	SentSpans     atomic.Int64 // spans in them
	AckedRequests atomic.Int64
	AckedSpans    atomic.Int64 // spans accepted (success, minus partial-success rejections)
	RejectedSpans atomic.Int64 // spans rejected by partial success
	FailedSpans   atomic.Int64 // spans of requests refused with a non-retryable error
	WireBytes     atomic.Int64 // request bytes sent (before compression), retries included

	Retries            atomic.Int64 // resends, all causes
	RetryUnavailable   atomic.Int64
	RetryExhausted     atomic.Int64
	RetryDeadline      atomic.Int64 // timeouts: the only retry that can duplicate
	RetryOther         atomic.Int64
	RetryWaitNanos     atomic.Int64 // time spent waiting before resends, summed over workers
	LastError          atomic.Value // string
	NonRetryableErrors atomic.Int64
}

// Run sends cfg.Requests requests and returns when all are acknowledged or
// failed, or ctx ends, or a request keeps being refused for GiveUpAfter.
func Run(ctx context.Context, cfg Config, st *Stats) error {
	if cfg.Conns <= 0 || cfg.InFlight <= 0 || len(cfg.Templates) == 0 {
		return errors.New("load: need at least one connection, one request in flight and one template")
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 60 * time.Second
	}
	if cfg.GiveUpAfter <= 0 {
		cfg.GiveUpAfter = 5 * time.Minute
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var next atomic.Int64
	var wg sync.WaitGroup
	for c := range cfg.Conns {
		exp, err := newExporter(cfg)
		if err != nil {
			return err
		}
		defer exp.close()
		for w := range cfg.InFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				seed := cfg.Seed ^ uint64(c*1000+w+1)*0x9e3779b97f4a7c15
				worker(ctx, cancel, cfg, st, exp, &next, otlpgen.NewRenderer(cfg.Seed), rand.New(rand.NewPCG(seed, 1)))
			}()
		}
	}
	wg.Wait()
	return context.Cause(ctx)
}

func worker(ctx context.Context, cancel context.CancelCauseFunc, cfg Config, st *Stats, exp exporter, next *atomic.Int64, r *otlpgen.Renderer, rnd *rand.Rand) {
	for ctx.Err() == nil {
		n := next.Add(1) - 1
		if n >= int64(cfg.Requests) {
			return
		}
		tpl := cfg.Templates[n%int64(len(cfg.Templates))]
		// The send number seeds the ids, so every request is unique in a run
		// and a resend is byte-identical.
		payload := r.Render(tpl, uint64(n), time.Now())
		st.Requests.Add(1)
		st.SentSpans.Add(int64(tpl.Spans()))
		if err := send(ctx, cfg, st, exp, payload, int64(tpl.Spans()), rnd); err != nil {
			cancel(err)
			return
		}
	}
}

// send exports one request until it is acknowledged or refused for good.
// It returns an error only to stop the whole run.
func send(ctx context.Context, cfg Config, st *Stats, exp exporter, payload []byte, spans int64, rnd *rand.Rand) error {
	first := time.Now()
	backoff := 100 * time.Millisecond
	for {
		st.WireBytes.Add(int64(len(payload)))
		actx, acancel := context.WithTimeout(ctx, cfg.AttemptTimeout)
		rejected, err := exp.export(actx, payload)
		acancel()
		if err == nil {
			st.AckedRequests.Add(1)
			st.AckedSpans.Add(spans - rejected)
			st.RejectedSpans.Add(rejected)
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		s, _ := status.FromError(err)
		st.LastError.Store(err.Error())
		switch s.Code() {
		case codes.Unavailable:
			st.RetryUnavailable.Add(1)
		case codes.ResourceExhausted:
			st.RetryExhausted.Add(1)
		case codes.DeadlineExceeded:
			st.RetryDeadline.Add(1)
		case codes.Aborted:
			st.RetryOther.Add(1)
		default:
			st.NonRetryableErrors.Add(1)
			st.FailedSpans.Add(spans)
			return nil
		}
		if time.Since(first) > cfg.GiveUpAfter {
			return fmt.Errorf("load: a request has been refused for %v, giving up; last error: %w", cfg.GiveUpAfter, err)
		}
		st.Retries.Add(1)
		delay := retryDelay(s)
		if delay <= 0 {
			delay = backoff + time.Duration(rnd.Int64N(int64(backoff)/2+1))
			backoff = min(2*backoff, 5*time.Second)
		}
		st.RetryWaitNanos.Add(int64(delay))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// retryDelay is the delay of the google.rpc.RetryInfo detail, if any.
func retryDelay(s *status.Status) time.Duration {
	for _, d := range s.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

type exporter interface {
	// export sends one encoded ExportTraceServiceRequest and returns the
	// partial-success rejected span count.
	export(ctx context.Context, payload []byte) (int64, error)
	close()
}

func dial(cfg Config) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20), grpc.MaxCallRecvMsgSize(64<<20)),
	}
	if cfg.Gzip {
		opts = append(opts, grpc.WithDefaultCallOptions(grpc.UseCompressor("gzip")))
	}
	// One ClientConn is one HTTP/2 (TCP) connection.
	return grpc.NewClient("passthrough:///"+cfg.Addr, opts...)
}

func newExporter(cfg Config) (exporter, error) {
	conn, err := dial(cfg)
	if err != nil {
		return nil, fmt.Errorf("load: connecting to %s: %w", cfg.Addr, err)
	}
	switch cfg.Client {
	case "", ClientRaw:
		return &rawExporter{conn: conn}, nil
	case ClientPData:
		return &pdataExporter{conn: conn, client: ptraceotlp.NewGRPCClient(conn)}, nil
	default:
		conn.Close()
		return nil, fmt.Errorf("load: unknown client %q (raw or pdata)", cfg.Client)
	}
}

// rawCodec passes encoded messages through: the request is already an
// encoded ExportTraceServiceRequest, the response is kept encoded.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(rawMessage)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*p = append((*p)[:0], data...)
	return nil
}

// Name is "proto" so the content type is application/grpc+proto, what the
// receiver expects.
func (rawCodec) Name() string { return "proto" }

type rawMessage []byte

type rawExporter struct {
	conn *grpc.ClientConn
}

func (e *rawExporter) export(ctx context.Context, payload []byte) (int64, error) {
	var resp []byte
	if err := e.conn.Invoke(ctx, exportMethod, rawMessage(payload), &resp, grpc.ForceCodec(rawCodec{})); err != nil {
		return 0, err
	}
	if len(resp) == 0 {
		return 0, nil
	}
	r := ptraceotlp.NewExportResponse()
	if err := r.UnmarshalProto(resp); err != nil {
		return 0, fmt.Errorf("load: decoding the export response: %w", err)
	}
	return r.PartialSuccess().RejectedSpans(), nil
}

func (e *rawExporter) close() { e.conn.Close() }

type pdataExporter struct {
	conn   *grpc.ClientConn
	client ptraceotlp.GRPCClient
}

func (e *pdataExporter) export(ctx context.Context, payload []byte) (int64, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(payload); err != nil {
		return 0, err
	}
	resp, err := e.client.Export(ctx, req)
	if err != nil {
		return 0, err
	}
	return resp.PartialSuccess().RejectedSpans(), nil
}

func (e *pdataExporter) close() { e.conn.Close() }
