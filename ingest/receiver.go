// Package ingest receives spans over OTLP (gRPC and HTTP) and Zipkin,
// validates them and hands them to a Sink (the bounded write queue) as a
// columnar storage.SpanBatch.
//
// OTLP/protobuf requests, from gRPC and HTTP, are decoded straight from
// their bytes into the batch by Convert, without an intermediate object
// model. OTLP/JSON and Zipkin requests are parsed with pdata and then take
// the same path through their protobuf encoding, so there is one
// converter, with one set of validation rules.
//
// Bad input never crashes the receiver: malformed requests get the OTLP
// error for their protocol, invalid spans are rejected one by one and
// reported in the OTLP partial success, and an overloaded sink gets the
// retryable OTLP error. Outcomes are counted in Prometheus metrics, not
// logged per span.
package ingest

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/tracehound/tracehound/internal/authn"
	"github.com/tracehound/tracehound/internal/memlimit"
)

// Protocols: values of the protocol metric label.
const (
	protoGRPC = "grpc"
	protoHTTP = "http"
)

// Receiver runs the OTLP/gRPC and OTLP/HTTP trace receivers.
//
// Its lifecycle follows the OpenTelemetry Collector component contract:
// Start binds both listeners and returns; Shutdown stops them and may be
// called without Start and more than once. A Receiver cannot be restarted.
type Receiver struct {
	cfg     Config
	sink    Sink
	logger  *slog.Logger
	metrics *metrics

	grpcSlots chan struct{} // semaphore: in-flight gRPC requests
	httpSlots chan struct{} // semaphore: in-flight HTTP requests
	handlers  handlerGate   // requests that may still call the sink

	tokens    *authn.Tokens     // nil: no authentication
	memory    *memlimit.Limiter // nil: no memory bound
	rate      *rateLimiter      // nil: no rate limit
	tlsConfig *tls.Config       // nil: plain TCP

	mu         sync.Mutex
	started    bool
	stopped    bool
	grpcServer *grpc.Server
	grpcLn     net.Listener
	httpServer *http.Server
	httpLn     net.Listener
	serving    sync.WaitGroup
}

// New returns a Receiver that pushes the spans it receives to sink. It
// validates cfg and loads its TLS certificates. Metrics are registered with
// reg; a nil reg registers none. A nil logger discards logs.
func New(cfg Config, sink Sink, reg prometheus.Registerer, logger *slog.Logger, opts ...Option) (*Receiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ingest: invalid configuration: %w", err)
	}
	if sink == nil {
		return nil, errors.New("ingest: sink is nil")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tlsConfig, err := cfg.TLS.ServerConfig()
	if err != nil {
		return nil, fmt.Errorf("ingest: "+configPrefix+"tls: %w", err)
	}
	r := &Receiver{
		cfg:       cfg,
		sink:      sink,
		logger:    logger,
		grpcSlots: make(chan struct{}, cfg.MaxConcurrentRequests),
		httpSlots: make(chan struct{}, cfg.MaxConcurrentRequests),
		handlers:  handlerGate{idle: make(chan struct{})},
		rate:      newRateLimiter(cfg.RateLimit),
		tlsConfig: tlsConfig,
	}
	for _, o := range opts {
		o(r)
	}
	m, err := newMetrics(reg, r.rate)
	if err != nil {
		return nil, err
	}
	r.metrics = m
	return r, nil
}

// TLS reports whether the receivers serve TLS.
func (r *Receiver) TLS() bool { return r.tlsConfig != nil }

// Authenticated reports whether the receivers require a token.
func (r *Receiver) Authenticated() bool { return r.tokens.Enabled() }

// limit wraps a listener with the connection limit.
func (r *Receiver) limit(ln net.Listener, protocol string) net.Listener {
	return &limitListener{Listener: ln, max: int64(r.cfg.MaxConnections),
		refused: func() { r.metrics.connRefused.WithLabelValues(protocol).Inc() }}
}

