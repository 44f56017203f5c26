package alerting

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/storage"
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func finding(kind, service, sev string, score float64, lastSeen time.Time) storage.Finding {
	var f storage.Finding
	f.ID, f.Kind, f.Service, f.Operation, f.Peer, f.PeerKind = kind+"-"+service, kind, service, "op", "peer", "service"
	f.Severity, f.Score, f.Summary, f.Occurrences = sev, score, kind+" in "+service, 3
	f.FirstSeen, f.LastSeen = lastSeen.Add(-time.Minute), lastSeen
	f.ExampleTraceIDs = [][16]byte{{0xab, 0xcd}}
	return f
}

func TestFindingCandidates(t *testing.T) {
	fs := []storage.Finding{
		finding("bottleneck", "checkout", "high", 60, t0.Add(-time.Minute)),
		finding("bottleneck", "checkout-api", "medium", 30, t0.Add(-2*time.Minute)),
		finding("bottleneck", "payments", "high", 70, t0.Add(-time.Minute)),
		finding("bottleneck", "checkout-old", "critical", 90, t0.Add(-time.Hour)), // outside the window
		finding("chatty", "checkout", "critical", 80, t0),
		finding("bottleneck", "checkout-web", "low", 10, t0), // below min severity
	}
	r := &Rule{Name: "b", Finding: &FindingRule{Kind: "bottleneck", MinSeverity: "medium", Service: "checkout*"},
		Labels: map[string]string{"team": "shop"}, Annotations: map[string]string{"runbook_url": "https://rb/{{ $labels.service }}/{{ .Value }}"}}
	if errs := r.validate("r"); len(errs) > 0 {
		t.Fatal(errs)
	}
	got := findingCandidates(r, fs, t0)
	var names []string
	for _, c := range got {
		names = append(names, c.labels["service"])
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "checkout,checkout-api" {
		t.Fatalf("matched %v", names)
	}
	c := got[0]
	want := Labels{"alertname": "b", "kind": "bottleneck", "service": "checkout", "operation": "op", "peer": "peer", "severity": "high", "team": "shop"}
	if c.labels.String() != want.String() {
		t.Errorf("labels %s, want %s", c.labels, want)
	}
	if c.annotations["summary"] != "bottleneck in checkout" || c.annotations["example_trace_id"] != "abcd0000000000000000000000000000" ||
		c.annotations["runbook_url"] != "https://rb/checkout/60" || c.annotations["finding_id"] != "bottleneck-checkout" {
		t.Errorf("annotations %v", c.annotations)
	}
	// Rule severity overrides the finding's.
	r.Severity = "critical"
	if got := findingCandidates(r, fs, t0); got[0].labels["severity"] != "critical" {
		t.Errorf("severity %v", got[0].labels)
	}
	// Two findings with the same labels are one alert, described by the higher score.
	dup := finding("bottleneck", "checkout", "high", 65, t0)
	dup.ID = "other"
	r2 := &Rule{Name: "all", Finding: &FindingRule{}}
	got = findingCandidates(r2, append(fs[:1:1], dup), t0)
	if len(got) != 1 || got[0].annotations["finding_id"] != "other" {
		t.Errorf("merged: %+v", got)
	}
}

func TestMetricCandidates(t *testing.T) {
	edges := []storage.EdgeStats{
		{Source: "checkout", SourceKind: "service", Target: "payments", TargetKind: "service", Calls: 100, Errors: 10, P99Ms: 800},
		{Source: "checkout", SourceKind: "service", Target: "postgresql/shop", TargetKind: "database", Calls: 100, P99Ms: 900},
		{Source: "checkout", SourceKind: "service", Target: "ledger", TargetKind: "service", Calls: 2, P99Ms: 5000}, // too few calls
		{Source: "cart", SourceKind: "service", Target: "payments", TargetKind: "service", Calls: 100, P99Ms: 100},
	}
	r := &Rule{Name: "slow", Metric: &MetricRule{Scope: "edge", Name: "p99_ms", Service: "checkout", Threshold: ptr(500.0), MinCount: 10}}
	got := edgeCandidates(r, edges)
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	if l := got[1].labels; l["peer"] != "postgresql/shop" || l["peer_kind"] != "database" || l["kind"] != "metric" || l["metric"] != "p99_ms" ||
		l["severity"] != "high" || l["scope"] != "edge" {
		t.Errorf("labels %v", l)
	}
	if s := got[0].annotations["summary"]; s != "p99 latency of calls from checkout to payments is 800 ms (> 500 ms over the last 5m)" {
		t.Errorf("summary %q", s)
	}
	r = &Rule{Name: "errs", Metric: &MetricRule{Scope: "edge", Name: "error_rate", Op: ">=", Threshold: ptr(0.1)}}
	if got := edgeCandidates(r, edges); len(got) != 1 || got[0].value != 0.1 || !strings.Contains(got[0].annotations["summary"], "is 10%") {
		t.Errorf("error rate: %+v", got)
	}
	svcs := []storage.ServiceStats{{Name: "checkout", Requests: 50, Errors: 0, P95Ms: 40}, {Name: "cart", Requests: 50, P95Ms: 400}}
	r = &Rule{Name: "fast", Metric: &MetricRule{Scope: "service", Name: "p95_ms", Op: "<", Threshold: ptr(100.0)}}
	if got := serviceCandidates(r, svcs); len(got) != 1 || got[0].labels["service"] != "checkout" || got[0].key != "fast|service|checkout" {
		t.Errorf("service: %+v", got)
	}
}

func TestEvaluateRulesFailsOnReadError(t *testing.T) {
	fb := newFakeBackend(t0)
	fb.readErr = context.DeadlineExceeded
	rules := []Rule{{Name: "a", Finding: &FindingRule{}}}
	if _, err := evaluateRules(context.Background(), fb, rules, t0); err == nil {
		t.Fatal("no error")
	}
}

func TestTransition(t *testing.T) {
	r := &Rule{Name: "r", For: 30 * time.Second}
	cand := func(sev string) candidate {
		ls := Labels{"alertname": "r", "service": "a", "severity": sev}
		return candidate{key: "r|a", rule: r, labels: ls, annotations: map[string]string{"summary": sev}, value: 1}
	}
	prev := map[string]storage.AlertState{}
	apply := func(now time.Time, cs ...candidate) storage.AlertState {
		rows := transition(prev, cs, now, time.Minute, "i")
		for _, s := range rows {
			prev[s.Key] = s
		}
		return prev["r|a"]
	}
	s := apply(t0, cand("low"))
	if s.State != "pending" || !s.ActiveAt.Equal(t0) || s.Fingerprint != (Labels{"alertname": "r", "service": "a", "severity": "low"}).Fingerprint() {
		t.Fatalf("%+v", s)
	}
	s = apply(t0.Add(15*time.Second), cand("high"))
	if s.State != "pending" || s.Labels["severity"] != "low" || s.Annotations["summary"] != "high" {
		t.Fatalf("labels are kept, annotations refreshed: %+v", s)
	}
	s = apply(t0.Add(30*time.Second), cand("high"))
	if s.State != "firing" || !s.FiredAt.Equal(t0.Add(30*time.Second)) || !s.ActiveAt.Equal(t0) {
		t.Fatalf("%+v", s)
	}
	fp := s.Fingerprint
	s = apply(t0.Add(45 * time.Second))
	if s.State != "resolved" || !s.ResolvedAt.Equal(t0.Add(45*time.Second)) || s.Fingerprint != fp {
		t.Fatalf("%+v", s)
	}
	// A new episode starts pending again, with fresh labels.
	s = apply(t0.Add(60*time.Second), cand("high"))
	if s.State != "pending" || s.Labels["severity"] != "high" || !s.ActiveAt.Equal(t0.Add(60*time.Second)) {
		t.Fatalf("%+v", s)
	}
	// A pending alert that goes away is inactive; one not evaluated for longer than gap starts over.
	if s = apply(t0.Add(61 * time.Second)); s.State != "inactive" {
		t.Fatalf("%+v", s)
	}
	apply(t0.Add(62*time.Second), cand("high"))
	if s = apply(t0.Add(200*time.Second), cand("high")); s.State != "pending" || !s.ActiveAt.Equal(t0.Add(200*time.Second)) {
		t.Fatalf("after a gap: %+v", s)
	}
	// for: 0 fires at once.
	r.For = 0
	prev = map[string]storage.AlertState{}
	if s = apply(t0, cand("low")); s.State != "firing" || !s.FiredAt.Equal(t0) {
		t.Fatalf("%+v", s)
	}
}
