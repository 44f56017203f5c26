package alerting

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// Config is the "alerting" section of the tracehound configuration. Start
// from NewDefaultConfig, overlay the file (Config implements
// yaml.Unmarshaler: unknown keys are errors and every value keeps its line
// for Validate's messages) and call Validate.
type Config struct {
	// Enabled runs the evaluator in this instance. Default true (it does
	// nothing while no rule is configured).
	Enabled bool `yaml:"enabled"`
	// EvaluationInterval is how often the rules are evaluated (by one of
	// the running instances). Default 15s.
	EvaluationInterval time.Duration `yaml:"evaluation_interval"`
	// ExternalURL is the address users open the UI at, used for links in
	// notifications (generatorURL, Slack links, externalURL). Default: the
	// http_addr of the server.
	ExternalURL string `yaml:"external_url"`
	// Route holds the grouping and timing of notifications; a receiver can
	// override each setting.
	Route Route `yaml:"route"`
	// Delivery holds timeouts and retries of notifications.
	Delivery DeliveryConfig `yaml:"delivery"`
	// Rules are the alerting rules.
	Rules []Rule `yaml:"rules"`
	// Receivers are where notifications go.
	Receivers []Receiver `yaml:"receivers"`

	lines lineMap
}

// Route groups alerts into notifications, as Alertmanager's route does.
type Route struct {
	// GroupBy lists the labels whose values form a group; alerts of one
	// group are sent together. [] puts every alert of a receiver in one
	// group, ["..."] makes each alert its own group. Default [alertname].
	GroupBy []string `yaml:"group_by"`
	// GroupWait is how long a new group waits for more alerts before its
	// first notification. Default 30s.
	GroupWait time.Duration `yaml:"group_wait"`
	// GroupInterval is the least time between two notifications of a group
	// when its alerts change (a new alert fires, one resolves). Default 5m.
	GroupInterval time.Duration `yaml:"group_interval"`
	// RepeatInterval is when an unchanged group with firing alerts is
	// notified again. Default 4h.
	RepeatInterval time.Duration `yaml:"repeat_interval"`
}

// DeliveryConfig configures how notifications are sent.
type DeliveryConfig struct {
	// Timeout bounds one HTTP request to a receiver. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// InitialInterval is the wait before the first retry of a failed
	// delivery; it doubles up to MaxInterval. Default 1s.
	InitialInterval time.Duration `yaml:"initial_interval"`
	// MaxInterval caps the wait between retries. Default 30s.
	MaxInterval time.Duration `yaml:"max_interval"`
	// MaxElapsedTime is how long a notification is retried before it is
	// given up (recorded as failed). Default 5m.
	MaxElapsedTime time.Duration `yaml:"max_elapsed_time"`
}

// Rule is one alerting rule: exactly one of Finding or Metric is set.
type Rule struct {
	// Name is the alertname label; unique. Required.
	Name string `yaml:"name"`
	// Finding makes the rule fire on findings of the detectors.
	Finding *FindingRule `yaml:"finding,omitempty"`
	// Metric makes the rule fire on a service or edge metric.
	Metric *MetricRule `yaml:"metric,omitempty"`
	// For is how long the condition must hold, across consecutive
	// evaluations, before the alert fires; until then it is pending.
	// Default 0 (fires at the first evaluation).
	For time.Duration `yaml:"for,omitempty"`
	// Severity is the severity label: low, medium, high or critical.
	// Default: the finding's severity (finding rules), high (metric rules).
	Severity string `yaml:"severity,omitempty"`
	// Labels are added to the alert's labels (they override computed ones,
	// except alertname).
	Labels map[string]string `yaml:"labels,omitempty"`
	// Annotations are added to the alert's annotations. Values are Go
	// templates: {{ .Labels.service }} or {{ $labels.service }}, {{ .Value }}
	// or {{ $value }}, {{ .Threshold }}.
	Annotations map[string]string `yaml:"annotations,omitempty"`
	// Receivers names the receivers to notify; empty means all.
	Receivers []string `yaml:"receivers,omitempty"`

	lines lineMap
	tmpl  map[string]*template.Template
}

// FindingRule fires while a matching finding is being observed.
type FindingRule struct {
	// Kind is bottleneck, chatty or oversized_payload; empty matches all.
	Kind string `yaml:"kind,omitempty"`
	// MinSeverity is the least severity of a matching finding: low,
	// medium, high or critical. Default low (all).
	MinSeverity string `yaml:"min_severity,omitempty"`
	// Service matches the finding's service: a name or a glob (checkout-*).
	// Empty matches all.
	Service string `yaml:"service,omitempty"`
	// Window: the alert is active while the finding's last_seen is within
	// this long before now, so it resolves once the problem has not been
	// observed for Window. Default 10m.
	Window time.Duration `yaml:"window,omitempty"`
}

