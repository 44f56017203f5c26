package alerting

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tracehound/tracehound/storage"
)

// RuleInfo describes a configured rule with its defaults applied, for
// GET /api/v1/alerts/rules.
type RuleInfo struct {
	Name string
	// Type is finding or metric.
	Type string
	// Condition is the rule in one sentence.
	Condition   string
	For         time.Duration
	Severity    string // empty: the finding's
	Labels      map[string]string
	Annotations map[string]string
	// Receivers are the receivers notified (every receiver when the rule
	// names none).
	Receivers []string
	Finding   *FindingRule
	Metric    *MetricRule
}

// Rules returns the configured rules in configuration order.
func (e *Evaluator) Rules() []RuleInfo {
	out := make([]RuleInfo, 0, len(e.cfg.Rules))
	for i := range e.cfg.Rules {
		r := &e.cfg.Rules[i]
		ri := RuleInfo{Name: r.Name, For: r.For, Severity: r.Severity, Labels: copyMap(r.Labels),
			Annotations: copyMap(r.Annotations), Receivers: r.Receivers}
		if len(ri.Receivers) == 0 {
			for _, rc := range e.cfg.Receivers {
				ri.Receivers = append(ri.Receivers, rc.Name)
			}
		}
		if ri.Receivers == nil {
			ri.Receivers = []string{}
		}
		switch {
		case r.Finding != nil:
			f := *r.Finding
			f.Window = f.window()
			if f.MinSeverity == "" {
				f.MinSeverity = "low"
			}
			ri.Type, ri.Finding = "finding", &f
			kind := f.Kind
			if kind == "" {
				kind = "any"
			}
			ri.Condition = fmt.Sprintf("a %s finding of severity %s or more", kind, f.MinSeverity)
			if f.Service != "" {
				ri.Condition += " in service " + f.Service
			}
			ri.Condition += fmt.Sprintf(" was last seen within %s", shortDur(f.Window))
		case r.Metric != nil:
			m := *r.Metric
			m.Op, m.Lookback, m.MinCount = m.op(), m.lookback(), m.minCount()
			if ri.Severity == "" {
				ri.Severity = "high"
			}
			ri.Type, ri.Metric = "metric", &m
			subject := "a service"
			if m.Service != "" {
				subject = "service " + m.Service
			}
			if m.Scope == "edge" {
				subject = "calls from " + orAny(m.Service) + " to " + orAny(m.Peer)
			}
			ri.Condition = fmt.Sprintf("%s of %s %s %v over the last %s (at least %d %s)", m.Name, subject, m.Op,
				*m.Threshold, shortDur(m.Lookback), m.MinCount, map[bool]string{true: "calls", false: "requests"}[m.Scope == "edge"])
		}
		out = append(out, ri)
	}
	return out
}

func orAny(p string) string {
	if p == "" {
		return "any"
	}
	return p
}

// Alert is an alert's current state.
type Alert struct {
	Fingerprint string
	Rule        string
	// State is pending, firing or resolved.
	State        string
	Labels       Labels
	Annotations  map[string]string
	Value        float64
	ActiveAt     time.Time
	FiredAt      time.Time // zero while pending
	ResolvedAt   time.Time // zero unless resolved
	EvaluatedAt  time.Time
	GeneratorURL string
}

// AlertQuery selects alerts by current state.
type AlertQuery struct {
	// State is firing (default), pending, resolved or all.
	State string
	// Since keeps alerts whose last change (became pending, fired,
	// resolved) is at or after it. Zero: every pending and firing alert,
	// and alerts resolved within the last hour.
	Since time.Time
	// Until, when set, drops alerts whose last change is after it.
	Until time.Time
	// Labels must all match (equality).
	Labels map[string]string
	// Now is the current time (for the default window); zero = time.Now().
	Now time.Time
}

// Alerts returns alerts by state, firing first, then by start.
func (e *Evaluator) Alerts(ctx context.Context, q AlertQuery) ([]Alert, error) {
	now := q.Now
	if now.IsZero() {
		now = time.Now()
	}
	state := q.State
	if state == "" {
		state = "firing"
	}
	since := q.Since
	from := now.Add(-e.lookback)
	if !since.IsZero() && since.Before(from) {
		from = since
	}
	rows, err := e.b.LatestAlertStates(ctx, from)
	if err != nil {
		return nil, err
	}
	resolvedSince := since
	if resolvedSince.IsZero() {
		resolvedSince = now.Add(-time.Hour)
	}
	out := []Alert{}
	for _, s := range rows {
		if s.State == "inactive" || (state != "all" && s.State != state) || !matchLabels(s.Labels, q.Labels) {
			continue
		}
		var changed time.Time
		switch s.State {
		case "pending":
			changed = s.ActiveAt
		case "firing":
			changed = s.FiredAt
		case "resolved":
			changed = s.ResolvedAt
			if changed.Before(resolvedSince) {
				continue
			}
		}
		if (!since.IsZero() && changed.Before(since)) || (!q.Until.IsZero() && changed.After(q.Until)) {
			continue
		}
		out = append(out, Alert{Fingerprint: s.Fingerprint, Rule: s.Rule, State: s.State, Labels: Labels(s.Labels),
			Annotations: s.Annotations, Value: s.Value, ActiveAt: s.ActiveAt, FiredAt: s.FiredAt, ResolvedAt: s.ResolvedAt,
			EvaluatedAt: s.EvaluatedAt, GeneratorURL: generatorURL(e.ext, s.Labels)})
	}
	rank := map[string]int{"firing": 0, "pending": 1, "resolved": 2}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.State != b.State {
			return rank[a.State] < rank[b.State]
		}
		if !a.ActiveAt.Equal(b.ActiveAt) {
			return a.ActiveAt.After(b.ActiveAt)
		}
		return a.Fingerprint < b.Fingerprint
	})
	return out, nil
}

func matchLabels(ls, want map[string]string) bool {
	for k, v := range want {
		if ls[k] != v {
			return false
		}
	}
	return true
}

// ParseLabelMatchers parses name=value pairs (as given in the API's label
// parameter).
func ParseLabelMatchers(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !labelNameRE.MatchString(k) {
			return nil, fmt.Errorf("%q: want name=value", p)
		}
		out[k] = v
	}
	return out, nil
}

// Delivery is one recorded delivery attempt.
type Delivery = storage.DeliveryAttempt

// DeliveryQuery selects delivery attempts.
type DeliveryQuery = storage.DeliveryQuery

// Deliveries returns delivery attempts, newest first.
func (e *Evaluator) Deliveries(ctx context.Context, q DeliveryQuery) ([]Delivery, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	return e.b.DeliveryAttempts(ctx, q)
}
