package ingest

import (
	"reflect"
	"regexp"
	"testing"
)

func TestDefaultConfigIsValid(t *testing.T) {
	t.Parallel()
	if err := NewDefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	snake := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		if tag := typ.Field(i).Tag.Get("yaml"); !snake.MatchString(tag) {
			t.Errorf("field %s has yaml tag %q; want snake_case", typ.Field(i).Name, tag)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"empty addr", func(c *Config) { c.GRPCAddr = "" },
			`otlp.grpc_addr is empty; set a host:port such as "localhost:4317"`},
		{"bad addr", func(c *Config) { c.HTTPAddr = "localhost" },
			`otlp.http_addr "localhost" is not a host:port address: address localhost: missing port in address`},
		{"same addr", func(c *Config) { c.HTTPAddr = c.GRPCAddr },
			`otlp.grpc_addr and otlp.http_addr are both "localhost:4317"; use two different ports`},
		{"zero request bytes", func(c *Config) { c.MaxRequestBytes = 0 },
			`otlp.max_request_bytes is 0; it must be positive`},
		{"huge request bytes", func(c *Config) { c.MaxRequestBytes, c.MaxDecompressedBytes = 1<<31+1, 1<<31+1 },
			"otlp.max_request_bytes is 2147483649; it must be at most 2147483648 (2 GiB, the protobuf message size limit)\n" +
				"otlp.max_decompressed_bytes is 2147483649; it must be at most 2147483648 (2 GiB, the protobuf message size limit)"},
		{"decompressed below request", func(c *Config) { c.MaxDecompressedBytes = 1 << 20 },
			`otlp.max_decompressed_bytes (1048576) is below otlp.max_request_bytes (16777216); a decompressed request is never smaller than the limit on the wire, so raise it`},
		{"value bytes too small", func(c *Config) { c.MaxAttributeValueBytes = 10 },
			`otlp.max_attribute_value_bytes is 10; it must be at least 28 so a truncated value keeps some text besides the 14-byte marker "…[truncated]"`},
		{"several", func(c *Config) { c.MaxAttributesPerSpan, c.MaxLinksPerSpan, c.MaxConcurrentRequests = -1, 0, 0 },
			"otlp.max_attributes_per_span is -1; it must be positive\n" +
				"otlp.max_links_per_span is 0; it must be positive\n" +
				"otlp.max_concurrent_requests is 0; it must be positive"},
		{"limits", func(c *Config) {
			c.MaxDecompressionRatio, c.MaxConnections, c.MemoryLimitBytes = 2_000_000, 0, 1<<20
			c.RateLimit = RateLimitConfig{SpansPerSecond: -1, MaxClients: 0}
		},
			"otlp.max_decompression_ratio is 2000000; it must be at most 1000000\n" +
				"otlp.max_connections is 0; it must be positive\n" +
				"otlp.rate_limit.max_clients is 0; it must be positive\n" +
				"otlp.memory_limit_bytes is 1048576; it must be at least 67108864 (64 MiB)\n" +
				"otlp.rate_limit.spans_per_second and otlp.rate_limit.burst must not be negative"},
		{"tls", func(c *Config) { c.TLS.ClientCAFile = "/nonexistent.pem" },
			"otlp.tls.client_ca_file needs otlp.tls.cert_file and otlp.tls.key_file (mutual TLS is TLS)\n" +
				"otlp.tls.client_ca_file: stat /nonexistent.pem: no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if err == nil || err.Error() != tc.want {
				t.Errorf("Validate() = %v\nwant %s", err, tc.want)
			}
		})
	}
}