// MetricRule fires when a service or edge metric crosses a threshold.
type MetricRule struct {
	// Scope is service (RED metrics of a service's requests) or edge (calls
	// from a service to a service, database, queue or external host).
	// Required.
	Scope string `yaml:"scope"`
	// Name is the metric: p50_ms, p95_ms, p99_ms, error_rate (0..1), and
	// for edges also calls_per_trace, request_bytes, response_bytes
	// (averages). Required.
	Name string `yaml:"name"`
	// Service matches the service (scope service) or the caller (scope
	// edge): a name or a glob. Empty matches all.
	Service string `yaml:"service,omitempty"`
	// Peer matches the callee of an edge (a name or a glob; virtual nodes by
	// their name, e.g. postgresql/shop). Empty matches all.
	Peer string `yaml:"peer,omitempty"`
	// Op compares the metric with Threshold: >, >=, < or <=. Default >.
	Op string `yaml:"op,omitempty"`
	// Threshold is the value the metric is compared with. Required.
	Threshold *float64 `yaml:"threshold"`
	// Lookback is the window the metric is computed over (whole minutes:
	// every minute that starts within it). Default 5m.
	Lookback time.Duration `yaml:"lookback,omitempty"`
	// MinCount is the least number of requests (service) or calls (edge) in
	// the window for the metric to be considered. Default 1.
	MinCount uint64 `yaml:"min_count,omitempty"`
}

// Receiver is a notification target: exactly one of Webhook, Slack or
// Alertmanager is set. The route settings override Config.Route for it.
type Receiver struct {
	// Name identifies the receiver in rules, the API and logs. Required.
	Name string `yaml:"name"`
	// Webhook posts Alertmanager's webhook payload (version 4).
	Webhook *WebhookConfig `yaml:"webhook,omitempty"`
	// Slack posts a message to a Slack incoming webhook.
	Slack *SlackConfig `yaml:"slack,omitempty"`
	// Alertmanager pushes alerts to an Alertmanager (POST /api/v2/alerts).
	Alertmanager *AlertmanagerConfig `yaml:"alertmanager,omitempty"`
	// SendResolved sends a notification when alerts resolve. Default true.
	SendResolved *bool `yaml:"send_resolved,omitempty"`
	// GroupBy, GroupWait, GroupInterval, RepeatInterval override the route.
	// For an Alertmanager receiver they default to one group, 0s, 0s and
	// 1m: Alertmanager groups itself and wants firing alerts re-sent.
	GroupBy        *[]string      `yaml:"group_by,omitempty"`
	GroupWait      *time.Duration `yaml:"group_wait,omitempty"`
	GroupInterval  *time.Duration `yaml:"group_interval,omitempty"`
	RepeatInterval *time.Duration `yaml:"repeat_interval,omitempty"`

	lines lineMap
}

// Endpoint is a URL given in the file or, better for secrets, in an
// environment variable.
type Endpoint struct {
	// URL in clear; use URLEnv for anything secret.
	URL string `yaml:"url,omitempty"`
	// URLEnv names the environment variable holding the URL.
	URLEnv string `yaml:"url_env,omitempty"`
	// BearerTokenEnv names an environment variable whose value is sent as
	// "Authorization: Bearer …".
	BearerTokenEnv string `yaml:"bearer_token_env,omitempty"`
}

// WebhookConfig configures a generic webhook receiver.
type WebhookConfig struct {
	Endpoint `yaml:",inline"`
	// MaxAlerts caps the alerts per message (0 = no cap); the rest are
	// counted in truncatedAlerts.
	MaxAlerts int `yaml:"max_alerts,omitempty"`
}

// SlackConfig configures a Slack incoming webhook.
type SlackConfig struct {
	Endpoint `yaml:",inline"`
	// Channel overrides the webhook's channel (legacy webhooks only).
	Channel string `yaml:"channel,omitempty"`
	// Username overrides the webhook's name (legacy webhooks only).
	Username string `yaml:"username,omitempty"`
}

// AlertmanagerConfig configures pushing to an Alertmanager.
type AlertmanagerConfig struct {
	// Endpoint is the Alertmanager's base URL (http://am:9093); alerts are
	// posted to <url>/api/v2/alerts.
	Endpoint `yaml:",inline"`
}