// Start binds the gRPC and HTTP listeners and serves them in the background.
// It returns an error naming the address when a listener cannot be bound
// (for example when the port is in use); nothing is left running then.
func (r *Receiver) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.stopped:
		return errors.New("ingest: receiver was shut down; create a new one")
	case r.started:
		return errors.New("ingest: receiver already started")
	}

	var lc net.ListenConfig
	grpcLn, err := lc.Listen(ctx, "tcp", r.cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("ingest: cannot listen for OTLP/gRPC on %s ("+configPrefix+"grpc_addr): %w", r.cfg.GRPCAddr, err)
	}
	r.started = true
	r.grpcLn = grpcLn
	r.grpcServer = r.newGRPCServer()
	r.serving.Go(func() {
		if err := r.grpcServer.Serve(r.limit(grpcLn, protoGRPC)); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			r.logger.Error("OTLP/gRPC receiver stopped serving", "addr", grpcLn.Addr().String(), "error", err)
		}
	})

	httpLn, err := lc.Listen(ctx, "tcp", r.cfg.HTTPAddr)
	if err != nil {
		err = fmt.Errorf("ingest: cannot listen for OTLP/HTTP on %s ("+configPrefix+"http_addr): %w", r.cfg.HTTPAddr, err)
		r.stopped = true
		return errors.Join(err, r.stopServers(ctx, r.grpcServer, nil))
	}
	r.httpLn = httpLn
	r.httpServer = r.newHTTPServer()
	r.serving.Go(func() {
		var err error
		if r.tlsConfig != nil {
			r.httpServer.TLSConfig = r.tlsConfig
			err = r.httpServer.ServeTLS(r.limit(httpLn, protoHTTP), "", "")
		} else {
			err = r.httpServer.Serve(r.limit(httpLn, protoHTTP))
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.logger.Error("OTLP/HTTP receiver stopped serving", "addr", httpLn.Addr().String(), "error", err)
		}
	})
	r.logger.Info("OTLP receivers started", "grpc_addr", grpcLn.Addr().String(), "http_addr", httpLn.Addr().String(),
		"tls", r.tlsConfig != nil, "mtls", r.tlsConfig != nil && r.tlsConfig.ClientCAs != nil,
		"auth_tokens", r.tokens.Len(), "rate_limit_spans_per_second", r.cfg.RateLimit.SpansPerSecond,
		"memory_limit_bytes", r.memory.Limit())
	return nil
}

// Shutdown stops accepting requests and waits for the in-flight ones to
// finish until ctx is done; then it aborts them and returns ctx's error.
// Once it returns, the receiver no longer calls the sink (aborted requests
// are cancelled through their context, and the Sink contract keeps Enqueue
// short). It is safe to call without Start and more than once.
func (r *Receiver) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if r.stopped || !r.started {
		r.stopped = true
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	grpcServer, httpServer := r.grpcServer, r.httpServer
	r.mu.Unlock()
	return r.stopServers(ctx, grpcServer, httpServer)
}

// stopServers stops the servers that are not nil, gracefully until ctx is
// done, and waits for their Serve goroutines to return.
func (r *Receiver) stopServers(ctx context.Context, grpcServer *grpc.Server, httpServer *http.Server) error {
	var (
		wg      sync.WaitGroup
		forced  atomic.Bool
		httpErr error
	)
	if grpcServer != nil {
		wg.Go(func() {
			drained := make(chan struct{})
			go func() {
				grpcServer.GracefulStop()
				close(drained)
			}()
			select {
			case <-drained:
			case <-ctx.Done():
				forced.Store(true)
				grpcServer.Stop() // aborts in-flight RPCs; GracefulStop then returns
				<-drained
			}
		})
	}
	if httpServer != nil {
		wg.Go(func() {
			err := httpServer.Shutdown(ctx)
			if err == nil {
				return
			}
			if ctx.Err() != nil {
				forced.Store(true)
			} else {
				httpErr = fmt.Errorf("ingest: OTLP/HTTP shutdown: %w", err)
			}
			_ = httpServer.Close() // aborts in-flight requests
		})
	}
	wg.Wait()
	r.serving.Wait()
	r.handlers.closeAndWait()
	if forced.Load() {
		return errors.Join(httpErr, fmt.Errorf("ingest: shutdown deadline reached, in-flight requests aborted: %w", ctx.Err()))
	}
	return httpErr
}

