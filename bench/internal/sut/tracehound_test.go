package sut

import (
	"strings"
	"testing"
)

func TestScrape(t *testing.T) {
	text := `# HELP tracehound_storage_spans_stored_total Spans committed to ClickHouse.
# TYPE tracehound_storage_spans_stored_total counter
tracehound_storage_spans_stored_total 1.95e+06
tracehound_storage_queue_spans 50000
tracehound_storage_queue_spans_other{x="y"} 3
tracehound_storage_insert_attempts_total{outcome="ok"} 39
`
	m, err := scrape(strings.NewReader(text), "tracehound_storage_spans_stored_total", "tracehound_storage_queue_spans")
	if err != nil {
		t.Fatal(err)
	}
	if m["tracehound_storage_spans_stored_total"] != 1_950_000 || m["tracehound_storage_queue_spans"] != 50000 || len(m) != 2 {
		t.Fatalf("scrape = %v", m)
	}
}

func TestScrapeLabelled(t *testing.T) {
	text := `tracehound_analysis_units_total{outcome="ok"} 112
tracehound_analysis_units_total{outcome="error"} 1
tracehound_analysis_unit_duration_seconds_sum 42.5
tracehound_analysis_unit_duration_seconds_bucket{le="0.01"} 0
`
	m, err := scrape(strings.NewReader(text), mAnalysisUnitsOK, mAnalysisUnitsErr, mAnalysisUnitSum, mAnalysisSpans)
	if err != nil {
		t.Fatal(err)
	}
	if m[mAnalysisUnitsOK] != 112 || m[mAnalysisUnitsErr] != 1 || m[mAnalysisUnitSum] != 42.5 || len(m) != 3 {
		t.Fatalf("scrape = %v", m)
	}
}

func TestBannerField(t *testing.T) {
	out := "Starting embedded ClickHouse in /tmp/x …\ntracehound is running.\n" +
		"  OTLP gRPC:  127.0.0.1:40001   (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:40001)\n" +
		"  OTLP HTTP:  127.0.0.1:40002   (POST /v1/traces)\n" +
		"  UI and API: http://127.0.0.1:40003/   (API under /api/v1, metrics at /metrics)\n"
	if got := bannerField(out, "OTLP gRPC:"); got != "127.0.0.1:40001" {
		t.Errorf("gRPC = %q", got)
	}
	if got := bannerField(out, "UI and API:"); got != "http://127.0.0.1:40003/" {
		t.Errorf("API = %q", got)
	}
	if got := bannerField(out, "missing:"); got != "" {
		t.Errorf("missing = %q", got)
	}
}