// NewDefaultConfig returns the defaults documented on Config.
func NewDefaultConfig() Config {
	return Config{
		Enabled:            true,
		EvaluationInterval: 15 * time.Second,
		Route: Route{
			GroupBy:        []string{"alertname"},
			GroupWait:      30 * time.Second,
			GroupInterval:  5 * time.Minute,
			RepeatInterval: 4 * time.Hour,
		},
		Delivery: DeliveryConfig{
			Timeout:         10 * time.Second,
			InitialInterval: time.Second,
			MaxInterval:     30 * time.Second,
			MaxElapsedTime:  5 * time.Minute,
		},
		Rules:     []Rule{},
		Receivers: []Receiver{},
	}
}

// Finding kinds and severities, as the detectors report them.
var (
	findingKinds = []string{"bottleneck", "chatty", "oversized_payload"}
	severities   = []string{"low", "medium", "high", "critical"}
)

func severityRank(s string) int {
	for i, v := range severities {
		if v == s {
			return i
		}
	}
	return -1
}

var (
	serviceMetrics = []string{"p50_ms", "p95_ms", "p99_ms", "error_rate"}
	edgeMetrics    = []string{"p50_ms", "p95_ms", "p99_ms", "error_rate", "calls_per_trace", "request_bytes", "response_bytes"}
	ops            = []string{">", ">=", "<", "<="}
	labelNameRE    = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	envNameRE      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

// getenv is a seam for tests.
var getenv = os.Getenv

// Validate reports every problem at once. Each message names the setting
// (alerting.rules[3].metric.threshold) and, when the configuration came from
// a file, its line ("config line 42: …"). Environment variables named by
// url_env and bearer_token_env must be set.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if c.EvaluationInterval < time.Second {
		add(c.lines.errorf("alerting", "evaluation_interval", "is %s; it must be at least 1s", c.EvaluationInterval))
	}
	if c.ExternalURL != "" {
		if u, err := url.Parse(c.ExternalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(c.lines.errorf("alerting", "external_url", "%q is not an http(s) URL", c.ExternalURL))
		}
	}
	errs = append(errs, validateRoute(c.Route, c.lines, "alerting", "route.")...)
	d := c.Delivery
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"timeout", d.Timeout}, {"initial_interval", d.InitialInterval}, {"max_interval", d.MaxInterval}, {"max_elapsed_time", d.MaxElapsedTime}} {
		if f.v <= 0 {
			add(c.lines.errorf("alerting", "delivery."+f.name, "must be positive"))
		}
	}
	if d.MaxInterval > 0 && d.InitialInterval > d.MaxInterval {
		add(c.lines.errorf("alerting", "delivery.initial_interval", "(%s) must not exceed delivery.max_interval (%s)", d.InitialInterval, d.MaxInterval))
	}

	receivers := map[string]bool{}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		errs = append(errs, r.validate(fmt.Sprintf("alerting.receivers[%d]", i))...)
		if r.Name != "" && receivers[r.Name] {
			add(r.lines.errorf(fmt.Sprintf("alerting.receivers[%d]", i), "name", "%q is used by another receiver", r.Name))
		}
		receivers[r.Name] = true
	}
	rules := map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		p := fmt.Sprintf("alerting.rules[%d]", i)
		errs = append(errs, r.validate(p)...)
		if r.Name != "" && rules[r.Name] {
			add(r.lines.errorf(p, "name", "%q is used by another rule", r.Name))
		}
		rules[r.Name] = true
		for j, name := range r.Receivers {
			if !receivers[name] {
				add(r.lines.errorf(p, fmt.Sprintf("receivers[%d]", j), "unknown receiver %q (receivers: %s)", name, receiverNames(c.Receivers)))
			}
		}
	}
	if len(c.Rules) > 0 && len(c.Receivers) == 0 {
		add(c.lines.errorf("alerting", "receivers", "no receiver is configured, so the %d rules would notify nobody", len(c.Rules)))
	}
	return errors.Join(errs...)
}

