package alerting

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func sampleMessage() *message {
	ls := Labels{"alertname": "bottlenecks", "kind": "bottleneck", "service": "payments", "operation": "SELECT * FROM ledger",
		"peer": "postgresql/payments", "severity": "high"}
	return &message{
		Receiver: "ops", GroupKey: `{}:{alertname="bottlenecks"}`, GroupLabels: Labels{"alertname": "bottlenecks"},
		Status: "firing", ExternalURL: "http://ui.example",
		Alerts: []alertItem{
			{Status: "firing", Labels: ls, Annotations: map[string]string{"summary": "SELECT <ledger> dominates", "example_trace_id": "abcd"},
				StartsAt: t0, GeneratorURL: generatorURL("http://ui.example", ls), Fingerprint: ls.Fingerprint()},
			{Status: "resolved", Labels: Labels{"alertname": "bottlenecks", "kind": "bottleneck", "service": "cart", "severity": "low"},
				Annotations: map[string]string{"summary": "old"}, StartsAt: t0.Add(-time.Hour), EndsAt: t0, Fingerprint: "f2"},
		},
	}
}

type capture struct {
	mu     sync.Mutex
	bodies []string
	auth   []string
}

func (c *capture) handler(status func(n int) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.bodies = append(c.bodies, string(b))
		c.auth = append(c.auth, r.Header.Get("Authorization"))
		n := len(c.bodies)
		c.mu.Unlock()
		code := status(n)
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte("body of " + r.URL.Path))
	}
}

func (c *capture) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bodies...)
}

func TestWebhookPayload(t *testing.T) {
	var c capture
	srv := httptest.NewServer(c.handler(func(int) int { return 200 }))
	defer srv.Close()
	n := &webhookNotifier{client: srv.Client(), url: newSecretURL(srv.URL+"/hook", "s3cret")}
	if status, err := n.send(context.Background(), sampleMessage()); err != nil || status != 200 {
		t.Fatal(status, err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(c.all()[0]), &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"version": "4", "groupKey": `{}:{alertname="bottlenecks"}`, "status": "firing", "receiver": "ops",
		"externalURL": "http://ui.example", "truncatedAlerts": float64(0)} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if cl := got["commonLabels"].(map[string]any); len(cl) != 2 || cl["alertname"] != "bottlenecks" || cl["kind"] != "bottleneck" {
		t.Errorf("commonLabels %v", cl)
	}
	if gl := got["groupLabels"].(map[string]any); len(gl) != 1 {
		t.Errorf("groupLabels %v", gl)
	}
	alerts := got["alerts"].([]any)
	a0, a1 := alerts[0].(map[string]any), alerts[1].(map[string]any)
	if a0["status"] != "firing" || a0["startsAt"] != "2026-11-26T10:00:00Z" || a0["endsAt"] != "0001-01-01T00:00:00Z" ||
		a0["generatorURL"] != "http://ui.example/findings?kind=bottleneck&service=payments" || len(a0["fingerprint"].(string)) != 16 {
		t.Errorf("alert 0: %v", a0)
	}
	if a1["status"] != "resolved" || a1["endsAt"] != "2026-11-26T10:00:00Z" {
		t.Errorf("alert 1: %v", a1)
	}
	for _, k := range []string{"labels", "annotations"} {
		if _, ok := a0[k].(map[string]any); !ok {
			t.Errorf("alert lacks %s", k)
		}
	}
	if c.auth[0] != "Bearer s3cret" {
		t.Errorf("authorization %q", c.auth[0])
	}
	n.maxAlerts = 1
	if _, err := n.send(context.Background(), sampleMessage()); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(c.all()[1]), &got)
	if got["truncatedAlerts"] != float64(1) || len(got["alerts"].([]any)) != 1 {
		t.Errorf("truncation: %v", got)
	}
}

func TestFingerprintMatchesAlertmanager(t *testing.T) {
	// Alertmanager (prometheus/common model.LabelSet.Fingerprint) gives
	// these values.
	if fp := (Labels{}).Fingerprint(); fp != "cbf29ce484222325" {
		t.Errorf("empty: %s", fp)
	}
	if fp := (Labels{"alertname": "a"}).Fingerprint(); fp != (Labels{"alertname": "a"}).Fingerprint() || len(fp) != 16 {
		t.Errorf("%s", fp)
	}
	if (Labels{"a": "b", "c": "d"}).Fingerprint() == (Labels{"a": "bc", "": "d"}).Fingerprint() {
		t.Error("separator not applied")
	}
}

