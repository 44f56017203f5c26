package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tracehound/tracehound/demo"
)

// runDemo implements `tracehound demo`: it sends realistic multi-service
// traffic with planted problems to an OTLP endpoint.
func runDemo(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills the process
	}()
	return demoCommand(ctx, args, os.Getenv, os.Stdout, os.Stderr)
}

// demoFlags are the flags of `tracehound demo`.
type demoFlags struct {
	endpoint, protocol, ui, consumers  string
	duration                           time.Duration
	rate                               float64
	traces                             int
	seed                               int64
	gzip                               bool
	noNPlusOne, noSlowDB, noBigPayload bool
	noDecoys                           bool
}

// demoCommand parses args (and TRACEHOUND_DEMO_* variables from getenv),
// runs the generator until it is done or ctx is cancelled, and prints
// progress to stderr and a summary to stdout.
func demoCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f demoFlags
	fs.StringVar(&f.endpoint, "endpoint", demo.DefaultGRPCEndpoint, "OTLP endpoint, host:port or URL (localhost:4318 by default with --protocol http)")
	fs.StringVar(&f.protocol, "protocol", demo.ProtocolGRPC, "OTLP protocol: grpc or http")
	f.duration = 30 * time.Second
	fs.Var((*demoDuration)(&f.duration), "duration", "how long to keep sending, a `duration` such as 30s or 5m; 0 sends one burst spread over the recent past; \"forever\" sends until interrupted")
	fs.Float64Var(&f.rate, "rate", 20, "traces (requests) per second")
	fs.IntVar(&f.traces, "traces", 0, "stop after this many traces (0 = no limit; with --duration 0 the burst size, default 10×rate)")
	fs.Int64Var(&f.seed, "seed", 0, "random seed for the traffic shape (0 = from the clock; the seed used is printed)")
	fs.BoolVar(&f.gzip, "gzip", false, "gzip-compress export requests")
	fs.StringVar(&f.consumers, "consumers", "mixed", "how Kafka consumer spans relate to the producer: mixed (email-worker child, notification-service linked), child or link")
	fs.BoolVar(&f.noNPlusOne, "no-n-plus-one", false, "do not plant the N+1 calls (orders-service → inventory-service GET /items/{id} ×10)")
	fs.BoolVar(&f.noSlowDB, "no-slow-db", false, "do not plant the slow ledger query (payments-service → postgresql, ~600 ms)")
	fs.BoolVar(&f.noBigPayload, "no-big-payload", false, "do not plant the 5 MiB responses (catalog-service → image-service)")
	fs.BoolVar(&f.noDecoys, "no-decoys", false, "do not add the decoys (patterns that look suspicious but are fine)")
	fs.StringVar(&f.ui, "ui", "http://localhost:8080", "tracehound UI address, printed in the summary")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: tracehound demo [flags]

Sends realistic traffic from 15 simulated services (through the OpenTelemetry
Go SDK) with planted problems: an N+1 call pattern, a slow database query on
the critical path and oversized payloads, plus decoys that must not be flagged.
Every flag can also be set with TRACEHOUND_DEMO_<FLAG> (e.g.
TRACEHOUND_DEMO_ENDPOINT, TRACEHOUND_DEMO_NO_DECOYS=true).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo takes no arguments, got %q (flags go before any argument)", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var envErr error
	fs.VisitAll(func(fl *flag.Flag) {
		if set[fl.Name] {
			return
		}
		name := "TRACEHOUND_DEMO_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if err := fl.Value.Set(v); err != nil {
				envErr = errors.Join(envErr, fmt.Errorf("%s=%q: %v", name, v, err))
			}
			set[fl.Name] = true
		}
	})
	if envErr != nil {
		return envErr
	}

	opts := demo.DefaultOptions()
	opts.Endpoint = f.endpoint
	opts.Protocol = f.protocol
	if !set["endpoint"] && strings.EqualFold(strings.TrimSpace(f.protocol), demo.ProtocolHTTP) {
		opts.Endpoint = "" // the HTTP default, localhost:4318
	}
	opts.Duration = f.duration
	opts.Rate = f.rate
	opts.Traces = f.traces
	opts.Seed = f.seed
	opts.Gzip = f.gzip
	opts.NPlusOne = !f.noNPlusOne
	opts.SlowDB = !f.noSlowDB
	opts.BigPayload = !f.noBigPayload
	opts.Decoys = !f.noDecoys
	if f.rate <= 0 {
		return fmt.Errorf("--rate must be positive, got %v", f.rate)
	}
	cs, err := demo.ParseConsumerStyle(f.consumers)
	if err != nil {
		return fmt.Errorf("--consumers: %w", err)
	}
	opts.Consumers = cs
	opts.Progress = func(s demo.Stats) {
		fmt.Fprintf(stderr, "sent %d traces, %d spans (%d acknowledged, %d failed) in %s\n",
			s.Traces, s.Spans, s.Exported, s.Failed, s.Elapsed.Round(time.Second))
	}

	endpoint := opts.Endpoint
	if endpoint == "" {
		endpoint = demo.DefaultHTTPEndpoint
	}
	switch {
	case opts.Duration == 0:
		fmt.Fprintf(stderr, "Sending one burst of demo traffic to %s (%s) …\n", endpoint, opts.Protocol)
	case opts.Duration < 0:
		fmt.Fprintf(stderr, "Sending demo traffic to %s (%s) at %g traces/s until interrupted (Ctrl-C) …\n", endpoint, opts.Protocol, opts.Rate)
	default:
		fmt.Fprintf(stderr, "Sending demo traffic to %s (%s) for %s at %g traces/s (Ctrl-C stops early) …\n", endpoint, opts.Protocol, opts.Duration, opts.Rate)
	}

	st, err := demo.Run(ctx, opts)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "Interrupted: stopped sending and flushed what was generated.")
	}
	if err != nil {
		if st.Traces > 0 {
			fmt.Fprintf(stderr, "sent %d traces, %d spans (%d acknowledged, %d failed) before the error\n", st.Traces, st.Spans, st.Exported, st.Failed)
		}
		return err
	}
	printDemoSummary(stdout, endpoint, opts, st, f.ui)
	return nil
}