func receiverNames(rs []Receiver) string {
	names := make([]string, 0, len(rs))
	for _, r := range rs {
		names = append(names, r.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func validateRoute(r Route, lines lineMap, prefix, sub string) []error {
	var errs []error
	for i, l := range r.GroupBy {
		if l != "..." && !labelNameRE.MatchString(l) {
			errs = append(errs, lines.errorf(prefix, fmt.Sprintf("%sgroup_by[%d]", sub, i), "%q is not a label name", l))
		}
	}
	if r.GroupWait < 0 {
		errs = append(errs, lines.errorf(prefix, sub+"group_wait", "must not be negative"))
	}
	if r.GroupInterval < 0 {
		errs = append(errs, lines.errorf(prefix, sub+"group_interval", "must not be negative"))
	}
	if r.RepeatInterval <= 0 {
		errs = append(errs, lines.errorf(prefix, sub+"repeat_interval", "must be positive"))
	}
	return errs
}

func (r *Rule) validate(p string) []error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, r.lines.errorf(p, key, format, args...)) }
	if r.Name == "" {
		add("name", "is required")
	}
	switch {
	case r.Finding == nil && r.Metric == nil:
		add("", "needs a finding: or a metric: condition")
	case r.Finding != nil && r.Metric != nil:
		add("metric", "a rule has either finding: or metric:, not both")
	case r.Finding != nil:
		f := r.Finding
		if f.Kind != "" && !oneOf(f.Kind, findingKinds) {
			add("finding.kind", "%q: want %s (or leave it out for all kinds)", f.Kind, strings.Join(findingKinds, ", "))
		}
		if f.MinSeverity != "" && severityRank(f.MinSeverity) < 0 {
			add("finding.min_severity", "%q: want %s", f.MinSeverity, strings.Join(severities, ", "))
		}
		if _, err := path.Match(f.Service, ""); err != nil {
			add("finding.service", "bad pattern %q: %v", f.Service, err)
		}
		if f.Window < 0 || (f.Window > 0 && f.Window < time.Second) {
			add("finding.window", "is %s; it must be at least 1s", f.Window)
		}
	default:
		m := r.Metric
		switch m.Scope {
		case "service":
			if !oneOf(m.Name, serviceMetrics) {
				add("metric.name", "%q: a service metric is one of %s", m.Name, strings.Join(serviceMetrics, ", "))
			}
			if m.Peer != "" {
				add("metric.peer", "only applies to scope: edge")
			}
		case "edge":
			if !oneOf(m.Name, edgeMetrics) {
				add("metric.name", "%q: an edge metric is one of %s", m.Name, strings.Join(edgeMetrics, ", "))
			}
		case "":
			add("metric.scope", "is required: service or edge")
		default:
			add("metric.scope", "%q: want service or edge", m.Scope)
		}
		if m.Op != "" && !oneOf(m.Op, ops) {
			add("metric.op", "%q: want one of %s", m.Op, strings.Join(ops, " "))
		}
		if m.Threshold == nil {
			add("metric.threshold", "is required")
		} else if m.Name == "error_rate" && (*m.Threshold < 0 || *m.Threshold > 1) {
			add("metric.threshold", "%v: an error_rate is a fraction from 0 to 1", *m.Threshold)
		} else if *m.Threshold < 0 {
			add("metric.threshold", "%v must not be negative", *m.Threshold)
		}
		if m.Lookback < 0 || (m.Lookback > 0 && m.Lookback < time.Minute) {
			add("metric.lookback", "is %s; it must be at least 1m (metrics are stored per minute)", m.Lookback)
		}
		for _, g := range []struct{ key, pat string }{{"metric.service", m.Service}, {"metric.peer", m.Peer}} {
			if _, err := path.Match(g.pat, ""); err != nil {
				add(g.key, "bad pattern %q: %v", g.pat, err)
			}
		}
	}
	if r.For < 0 {
		add("for", "must not be negative")
	}
	if r.Severity != "" && severityRank(r.Severity) < 0 {
		add("severity", "%q: want %s", r.Severity, strings.Join(severities, ", "))
	}
	for k := range r.Labels {
		if !labelNameRE.MatchString(k) {
			add("labels."+k, "%q is not a label name (letters, digits, _)", k)
		}
		if k == "alertname" {
			add("labels."+k, "alertname is the rule name and cannot be set")
		}
	}
	r.tmpl = map[string]*template.Template{}
	for k, v := range r.Annotations {
		if !labelNameRE.MatchString(k) {
			add("annotations."+k, "%q is not an annotation name (letters, digits, _)", k)
			continue
		}
		t, err := parseAnnotation(k, v)
		if err != nil {
			add("annotations."+k, "bad template: %v", err)
			continue
		}
		r.tmpl[k] = t
	}
	return errs
}

// templatePrelude makes Prometheus-style $labels and $value available.
const templatePrelude = `{{- $labels := .Labels -}}{{- $value := .Value -}}`

func parseAnnotation(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=zero").Parse(templatePrelude + text)
}