// GRPCAddr returns the address the gRPC receiver is bound to, or "" before
// Start. With port 0 in the configuration it tells the port picked.
func (r *Receiver) GRPCAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.grpcLn == nil {
		return ""
	}
	return r.grpcLn.Addr().String()
}

// HTTPAddr returns the address the HTTP receiver is bound to, or "" before
// Start. With port 0 in the configuration it tells the port picked.
func (r *Receiver) HTTPAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.httpLn == nil {
		return ""
	}
	return r.httpLn.Addr().String()
}

// handlerGate counts the requests that may call the sink, so that Shutdown
// can wait for the last one, even when it had to abort them.
type handlerGate struct {
	mu      sync.Mutex
	n       int
	closing bool
	idle    chan struct{} // closed once closing and n == 0
}

// enter registers a request; false means the receiver is shutting down.
func (g *handlerGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.n++
	return true
}

func (g *handlerGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.closing && g.n == 0 {
		close(g.idle)
	}
}

// closeAndWait refuses new requests and waits for the registered ones.
func (g *handlerGate) closeAndWait() {
	g.mu.Lock()
	if !g.closing {
		g.closing = true
		if g.n == 0 {
			close(g.idle)
		}
	}
	g.mu.Unlock()
	<-g.idle
}

// errShuttingDown is the answer to requests that arrive while the receiver
// shuts down.
func errShuttingDown() *exportError {
	return newError(kindUnavailable, reasonStopped,
		"tracehound is shutting down; retry after %v or send to another instance", retryDelay)
}

// exportResult is the answer to an accepted export: the OTLP partial
// success, set when some spans were rejected or changed.
type exportResult struct {
	rejected int64
	message  string
}

// export pushes the valid spans of res (converted by the caller) to the
// sink and builds the OTLP answer; it is shared by all protocols. It takes
// ownership of res.Batch. On error nothing was accepted; the error is an
// *exportError.
func (r *Receiver) export(ctx context.Context, protocol string, res *ConvertResult) (exportResult, error) {
	if !r.handlers.enter() {
		return exportResult{}, errShuttingDown()
	}
	defer r.handlers.leave()
	m := r.metrics
	m.received.WithLabelValues(protocol).Add(float64(res.Received))
	if res.Rejected > 0 {
		m.refused.WithLabelValues(protocol, reasonInvalid).Add(float64(res.Rejected))
	}
	if n := res.Batch.Len(); n > 0 {
		if e := r.takeRate(ctx, n); e != nil {
			m.refused.WithLabelValues(protocol, e.reason).Add(float64(n))
			return exportResult{}, e
		}
		batch := res.Batch
		res.Batch = nil // the sink owns it now
		if err := r.sink.Enqueue(ctx, batch); err != nil {
			e := classify(err)
			m.refused.WithLabelValues(protocol, e.reason).Add(float64(n))
			return exportResult{}, e
		}
		m.accepted.WithLabelValues(protocol).Add(float64(n))
	}
	var out exportResult
	if res.Rejected > 0 || len(res.Messages) > 0 {
		out = exportResult{rejected: int64(res.Rejected), message: res.Summary()}
		r.logger.Debug("OTLP request partially accepted", "protocol", protocol,
			"received", res.Received, "rejected", res.Rejected, "message", out.message)
	}
	return out, nil
}

// outcome is the requests_total outcome label of a successful export.
func (e exportResult) outcome() string {
	if e.rejected > 0 || e.message != "" {
		return "partial_success"
	}
	return "success"
}

