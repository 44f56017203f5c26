package alerting

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// TestResult is the outcome of a test notification to one receiver.
type TestResult struct {
	Receiver    string
	Integration string
	HTTPStatus  int
	Duration    time.Duration
	// Err is nil on success; its text never holds the receiver's URL or
	// token.
	Err error
}

// SendTest sends one sample firing notification to each configured
// receiver (or those named in only), once, without retries, and reports the
// outcome per receiver. cfg must be valid. client nil uses a default client.
func SendTest(ctx context.Context, cfg Config, only []string, client *http.Client) ([]TestResult, error) {
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	want := map[string]bool{}
	for _, n := range only {
		want[n] = true
	}
	known := map[string]bool{}
	for _, r := range cfg.Receivers {
		known[r.Name] = true
	}
	for n := range want {
		if !known[n] {
			return nil, fmt.Errorf("unknown receiver %q (receivers: %s)", n, receiverNames(cfg.Receivers))
		}
	}
	ext := cfg.ExternalURL
	now := time.Now().UTC().Truncate(time.Second)
	var out []TestResult
	for i := range cfg.Receivers {
		r := &cfg.Receivers[i]
		if len(want) > 0 && !want[r.Name] {
			continue
		}
		rt := r.route(cfg.Route)
		n := newNotifier(r, client, max(rt.RepeatInterval, cfg.EvaluationInterval))
		ls := Labels{"alertname": "TracehoundTestNotification", "kind": "bottleneck", "service": "checkout",
			"operation": "SELECT orders", "peer": "postgresql/shop", "severity": "low"}
		gl := groupLabels(ls, rt.GroupBy)
		m := &message{
			Receiver: r.Name, GroupKey: groupKey(gl), GroupLabels: gl, Status: "firing", ExternalURL: ext, Seq: 1,
			Alerts: []alertItem{{
				Status: "firing", Labels: ls, StartsAt: now, GeneratorURL: generatorURL(ext, ls), Fingerprint: ls.Fingerprint(),
				Annotations: map[string]string{
					"summary":     "Test notification from `tracehound alerts test`: if you can read this, the receiver works.",
					"description": "Sent by tracehound alerts test; it is not about a real problem.",
				},
			}},
		}
		ctx, cancel := context.WithTimeout(ctx, cfg.Delivery.Timeout)
		t0 := time.Now()
		status, err := n.send(ctx, m)
		cancel()
		out = append(out, TestResult{Receiver: r.Name, Integration: n.integration(), HTTPStatus: status, Duration: time.Since(t0), Err: err})
	}
	return out, nil
}
