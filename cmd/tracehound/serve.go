package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tracehound/tracehound/alerting"
	"github.com/tracehound/tracehound/analysis"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/internal/config"
	"github.com/tracehound/tracehound/internal/memlimit"
	"github.com/tracehound/tracehound/internal/redmetrics"
	"github.com/tracehound/tracehound/storage"
	"github.com/tracehound/tracehound/storage/embedded"
	"github.com/tracehound/tracehound/storage/wal"
	"github.com/tracehound/tracehound/web"
)

// shutdownTimeout bounds the whole graceful shutdown.
const shutdownTimeout = 30 * time.Second

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	sf := config.NewServeFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve takes no arguments, got %q (flags go before any argument)", fs.Args())
	}
	cfg, err := sf.Resolve(os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	otlpTokens, apiTokens, err := cfg.Auth.Resolve(os.Getenv)
	if err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	httpTLS, err := cfg.HTTPTLS.ServerConfig()
	if err != nil {
		return fmt.Errorf("http_tls: %w", err)
	}
	httpScheme := "http"
	if httpTLS != nil {
		httpScheme = "https"
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var shutdowns []func(context.Context) error
	shutdownAll := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		var errs []error
		for i := len(shutdowns) - 1; i >= 0; i-- {
			errs = append(errs, shutdowns[i](sctx))
		}
		return errors.Join(errs...)
	}

	if cfg.PprofAddr != "" {
		stopPprof, err := startPprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		shutdowns = append(shutdowns, stopPprof)
	}

	dsn := cfg.ClickHouse.DSN
	if dsn == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return fmt.Errorf("creating --data-dir: %w", err)
		}
		ch, err := embedded.New(embedded.Config{DataDir: cfg.DataDir, Logger: log})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "Starting embedded ClickHouse in %s …\n", cfg.DataDir)
		if err := ch.Start(ctx); err != nil {
			return err
		}
		shutdowns = append(shutdowns, ch.Shutdown)
		dsn = ch.DSN()
	}

	store, err := storage.Open(storage.Options{DSN: dsn, Retention: cfg.ClickHouse.Retention, Logger: log})
	if err != nil {
		return errors.Join(err, shutdownAll())
	}
	shutdowns = append(shutdowns, func(context.Context) error { return store.Close() })
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = store.WaitReady(wctx)
	cancel()
	if err == nil {
		err = store.Migrate(ctx)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("preparing ClickHouse: %w", err), shutdownAll())
	}

	memLimit := cfg.OTLP.MemoryLimitBytes
	if memLimit == 0 {
		memLimit = memlimit.Detect() // GOMEMLIMIT
	}
	mem := memlimit.New(memLimit, reg)
	if fit := cfg.Writer.FitMemory(memLimit); fit != cfg.Writer {
		log.Info("writer queue and batch sized to the memory bound", "memory_limit_bytes", memLimit,
			"queue_spans", fit.QueueSpans, "batch_spans", fit.BatchSpans)
		cfg.Writer = fit
	}

	var writer *storage.Writer
	if cfg.WAL.Enabled {
		var wl *wal.Log
		wl, err = wal.Open(wal.Options{Dir: cfg.WALDir(), Config: cfg.WAL, MemorySpans: cfg.Writer.QueueSpans,
			MemoryPressure: mem.Shed, Registerer: reg, Logger: log})
		if err != nil {
			return errors.Join(err, shutdownAll())
		}
		mem.OnShed(wl.DropMemory)
		shutdowns = append(shutdowns, func(context.Context) error { return wl.Close() })
		writer, err = storage.NewLogWriter(store, wl, cfg.Writer, reg, log)
	} else {
		writer, err = storage.NewWriter(store, cfg.Writer, reg, log)
	}
	if err != nil {
		return errors.Join(err, shutdownAll())
	}
	mem.Start()
	shutdowns = append(shutdowns, func(context.Context) error { mem.Stop(); return nil })
	_ = writer.Start(ctx)
	shutdowns = append(shutdowns, writer.Shutdown)

	red, err := redmetrics.New(cfg.Metrics, reg)
	if err != nil {
		return errors.Join(err, shutdownAll())
	}

	if cfg.Analysis.Enabled {
		an, err := analysis.New(store, cfg.Analysis, cfg.Detection, reg, log)
		if err != nil {
			return errors.Join(err, shutdownAll())
		}
		an.ObserveCalls(red)
		_ = an.Start(ctx)
		shutdowns = append(shutdowns, an.Shutdown)
	}

	alerts, err := alerting.New(cfg.Alerting, alerting.Options{Backend: store, Registerer: reg, Logger: log,
		DefaultExternalURL: httpScheme + "://" + cfg.HTTPAddr})
	if err != nil {
		return errors.Join(err, shutdownAll())
	}
	_ = alerts.Start(ctx)
	shutdowns = append(shutdowns, alerts.Shutdown)

	// The receiver is created before the API, which serves its Zipkin
	// endpoint; it is started (OTLP listeners) after the API as before.
	recv, err := ingest.New(cfg.OTLP, &redmetrics.Sink{Next: writer, Metrics: red}, reg, log,
		ingest.WithTokens(otlpTokens), ingest.WithMemoryLimiter(mem))
	if err != nil {
		return errors.Join(err, shutdownAll())
	}

	api := web.New(web.Options{Addr: cfg.HTTPAddr, Traces: store, Analysis: store, Alerts: alerts, Jaeger: store,
		Zipkin: recv.ZipkinHandler(), Ready: store.Ping, Gatherer: reg, Logger: log, APITokens: apiTokens, TLS: httpTLS})
	if err := api.Start(ctx); err != nil {
		return errors.Join(err, shutdownAll())
	}
	shutdowns = append(shutdowns, api.Shutdown)

	if err := recv.Start(ctx); err != nil {
		return errors.Join(err, shutdownAll())
	}
	shutdowns = append(shutdowns, recv.Shutdown)

	otlpScheme, notes := "http", ""
	if recv.TLS() {
		otlpScheme = "https"
	}
	if otlpTokens.Enabled() {
		notes += "  OTLP and Zipkin require a token (auth.otlp_tokens): Authorization: Bearer <token>\n"
	}
	if apiTokens.Enabled() {
		notes += "  UI and API require a token (auth.api_tokens): Authorization: Bearer <token>, or sign in at /login\n"
	}
	fmt.Fprintf(os.Stderr, `tracehound is running.
  OTLP gRPC:  %s   (OTEL_EXPORTER_OTLP_ENDPOINT=%s://%s)
  OTLP HTTP:  %s   (POST /v1/traces)
  UI and API: %s://%s/   (API under /api/v1, Jaeger API under /api, Zipkin POST /api/v2/spans, metrics at /metrics)
%sPress Ctrl-C to stop.
`, recv.GRPCAddr(), otlpScheme, recv.GRPCAddr(), recv.HTTPAddr(), httpScheme, api.Addr(), notes)
	log.Info("tracehound started", "otlp_grpc", recv.GRPCAddr(), "otlp_http", recv.HTTPAddr(), "http", api.Addr())

	<-ctx.Done()
	stop() // a second Ctrl-C kills the process the default way
	fmt.Fprintln(os.Stderr, "Shutting down: draining receivers and flushing spans to ClickHouse …")
	if err := shutdownAll(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(os.Stderr, "Stopped cleanly.")
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
