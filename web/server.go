// Package web serves the JSON API under /api/v1, health and readiness
// probes, Prometheus /metrics and (later) the embedded UI, with fiber.
// Handlers are thin adapters: they parse parameters, call a plain function
// that returns a result or an error, and one function maps errors to HTTP
// statuses.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tracehound/tracehound/internal/authn"
	"github.com/tracehound/tracehound/storage"
)

// TraceReader is the part of storage the API reads.
type TraceReader interface {
	FindTraces(ctx context.Context, q storage.TraceQuery) ([]storage.TraceSummary, error)
	GetTrace(ctx context.Context, traceID [16]byte) ([]storage.Span, error)
}

// Options configures the server.
type Options struct {
	Addr     string
	Traces   TraceReader
	Analysis AnalysisReader
	// Alerts serves /api/v1/alerts*; nil answers 404 "alerting is not enabled".
	Alerts   AlertsProvider
	Ready    func(ctx context.Context) error // nil error = ready
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// QueryTimeout bounds one API query. Default 30s.
	QueryTimeout time.Duration
	// Jaeger serves the Jaeger query API under /api (nil: not served).
	Jaeger JaegerReader
	// Zipkin receives Zipkin v2 spans at POST /api/v2/spans (nil: not
	// served); ingest.Receiver.ZipkinHandler.
	Zipkin http.Handler
	// APITokens, when it holds tokens, protects every route but the probes
	// (see auth.go). Nil: no authentication.
	APITokens *authn.Tokens
	// TLS, when set, serves HTTPS (and sends HSTS). Nil: plain HTTP.
	TLS *tls.Config
}

// Server is the HTTP server of the API and UI.
type Server struct {
	opts Options
	app  *fiber.App
	log  *slog.Logger

	mu       sync.Mutex
	ln       net.Listener
	serveErr chan error
}

// New builds the server and its routes.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 30 * time.Second
	}
	s := &Server{opts: opts, log: opts.Logger}
	s.app = fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           2 * time.Minute,
		ErrorHandler:          s.errorHandler,
	})
	s.routes()
	return s
}

func (s *Server) routes() {
	s.useSecurity()
	s.app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	s.app.Get("/readyz", s.readyz)
	gatherer := s.opts.Gatherer
	if gatherer == nil {
		gatherer = prometheus.NewRegistry()
	}
	s.app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{})))

	s.mountJaeger(s.app, s.opts.Jaeger)
	s.mountZipkin(s.app, s.opts.Zipkin)

	api := s.app.Group("/api/v1")
	api.Get("/traces", s.findTraces)
	api.Get("/traces/:trace_id", s.getTrace)
	api.Get("/services", s.services)
	api.Get("/servicegraph", s.serviceGraph)
	api.Get("/findings", s.findings)
	s.mountAlerts(api, s.opts.Alerts)
	s.mountOpenAPI(api)
	api.Use(func(c *fiber.Ctx) error {
		return fiber.NewError(fiber.StatusNotFound, "no such API endpoint: "+c.Method()+" "+c.Path())
	})
	s.mountUI()
}

// Start listens and serves in the background; it fails if the address
// cannot be bound.
func (s *Server) Start(_ context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listening for the UI/API on %s: %w", s.opts.Addr, err)
	}
	if s.opts.TLS != nil {
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	s.mu.Lock()
	s.ln = ln
	s.serveErr = make(chan error, 1)
	s.mu.Unlock()
	go func() { s.serveErr <- s.app.Listener(ln) }()
	return nil
}

// Addr is the bound address (after Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return s.opts.Addr
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting and waits for in-flight requests until ctx ends.
// Safe without Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.ln != nil
	s.mu.Unlock()
	if !started {
		return nil
	}
	return s.app.ShutdownWithContext(ctx)
}

// Handler exposes the fiber app for in-process tests.
func (s *Server) Handler() *fiber.App { return s.app }

func (s *Server) readyz(c *fiber.Ctx) error {
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
		defer cancel()
		if err := s.opts.Ready(ctx); err != nil {
			return c.Status(fiber.StatusServiceUnavailable).SendString("not ready: " + err.Error() + "\n")
		}
	}
	return c.SendString("ready\n")
}

// apiError is the JSON error body of every /api/v1 failure.
type apiError struct {
	Error     string `json:"error"`
	ErrorType string `json:"error_type"`
}

// errorHandler maps errors to statuses in one place.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	status, typ := fiber.StatusInternalServerError, "internal"
	var pe *paramError
	var fe *fiber.Error
	switch {
	case errors.As(err, &pe):
		status, typ = fiber.StatusBadRequest, "bad_data"
	case errors.Is(err, storage.ErrNotFound):
		status, typ = fiber.StatusNotFound, "not_found"
	case errors.Is(err, context.DeadlineExceeded):
		status, typ = fiber.StatusServiceUnavailable, "timeout"
	case errors.As(err, &fe):
		status, typ = fe.Code, "bad_request"
		if fe.Code == fiber.StatusNotFound {
			typ = "not_found"
		}
	}
	if status >= 500 {
		s.log.Warn("API request failed", "path", c.Path(), "err", err)
	}
	return c.Status(status).JSON(apiError{Error: err.Error(), ErrorType: typ})
}
