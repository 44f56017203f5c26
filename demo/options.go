package demo

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Protocol names accepted in Options.Protocol.
const (
	// ProtocolGRPC sends OTLP over gRPC (otlptracegrpc). It is the default.
	ProtocolGRPC = "grpc"
	// ProtocolHTTP sends OTLP/HTTP with protobuf bodies (otlptracehttp) to
	// POST /v1/traces.
	ProtocolHTTP = "http"
)

// Default endpoints per protocol, used when Options.Endpoint is empty.
const (
	// DefaultGRPCEndpoint is tracehound's default OTLP gRPC address.
	DefaultGRPCEndpoint = "localhost:4317"
	// DefaultHTTPEndpoint is tracehound's default OTLP/HTTP address.
	DefaultHTTPEndpoint = "localhost:4318"
)

// ConsumerStyle says how the two Kafka consumers of the "orders" topic
// (email-worker and notification-service) relate to the checkout-service
// PRODUCER span.
type ConsumerStyle int

const (
	// ConsumersMixed (the default) makes the email-worker CONSUMER span a
	// child of the producer span (same trace) and starts the
	// notification-service CONSUMER span as the root of a new trace with a
	// span link to the producer span.
	ConsumersMixed ConsumerStyle = iota
	// ConsumersChild makes both consumer spans children of the producer span.
	ConsumersChild
	// ConsumersLink starts both consumer spans as roots of new traces linked
	// to the producer span.
	ConsumersLink
)

// String returns "mixed", "child" or "link".
func (s ConsumerStyle) String() string {
	switch s {
	case ConsumersMixed:
		return "mixed"
	case ConsumersChild:
		return "child"
	case ConsumersLink:
		return "link"
	}
	return fmt.Sprintf("ConsumerStyle(%d)", int(s))
}

// ParseConsumerStyle parses "mixed", "child" or "link".
func ParseConsumerStyle(s string) (ConsumerStyle, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "mixed":
		return ConsumersMixed, nil
	case "child", "parent", "parent-child":
		return ConsumersChild, nil
	case "link", "links":
		return ConsumersLink, nil
	}
	return 0, fmt.Errorf("unknown consumer style %q (want mixed, child or link)", s)
}

// Options configures Run. Start from DefaultOptions: the zero Options sends a
// single burst with every planted problem and decoy switched off.
type Options struct {
	// Endpoint is the OTLP receiver: "host:port" (plain text, no TLS) or a
	// URL such as "http://host:4318" or "https://host:4317" (the scheme
	// selects TLS; for ProtocolHTTP a URL path other than "/" replaces the
	// default /v1/traces).
	// Empty means DefaultGRPCEndpoint or DefaultHTTPEndpoint.
	Endpoint string
	// Protocol is ProtocolGRPC (the default when empty) or ProtocolHTTP.
	Protocol string
	// Gzip compresses export requests.
	Gzip bool

	// Duration is how long to keep sending. 0 sends a single burst of
	// Traces traces (10×Rate when Traces is 0) whose timestamps are spread
	// over the recent past at Rate traces per second; a negative Duration
	// sends until ctx is cancelled or Traces traces were sent.
	Duration time.Duration
	// Rate is the number of traces (requests) per second. 0 means 20.
	Rate float64
	// Traces stops after this many traces (requests) when > 0.
	Traces int
	// Seed seeds the random choices (scenario mix, latencies, ids in names
	// and attributes, payload sizes), so a seed reproduces the same traffic
	// shape. Trace and span ids always come from the SDK's random generator
	// so that re-runs never collide. 0 picks a seed from the clock; the
	// seed used is reported in Stats.Seed.
	Seed int64

	// NPlusOne plants an N+1 pattern: every order-history request makes
	// orders-service issue 10 sequential "GET /items/{id}" calls to
	// inventory-service.
	NPlusOne bool
	// SlowDB plants a latency bottleneck: in every checkout,
	// payments-service runs "SELECT * FROM ledger WHERE account_id = ?" on
	// PostgreSQL for ~600 ms of a ~700 ms request.
	SlowDB bool
	// BigPayload plants oversized responses: catalog-service receives
	// ~5 MiB (5242880 ± 1024 bytes) from image-service "GET /images/{id}".
	BigPayload bool
	// Decoys adds patterns that look suspicious but are not problems: a 2 s
	// email-worker consumer after the checkout request ended, an api-gateway
	// dashboard span of ~400 ms made of four children from different
	// services, a parallel fan-out from search-service to three services,
	// exactly three sequential "GET /stock/{id}" calls from cart-service,
	// and ~300 KiB responses on search-service → catalog-service.
	Decoys bool

	// Consumers selects how Kafka consumer spans relate to the producer.
	Consumers ConsumerStyle

	// Progress, when set, is called about once per second while traffic is
	// generated, from the goroutine that called Run.
	Progress func(Stats)
}

// DefaultOptions returns the documented defaults: localhost:4317 over gRPC,
// 30 s at 20 traces per second, every planted problem and the decoys on.
func DefaultOptions() Options {
	return Options{
		Endpoint:   DefaultGRPCEndpoint,
		Protocol:   ProtocolGRPC,
		Duration:   30 * time.Second,
		Rate:       20,
		NPlusOne:   true,
		SlowDB:     true,
		BigPayload: true,
		Decoys:     true,
	}
}

