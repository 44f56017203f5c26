// Package config holds tracehound's configuration: defaults, the YAML file,
// TRACEHOUND_* environment variables and command-line flags, in increasing
// order of precedence, validated once at start-up.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tracehound/tracehound/alerting"
	"github.com/tracehound/tracehound/analysis"
	"github.com/tracehound/tracehound/analysis/detect"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/internal/authn"
	"github.com/tracehound/tracehound/internal/redmetrics"
	"github.com/tracehound/tracehound/internal/tlsutil"
	"github.com/tracehound/tracehound/storage"
	"github.com/tracehound/tracehound/storage/wal"
)

// Config is everything `tracehound serve` can be told.
type Config struct {
	// HTTPAddr is where the UI, the JSON API and /metrics listen. Default localhost:8080.
	HTTPAddr string `yaml:"http_addr"`
	// DataDir holds the embedded ClickHouse data and any local state. Default ./data.
	DataDir string `yaml:"data_dir"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// ClickHouse selects the storage backend.
	ClickHouse ClickHouseConfig `yaml:"clickhouse"`
	// OTLP configures the OTLP receivers and their limits.
	OTLP ingest.Config `yaml:"otlp"`
	// Writer configures batching into ClickHouse.
	Writer storage.WriterConfig `yaml:"writer"`
	// Analysis configures trace assembly and the analysis loop.
	Analysis analysis.Config `yaml:"analysis"`
	// Detection holds the detectors' thresholds.
	Detection detect.Config `yaml:"detection"`
	// Alerting holds the alert rules, receivers and notification timing.
	Alerting alerting.Config `yaml:"alerting"`
	// Metrics configures the RED metrics on /metrics (span metrics and
	// service-graph metrics).
	Metrics redmetrics.Config `yaml:"metrics"`
	// WAL configures the write-ahead log between receivers and writer.
	WAL wal.Config `yaml:"wal"`
	// Auth holds the bearer tokens of the OTLP receivers and the API/UI.
	Auth authn.Config `yaml:"auth"`
	// HTTPTLS serves the UI/API listener over TLS. Default off.
	HTTPTLS tlsutil.Config `yaml:"http_tls"`
	// PprofAddr, when set, serves Go's net/http/pprof profiles on that
	// address (e.g. localhost:6060) for profiling. Default empty: off.
	// Bind it to localhost: the profiles are not authenticated.
	PprofAddr string `yaml:"pprof_addr"`
}

// ClickHouseConfig selects the ClickHouse server.
type ClickHouseConfig struct {
	// DSN of an existing ClickHouse, e.g. clickhouse://host:9000/tracehound.
	// Empty (the default) runs an embedded ClickHouse in DataDir.
	DSN string `yaml:"dsn"`
	// Retention is how long spans are kept (table TTL, applied at every
	// start). Default 168h (7 days).
	Retention time.Duration `yaml:"retention"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		HTTPAddr:   "localhost:8080",
		DataDir:    "data",
		LogLevel:   "info",
		ClickHouse: ClickHouseConfig{Retention: 7 * 24 * time.Hour},
		OTLP:       ingest.NewDefaultConfig(),
		Writer:     storage.NewDefaultWriterConfig(),
		Analysis:   analysis.NewDefaultConfig(),
		Detection:  detect.NewDefaultConfig(),
		Alerting:   alerting.NewDefaultConfig(),
		Metrics:    redmetrics.NewDefaultConfig(),
		WAL:        wal.NewDefaultConfig(),
		Auth:       authn.NewDefaultConfig(),
	}
}

