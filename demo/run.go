// Package demo generates realistic multi-service tracing traffic with a few
// planted performance problems, for `tracehound demo` and end-to-end tests.
//
// Traffic goes through the real OpenTelemetry Go SDK: one TracerProvider per
// simulated service (with its own service.name, service.version and
// deployment.environment resource), a batch span processor and an OTLP
// exporter (gRPC or HTTP) each. Requests are planned as span trees with
// simulated, log-normally jittered latencies and emitted with explicit
// timestamps, so generation never sleeps per span; the requests are spread
// over wall-clock time ending "now".
//
// The simulated shop has 15 services (web-frontend, api-gateway,
// catalog-service, image-service, search-service, reviews-service,
// recommendations-service, cart-service, checkout-service, payments-service,
// inventory-service, shipping-service, orders-service, notification-service,
// email-worker), a PostgreSQL database "shop", a Redis cache, a Kafka topic
// "orders" and external APIs (api.stripe.com, api.sendgrid.com,
// fcm.googleapis.com). See Options for the planted problems and decoys.
package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName is the instrumentation scope of every demo span.
const instrumentationName = "github.com/tracehound/tracehound/demo"

// Timeouts of the export pipeline.
const (
	dialTimeout     = 3 * time.Second
	exportTimeout   = 10 * time.Second
	retryMaxElapsed = 15 * time.Second
	flushTimeout    = 30 * time.Second
	// failedFlushTimeout bounds the final flush once exports already failed.
	failedFlushTimeout = 3 * time.Second
)

// Run sends demo traffic to opts.Endpoint until opts.Duration elapsed,
// opts.Traces traces were sent, ctx is cancelled or an export fails. It
// always flushes and shuts every TracerProvider down before returning.
// Cancelling ctx is a normal way to stop: Run then returns the statistics
// and a nil error. Export failures (after the exporter's own retries) stop
// generation and are returned as the error, with the statistics so far.
func Run(ctx context.Context, opts Options) (Stats, error) {
	opts, err := opts.normalized()
	if err != nil {
		return Stats{}, err
	}
	started := time.Now()
	seed := opts.Seed
	if seed == 0 {
		seed = started.UnixNano()
	}

	// Fail fast with a clear message when nothing listens there, instead of
	// letting every exporter retry for a while.
	addr, _ := dialAddress(opts.Endpoint)
	conn, err := (&net.Dialer{Timeout: dialTimeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return Stats{Seed: seed}, nil
		}
		return Stats{Seed: seed}, fmt.Errorf("demo: cannot reach the OTLP endpoint %s (is `tracehound serve` running?): %w", opts.Endpoint, err)
	}
	_ = conn.Close()

	cnt := &counters{}
	fleet, err := newFleet(ctx, opts, cnt)
	if err != nil {
		return Stats{Seed: seed}, err
	}
	g := &generator{
		opts:    opts,
		b:       newBuilder(opts, seed),
		em:      &emitter{tracers: fleet.tracers},
		cnt:     cnt,
		started: started,
		stats:   Stats{Seed: seed},
	}
	g.loop(ctx)

	timeout := flushTimeout
	if cnt.firstErr() != nil {
		timeout = failedFlushTimeout
	}
	shutdownErr := fleet.shutdown(context.WithoutCancel(ctx), timeout)
	st := g.snapshot()
	if err := cnt.firstErr(); err != nil {
		return st, fmt.Errorf("demo: exporting to %s failed (%d of %d spans not delivered): %w", opts.Endpoint, st.Spans-st.Exported, st.Spans, err)
	}
	if shutdownErr != nil {
		return st, fmt.Errorf("demo: flushing spans to %s: %w", opts.Endpoint, shutdownErr)
	}
	return st, nil
}

// generator schedules and emits requests. It is used by Run's goroutine only.
type generator struct {
	opts     Options
	b        *builder
	em       *emitter
	cnt      *counters
	started  time.Time
	stats    Stats
	lastProg time.Time
}

