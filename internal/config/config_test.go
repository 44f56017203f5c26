package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestDefaultYAMLRoundTrips: the rendered defaults load back strictly into
// the same configuration, and docs/configuration.md shows them verbatim.
func TestDefaultYAMLRoundTrips(t *testing.T) {
	b, err := DefaultYAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{}
	if err := LoadFile(path, &cfg); err != nil {
		t.Fatal(err)
	}
	got, _ := yamlString(cfg)
	if got != string(b) {
		t.Errorf("round trip changed the config:\n%s\nvs\n%s", got, b)
	}
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), string(b)) {
		t.Errorf("docs/configuration.md does not contain the current defaults; paste the output of `tracehound config defaults`:\n%s", b)
	}
}

func TestResolvePrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("http_addr: file:1\ndata_dir: /from/file\nlog_level: warn\nclickhouse:\n  retention: 48h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"defaults", nil, nil, func(t *testing.T, c Config) {
			if c.HTTPAddr != "localhost:8080" || c.OTLP.GRPCAddr != "localhost:4317" || c.OTLP.HTTPAddr != "localhost:4318" || c.DataDir != "data" {
				t.Errorf("%+v", c)
			}
		}},
		{"file", []string{"--config", path}, nil, func(t *testing.T, c Config) {
			if c.HTTPAddr != "file:1" || c.ClickHouse.Retention != 48*time.Hour || c.LogLevel != "warn" {
				t.Errorf("%+v", c)
			}
		}},
		{"env over file", []string{"--config", path}, map[string]string{"TRACEHOUND_HTTP_ADDR": "env:2"}, func(t *testing.T, c Config) {
			if c.HTTPAddr != "env:2" || c.DataDir != "/from/file" {
				t.Errorf("%+v", c)
			}
		}},
		{"config from env", nil, map[string]string{"TRACEHOUND_CONFIG": path}, func(t *testing.T, c Config) {
			if c.HTTPAddr != "file:1" {
				t.Errorf("%+v", c)
			}
		}},
		{"flag over env", []string{"--http-addr", "flag:3"}, map[string]string{"TRACEHOUND_HTTP_ADDR": "env:2"}, func(t *testing.T, c Config) {
			if c.HTTPAddr != "flag:3" {
				t.Errorf("%+v", c)
			}
		}},
		{"every flag", []string{"--otlp-grpc-addr", "a:1", "--otlp-http-addr", "b:2", "--clickhouse-dsn", "clickhouse://h:9000/db",
			"--retention", "72h", "--data-dir", "/d"}, nil, func(t *testing.T, c Config) {
			if c.OTLP.GRPCAddr != "a:1" || c.OTLP.HTTPAddr != "b:2" || c.ClickHouse.DSN != "clickhouse://h:9000/db" ||
				c.ClickHouse.Retention != 72*time.Hour || c.DataDir != "/d" {
				t.Errorf("%+v", c)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			sf := NewServeFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := sf.Resolve(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown key", []string{"--config", write("a.yaml", "bogus: 1\n")}, nil, "field bogus not found"},
		{"bad duration", []string{"--retention", "soon"}, nil, "--retention: time: invalid duration"},
		{"bad env duration", nil, map[string]string{"TRACEHOUND_RETENTION": "x"}, "TRACEHOUND_RETENTION: --retention"},
		{"short retention", []string{"--retention", "5m"}, nil, "clickhouse.retention (--retention) is 5m0s; it must be at least 1h"},
		{"bad log level", []string{"--log-level", "loud"}, nil, `log_level (--log-level) "loud"`},
		{"bad nested value", []string{"--config", write("b.yaml", "detection:\n  chatty:\n    min_calls: 1\n")}, nil, "detection.chatty.min_calls"},
		{"missing file", []string{"--config", filepath.Join(dir, "none.yaml")}, nil, "reading config file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			sf := NewServeFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			_, err := sf.Resolve(func(k string) string { return tc.env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestDetectionDocGenerated fails when docs/detection.md is older than the
// package documentation it is generated from.
func TestDetectionDocGenerated(t *testing.T) {
	doc, err := os.ReadFile("../../docs/detection.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"../../analysis/detect/doc.go", "../../analysis/critpath/critpath.go"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		// Spot-check: every "(default)" number sentence of the source appears.
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "package ") {
				break // only the package documentation is published
			}
			if !strings.HasPrefix(line, "// ") || !strings.Contains(line, "(") {
				continue
			}
			text := strings.TrimSpace(strings.TrimPrefix(line, "//"))
			text = strings.TrimPrefix(text, "- ")
			if len(text) > 20 && !strings.Contains(string(doc), text) {
				t.Errorf("docs/detection.md is stale (run `make docs`): missing %q from %s", text, src)
				return
			}
		}
	}
}