// Validate reports every problem at once, naming the setting.
func (c Config) Validate() error {
	var errs []error
	if c.HTTPAddr == "" {
		errs = append(errs, errors.New("http_addr (--http-addr) must not be empty"))
	}
	if c.ClickHouse.DSN == "" && c.DataDir == "" {
		errs = append(errs, errors.New("data_dir (--data-dir) is required for the embedded ClickHouse"))
	}
	if c.ClickHouse.Retention < time.Hour {
		errs = append(errs, fmt.Errorf("clickhouse.retention (--retention) is %s; it must be at least 1h", c.ClickHouse.Retention))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level (--log-level) %q: must be debug, info, warn or error", c.LogLevel))
	}
	if err := c.OTLP.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Writer.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Analysis.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Detection.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Alerting.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Metrics.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.WAL.Enabled {
		if err := c.WAL.Validate(); err != nil {
			errs = append(errs, err)
		}
		if c.WAL.Dir == "" && c.DataDir == "" {
			errs = append(errs, errors.New("data_dir (--data-dir) is required for the write-ahead log (or set wal.dir, or wal.enabled: false)"))
		}
		if c.WAL.MaxBytes < 2*c.OTLP.MaxDecompressedBytes {
			errs = append(errs, fmt.Errorf("wal.max_bytes (%d) must be at least twice otlp.max_decompressed_bytes (%d), the largest request", c.WAL.MaxBytes, c.OTLP.MaxDecompressedBytes))
		}
	}
	if err := c.Auth.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.HTTPTLS.Validate("http_tls"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// WALDir is where the write-ahead log lives: wal.dir, or <data_dir>/wal.
func (c Config) WALDir() string {
	if c.WAL.Dir != "" {
		return c.WAL.Dir
	}
	return filepath.Join(c.DataDir, "wal")
}

// LoadFile decodes a YAML file strictly (unknown keys are errors) on top of
// cfg.
func LoadFile(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// ServeFlags binds the serve flags onto fs. The flag values are applied by
// Resolve so that their precedence over the file and environment holds.
type ServeFlags struct {
	fs         *flag.FlagSet
	configPath *string
	values     map[string]*string
}

// flagSpec describes one flag: its name, help and how it is applied.
type flagSpec struct {
	name, help string
	def        func(Config) string
	apply      func(*Config, string) error
}

var serveFlagSpecs = []flagSpec{
	{"otlp-grpc-addr", "OTLP gRPC listen address", func(c Config) string { return c.OTLP.GRPCAddr },
		func(c *Config, v string) error { c.OTLP.GRPCAddr = v; return nil }},
	{"otlp-http-addr", "OTLP HTTP listen address", func(c Config) string { return c.OTLP.HTTPAddr },
		func(c *Config, v string) error { c.OTLP.HTTPAddr = v; return nil }},
	{"http-addr", "UI, API and /metrics listen address", func(c Config) string { return c.HTTPAddr },
		func(c *Config, v string) error { c.HTTPAddr = v; return nil }},
	{"clickhouse-dsn", "ClickHouse DSN (clickhouse://host:9000/db); empty runs an embedded ClickHouse", func(c Config) string { return c.ClickHouse.DSN },
		func(c *Config, v string) error { c.ClickHouse.DSN = v; return nil }},
	{"data-dir", "directory for the embedded ClickHouse data and local state", func(c Config) string { return c.DataDir },
		func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"retention", "how long spans are kept (e.g. 72h)", func(c Config) string { return c.ClickHouse.Retention.String() },
		func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("--retention: %w", err)
			}
			c.ClickHouse.Retention = d
			return nil
		}},
	{"pprof-addr", "serve Go pprof profiles on this address (empty: off; unauthenticated, bind to localhost)", func(c Config) string { return c.PprofAddr },
		func(c *Config, v string) error { c.PprofAddr = v; return nil }},
	{"log-level", "debug, info, warn or error", func(c Config) string { return c.LogLevel },
		func(c *Config, v string) error { c.LogLevel = v; return nil }},
}

// NewServeFlags registers --config and every serve flag on fs.
func NewServeFlags(fs *flag.FlagSet) *ServeFlags {
	d := Default()
	sf := &ServeFlags{fs: fs, values: map[string]*string{}}
	sf.configPath = fs.String("config", "", "YAML config file (everything the flags set, plus limits, thresholds and alert rules)")
	for _, s := range serveFlagSpecs {
		sf.values[s.name] = fs.String(s.name, s.def(d), s.help+" (env "+EnvName(s.name)+")")
	}
	return sf
}

// EnvName is the environment variable for a flag: TRACEHOUND_ + upper-case
// name with dashes as underscores.
func EnvName(flagName string) string {
	return "TRACEHOUND_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Resolve builds the configuration: defaults, then the YAML file (--config or
// TRACEHOUND_CONFIG), then environment variables, then flags set on the
// command line; and validates it.
func (sf *ServeFlags) Resolve(getenv func(string) string) (Config, error) {
	cfg := Default()
	set := map[string]bool{}
	sf.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	path := getenv(EnvName("config"))
	if set["config"] {
		path = *sf.configPath
	}
	if path != "" {
		if err := LoadFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	for _, s := range serveFlagSpecs {
		if v := getenv(EnvName(s.name)); v != "" && !set[s.name] {
			if err := s.apply(&cfg, v); err != nil {
				return cfg, fmt.Errorf("%s: %w", EnvName(s.name), err)
			}
		}
		if set[s.name] {
			if err := s.apply(&cfg, *sf.values[s.name]); err != nil {
				return cfg, err
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// DefaultYAML renders the default configuration as YAML, the reference for
// docs/configuration.md and a starting point for a --config file.
func DefaultYAML() ([]byte, error) {
	s, err := yamlString(Default())
	if err != nil {
		return nil, fmt.Errorf("rendering default config: %w", err)
	}
	return []byte(s), nil
}

func yamlString(c Config) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return "", err
	}
	return b.String(), enc.Close()
}