// appendProto appends the protobuf encoding of the
// ExportTraceServiceResponse: its partial_success field is always present
// (possibly empty), as pdata writes it.
func (e exportResult) appendProto(b []byte) []byte {
	n := 0
	if e.rejected != 0 {
		n += 1 + varintLen(uint64(e.rejected))
	}
	if len(e.message) > 0 {
		n += 1 + varintLen(uint64(len(e.message))) + len(e.message)
	}
	b = append(b, 0x0a) // field 1, length-delimited: partial_success
	b = binary.AppendUvarint(b, uint64(n))
	if e.rejected != 0 {
		b = append(b, 0x08) // field 1, varint: rejected_spans
		b = binary.AppendUvarint(b, uint64(e.rejected))
	}
	if len(e.message) > 0 {
		b = append(b, 0x12) // field 2, length-delimited: error_message
		b = binary.AppendUvarint(b, uint64(len(e.message)))
		b = append(b, e.message...)
	}
	return b
}

// marshalJSON returns the OTLP/JSON encoding of the
// ExportTraceServiceResponse.
func (e exportResult) marshalJSON() ([]byte, error) {
	resp := ptraceotlp.NewExportResponse()
	if e.rejected != 0 || e.message != "" {
		ps := resp.PartialSuccess()
		ps.SetRejectedSpans(e.rejected)
		ps.SetErrorMessage(e.message)
	}
	return resp.MarshalJSON()
}

// varintLen is the length of the varint encoding of v.
func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// metrics are the receiver's self-metrics.
type metrics struct {
	received     *prometheus.CounterVec
	accepted     *prometheus.CounterVec
	refused      *prometheus.CounterVec
	requests     *prometheus.CounterVec
	requestBytes *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	connRefused  *prometheus.CounterVec
	extra        []prometheus.Collector
}

func newMetrics(reg prometheus.Registerer, rate *rateLimiter) (*metrics, error) {
	const ns, sub = "tracehound", "ingest"
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "spans_received_total",
			Help: "Spans received in OTLP requests that could be decoded.",
		}, []string{"protocol"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "spans_accepted_total",
			Help: "Spans validated and accepted by the write queue.",
		}, []string{"protocol"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "spans_refused_total",
			Help: "Spans not accepted, by reason (invalid, queue_full, stopped, too_large, canceled, rate_limited, wal_failed, internal).",
		}, []string{"protocol", "reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "OTLP export requests, by outcome (success, partial_success, or the reason they were refused).",
		}, []string{"protocol", "outcome"}),
		requestBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_bytes",
			Help:    "Size of OTLP export requests on the wire (before decompression), in bytes.",
			Buckets: prometheus.ExponentialBuckets(256, 4, 10), // 256 B … 64 MiB
		}, []string{"protocol"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "auth_failures_total",
			Help: "Requests refused for a missing or invalid token.",
		}, []string{"protocol"}),
		connRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "connections_refused_total",
			Help: "Connections closed at once because otlp.max_connections were open.",
		}, []string{"protocol"}),
	}
	if rate != nil {
		m.extra = append(m.extra,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "rate_limit_clients",
				Help: "Clients with a rate-limit bucket (bounded by otlp.rate_limit.max_clients)."},
				func() float64 { return float64(rate.clients()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rate_limit_evictions_total",
				Help: "Rate-limit buckets forgotten to stay within otlp.rate_limit.max_clients."},
				func() float64 { return float64(rate.evicted.Load()) }))
	}
	for _, p := range []string{protoGRPC, protoHTTP} {
		m.received.WithLabelValues(p)
		m.accepted.WithLabelValues(p)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range append([]prometheus.Collector{m.received, m.accepted, m.refused, m.requests, m.requestBytes,
		m.authFailures, m.connRefused}, m.extra...) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ingest: register metrics: %w", err)
		}
	}
	return m, nil
}