// loop generates requests until one of the stop conditions holds.
func (g *generator) loop(ctx context.Context) {
	g.lastProg = g.started
	if g.opts.Duration == 0 {
		n := g.opts.Traces
		if n == 0 {
			n = max(1, int(10*g.opts.Rate))
		}
		// Spread the burst over the recent past at Rate traces per second.
		window := time.Duration(float64(n) / g.opts.Rate * float64(time.Second))
		now := time.Now()
		for i := range n {
			if ctx.Err() != nil || g.cnt.firstErr() != nil {
				return
			}
			end := now.Add(-window + time.Duration(float64(window)*float64(i+1)/float64(n)))
			g.one(ctx, end)
			g.progress()
		}
		return
	}

	interval := time.Duration(float64(time.Second) / g.opts.Rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := 0; ; i++ {
		if g.opts.Traces > 0 && i >= g.opts.Traces {
			return
		}
		offset := time.Duration(i) * interval
		if g.opts.Duration > 0 && offset >= g.opts.Duration {
			return
		}
		if wait := time.Until(g.started.Add(offset)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		if ctx.Err() != nil || g.cnt.firstErr() != nil {
			return
		}
		g.one(ctx, time.Now())
		g.progress()
	}
}

// one plans a request, places it so that its last span ends at end, and
// emits it.
func (g *generator) one(ctx context.Context, end time.Time) {
	sc, first := g.nextScenario()
	// The first round of requests is error-free so that even a short run
	// shows every pattern.
	g.b.failProb = defaultFailProb
	if first {
		g.b.failProb = 0
	}
	ti := g.b.plan(sc)
	base := end.Add(-ti.root.extent())
	g.stats.Spans += g.em.emit(ctx, ti.root, base, nil)
	g.count(ti)
}

// nextScenario returns the scenario of the next request: every enabled
// scenario once (so even short runs contain every pattern; first is then
// true), then a weighted random mix.
func (g *generator) nextScenario() (sc scenario, first bool) {
	type weighted struct {
		sc scenario
		w  int
	}
	mix := []weighted{{scCheckout, 15}, {scOrderHistory, 15}, {scProductPage, 30}, {scSearch, 15}, {scCart, 15}}
	if g.opts.Decoys {
		mix = append(mix, weighted{scDashboard, 10})
	}
	if g.stats.Traces < len(mix) {
		return mix[g.stats.Traces].sc, true
	}
	total := 0
	for _, m := range mix {
		total += m.w
	}
	r := g.b.rng.IntN(total)
	for _, m := range mix {
		if r < m.w {
			return m.sc, false
		}
		r -= m.w
	}
	return mix[0].sc, false
}

// count adds a planned request to the statistics.
func (g *generator) count(ti *traceInfo) {
	s := &g.stats
	s.Traces++
	ti.root.walk(func(p *spanPlan) {
		if p.linked {
			s.LinkedTraces++
		}
	})
	if ti.failed {
		s.ErrorTraces++
	}
	c := &s.Scenarios
	switch ti.scenario {
	case scProductPage:
		c.ProductPage++
	case scSearch:
		c.Search++
	case scCart:
		c.Cart++
	case scCheckout:
		c.Checkout++
	case scOrderHistory:
		c.OrderHistory++
	case scDashboard:
		c.Dashboard++
	}
	inc := func(n *int, b bool) {
		if b {
			*n++
		}
	}
	inc(&c.NPlusOne, ti.nPlusOne)
	inc(&c.SlowDB, ti.slowDB)
	inc(&c.BigPayload, ti.bigPayload)
	inc(&c.AsyncConsumer, ti.asyncConsumer)
	inc(&c.GatewayFanIn, ti.gatewayFanIn)
	inc(&c.ParallelFanOut, ti.parallelFanOut)
	inc(&c.RepeatedCalls, ti.repeatedCalls)
	inc(&c.MediumPayload, ti.mediumPayload)
}

// progress calls Options.Progress about once per second.
func (g *generator) progress() {
	if g.opts.Progress == nil || time.Since(g.lastProg) < time.Second {
		return
	}
	g.lastProg = time.Now()
	g.opts.Progress(g.snapshot())
}

// snapshot returns the current statistics.
func (g *generator) snapshot() Stats {
	s := g.stats
	s.Exported = int(g.cnt.exported.Load())
	s.Failed = int(g.cnt.failed.Load())
	s.Elapsed = time.Since(g.started)
	return s
}

// counters are updated by the exporters (from the batch processors'
// goroutines).
type counters struct {
	exported atomic.Int64
	failed   atomic.Int64
	mu       sync.Mutex
	err      error
}

func (c *counters) firstErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *counters) recordErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// countingExporter wraps an OTLP exporter: it counts the spans the endpoint
// acknowledged and records export errors for Run to return, instead of
// letting the SDK report them to the global otel error handler.
type countingExporter struct {
	next sdktrace.SpanExporter
	cnt  *counters
}

// ExportSpans exports and counts. Errors are recorded, not returned, so the
// batch processor does not hand them to the global error handler.
func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.next.ExportSpans(ctx, spans); err != nil {
		e.cnt.failed.Add(int64(len(spans)))
		e.cnt.recordErr(err)
		return nil
	}
	e.cnt.exported.Add(int64(len(spans)))
	return nil
}

// Shutdown shuts the wrapped exporter down.
func (e *countingExporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }

// fleet is one TracerProvider per simulated service.
type fleet struct {
	providers []*sdktrace.TracerProvider
	tracers   map[string]trace.Tracer
}

