package alerting

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/storage"
)

// testConfig: one finding rule (window 20s) to a webhook and Slack, and a
// metric rule with for: 3s to its own webhook.
func testConfig(hook, slack, metricHook string) Config {
	c := NewDefaultConfig()
	c.EvaluationInterval = time.Second
	c.ExternalURL = "http://ui.example"
	c.Route = Route{GroupBy: []string{"alertname"}, GroupWait: time.Second, GroupInterval: 2 * time.Second, RepeatInterval: time.Hour}
	c.Delivery = DeliveryConfig{Timeout: time.Second, InitialInterval: 10 * time.Millisecond, MaxInterval: 40 * time.Millisecond,
		MaxElapsedTime: 5 * time.Second}
	c.Rules = []Rule{
		{Name: "bottlenecks", Finding: &FindingRule{Kind: "bottleneck", Window: 20 * time.Second}, Receivers: []string{"hook", "slack"}},
		{Name: "slow-service", Metric: &MetricRule{Scope: "service", Name: "p99_ms", Threshold: ptr(500.0)}, For: 3 * time.Second,
			Receivers: []string{"metrics"}},
	}
	c.Receivers = []Receiver{
		{Name: "hook", Webhook: &WebhookConfig{Endpoint: Endpoint{URL: hook}}},
		{Name: "slack", Slack: &SlackConfig{Endpoint: Endpoint{URL: slack}}},
		{Name: "metrics", Webhook: &WebhookConfig{Endpoint: Endpoint{URL: metricHook}}},
	}
	return c
}

type world struct {
	t                   *testing.T
	fb                  *fakeBackend
	hook, slack, metric capture
	hookStatus          func(n int) int
	evs                 []*Evaluator
}

func newWorld(t *testing.T, instances int) *world {
	w := &world{t: t, fb: newFakeBackend(t0.Add(500 * time.Millisecond))}
	w.hookStatus = func(int) int { return 200 }
	hook := httptest.NewServer(w.hook.handler(func(n int) int { return w.hookStatus(n) }))
	slack := httptest.NewServer(w.slack.handler(func(int) int { return 200 }))
	metric := httptest.NewServer(w.metric.handler(func(int) int { return 200 }))
	t.Cleanup(func() { hook.Close(); slack.Close(); metric.Close() })
	for i := 0; i < instances; i++ {
		ev, err := New(testConfig(hook.URL, slack.URL, metric.URL), Options{Backend: w.fb, Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ev.Shutdown(context.Background()) })
		w.evs = append(w.evs, ev)
	}
	return w
}

