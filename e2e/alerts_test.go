package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Alerting end to end: real receivers on loopback, problems planted through
// the OpenTelemetry SDK, one or two `tracehound serve` processes.

// recorder is an HTTP receiver that records every request; status decides
// the response to the n-th request (1-based).
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	paths  []string
	bodies []string
	status func(n int) int
}

func newRecorder(t *testing.T, status func(n int) int) *recorder {
	t.Helper()
	r := &recorder{status: status}
	if r.status == nil {
		r.status = func(int) int { return http.StatusOK }
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.paths = append(r.paths, req.URL.Path)
		r.bodies = append(r.bodies, string(b))
		n := len(r.bodies)
		r.mu.Unlock()
		code := r.status(n)
		w.WriteHeader(code)
		if code == http.StatusNotFound {
			_, _ = w.Write([]byte("no_service"))
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

// waitCount waits until at least n requests arrived and returns them.
func (r *recorder) waitCount(t *testing.T, n int, timeout time.Duration, what string) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b := r.all(); len(b) >= n {
			return b
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %d requests after %s, want %d", what, len(r.all()), timeout, n)
	return nil
}

// amAlert and amMessage mirror Alertmanager's webhook payload.
type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

type amMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   *int              `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []amAlert         `json:"alerts"`
}

func decodeAM(t *testing.T, body string) amMessage {
	t.Helper()
	var m amMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("webhook body %q: %v", body, err)
	}
	return m
}

// plantBottleneck emits one trace of payments whose database call
// dominates the critical path (a bottleneck finding).
func plantBottleneck(w *world, t0 time.Time, i int) {
	ms := time.Millisecond
	ctx := w.span(context.Background(), "payments", "POST /charge", trace.SpanKindServer, t0, 700*ms)
	w.call(ctx, "payments", "", "SELECT ledger", t0.Add(50*ms), 600*ms, attrs(
		attribute.String("db.system.name", "postgresql"), attribute.String("db.namespace", "payments"),
		attribute.String("db.query.text", fmt.Sprintf("SELECT * FROM ledger WHERE account_id = %d", 40+i))))
}

// fastAnalysis makes findings appear within a few seconds of the spans.
const fastAnalysis = `analysis:
  idle: 1s
  window: 1s
  interval: 200ms
`

func alertingYAML(receivers string, rules string) string {
	return fastAnalysis + `alerting:
  evaluation_interval: 1s
  external_url: http://tracehound.example
  route:
    group_by: [alertname]
    group_wait: 1s
    group_interval: 2s
    repeat_interval: 1h
  delivery:
    timeout: 5s
    initial_interval: 200ms
    max_interval: 1s
    max_elapsed_time: 1m
  rules:
` + rules + `  receivers:
` + receivers
}

type apiAlert struct {
	Fingerprint  string            `json:"fingerprint"`
	Rule         string            `json:"rule"`
	State        string            `json:"state"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	FiredAt      *time.Time        `json:"fired_at"`
	ResolvedAt   *time.Time        `json:"resolved_at"`
	GeneratorURL string            `json:"generator_url"`
}

type apiDelivery struct {
	Receiver   string `json:"receiver"`
	Attempt    int    `json:"attempt"`
	Outcome    string `json:"outcome"`
	HTTPStatus int    `json:"http_status"`
	Error      string `json:"error"`
	Status     string `json:"status"`
}

func (s *server) alerts(t *testing.T, q url.Values) []apiAlert {
	t.Helper()
	var out struct {
		Alerts []apiAlert `json:"alerts"`
	}
	if code := s.getJSON(t, "/api/v1/alerts?"+q.Encode(), &out); code != http.StatusOK {
		t.Fatalf("GET /api/v1/alerts: status %d (is alerting wired into serve and web?)", code)
	}
	return out.Alerts
}

func (s *server) deliveries(t *testing.T, receiver string) []apiDelivery {
	t.Helper()
	var out struct {
		Deliveries []apiDelivery `json:"deliveries"`
	}
	if code := s.getJSON(t, "/api/v1/alerts/deliveries?receiver="+url.QueryEscape(receiver), &out); code != http.StatusOK {
		t.Fatalf("GET /api/v1/alerts/deliveries: status %d", code)
	}
	return out.Deliveries
}

var fingerprintRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// TestAlertBottleneckFiresOnceAndResolves plants a bottleneck for a few
// seconds: exactly one firing notification reaches the webhook and Slack,
// a receiver failing twice with 503 gets it on the third attempt, a metric
// rule with for: fires on its own receiver, and once the problem stops the
// alert resolves (window 20s) with exactly one resolved notification.
func TestAlertBottleneckFiresOnceAndResolves(t *testing.T) {
	hook := newRecorder(t, nil)
	slack := newRecorder(t, nil)
	flaky := newRecorder(t, func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	metrics := newRecorder(t, nil)
	const slackSecret = "/services/T0E2E/B0E2E/e2eSECRETtoken"
	cfg := writeConfig(t, alertingYAML(`    - name: hook
      webhook: {url_env: E2E_HOOK_URL}
    - name: slack
      slack: {url_env: E2E_SLACK_URL}
    - name: flaky
      webhook: {url_env: E2E_FLAKY_URL}
    - name: metrics
      webhook: {url_env: E2E_METRICS_URL}
`, `    - name: payment-bottleneck
      finding: {kind: bottleneck, service: payments, window: 20s}
      annotations: {runbook_url: "https://runbooks.example/{{ $labels.service }}"}
      receivers: [hook, slack, flaky]
    - name: slow-payments
      metric: {scope: service, name: p99_ms, service: payments, threshold: 500, lookback: 1m}
      for: 2s
      receivers: [metrics]
`))
	srv := startServer(t, serverOpts{extra: []string{"--config", cfg}, env: []string{
		"E2E_HOOK_URL=" + hook.srv.URL + "/hook", "E2E_SLACK_URL=" + slack.srv.URL + slackSecret,
		"E2E_FLAKY_URL=" + flaky.srv.URL + "/flaky", "E2E_METRICS_URL=" + metrics.srv.URL + "/metrics"}})

	var rules struct {
		Rules []struct {
			Name      string   `json:"name"`
			Type      string   `json:"type"`
			Receivers []string `json:"receivers"`
		} `json:"rules"`
	}
	if code := srv.getJSON(t, "/api/v1/alerts/rules", &rules); code != http.StatusOK || len(rules.Rules) != 2 ||
		rules.Rules[0].Type != "finding" || rules.Rules[1].Type != "metric" {
		t.Fatalf("GET /api/v1/alerts/rules: %d %+v", code, rules)
	}

	w := newWorld(t, srv.grpcAddr)
	for i := 0; i < 6; i++ {
		plantBottleneck(w, time.Now().Add(-time.Second), i)
		w.flush()
		time.Sleep(time.Second)
	}
	lastSpan := time.Now()

	// Firing: one notification per receiver.
	m := decodeAM(t, hook.waitCount(t, 1, 60*time.Second, "firing webhook")[0])
	t.Logf("firing notification %s after the first span", time.Since(lastSpan.Add(-6*time.Second)).Round(time.Second))
	if m.Version != "4" || m.Status != "firing" || m.Receiver != "hook" || m.GroupKey != `{}:{alertname="payment-bottleneck"}` ||
		m.ExternalURL != "http://tracehound.example" || m.TruncatedAlerts == nil || len(m.Alerts) != 1 ||
		m.GroupLabels["alertname"] != "payment-bottleneck" || m.CommonLabels["service"] != "payments" {
		t.Fatalf("webhook payload: %+v", m)
	}
	a := m.Alerts[0]
	for k, v := range map[string]string{"alertname": "payment-bottleneck", "kind": "bottleneck", "service": "payments",
		"peer": "postgresql/payments", "operation": "SELECT * FROM ledger WHERE account_id = ?"} {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if a.Status != "firing" || a.Labels["severity"] == "" || !fingerprintRE.MatchString(a.Fingerprint) || a.StartsAt.IsZero() ||
		!a.EndsAt.IsZero() || a.GeneratorURL != "http://tracehound.example/findings?kind=bottleneck&service=payments" ||
		a.Annotations["summary"] == "" || a.Annotations["runbook_url"] != "https://runbooks.example/payments" {
		t.Errorf("alert: %+v", a)
	}
	srv.waitTrace(t, a.Annotations["example_trace_id"], 2)

	s := slack.waitCount(t, 1, 10*time.Second, "firing Slack message")[0]
	var sp struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal([]byte(s), &sp)
	for _, want := range []string{"[FIRING:1] payment-bottleneck", "<http://tracehound.example/findings?kind=bottleneck&service=payments|Findings>",
		"<http://tracehound.example/traces/" + a.Annotations["example_trace_id"] + "|Example trace>", "payments → postgresql/payments"} {
		if !strings.Contains(sp.Text, want) {
			t.Errorf("Slack text lacks %q:\n%s", want, sp.Text)
		}
	}

	// The failing receiver: two 503s, then success, with the same payload.
	fl := flaky.waitCount(t, 3, 30*time.Second, "flaky receiver")
	if fl[0] != fl[2] {
		t.Errorf("retry carried a different payload")
	}
	var outcomes []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ds := srv.deliveries(t, "flaky")
		outcomes = outcomes[:0]
		for i := len(ds) - 1; i >= 0; i-- {
			outcomes = append(outcomes, fmt.Sprintf("%s/%d", ds[i].Outcome, ds[i].HTTPStatus))
		}
		if len(outcomes) >= 3 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Join(outcomes, ",") != "retry/503,retry/503,success/200" {
		t.Errorf("flaky deliveries: %v", outcomes)
	}

	// The API lists the firing alert.
	fa := srv.alerts(t, url.Values{"label": {"service=payments"}})
	found := false
	for _, x := range fa {
		if x.Fingerprint == a.Fingerprint && x.State == "firing" && x.FiredAt != nil {
			found = true
		}
	}
	if !found {
		t.Errorf("GET /api/v1/alerts does not list %s as firing: %+v", a.Fingerprint, fa)
	}
	if got := srv.alerts(t, url.Values{"label": {"service=nope"}}); len(got) != 0 {
		t.Errorf("label filter: %+v", got)
	}

	// The metric rule (p99 of payments is 700 ms > 500 for 2s) fires on its receiver.
	mm := decodeAM(t, metrics.waitCount(t, 1, 60*time.Second, "metric rule")[0])
	if mm.Alerts[0].Labels["alertname"] != "slow-payments" || mm.Alerts[0].Labels["metric"] != "p99_ms" ||
		mm.Alerts[0].Annotations["threshold"] != "500" {
		t.Errorf("metric alert: %+v", mm)
	}

	// The problem stopped: resolved after the 20 s window, exactly once.
	bodies := hook.waitCount(t, 2, 90*time.Second, "resolved webhook")
	t.Logf("resolved notification %s after the last span", time.Since(lastSpan).Round(time.Second))
	r := decodeAM(t, bodies[1])
	if r.Status != "resolved" || len(r.Alerts) != 1 || r.Alerts[0].Status != "resolved" || r.Alerts[0].Fingerprint != a.Fingerprint ||
		r.Alerts[0].EndsAt.IsZero() || r.GroupKey != m.GroupKey {
		t.Errorf("resolved payload: %+v", r)
	}
	if time.Since(lastSpan) < 15*time.Second {
		t.Errorf("resolved %s after the last span, before the 20 s window passed", time.Since(lastSpan))
	}
	sl := slack.waitCount(t, 2, 10*time.Second, "resolved Slack message")
	if !strings.Contains(sl[1], "[RESOLVED] payment-bottleneck") {
		t.Errorf("Slack resolved message: %s", sl[1])
	}
	time.Sleep(4 * time.Second)
	if n := len(hook.all()); n != 2 {
		t.Errorf("webhook got %d notifications, want exactly 2 (firing, resolved)", n)
	}
	if n := len(slack.all()); n != 2 {
		t.Errorf("Slack got %d messages, want exactly 2", n)
	}
	if ra := srv.alerts(t, url.Values{"state": {"resolved"}}); len(ra) == 0 || ra[0].ResolvedAt == nil {
		t.Errorf("resolved alerts: %+v", ra)
	}
	if out := srv.out.String(); strings.Contains(out, "e2eSECRETtoken") {
		t.Errorf("the Slack webhook secret appears in the log")
	}
}

// startClickHouse runs `tracehound clickhouse` (the embedded ClickHouse
// alone) and returns its DSN for database db.
func startClickHouse(t *testing.T, db string) (dsn string, httpPort int) {
	t.Helper()
	tcp, httpPort := freePort(t), freePort(t)
	cmd := exec.Command(binPath, "clickhouse", "--data-dir", t.TempDir(), "--tcp-port", fmt.Sprint(tcp), "--http-port", fmt.Sprint(httpPort))
	cmd.Env = append(os.Environ(), "TRACEHOUND_CHDB_LIB="+libPath)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(out.String(), "ClickHouse is ready") {
		select {
		case <-exited:
			t.Fatalf("tracehound clickhouse exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracehound clickhouse not ready:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Sprintf("clickhouse://127.0.0.1:%d/%s", tcp, db), httpPort
}

// TestAlertsTwoInstancesOneNotification runs two collectors on one
// ClickHouse, both evaluating the same rule: the receiver gets one firing
// and one resolved notification.
func TestAlertsTwoInstancesOneNotification(t *testing.T) {
	hook := newRecorder(t, nil)
	dsn, chHTTP := startClickHouse(t, "alerts_ha")
	cfg := writeConfig(t, alertingYAML(`    - name: hook
      webhook: {url_env: E2E_HOOK_URL}
`, `    - name: payment-bottleneck
      finding: {kind: bottleneck, window: 20s}
`))
	env := []string{"E2E_HOOK_URL=" + hook.srv.URL + "/hook"}
	a := startServer(t, serverOpts{dsn: dsn, extra: []string{"--config", cfg}, env: env})
	b := startServer(t, serverOpts{dsn: dsn, extra: []string{"--config", cfg}, env: env})

	wa, wb := newWorld(t, a.grpcAddr), newWorld(t, b.grpcAddr)
	for i := 0; i < 6; i++ {
		w := wa
		if i%2 == 1 {
			w = wb
		}
		plantBottleneck(w, time.Now().Add(-time.Second), i)
		w.flush()
		time.Sleep(time.Second)
	}
	first := decodeAM(t, hook.waitCount(t, 1, 60*time.Second, "firing webhook")[0])
	if first.Status != "firing" || len(first.Alerts) != 1 {
		t.Fatalf("%+v", first)
	}
	time.Sleep(5 * time.Second) // a duplicate would have arrived by now
	if n := len(hook.all()); n != 1 {
		t.Fatalf("%d firing notifications from two instances, want 1", n)
	}
	bodies := hook.waitCount(t, 2, 90*time.Second, "resolved webhook")
	if r := decodeAM(t, bodies[1]); r.Status != "resolved" || r.Alerts[0].Fingerprint != first.Alerts[0].Fingerprint {
		t.Errorf("resolved: %+v", r)
	}
	time.Sleep(5 * time.Second)
	if n := len(hook.all()); n != 2 {
		t.Errorf("%d notifications in total, want 2 (one firing, one resolved)", n)
	}
	// Both instances took part: each evaluated some slots and left others
	// to the other instance; both read the same shared state.
	for name, s := range map[string]*server{"a": a, "b": b} {
		if v := s.metric(t, "tracehound_alerting_evaluations_total"); v == 0 {
			t.Errorf("instance %s evaluated nothing", name)
		}
		if ra := s.alerts(t, url.Values{"state": {"resolved"}}); len(ra) != 1 {
			t.Errorf("instance %s: resolved alerts %+v", name, ra)
		}
	}
	if got := chQuery(t, chHTTP, "SELECT uniqExact(instance) FROM alerts_ha.alert_slots"); got != "2" {
		t.Errorf("%s instances claimed evaluation slots, want 2", got)
	}
	if got := chQuery(t, chHTTP, "SELECT count() FROM alerts_ha.alert_notifications WHERE state = 'delivered'"); got != "2" {
		t.Errorf("%s delivered notifications recorded, want 2", got)
	}
}

// TestAlertsTestCommand: `tracehound alerts test` sends a sample to each
// receiver and reports per receiver, without printing secrets.
func TestAlertsTestCommand(t *testing.T) {
	hook := newRecorder(t, nil)
	slack := newRecorder(t, func(int) int { return http.StatusNotFound })
	am := newRecorder(t, nil)
	const secret = "/services/T0/B0/cmdSECRET"
	cfg := writeConfig(t, `http_addr: localhost:9999
alerting:
  external_url: http://tracehound.example
  receivers:
    - name: hook
      webhook: {url_env: E2E_HOOK_URL}
    - name: slack
      slack: {url_env: E2E_SLACK_URL}
    - name: am
      alertmanager: {url: "`+am.srv.URL+`"}
`)
	cmd := exec.Command(binPath, "alerts", "test", "--config", cfg)
	cmd.Env = append(os.Environ(), "E2E_HOOK_URL="+hook.srv.URL+"/hook", "E2E_SLACK_URL="+slack.srv.URL+secret)
	out, err := cmd.CombinedOutput()
	if err == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("want exit status 1 (Slack fails), got %v:\n%s", err, out)
	}
	text := string(out)
	for _, re := range []string{`hook\s+webhook\s+ok\s+200`, `slack\s+slack\s+FAILED\s+404\s+.*404 Not Found: no_service`, `am\s+alertmanager\s+ok\s+200`,
		`1 of 3 receivers failed`} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("output lacks %s:\n%s", re, text)
		}
	}
	if strings.Contains(text, "cmdSECRET") {
		t.Errorf("the secret URL is printed:\n%s", text)
	}
	m := decodeAM(t, hook.waitCount(t, 1, time.Second, "test webhook")[0])
	if m.Version != "4" || m.Alerts[0].Labels["alertname"] != "TracehoundTestNotification" {
		t.Errorf("test payload: %+v", m)
	}
	var posted []map[string]any
	if err := json.Unmarshal([]byte(am.waitCount(t, 1, time.Second, "alertmanager")[0]), &posted); err != nil || len(posted) != 1 ||
		am.paths[0] != "/api/v2/alerts" {
		t.Errorf("alertmanager push: %v %v %v", err, posted, am.paths)
	}
}

// TestAlertingConfigErrors: a bad alerting section stops serve with the
// line of the problem.
func TestAlertingConfigErrors(t *testing.T) {
	bad := writeConfig(t, `alerting:
  rules:
    - name: slow
      metric:
        scope: edge
        name: p99_ms
        threshold: fast
  receivers:
    - {name: hook, webhook: {url_env: E2E_UNSET_HOOK}}
`)
	out := runServeExpectFailure(t, nil, "--config", bad, "--data-dir", t.TempDir())
	if !strings.Contains(out, `config line 7: alerting.rules[0].metric.threshold: "fast": want a number`) {
		t.Errorf("output:\n%s", out)
	}
	unset := writeConfig(t, `alerting:
  rules:
    - name: slow
      metric: {scope: edge, name: p99_ms, threshold: 500}
  receivers:
    - name: hook
      webhook: {url_env: E2E_UNSET_HOOK}
`)
	out = runServeExpectFailure(t, nil, "--config", unset, "--data-dir", t.TempDir())
	if !strings.Contains(out, "config line 7: alerting.receivers[0].webhook.url_env: environment variable E2E_UNSET_HOOK is not set") {
		t.Errorf("output:\n%s", out)
	}
}