// newFleet creates the providers, each with its own exporter.
func newFleet(ctx context.Context, opts Options, cnt *counters) (*fleet, error) {
	f := &fleet{tracers: map[string]trace.Tracer{}}
	for i, s := range serviceTable() {
		exp, err := newExporter(ctx, opts)
		if err != nil {
			_ = f.shutdown(context.WithoutCancel(ctx), failedFlushTimeout)
			return nil, fmt.Errorf("demo: creating the OTLP exporter: %w", err)
		}
		// Built by hand rather than with resource.WithTelemetrySDK, whose
		// schema URL follows the SDK's semconv version and would conflict.
		res := resource.NewWithAttributes(semconv.SchemaURL,
			attribute.String("service.name", s.name),
			attribute.String("service.version", s.version),
			attribute.String("service.namespace", "shop"),
			attribute.String("service.instance.id", fmt.Sprintf("%s-%x", s.name, 0x5f3a1c00+i*7919)),
			attribute.String("deployment.environment", "demo"),
			attribute.String("deployment.environment.name", "demo"),
			attribute.String("host.name", fmt.Sprintf("%s-6f%02dd8b7c-%c%c4x", s.name, i, 'a'+i, 'k'+i%10)),
			attribute.String("k8s.namespace.name", "shop"),
			attribute.String("telemetry.sdk.name", "opentelemetry"),
			attribute.String("telemetry.sdk.language", "go"),
			attribute.String("telemetry.sdk.version", sdk.Version()),
		)
		tp := sdktrace.NewTracerProvider(
			sdktrace.WithResource(res),
			sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithBatcher(&countingExporter{next: exp, cnt: cnt},
				sdktrace.WithBatchTimeout(time.Second),
				sdktrace.WithMaxQueueSize(8192),
				sdktrace.WithMaxExportBatchSize(1024),
				sdktrace.WithExportTimeout(exportTimeout+retryMaxElapsed),
				sdktrace.WithBlocking(), // never drop: Stats must match what arrives
			),
		)
		f.providers = append(f.providers, tp)
		f.tracers[s.name] = tp.Tracer(instrumentationName,
			trace.WithInstrumentationVersion("1.0.0"),
			trace.WithSchemaURL(semconv.SchemaURL))
	}
	return f, nil
}

// newExporter creates the OTLP exporter for opts.
func newExporter(ctx context.Context, opts Options) (sdktrace.SpanExporter, error) {
	if opts.Protocol == ProtocolHTTP {
		o := []otlptracehttp.Option{
			otlptracehttp.WithTimeout(exportTimeout),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: 250 * time.Millisecond, MaxInterval: 2 * time.Second, MaxElapsedTime: retryMaxElapsed}),
		}
		if isURL(opts.Endpoint) {
			o = append(o, otlptracehttp.WithEndpointURL(opts.Endpoint))
			if u, err := url.Parse(opts.Endpoint); err == nil && (u.Path == "" || u.Path == "/") {
				// Like OTEL_EXPORTER_OTLP_ENDPOINT: a base URL gets the signal path.
				o = append(o, otlptracehttp.WithURLPath("/v1/traces"))
			}
			if strings.HasPrefix(opts.Endpoint, "http://") {
				o = append(o, otlptracehttp.WithInsecure())
			}
		} else {
			o = append(o, otlptracehttp.WithEndpoint(opts.Endpoint), otlptracehttp.WithInsecure())
		}
		if opts.Gzip {
			o = append(o, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		} else {
			o = append(o, otlptracehttp.WithCompression(otlptracehttp.NoCompression))
		}
		return otlptracehttp.New(ctx, o...)
	}
	o := []otlptracegrpc.Option{
		otlptracegrpc.WithTimeout(exportTimeout),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 250 * time.Millisecond, MaxInterval: 2 * time.Second, MaxElapsedTime: retryMaxElapsed}),
	}
	if isURL(opts.Endpoint) {
		o = append(o, otlptracegrpc.WithEndpointURL(opts.Endpoint))
		if strings.HasPrefix(opts.Endpoint, "http://") {
			o = append(o, otlptracegrpc.WithInsecure())
		}
	} else {
		o = append(o, otlptracegrpc.WithEndpoint(opts.Endpoint), otlptracegrpc.WithInsecure())
	}
	if opts.Gzip {
		o = append(o, otlptracegrpc.WithCompressor("gzip"))
	}
	return otlptracegrpc.New(ctx, o...)
}

// shutdown flushes and shuts every provider down, in parallel, within
// timeout.
func (f *fleet) shutdown(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(f.providers))
	var wg sync.WaitGroup
	for i, tp := range f.providers {
		wg.Go(func() {
			errs[i] = errors.Join(tp.ForceFlush(ctx), tp.Shutdown(ctx))
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
