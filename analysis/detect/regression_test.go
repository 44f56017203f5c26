package detect

import (
	"testing"
	"time"
)

func TestRegressions(t *testing.T) {
	t.Parallel()
	cfg := NewDefaultConfig().Regression
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	op := func(svc, name string, n uint64, p95 float64) OperationLatency {
		return OperationLatency{Service: svc, Operation: name, Requests: n, P95Ms: p95}
	}
	tests := []struct {
		name     string
		recent   []OperationLatency
		baseline []OperationLatency
		cfg      func(*RegressionConfig)
		want     []string // service/operation of the findings
	}{
		{"3x slower is flagged", []OperationLatency{op("checkout", "POST /checkout", 50, 900)},
			[]OperationLatency{op("checkout", "POST /checkout", 500, 300)}, nil, []string{"checkout/POST /checkout"}},
		{"stable operation", []OperationLatency{op("a", "GET /", 50, 310)},
			[]OperationLatency{op("a", "GET /", 500, 300)}, nil, nil},
		{"large factor, tiny increase", []OperationLatency{op("a", "GET /", 50, 12)},
			[]OperationLatency{op("a", "GET /", 500, 4)}, nil, nil},
		{"no baseline yet", []OperationLatency{op("a", "GET /", 50, 900)},
			[]OperationLatency{op("a", "GET /", 99, 300)}, nil, nil},
		{"too few recent requests", []OperationLatency{op("a", "GET /", 19, 900)},
			[]OperationLatency{op("a", "GET /", 500, 300)}, nil, nil},
		{"new operation", []OperationLatency{op("a", "GET /new", 50, 900)},
			[]OperationLatency{op("a", "GET /", 500, 300)}, nil, nil},
		{"disabled", []OperationLatency{op("a", "GET /", 50, 900)},
			[]OperationLatency{op("a", "GET /", 500, 300)}, func(c *RegressionConfig) { c.Enabled = false }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cfg
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			got := Regressions(tc.recent, tc.baseline, c, at)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings %+v, want %v", len(got), got, tc.want)
			}
			for i, f := range got {
				if f.Service+"/"+f.Operation != tc.want[i] || f.Kind != KindBottleneck || f.Evidence["regression"] != true ||
					!f.LastSeen.Equal(at) || f.ID == "" || f.Summary == "" {
					t.Errorf("finding %+v", f)
				}
			}
		})
	}
	f := Regressions([]OperationLatency{op("checkout", "POST /checkout", 50, 900)},
		[]OperationLatency{op("checkout", "POST /checkout", 500, 300)}, cfg, at)[0]
	if f.Evidence["factor"] != 3.0 || f.Evidence["current_p95_ms"] != 900.0 || f.Evidence["baseline_p95_ms"] != 300.0 {
		t.Errorf("evidence %v", f.Evidence)
	}
}
