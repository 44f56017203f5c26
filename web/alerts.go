package web

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tracehound/tracehound/alerting"
)

// AlertsProvider is what the alerting API serves; *alerting.Evaluator
// implements it. Methods are safe for concurrent use.
type AlertsProvider interface {
	Rules() []alerting.RuleInfo
	Alerts(ctx context.Context, q alerting.AlertQuery) ([]alerting.Alert, error)
	Deliveries(ctx context.Context, q alerting.DeliveryQuery) ([]alerting.Delivery, error)
}

// mountAlerts adds the alerting endpoints under api. With a nil provider
// they answer 404 "alerting is not enabled".
func (s *Server) mountAlerts(api fiber.Router, p AlertsProvider) {
	h := alertHandlers{s: s, p: p}
	api.Get("/alerts/rules", h.rules)
	api.Get("/alerts/deliveries", h.deliveries)
	api.Get("/alerts", h.alerts)
}

type alertHandlers struct {
	s *Server
	p AlertsProvider
}

func (h alertHandlers) enabled() error {
	if h.p == nil {
		return fiber.NewError(fiber.StatusNotFound, "alerting is not enabled in this server")
	}
	return nil
}

type ruleJSON struct {
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Condition   string            `json:"condition"`
	For         string            `json:"for"`
	Severity    string            `json:"severity,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Receivers   []string          `json:"receivers"`
	Finding     *findingRuleJSON  `json:"finding,omitempty"`
	Metric      *metricRuleJSON   `json:"metric,omitempty"`
}

type findingRuleJSON struct {
	Kind        string `json:"kind"`
	MinSeverity string `json:"min_severity"`
	Service     string `json:"service"`
	Window      string `json:"window"`
}

type metricRuleJSON struct {
	Scope     string  `json:"scope"`
	Name      string  `json:"name"`
	Service   string  `json:"service"`
	Peer      string  `json:"peer"`
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold"`
	Lookback  string  `json:"lookback"`
	MinCount  uint64  `json:"min_count"`
}

func (h alertHandlers) rules(c *fiber.Ctx) error {
	if err := h.enabled(); err != nil {
		return err
	}
	rules := h.p.Rules()
	out := make([]ruleJSON, 0, len(rules))
	for _, r := range rules {
		j := ruleJSON{Name: r.Name, Type: r.Type, Condition: r.Condition, For: r.For.String(), Severity: r.Severity,
			Labels: nonNil(r.Labels), Annotations: nonNil(r.Annotations), Receivers: r.Receivers}
		if f := r.Finding; f != nil {
			j.Finding = &findingRuleJSON{Kind: f.Kind, MinSeverity: f.MinSeverity, Service: f.Service, Window: f.Window.String()}
		}
		if m := r.Metric; m != nil {
			j.Metric = &metricRuleJSON{Scope: m.Scope, Name: m.Name, Service: m.Service, Peer: m.Peer, Op: m.Op,
				Lookback: m.Lookback.String(), MinCount: m.MinCount}
			if m.Threshold != nil {
				j.Metric.Threshold = *m.Threshold
			}
		}
		out = append(out, j)
	}
	return c.JSON(fiber.Map{"rules": out})
}