func TestSlackText(t *testing.T) {
	var c capture
	srv := httptest.NewServer(c.handler(func(int) int { return 200 }))
	defer srv.Close()
	n := &slackNotifier{client: srv.Client(), url: newSecretURL(srv.URL, ""), channel: "#alerts"}
	if _, err := n.send(context.Background(), sampleMessage()); err != nil {
		t.Fatal(err)
	}
	var p slackPayload
	if err := json.Unmarshal([]byte(c.all()[0]), &p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"*[FIRING:1] bottlenecks*", "— 1 resolved",
		":red_circle: *high* bottleneck payments → postgresql/payments `SELECT * FROM ledger`",
		"SELECT &lt;ledger&gt; dominates",
		"<http://ui.example/findings?kind=bottleneck&service=payments|Findings>",
		"<http://ui.example/traces/abcd|Example trace>",
		":large_green_circle: *low* bottleneck cart — resolved 10:00:00 UTC",
	} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("Slack text lacks %q:\n%s", want, p.Text)
		}
	}
	if p.Channel != "#alerts" {
		t.Errorf("channel %q", p.Channel)
	}
}

func TestAlertmanagerPush(t *testing.T) {
	var c capture
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		c.handler(func(int) int { return 200 })(w, r)
	}))
	defer srv.Close()
	n := &alertmanagerNotifier{client: srv.Client(), url: newSecretURL(srv.URL+"/", ""), resend: time.Minute, now: func() time.Time { return t0 }}
	if _, err := n.send(context.Background(), sampleMessage()); err != nil {
		t.Fatal(err)
	}
	if path != "/api/v2/alerts" {
		t.Errorf("path %s", path)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(c.all()[0]), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatal(got)
	}
	// Sorted by startsAt: the resolved alert started earlier.
	if got[0]["endsAt"] != "2026-11-26T10:00:00Z" || got[1]["endsAt"] != "2026-11-26T10:04:00Z" || got[1]["generatorURL"] == "" {
		t.Errorf("%v", got)
	}
	if _, ok := got[0]["status"]; ok {
		t.Errorf("postableAlert has no status: %v", got[0])
	}
}

func TestDeliveryErrorsAreClassifiedAndRedacted(t *testing.T) {
	const secretPath = "/services/T000/B000/XXXXSECRET"
	codes := map[string]int{"/500": 500, "/503": 503, "/429": 429, "/404": 404, "/400": 400, "/301": 301}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := codes[strings.TrimPrefix(r.URL.Path, secretPath)]
		if code == 429 {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte("no_service " + r.URL.Path))
	}))
	defer srv.Close()
	for p, code := range codes {
		u := srv.URL + secretPath + p
		_, err := post(context.Background(), srv.Client(), u, newSecretURL(u, ""), []byte("{}"))
		retry, after := retryable(err)
		wantRetry := code >= 500 || code == 429
		if err == nil || retry != wantRetry {
			t.Errorf("%d: err %v retryable %v", code, err, retry)
			continue
		}
		if strings.Contains(err.Error(), "XXXXSECRET") || strings.Contains(err.Error(), secretPath) {
			t.Errorf("%d: secret in error: %v", code, err)
		}
		if code == 429 && after != 7*time.Second {
			t.Errorf("Retry-After: %v", after)
		}
	}
	// Connection refused and timeouts are retryable, and redacted.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	u := "http://" + addr + secretPath
	_, err := post(context.Background(), http.DefaultClient, u, newSecretURL(u, "tok"), []byte("{}"))
	if retry, _ := retryable(err); err == nil || !retry || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("connection refused: %v", err)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // lets the server notice the client going away
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	u = slow.URL + secretPath
	_, err = post(ctx, slow.Client(), u, newSecretURL(u, ""), []byte("{}"))
	if retry, _ := retryable(err); err == nil || !retry || !strings.Contains(err.Error(), "timed out") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("timeout: %v", err)
	}
}