// printDemoSummary says what was sent, what was planted and where to look.
func printDemoSummary(w io.Writer, endpoint string, opts demo.Options, st demo.Stats, ui string) {
	ui = strings.TrimRight(ui, "/")
	c := st.Scenarios
	linked := ""
	if st.LinkedTraces > 0 {
		linked = fmt.Sprintf(" (+%d linked consumer traces)", st.LinkedTraces)
	}
	fmt.Fprintf(w, "\nSent %d traces%s, %d spans to %s over %s in %s (%d acknowledged). Seed %d.\n",
		st.Traces, linked, st.Spans, endpoint, opts.Protocol, st.Elapsed.Round(100*time.Millisecond), st.Exported, st.Seed)
	fmt.Fprintf(w, "%d of the %d requests end in an error (about 1 %% fail on purpose, as in real traffic).\n", st.ErrorTraces, st.Traces)

	fmt.Fprintln(w, "\nPlanted problems (tracehound should report each within about a minute):")
	if opts.SlowDB {
		fmt.Fprintf(w, "  bottleneck         payments-service → postgresql db \"shop\": %q\n"+
			"                     takes ~600 ms of each ~700 ms web-frontend POST /checkout (%d traces)\n", "SELECT * FROM ledger WHERE account_id = ?", c.SlowDB)
	} else {
		fmt.Fprintln(w, "  bottleneck         not planted (--no-slow-db)")
	}
	if opts.NPlusOne {
		fmt.Fprintf(w, "  chatty (N+1)       orders-service → inventory-service: 10 sequential GET /items/{id}\n"+
			"                     in each web-frontend GET /account/orders/{id} (%d traces)\n", c.NPlusOne)
	} else {
		fmt.Fprintln(w, "  chatty (N+1)       not planted (--no-n-plus-one)")
	}
	if opts.BigPayload {
		fmt.Fprintf(w, "  oversized payload  catalog-service → image-service: GET /images/{id} responses of 5 MiB\n"+
			"                     (http.response.body.size 5242880) in web-frontend GET /product/{id} (%d traces)\n", c.BigPayload)
	} else {
		fmt.Fprintln(w, "  oversized payload  not planted (--no-big-payload)")
	}

	if opts.Decoys {
		fmt.Fprintln(w, "\nDecoys (look suspicious, should NOT be reported):")
		fmt.Fprintf(w, "  - email-worker Kafka consumer running 2 s after POST /checkout returned (async, %d traces)\n", c.AsyncConsumer)
		fmt.Fprintf(w, "  - api-gateway GET /api/dashboard, ~400 ms spread over 4 services (%d traces)\n", c.GatewayFanIn)
		fmt.Fprintf(w, "  - search-service parallel fan-out to catalog, reviews and recommendations (%d traces)\n", c.ParallelFanOut)
		fmt.Fprintf(w, "  - exactly 3 sequential cart-service → inventory-service GET /stock/{id} (%d traces)\n", c.RepeatedCalls)
		fmt.Fprintf(w, "  - ~300 KiB search-service → catalog-service GET /products responses (%d traces)\n", c.MediumPayload)
	}

	fmt.Fprintf(w, "\nWhere to look:\n  UI (service map, traces, findings)  %s/\n  findings API                        %s/api/v1/findings\n  service graph API                   %s/api/v1/servicegraph\n",
		ui, ui, ui)
}

// demoDuration is a time.Duration flag that also accepts "forever" (and
// "inf", "-1"), meaning until interrupted.
type demoDuration time.Duration

func (d *demoDuration) String() string {
	if d == nil {
		return ""
	}
	if *d < 0 {
		return "forever"
	}
	return time.Duration(*d).String()
}

func (d *demoDuration) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "forever", "inf", "infinite", "-1":
		*d = -1
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 30s or 5m, 0 or forever")
	}
	*d = demoDuration(v)
	return nil
}