// normalized fills the defaults of empty fields and validates the rest.
func (o Options) normalized() (Options, error) {
	o.Protocol = strings.ToLower(strings.TrimSpace(o.Protocol))
	switch o.Protocol {
	case "", ProtocolGRPC:
		o.Protocol = ProtocolGRPC
	case ProtocolHTTP, "http/protobuf":
		o.Protocol = ProtocolHTTP
	default:
		return o, fmt.Errorf("demo: unknown protocol %q (want grpc or http)", o.Protocol)
	}
	o.Endpoint = strings.TrimSpace(o.Endpoint)
	if o.Endpoint == "" {
		o.Endpoint = DefaultGRPCEndpoint
		if o.Protocol == ProtocolHTTP {
			o.Endpoint = DefaultHTTPEndpoint
		}
	}
	if _, err := dialAddress(o.Endpoint); err != nil {
		return o, err
	}
	if o.Rate == 0 {
		o.Rate = 20
	}
	if !(o.Rate > 0) || o.Rate > 1e6 {
		return o, fmt.Errorf("demo: rate must be in (0, 1e6] traces per second, got %v", o.Rate)
	}
	if o.Traces < 0 {
		return o, fmt.Errorf("demo: traces must not be negative, got %d", o.Traces)
	}
	if o.Consumers < ConsumersMixed || o.Consumers > ConsumersLink {
		return o, fmt.Errorf("demo: unknown consumer style %d", int(o.Consumers))
	}
	return o, nil
}

// isURL reports whether the endpoint is given as a URL rather than host:port.
func isURL(endpoint string) bool { return strings.Contains(endpoint, "://") }

// dialAddress returns the host:port to dial for an endpoint.
func dialAddress(endpoint string) (string, error) {
	if !isURL(endpoint) {
		if _, _, err := net.SplitHostPort(endpoint); err != nil {
			return "", fmt.Errorf("demo: endpoint %q is neither host:port nor a URL: %v", endpoint, err)
		}
		return endpoint, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("demo: bad endpoint URL %q: %v", endpoint, err)
	}
	if u.Host == "" {
		return "", fmt.Errorf("demo: endpoint URL %q has no host", endpoint)
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	switch u.Scheme {
	case "http":
		return net.JoinHostPort(u.Hostname(), "80"), nil
	case "https":
		return net.JoinHostPort(u.Hostname(), "443"), nil
	}
	return "", fmt.Errorf("demo: endpoint URL %q: unsupported scheme %q (want http or https)", endpoint, u.Scheme)
}

// Stats reports what Run generated and delivered.
type Stats struct {
	// Seed is the seed that was used (Options.Seed, or the clock-derived one).
	Seed int64
	// Traces is the number of requests simulated; each is one trace rooted
	// at a web-frontend SERVER span.
	Traces int
	// LinkedTraces is the number of extra traces started by link-style Kafka
	// consumers (see ConsumerStyle); they are not counted in Traces.
	LinkedTraces int
	// ErrorTraces is the number of requests (among Traces) that failed.
	ErrorTraces int
	// Spans is the number of spans created and ended.
	Spans int
	// Exported is the number of spans the endpoint acknowledged.
	Exported int
	// Failed is the number of spans whose export failed (after the
	// exporter's retries). Spans still queued when the final flush times out
	// after a failure are counted neither in Exported nor in Failed.
	Failed int
	// Elapsed is the wall-clock time Run took so far.
	Elapsed time.Duration
	// Scenarios counts traces per scenario and per planted pattern.
	Scenarios ScenarioCounts
}

// ScenarioCounts counts generated traces by request type and by the planted
// problems and decoys they contain. A trace may contain several patterns.
type ScenarioCounts struct {
	// ProductPage counts web-frontend "GET /product/{id}" requests.
	ProductPage int
	// Search counts web-frontend "GET /search" requests.
	Search int
	// Cart counts web-frontend "GET /cart" requests.
	Cart int
	// Checkout counts web-frontend "POST /checkout" requests.
	Checkout int
	// OrderHistory counts web-frontend "GET /account/orders/{id}" requests.
	OrderHistory int
	// Dashboard counts web-frontend "GET /dashboard" requests (only
	// generated when Decoys is on).
	Dashboard int

	// NPlusOne counts traces with the 10 sequential GET /items/{id} calls.
	NPlusOne int
	// SlowDB counts traces with the ~600 ms SELECT on the ledger table.
	SlowDB int
	// BigPayload counts traces with a ~5 MiB image-service response.
	BigPayload int

	// AsyncConsumer counts traces with the 2 s email-worker consumer decoy.
	AsyncConsumer int
	// GatewayFanIn counts traces with the ~400 ms api-gateway dashboard span
	// whose time is spread over four children.
	GatewayFanIn int
	// ParallelFanOut counts traces with the overlapping search-service calls
	// to catalog, reviews and recommendations.
	ParallelFanOut int
	// RepeatedCalls counts traces with exactly three GET /stock/{id} calls
	// from cart-service to inventory-service.
	RepeatedCalls int
	// MediumPayload counts traces with ~300 KiB search-service →
	// catalog-service responses.
	MediumPayload int
}
