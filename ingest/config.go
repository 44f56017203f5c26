package ingest

import (
	"errors"
	"fmt"
	"net"

	"github.com/tracehound/tracehound/internal/tlsutil"
)

// configPrefix names the configuration section of Config in error messages,
// so that they name the exact setting to change.
const configPrefix = "otlp."

// maxMessageBytes is the largest size a protobuf message can have (2 GiB).
const maxMessageBytes = 1 << 31

// minAttributeValueBytes is the smallest accepted max_attribute_value_bytes: a
// truncated value must keep some content besides the marker.
const minAttributeValueBytes = 2 * len(truncationMarker)

// Config configures the OTLP receivers. It is the "ingest" section of the
// tracehound configuration file. Start from NewDefaultConfig and call
// Validate before use (New does).
type Config struct {
	// GRPCAddr is the host:port the OTLP/gRPC receiver listens on.
	// Default "localhost:4317". Port 0 picks a free port (see
	// Receiver.GRPCAddr).
	GRPCAddr string `yaml:"grpc_addr"`

	// HTTPAddr is the host:port the OTLP/HTTP receiver listens on
	// (POST /v1/traces). Default "localhost:4318". Port 0 picks a free port
	// (see Receiver.HTTPAddr).
	HTTPAddr string `yaml:"http_addr"`

	// MaxRequestBytes is the largest request accepted on the wire: the HTTP
	// body as sent (compressed or not) or the gRPC message as sent. Larger
	// requests are refused with HTTP 413 / gRPC RESOURCE_EXHAUSTED.
	// Default 16 MiB (16777216).
	MaxRequestBytes int64 `yaml:"max_request_bytes"`

	// MaxDecompressedBytes is the largest request accepted after gzip
	// decompression; it protects against gzip bombs. It is also the gRPC
	// maximum receive message size. Must be at least MaxRequestBytes.
	// Default 64 MiB (67108864).
	MaxDecompressedBytes int64 `yaml:"max_decompressed_bytes"`

	// MaxAttributesPerSpan is how many attributes a span keeps; the others are
	// dropped and added to its dropped_attributes_count. The same limit
	// applies, without a counter, to resource, event and link attributes.
	// Default 128.
	MaxAttributesPerSpan int `yaml:"max_attributes_per_span"`

	// MaxAttributeValueBytes is the longest string attribute value kept, in
	// bytes. Longer values are cut at a UTF-8 boundary and end with the marker
	// "…[truncated]", the whole staying within the limit. Default 16384.
	MaxAttributeValueBytes int `yaml:"max_attribute_value_bytes"`

	// MaxEventsPerSpan is how many events a span keeps; the others are dropped
	// and added to its dropped_events_count. Default 256.
	MaxEventsPerSpan int `yaml:"max_events_per_span"`

	// MaxLinksPerSpan is how many links a span keeps; the others are dropped
	// and added to its dropped_links_count. Default 128.
	MaxLinksPerSpan int `yaml:"max_links_per_span"`

	// MaxConcurrentRequests is how many requests each protocol (gRPC, HTTP)
	// handles at once. Requests beyond it are refused with the retryable
	// overload error (gRPC UNAVAILABLE, HTTP 503). Default 64.
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`

	// MaxDecompressionRatio bounds how much a compressed request may grow:
	// a body that decompresses to more than this many times its size on the
	// wire (and to more than 1 MiB) is refused like an oversized one.
	// Default 100.
	MaxDecompressionRatio int `yaml:"max_decompression_ratio"`

	// MaxConnections is how many connections each listener (gRPC, HTTP)
	// keeps open at once; further ones are closed at once, and the client
	// retries. Default 4096.
	MaxConnections int `yaml:"max_connections"`

	// MemoryLimitBytes bounds the memory of the tracehound process: near
	// it, the write-ahead log stops keeping spans in memory and the
	// receivers refuse new requests with the retryable overload error (see
	// docs/reliability.md). 0 (the default) uses the Go runtime's limit
	// when GOMEMLIMIT is set, and no bound otherwise.
	MemoryLimitBytes int64 `yaml:"memory_limit_bytes"`

	// RateLimit limits the spans each client may send.
	RateLimit RateLimitConfig `yaml:"rate_limit"`

	// TLS serves both receivers over TLS, and with client_ca_file requires
	// client certificates (mTLS). Default off.
	TLS tlsutil.Config `yaml:"tls"`
}

// RateLimitConfig is a per-client token bucket on spans. A client is its
// token when authentication is on, else its IP address. Requests beyond
// the rate are refused with gRPC RESOURCE_EXHAUSTED (with RetryInfo) or
// HTTP 429 (with Retry-After), both retryable.
type RateLimitConfig struct {
	// SpansPerSecond is each client's sustained rate. 0 (the default)
	// disables rate limiting.
	SpansPerSecond float64 `yaml:"spans_per_second"`
	// Burst is how many spans a client may send at once after being idle.
	// 0 means SpansPerSecond (one second's worth).
	Burst int `yaml:"burst"`
	// MaxClients bounds the clients tracked at once; the least recently
	// seen is forgotten first. Default 10000.
	MaxClients int `yaml:"max_clients"`
}

// NewDefaultConfig returns the default receiver configuration.
func NewDefaultConfig() Config {
	return Config{
		GRPCAddr:               "localhost:4317",
		HTTPAddr:               "localhost:4318",
		MaxRequestBytes:        16 << 20,
		MaxDecompressedBytes:   64 << 20,
		MaxAttributesPerSpan:   128,
		MaxAttributeValueBytes: 16384,
		MaxEventsPerSpan:       256,
		MaxLinksPerSpan:        128,
		MaxConcurrentRequests:  64,
		MaxDecompressionRatio:  100,
		MaxConnections:         4096,
		RateLimit:              RateLimitConfig{MaxClients: 10000},
	}
}

// Validate reports every problem in c, each naming its yaml field.
func (c Config) Validate() error {
	var errs []error
	addrErr := func(field, addr string) {
		if addr == "" {
			errs = append(errs, fmt.Errorf(configPrefix+"%s is empty; set a host:port such as \"localhost:4317\"", field))
			return
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf(configPrefix+"%s %q is not a host:port address: %w", field, addr, err))
		}
	}
	addrErr("grpc_addr", c.GRPCAddr)
	addrErr("http_addr", c.HTTPAddr)
	if _, port, err := net.SplitHostPort(c.GRPCAddr); err == nil && port != "0" && c.GRPCAddr == c.HTTPAddr {
		errs = append(errs, fmt.Errorf(configPrefix+"grpc_addr and "+configPrefix+"http_addr are both %q; use two different ports", c.GRPCAddr))
	}

	switch {
	case c.MaxRequestBytes <= 0:
		errs = append(errs, fmt.Errorf(configPrefix+"max_request_bytes is %d; it must be positive", c.MaxRequestBytes))
	case c.MaxRequestBytes > maxMessageBytes:
		errs = append(errs, fmt.Errorf(configPrefix+"max_request_bytes is %d; it must be at most %d (2 GiB, the protobuf message size limit)", c.MaxRequestBytes, int64(maxMessageBytes)))
	}
	switch {
	case c.MaxDecompressedBytes <= 0:
		errs = append(errs, fmt.Errorf(configPrefix+"max_decompressed_bytes is %d; it must be positive", c.MaxDecompressedBytes))
	case c.MaxDecompressedBytes > maxMessageBytes:
		errs = append(errs, fmt.Errorf(configPrefix+"max_decompressed_bytes is %d; it must be at most %d (2 GiB, the protobuf message size limit)", c.MaxDecompressedBytes, int64(maxMessageBytes)))
	case c.MaxRequestBytes > 0 && c.MaxDecompressedBytes < c.MaxRequestBytes:
		errs = append(errs, fmt.Errorf(configPrefix+"max_decompressed_bytes (%d) is below "+configPrefix+"max_request_bytes (%d); a decompressed request is never smaller than the limit on the wire, so raise it", c.MaxDecompressedBytes, c.MaxRequestBytes))
	}

	positive := func(field string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf(configPrefix+"%s is %d; it must be positive", field, v))
		}
	}
	positive("max_attributes_per_span", c.MaxAttributesPerSpan)
	positive("max_events_per_span", c.MaxEventsPerSpan)
	positive("max_links_per_span", c.MaxLinksPerSpan)
	positive("max_concurrent_requests", c.MaxConcurrentRequests)
	positive("max_decompression_ratio", c.MaxDecompressionRatio)
	if c.MaxDecompressionRatio > 1_000_000 {
		errs = append(errs, fmt.Errorf(configPrefix+"max_decompression_ratio is %d; it must be at most 1000000", c.MaxDecompressionRatio))
	}
	positive("max_connections", c.MaxConnections)
	positive("rate_limit.max_clients", c.RateLimit.MaxClients)
	if c.MemoryLimitBytes < 0 {
		errs = append(errs, fmt.Errorf(configPrefix+"memory_limit_bytes is %d; it must be 0 (none) or positive", c.MemoryLimitBytes))
	} else if c.MemoryLimitBytes > 0 && c.MemoryLimitBytes < 64<<20 {
		errs = append(errs, fmt.Errorf(configPrefix+"memory_limit_bytes is %d; it must be at least 67108864 (64 MiB)", c.MemoryLimitBytes))
	}
	if c.RateLimit.SpansPerSecond < 0 || c.RateLimit.Burst < 0 {
		errs = append(errs, errors.New(configPrefix+"rate_limit.spans_per_second and "+configPrefix+"rate_limit.burst must not be negative"))
	}
	if err := c.TLS.Validate(configPrefix + "tls"); err != nil {
		errs = append(errs, err)
	}
	if c.MaxAttributeValueBytes < minAttributeValueBytes {
		errs = append(errs, fmt.Errorf(configPrefix+"max_attribute_value_bytes is %d; it must be at least %d so a truncated value keeps some text besides the %d-byte marker %q",
			c.MaxAttributeValueBytes, minAttributeValueBytes, len(truncationMarker), truncationMarker))
	}
	return errors.Join(errs...)
}