type alertJSON struct {
	Fingerprint  string            `json:"fingerprint"`
	Rule         string            `json:"rule"`
	State        string            `json:"state"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	Value        float64           `json:"value"`
	ActiveAt     time.Time         `json:"active_at"`
	FiredAt      *time.Time        `json:"fired_at"`
	ResolvedAt   *time.Time        `json:"resolved_at"`
	EvaluatedAt  time.Time         `json:"evaluated_at"`
	GeneratorURL string            `json:"generator_url"`
}

var alertStates = map[string]bool{"firing": true, "pending": true, "resolved": true, "all": true}

func (h alertHandlers) alerts(c *fiber.Ctx) error {
	if err := h.enabled(); err != nil {
		return err
	}
	q := alerting.AlertQuery{State: c.Query("state", "firing"), Now: time.Now()}
	if !alertStates[q.State] {
		return &paramError{"state", "want firing, pending, resolved or all"}
	}
	// since (or from, as in the other list endpoints) and to bound the time
	// of an alert's last change; without since every firing and pending
	// alert is listed.
	for _, name := range []string{"from", "since"} {
		if v := c.Query(name); v != "" {
			t, err := parseTime(name, v)
			if err != nil {
				return err
			}
			q.Since = t
		}
	}
	if v := c.Query("to"); v != "" {
		t, err := parseTime("to", v)
		if err != nil {
			return err
		}
		q.Until = t
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Since.After(q.Until) {
		return &paramError{"since", "must not be after to"}
	}
	var pairs []string
	for _, v := range c.Context().QueryArgs().PeekMulti("label") {
		pairs = append(pairs, string(v))
	}
	labels, err := alerting.ParseLabelMatchers(pairs)
	if err != nil {
		return &paramError{"label", err.Error()}
	}
	q.Labels = labels
	ctx, cancel := context.WithTimeout(c.UserContext(), h.s.opts.QueryTimeout)
	defer cancel()
	rows, err := h.p.Alerts(ctx, q)
	if err != nil {
		return err
	}
	out := make([]alertJSON, 0, len(rows))
	for _, a := range rows {
		out = append(out, alertJSON{Fingerprint: a.Fingerprint, Rule: a.Rule, State: a.State, Labels: nonNil(a.Labels),
			Annotations: nonNil(a.Annotations), Value: a.Value, ActiveAt: a.ActiveAt.UTC(), FiredAt: timePtr(a.FiredAt),
			ResolvedAt: timePtr(a.ResolvedAt), EvaluatedAt: a.EvaluatedAt.UTC(), GeneratorURL: a.GeneratorURL})
	}
	return c.JSON(fiber.Map{"alerts": out})
}

type deliveryJSON struct {
	At          time.Time `json:"at"`
	Receiver    string    `json:"receiver"`
	Integration string    `json:"integration"`
	GroupKey    string    `json:"group_key"`
	Seq         uint64    `json:"seq"`
	Status      string    `json:"status"`
	Alerts      int       `json:"alerts"`
	Attempt     int       `json:"attempt"`
	Outcome     string    `json:"outcome"`
	HTTPStatus  int       `json:"http_status"`
	Error       string    `json:"error"`
	DurationMs  float64   `json:"duration_ms"`
	Instance    string    `json:"instance"`
}

var deliveryOutcomes = map[string]bool{"": true, "success": true, "retry": true, "failed": true}

func (h alertHandlers) deliveries(c *fiber.Ctx) error {
	if err := h.enabled(); err != nil {
		return err
	}
	from, to, err := parseWindow(c.Query("from"), c.Query("to"), time.Now())
	if err != nil {
		return err
	}
	limit, err := parseIntParam("limit", c.Query("limit"), 100, 1, 1000)
	if err != nil {
		return err
	}
	outcome := c.Query("outcome")
	if !deliveryOutcomes[outcome] {
		return &paramError{"outcome", "want success, retry or failed"}
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), h.s.opts.QueryTimeout)
	defer cancel()
	rows, err := h.p.Deliveries(ctx, alerting.DeliveryQuery{From: from, To: to, Receiver: c.Query("receiver"),
		Outcome: outcome, Limit: int(limit)})
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, 0, len(rows))
	for _, d := range rows {
		out = append(out, deliveryJSON{At: d.At.UTC(), Receiver: d.Receiver, Integration: d.Integration, GroupKey: d.GroupKey,
			Seq: d.Seq, Status: d.Status, Alerts: d.Alerts, Attempt: d.Attempt, Outcome: d.Outcome, HTTPStatus: d.HTTPStatus,
			Error: d.Error, DurationMs: float64(d.Duration.Microseconds()) / 1000, Instance: d.Instance})
	}
	return c.JSON(fiber.Map{"deliveries": out})
}

func nonNil[M ~map[string]string](m M) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