// step advances the clock by d, runs every instance's evaluation
// concurrently and waits for the deliveries.
func (w *world) step(d time.Duration) {
	w.t.Helper()
	w.fb.advance(d)
	var wg sync.WaitGroup
	for _, ev := range w.evs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ev.RunOnce(context.Background()); err != nil {
				w.t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, ev := range w.evs {
		ev.wg.Wait()
	}
}

func decodeWebhook(t *testing.T, body string) webhookMessage {
	t.Helper()
	var m webhookMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func bottleneck(lastSeen time.Time) storage.Finding {
	f := finding("bottleneck", "payments", "high", 60, lastSeen)
	f.Operation, f.Peer, f.PeerKind = "SELECT * FROM ledger WHERE id = ?", "postgresql/payments", "database"
	return f
}

func TestFiresOnceAndResolves(t *testing.T) {
	w := newWorld(t, 1)
	w.step(time.Second)
	if n := len(w.hook.all()); n != 0 {
		t.Fatalf("%d notifications without findings", n)
	}
	w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
	w.step(time.Second) // fires; group_wait 1s
	if n := len(w.hook.all()); n != 0 {
		t.Fatalf("notified before group_wait: %d", n)
	}
	for i := 0; i < 10; i++ { // the problem goes on for 10s
		w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
		w.step(time.Second)
	}
	bodies := w.hook.all()
	if len(bodies) != 1 {
		t.Fatalf("want exactly 1 webhook notification while firing, got %d", len(bodies))
	}
	m := decodeWebhook(t, bodies[0])
	if m.Status != "firing" || m.Version != "4" || len(m.Alerts) != 1 || m.Receiver != "hook" || m.GroupKey != `{}:{alertname="bottlenecks"}` {
		t.Fatalf("%+v", m)
	}
	a := m.Alerts[0]
	wantLabels := Labels{"alertname": "bottlenecks", "kind": "bottleneck", "service": "payments", "operation": "SELECT * FROM ledger WHERE id = ?",
		"peer": "postgresql/payments", "severity": "high"}
	if a.Labels.String() != wantLabels.String() || a.Fingerprint != wantLabels.Fingerprint() ||
		a.GeneratorURL != "http://ui.example/findings?kind=bottleneck&service=payments" || a.Annotations["peer_kind"] != "database" {
		t.Errorf("alert %+v", a)
	}
	if s := w.slack.all(); len(s) != 1 || !strings.Contains(s[0], "[FIRING:1] bottlenecks") || !strings.Contains(s[0], "http://ui.example/traces/abcd") {
		t.Errorf("slack: %v", s)
	}
	alerts, err := w.evs[0].Alerts(context.Background(), AlertQuery{Now: w.fb.clock()})
	if err != nil || len(alerts) != 1 || alerts[0].State != "firing" || alerts[0].Fingerprint != a.Fingerprint {
		t.Fatalf("API alerts: %v %+v", err, alerts)
	}
	// The problem stops: resolved once last_seen is older than the window.
	for i := 0; i < 25; i++ {
		w.step(time.Second)
	}
	bodies = w.hook.all()
	if len(bodies) != 2 {
		t.Fatalf("want firing + resolved, got %d notifications", len(bodies))
	}
	m = decodeWebhook(t, bodies[1])
	if m.Status != "resolved" || len(m.Alerts) != 1 || m.Alerts[0].Status != "resolved" || m.Alerts[0].EndsAt.IsZero() ||
		m.Alerts[0].Fingerprint != a.Fingerprint {
		t.Errorf("resolved: %+v", m)
	}
	if s := w.slack.all(); len(s) != 2 || !strings.Contains(s[1], "[RESOLVED] bottlenecks") {
		t.Errorf("slack: %v", s)
	}
	alerts, _ = w.evs[0].Alerts(context.Background(), AlertQuery{State: "resolved", Now: w.fb.clock()})
	if len(alerts) != 1 || alerts[0].ResolvedAt.IsZero() {
		t.Errorf("resolved alerts: %+v", alerts)
	}
	// Nothing more while quiet.
	for i := 0; i < 5; i++ {
		w.step(time.Second)
	}
	if n := len(w.hook.all()); n != 2 {
		t.Errorf("%d notifications after resolution", n)
	}
}

func TestMetricRuleWaitsFor(t *testing.T) {
	w := newWorld(t, 1)
	w.fb.services = []storage.ServiceStats{{Name: "payments", Requests: 10, P99Ms: 700}, {Name: "cart", Requests: 10, P99Ms: 10}}
	w.step(time.Second)
	alerts, _ := w.evs[0].Alerts(context.Background(), AlertQuery{State: "pending", Now: w.fb.clock()})
	if len(alerts) != 1 || alerts[0].Labels["service"] != "payments" {
		t.Fatalf("pending: %+v", alerts)
	}
	w.step(time.Second)
	w.step(time.Second)
	if n := len(w.metric.all()); n != 0 {
		t.Fatalf("notified before for: elapsed")
	}
	w.step(time.Second) // 3s: firing
	w.step(time.Second) // group_wait 1s
	bodies := w.metric.all()
	if len(bodies) != 1 {
		t.Fatalf("%d notifications", len(bodies))
	}
	m := decodeWebhook(t, bodies[0])
	if a := m.Alerts[0]; a.Labels["kind"] != "metric" || a.Labels["metric"] != "p99_ms" || a.Annotations["value"] != "700" ||
		a.GeneratorURL != "http://ui.example/services?service=payments" {
		t.Errorf("%+v", a)
	}
	if len(w.hook.all()) != 0 {
		t.Error("metric alert routed to the finding receivers")
	}
}

func TestFailingReceiverIsRetried(t *testing.T) {
	w := newWorld(t, 1)
	w.hookStatus = func(n int) int {
		if n <= 2 {
			return 503
		}
		return 200
	}
	w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
	w.step(time.Second)
	w.step(time.Second)
	bodies := w.hook.all()
	if len(bodies) != 3 || bodies[0] != bodies[2] {
		t.Fatalf("want 3 identical attempts, got %d", len(bodies))
	}
	if got := strings.Join(w.fb.deliveryOutcomes("hook"), ","); got != "retry,retry,success" {
		t.Errorf("recorded attempts: %s", got)
	}
	ds, _ := w.evs[0].Deliveries(context.Background(), DeliveryQuery{Receiver: "hook"})
	if len(ds) != 3 || ds[2].HTTPStatus != 503 || ds[2].Attempt != 1 || !strings.Contains(ds[2].Error, "503") {
		t.Errorf("deliveries: %+v", ds)
	}
	w.step(time.Second)
	w.step(time.Second)
	if n := len(w.hook.all()); n != 3 {
		t.Errorf("delivered notification sent again: %d requests", n)
	}
}

func TestPermanentErrorIsNotRetried(t *testing.T) {
	w := newWorld(t, 1)
	w.hookStatus = func(int) int { return 404 }
	w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
	w.step(time.Second)
	w.step(time.Second)
	if n := len(w.hook.all()); n != 1 {
		t.Fatalf("%d attempts for a 404", n)
	}
	if got := strings.Join(w.fb.deliveryOutcomes("hook"), ","); got != "failed" {
		t.Errorf("outcomes %s", got)
	}
	// A failed notification is tried again after group_interval (2s).
	w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
	w.step(time.Second)
	if n := len(w.hook.all()); n != 1 {
		t.Fatalf("retried before group_interval: %d", n)
	}
	w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
	w.step(time.Second)
	if n := len(w.hook.all()); n != 2 {
		t.Fatalf("not retried after group_interval: %d", n)
	}
}

// TestTwoInstancesNotifyOnce runs two evaluators on one backend; even when
// both win the evaluation slot, the notification claim lets one send.
func TestTwoInstancesNotifyOnce(t *testing.T) {
	for _, bothWin := range []bool{false, true} {
		w := newWorld(t, 2)
		w.fb.bothWinSlots = bothWin
		for i := 0; i < 8; i++ {
			w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
			w.step(time.Second)
		}
		if n := len(w.hook.all()); n != 1 {
			t.Errorf("bothWinSlots=%v: %d webhook notifications, want 1", bothWin, n)
		}
		if n := len(w.slack.all()); n != 1 {
			t.Errorf("bothWinSlots=%v: %d Slack notifications, want 1", bothWin, n)
		}
		for i := 0; i < 25; i++ {
			w.step(time.Second)
		}
		if n := len(w.hook.all()); n != 2 {
			t.Errorf("bothWinSlots=%v: %d webhook notifications after resolution, want 2", bothWin, n)
		}
	}
}

// TestExpiredClaimIsTakenOver: an instance that claimed a notification and
// died leaves a claim; after the lease another instance sends it.
func TestExpiredClaimIsTakenOver(t *testing.T) {
	w := newWorld(t, 1)
	gk := `{}:{alertname="bottlenecks"}`
	_, _ = w.fb.ClaimNotifications(context.Background(), "dead-instance", []storage.NotificationRecord{{Receiver: "hook", GroupKey: gk, Seq: 1}},
		time.Minute, 0)
	w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
	w.step(time.Second)
	w.step(time.Second)
	if n := len(w.hook.all()); n != 0 {
		t.Fatalf("sent while another instance holds the claim: %d", n)
	}
	lease := w.evs[0].lease
	for el := time.Duration(0); el <= lease; el += 5 * time.Second {
		w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
		w.step(5 * time.Second)
	}
	if n := len(w.hook.all()); n != 1 {
		t.Fatalf("after the lease: %d notifications, want 1", n)
	}
}

func TestSendResolvedOffClosesGroup(t *testing.T) {
	w := newWorld(t, 1)
	for _, ev := range w.evs {
		for _, rr := range ev.receivers {
			rr.cfg.SendResolved = ptr(false)
		}
	}
	w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
	w.step(time.Second)
	w.step(time.Second)
	for i := 0; i < 25; i++ {
		w.step(time.Second)
	}
	if n := len(w.hook.all()); n != 1 {
		t.Fatalf("%d notifications, want only the firing one", n)
	}
	// A new episode is a new group: notified again.
	w.fb.findings = []storage.Finding{bottleneck(w.fb.clock())}
	w.step(time.Second)
	w.step(time.Second)
	if n := len(w.hook.all()); n != 2 {
		t.Fatalf("%d notifications after a new episode, want 2", n)
	}
}

func TestLifecycle(t *testing.T) {
	ev, err := New(testConfig("http://127.0.0.1:1", "http://127.0.0.1:1", "http://127.0.0.1:1"), Options{Backend: newFakeBackend(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Shutdown(context.Background()); err != nil {
		t.Fatal("shutdown without start:", err)
	}
	ev, _ = New(testConfig("http://127.0.0.1:1", "http://127.0.0.1:1", "http://127.0.0.1:1"), Options{Backend: newFakeBackend(t0)})
	if err := ev.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ev.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < 2; i++ {
		if err := ev.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(Config{}, Options{Backend: newFakeBackend(t0)}); err == nil {
		t.Error("invalid config accepted")
	}
}

func TestRulesInfo(t *testing.T) {
	ev, err := New(testConfig("http://a", "http://b", "http://c"), Options{Backend: newFakeBackend(t0)})
	if err != nil {
		t.Fatal(err)
	}
	rs := ev.Rules()
	if len(rs) != 2 || rs[0].Type != "finding" || rs[0].Finding.MinSeverity != "low" || rs[1].Metric.Op != ">" ||
		rs[1].Metric.Lookback != 5*time.Minute || rs[1].Severity != "high" {
		t.Fatalf("%+v", rs)
	}
	if rs[0].Condition != "a bottleneck finding of severity low or more was last seen within 20s" {
		t.Errorf("%q", rs[0].Condition)
	}
	if rs[1].Condition != "p99_ms of a service > 500 over the last 5m (at least 1 requests)" {
		t.Errorf("%q", rs[1].Condition)
	}
}
