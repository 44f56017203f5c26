package alerting

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// loadLikeServe decodes a whole configuration file the way
// internal/config.LoadFile does (strict, into a struct holding the
// alerting section), then validates the section.
func loadLikeServe(t *testing.T, doc string, env map[string]string) (Config, error) {
	t.Helper()
	old := getenv
	getenv = func(k string) string { return env[k] }
	t.Cleanup(func() { getenv = old })
	var file struct {
		HTTPAddr string `yaml:"http_addr"`
		Alerting Config `yaml:"alerting"`
	}
	file.Alerting = NewDefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
		return file.Alerting, err
	}
	return file.Alerting, file.Alerting.Validate()
}

func TestDefaultConfig(t *testing.T) {
	c := NewDefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(struct {
		Alerting Config `yaml:"alerting"`
	}{c}); err != nil {
		t.Fatal(err)
	}
	got, err := loadLikeServe(t, b.String(), nil)
	if err != nil {
		t.Fatalf("defaults do not load back: %v\n%s", err, b.String())
	}
	if got.EvaluationInterval != 15*time.Second || got.Route.GroupWait != 30*time.Second || len(got.Route.GroupBy) != 1 {
		t.Errorf("round trip changed the defaults: %+v", got)
	}
}

const goodConfig = `http_addr: localhost:8080
alerting:
  evaluation_interval: 5s
  external_url: https://tracehound.example.com
  route:
    group_by: [alertname, service]
    group_wait: 10s
  rules:
    - name: bottlenecks
      finding:
        kind: bottleneck
        min_severity: medium
        service: "checkout*"
        window: 20m
      labels: {team: shop}
      annotations:
        runbook_url: "https://runbooks.example.com/{{ $labels.service }}"
      receivers: [slack]
    - name: slow-payments
      metric:
        scope: edge
        name: p99_ms
        service: checkout
        peer: payments
        threshold: 500
      for: 2m
  receivers:
    - name: slack
      slack:
        url_env: SLACK_WEBHOOK_URL
        channel: "#alerts"
    - name: ops
      webhook:
        url: http://hooks.internal:9000/alerts
        bearer_token_env: OPS_TOKEN
      group_wait: 0s
    - name: am
      alertmanager:
        url: http://alertmanager:9093
`

func TestGoodConfig(t *testing.T) {
	c, err := loadLikeServe(t, goodConfig, map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/secret", "OPS_TOKEN": "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Enabled != true || c.EvaluationInterval != 5*time.Second || c.Route.GroupWait != 10*time.Second ||
		c.Route.GroupInterval != 5*time.Minute || len(c.Rules) != 2 || len(c.Receivers) != 3 {
		t.Fatalf("%+v", c)
	}
	if r := c.Rules[1]; r.Metric == nil || *r.Metric.Threshold != 500 || r.For != 2*time.Minute || r.Metric.op() != ">" {
		t.Errorf("metric rule: %+v", r.Metric)
	}
	if rt := c.Receivers[1].route(c.Route); rt.GroupWait != 0 || rt.GroupInterval != 5*time.Minute {
		t.Errorf("receiver override: %+v", rt)
	}
	if rt := c.Receivers[2].route(c.Route); len(rt.GroupBy) != 0 || rt.RepeatInterval != time.Minute {
		t.Errorf("alertmanager route: %+v", rt)
	}
	if c.Rules[0].lines.line("finding.window") != 14 {
		t.Errorf("line of finding.window = %d, want 14", c.Rules[0].lines.line("finding.window"))
	}
}

func TestConfigErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		env  map[string]string
		want []string
	}{
		{"unknown key", `alerting:
  rules:
    - name: a
      finding:
        kinds: [chatty]
`, nil, []string{"config line 5: alerting.rules[0].finding.kinds: unknown key (known keys: kind, min_severity, service, window)"}},
		{"bad duration and type", `alerting:
  evaluation_interval: 5
  rules:
    - name: a
      metric: {scope: edge, name: p99_ms, threshold: fast}
      for: soon
`, nil, []string{
			`config line 2: alerting.evaluation_interval: "5" is not a duration`,
			`config line 5: alerting.rules[0].metric.threshold: "fast": want a number`,
			`config line 6: alerting.rules[0].for: "soon" is not a duration`,
		}},
		{"validation", `alerting:
  evaluation_interval: 100ms
  rules:
    - name: a
      finding: {kind: slow}
      receivers: [nobody]
    - name: a
      metric:
        scope: service
        name: calls_per_trace
        peer: x
    - name: c
      metric:
        scope: edge
        name: error_rate
        threshold: 5
      labels: {alertname: x}
  receivers:
    - name: slack
      slack:
        url_env: SLACK_URL
    - name: both
      webhook: {url: "http://a"}
      slack: {url: "http://b"}
`, nil, []string{
			"config line 2: alerting.evaluation_interval: is 100ms; it must be at least 1s",
			`config line 5: alerting.rules[0].finding.kind: "slow": want bottleneck, chatty, oversized_payload`,
			`config line 6: alerting.rules[0].receivers[0]: unknown receiver "nobody" (receivers: slack, both)`,
			`config line 7: alerting.rules[1].name: "a" is used by another rule`,
			`config line 10: alerting.rules[1].metric.name: "calls_per_trace": a service metric is one of p50_ms, p95_ms, p99_ms, error_rate`,
			"config line 11: alerting.rules[1].metric.peer: only applies to scope: edge",
			"config line 8: alerting.rules[1].metric.threshold: is required",
			"config line 16: alerting.rules[2].metric.threshold: 5: an error_rate is a fraction from 0 to 1",
			"config line 17: alerting.rules[2].labels.alertname: alertname is the rule name and cannot be set",
			"config line 21: alerting.receivers[0].slack.url_env: environment variable SLACK_URL is not set",
			"config line 24: alerting.receivers[1].slack: a receiver has exactly one of webhook:, slack: or alertmanager:",
		}},
		{"bad template", `alerting:
  rules:
    - name: a
      finding: {}
      annotations: {summary: "{{ .Labels.service"}
  receivers:
    - {name: r, webhook: {url: "http://x"}}
`, nil, []string{"config line 5: alerting.rules[0].annotations.summary: bad template"}},
		{"rules without receivers", `alerting:
  rules:
    - {name: a, finding: {}}
`, nil, []string{"alerting.receivers: no receiver is configured"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadLikeServe(t, tc.doc, tc.env)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadYAMLIgnoresOtherSections(t *testing.T) {
	old := getenv
	getenv = func(string) string { return "" }
	defer func() { getenv = old }()
	c, err := LoadYAML(strings.NewReader("http_addr: x\nanalysis: {idle: 1s}\nalerting:\n  receivers: [{name: r, webhook: {url: 'http://x'}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Receivers) != 1 || c.EvaluationInterval != 15*time.Second {
		t.Errorf("%+v", c)
	}
	if c, err = LoadYAML(strings.NewReader("")); err != nil || c.EvaluationInterval != 15*time.Second {
		t.Errorf("empty file: %v %+v", err, c)
	}
	var n yaml.Node
	_ = yaml.Unmarshal([]byte("rules: [{name: a}]\nreceivers: [{name: r, webhook: {url: 'http://x'}}]\n"), &n)
	if err := ValidateNode(n.Content[0]); err == nil || !strings.Contains(err.Error(), "config line 1: alerting.rules[0]: needs a finding: or a metric: condition") {
		t.Errorf("ValidateNode: %v", err)
	}
}