func (r *Receiver) validate(p string) []error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, r.lines.errorf(p, key, format, args...)) }
	if r.Name == "" {
		add("name", "is required")
	}
	n := 0
	var ep *Endpoint
	var key string
	if r.Webhook != nil {
		n++
		ep, key = &r.Webhook.Endpoint, "webhook"
		if r.Webhook.MaxAlerts < 0 {
			add("webhook.max_alerts", "must not be negative")
		}
	}
	if r.Slack != nil {
		n++
		ep, key = &r.Slack.Endpoint, "slack"
	}
	if r.Alertmanager != nil {
		n++
		ep, key = &r.Alertmanager.Endpoint, "alertmanager"
	}
	switch {
	case n == 0:
		add("", "needs one of webhook:, slack: or alertmanager:")
	case n > 1:
		add(key, "a receiver has exactly one of webhook:, slack: or alertmanager:")
	default:
		errs = append(errs, ep.validate(r.lines, p, key)...)
	}
	route := Route{GroupBy: []string{}, RepeatInterval: time.Hour}
	if r.GroupBy != nil {
		route.GroupBy = *r.GroupBy
	}
	if r.GroupWait != nil {
		route.GroupWait = *r.GroupWait
	}
	if r.GroupInterval != nil {
		route.GroupInterval = *r.GroupInterval
	}
	if r.RepeatInterval != nil {
		route.RepeatInterval = *r.RepeatInterval
	}
	errs = append(errs, validateRoute(route, r.lines, p, "")...)
	return errs
}

func (e *Endpoint) validate(lines lineMap, p, key string) []error {
	var errs []error
	add := func(k, format string, args ...any) { errs = append(errs, lines.errorf(p, key+"."+k, format, args...)) }
	switch {
	case e.URL == "" && e.URLEnv == "":
		add("url_env", "is required (or url:); put secret URLs in an environment variable")
	case e.URL != "" && e.URLEnv != "":
		add("url", "give url: or url_env:, not both")
	case e.URLEnv != "":
		if !envNameRE.MatchString(e.URLEnv) {
			add("url_env", "%q is not an environment variable name", e.URLEnv)
		} else if v := getenv(e.URLEnv); v == "" {
			add("url_env", "environment variable %s is not set", e.URLEnv)
		} else if !validHTTPURL(v) {
			add("url_env", "environment variable %s does not hold an http(s) URL", e.URLEnv)
		}
	default:
		if !validHTTPURL(e.URL) {
			add("url", "is not an http(s) URL")
		}
	}
	if e.BearerTokenEnv != "" {
		if !envNameRE.MatchString(e.BearerTokenEnv) {
			add("bearer_token_env", "%q is not an environment variable name", e.BearerTokenEnv)
		} else if getenv(e.BearerTokenEnv) == "" {
			add("bearer_token_env", "environment variable %s is not set", e.BearerTokenEnv)
		}
	}
	return errs
}

func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// resolve returns the endpoint's URL and bearer token.
func (e *Endpoint) resolve() (u, token string) {
	u = e.URL
	if e.URLEnv != "" {
		u = getenv(e.URLEnv)
	}
	if e.BearerTokenEnv != "" {
		token = getenv(e.BearerTokenEnv)
	}
	return u, token
}

// integration names the receiver's kind.
func (r *Receiver) integration() string {
	switch {
	case r.Webhook != nil:
		return "webhook"
	case r.Slack != nil:
		return "slack"
	case r.Alertmanager != nil:
		return "alertmanager"
	}
	return ""
}

// route is the receiver's effective route.
func (r *Receiver) route(def Route) Route {
	rt := def
	if r.Alertmanager != nil {
		rt = Route{GroupBy: []string{}, GroupWait: 0, GroupInterval: 0, RepeatInterval: time.Minute}
	}
	if r.GroupBy != nil {
		rt.GroupBy = *r.GroupBy
	}
	if r.GroupWait != nil {
		rt.GroupWait = *r.GroupWait
	}
	if r.GroupInterval != nil {
		rt.GroupInterval = *r.GroupInterval
	}
	if r.RepeatInterval != nil {
		rt.RepeatInterval = *r.RepeatInterval
	}
	return rt
}

func (r *Receiver) sendResolved() bool { return r.SendResolved == nil || *r.SendResolved }

// window returns the finding rule's window with its default.
func (f *FindingRule) window() time.Duration {
	if f.Window == 0 {
		return 10 * time.Minute
	}
	return f.Window
}

func (m *MetricRule) lookback() time.Duration {
	if m.Lookback == 0 {
		return 5 * time.Minute
	}
	return m.Lookback
}

func (m *MetricRule) op() string {
	if m.Op == "" {
		return ">"
	}
	return m.Op
}

func (m *MetricRule) minCount() uint64 { return max(m.MinCount, 1) }
