package detect

import (
	"fmt"
	"math"
	"time"
)

// OperationLatency is the request count and p95 latency of one operation
// (a SERVER or CONSUMER span name of a service) over a window.
type OperationLatency struct {
	Service, Operation string
	Requests           uint64
	P95Ms              float64
}

// Regressions compares each operation's recent p95 with its own baseline
// and returns a bottleneck finding (evidence "regression": true) for every
// operation whose p95 rose by at least cfg.Factor and cfg.MinIncrease, when
// both windows have enough requests. at is the end of the recent window; it
// is the finding's first and last seen time.
func Regressions(recent, baseline []OperationLatency, cfg RegressionConfig, at time.Time) []Finding {
	if !cfg.Enabled {
		return nil
	}
	type key struct{ s, o string }
	base := make(map[key]OperationLatency, len(baseline))
	for _, b := range baseline {
		base[key{b.Service, b.Operation}] = b
	}
	var out []Finding
	for _, r := range recent {
		b, ok := base[key{r.Service, r.Operation}]
		if !ok || r.Requests < uint64(cfg.MinRecentSamples) || b.Requests < uint64(cfg.MinBaselineSamples) || b.P95Ms <= 0 {
			continue
		}
		factor := r.P95Ms / b.P95Ms
		increase := r.P95Ms - b.P95Ms
		if factor < cfg.Factor || increase < float64(cfg.MinIncrease)/float64(time.Millisecond) {
			continue
		}
		// 2× and +100 ms score 25 (medium), 5× and +1 s about 62 (high).
		score := math.Min(100, 40*math.Log10(factor)+20*math.Log10(1+increase/100)+7)
		out = append(out, Finding{
			ID:        findingID(KindBottleneck, "regression", r.Service, r.Operation),
			Kind:      KindBottleneck,
			Service:   r.Service,
			Operation: r.Operation,
			Severity:  severityOf(score),
			Score:     math.Round(score*10) / 10,
			Summary: fmt.Sprintf("%s %s regressed: p95 %s in the last %s against %s over the %s before (%.1f×)",
				r.Service, r.Operation, fmtMs(r.P95Ms), cfg.Recent, fmtMs(b.P95Ms), cfg.Baseline, factor),
			Evidence: map[string]any{
				"regression":        true,
				"entry_service":     r.Service,
				"entry_operation":   r.Operation,
				"current_p95_ms":    round1(r.P95Ms),
				"baseline_p95_ms":   round1(b.P95Ms),
				"factor":            round1(factor),
				"recent_requests":   r.Requests,
				"baseline_requests": b.Requests,
				"recent_window":     cfg.Recent.String(),
				"baseline_window":   cfg.Baseline.String(),
			},
			Occurrences: int(r.Requests),
			FirstSeen:   at,
			LastSeen:    at,
		})
	}
	return out
}

func fmtMs(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
