package sut

import (
	"strings"
	"testing"
)

func TestParseClickHouseReady(t *testing.T) {
	for _, c := range []struct {
		out, tcp, http string
		ok             bool
	}{
		{"time=… level=INFO msg=\"embedded ClickHouse ready\" after=213ms\n" +
			"ClickHouse is ready: native 127.0.0.1:38101, HTTP 127.0.0.1:39969 (DSN clickhouse://127.0.0.1:38101/default). Ctrl-C stops it.\n",
			"127.0.0.1:38101", "127.0.0.1:39969", true},
		{"time=… level=INFO msg=\"starting embedded ClickHouse\"\n", "", "", false},
		{"", "", "", false},
	} {
		tcp, http, ok := parseClickHouseReady(c.out)
		if tcp != c.tcp || http != c.http || ok != c.ok {
			t.Errorf("parseClickHouseReady(%q) = %q, %q, %v; want %q, %q, %v", c.out, tcp, http, ok, c.tcp, c.http, c.ok)
		}
	}
}

func TestScrapeSums(t *testing.T) {
	text := `# HELP otelcol_receiver_accepted_spans Number of spans successfully pushed into the pipeline.
# TYPE otelcol_receiver_accepted_spans counter
otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"} 1500
otelcol_receiver_accepted_spans{receiver="otlp",transport="http"} 500
otelcol_exporter_sent_spans_total{exporter="clickhouse"} 1200
otelcol_exporter_queue_size{data_type="traces",exporter="clickhouse"} 3
otelcol_process_uptime 2.99
otelcol_weird{label="with } brace"} 7
go_gc_gogc_percent NaN
`
	m, err := scrapeSums(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"otelcol_receiver_accepted_spans":   2000,
		"otelcol_exporter_sent_spans_total": 1200,
		"otelcol_exporter_queue_size":       3,
		"otelcol_process_uptime":            2.99,
		"otelcol_weird":                     7,
	} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
	if got := m.sum(mAccepted) - m.sum(mSent); got != 800 {
		t.Errorf("accepted - sent = %v, want 800", got)
	}
}

func TestComponentModules(t *testing.T) {
	out := `buildinfo:
    command: otelcol-bench
    version: 0.165.0
receivers:
    - name: otlp
      module: go.opentelemetry.io/collector/receiver/otlpreceiver v0.165.0
exporters:
    - name: clickhouse
      module: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter v0.165.1
providers:
    - scheme: env
      module: ""
`
	got := strings.Join(componentModules(out), ", ")
	if want := "otlpreceiver v0.165.0, clickhouseexporter v0.165.1"; got != want {
		t.Errorf("componentModules = %q, want %q", got, want)
	}
}

func TestCollectorConfig(t *testing.T) {
	cfg := CollectorConfig(4317, "127.0.0.1:9000", 8888)
	for _, want := range []string{
		"endpoint: 127.0.0.1:4317",
		"batch: {}",
		"endpoint: tcp://127.0.0.1:9000",
		"database: otel",
		"create_schema: true",
		"host: 127.0.0.1\n                port: 8888",
		"processors: [batch]",
		"exporters: [clickhouse]",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	// Defaults stay defaults: the config names no timeout, queue or retry.
	for _, unwanted := range []string{"timeout", "sending_queue", "retry_on_failure", "\t"} {
		if strings.Contains(cfg, unwanted) {
			t.Errorf("config sets %q:\n%s", unwanted, cfg)
		}
	}
}

func TestStopResultClean(t *testing.T) {
	for _, c := range []struct {
		name string
		r    StopResult
		want bool
	}{
		{"clean", StopResult{}, true},
		{"exit 1", StopResult{ExitCode: 1, Error: "exit status: 1"}, false},
		{"killed", StopResult{ExitCode: -1, Killed: true}, false},
		{"with clean ClickHouse", StopResult{ClickHouse: &StopResult{}}, true},
		{"with killed ClickHouse", StopResult{ClickHouse: &StopResult{ExitCode: -1, Killed: true}}, false},
		{"ClickHouse child outlived", StopResult{ClickHouse: &StopResult{Error: "outlived"}}, false},
	} {
		if got := c.r.Clean(); got != c.want {
			t.Errorf("%s: Clean() = %v, want %v", c.name, got, c.want)
		}
	}
}
