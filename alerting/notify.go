package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// notifier sends a message to one receiver. send returns the HTTP status
// (0 when there was no response) and an error, a *deliveryError, saying
// whether a retry may succeed. Errors never contain the receiver's URL or
// token.
type notifier interface {
	integration() string
	send(ctx context.Context, m *message) (int, error)
}

// deliveryError is a failed delivery attempt.
type deliveryError struct {
	msg        string
	retryable  bool
	retryAfter time.Duration // from a Retry-After header, 0 if none
}

func (e *deliveryError) Error() string { return e.msg }

// retryable reports whether err is worth retrying: 5xx, 429, timeouts and
// network errors are; other 4xx and bad configuration are not.
func retryable(err error) (bool, time.Duration) {
	var de *deliveryError
	if errors.As(err, &de) {
		return de.retryable, de.retryAfter
	}
	return true, 0
}

// secretURL is a receiver URL (with an optional bearer token) that never
// appears in errors or logs: redact replaces it with scheme://host/<redacted>.
type secretURL struct {
	raw   string
	token string
	shown string
}

func newSecretURL(raw, token string) secretURL {
	shown := "<redacted url>"
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		shown = u.Scheme + "://" + u.Host + "/<redacted>"
	}
	return secretURL{raw: raw, token: token, shown: shown}
}

// redact removes the URL, its path and query, and the token from s.
func (s secretURL) redact(text string) string {
	if s.raw != "" {
		text = strings.ReplaceAll(text, s.raw, s.shown)
		if u, err := url.Parse(s.raw); err == nil {
			for _, part := range []string{u.RawQuery, u.EscapedPath(), u.Path, u.User.String()} {
				if len(part) > 1 {
					text = strings.ReplaceAll(text, part, "<redacted>")
				}
			}
		}
	}
	if s.token != "" {
		text = strings.ReplaceAll(text, s.token, "<redacted>")
	}
	return text
}

// post sends body as JSON and classifies the outcome.
func post(ctx context.Context, client *http.Client, target string, sec secretURL, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, &deliveryError{msg: sec.redact("building request: " + err.Error())}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tracehound-alerting")
	if sec.token != "" {
		req.Header.Set("Authorization", "Bearer "+sec.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "timed out: " + msg
		}
		return 0, &deliveryError{msg: sec.redact(msg), retryable: true}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	msg := fmt.Sprintf("%s responded %s", sec.shown, resp.Status)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		msg += ": " + s
	}
	de := &deliveryError{msg: sec.redact(msg)}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		de.retryable = true
		de.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	}
	return resp.StatusCode, de
}

// marshalJSON encodes v without escaping &, < and > (URLs and Slack
// links stay readable in the raw payload).
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// webhookMessage is Alertmanager's webhook payload, version 4.
type webhookMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []alertItem       `json:"alerts"`
}

func newWebhookMessage(m *message, maxAlerts int) webhookMessage {
	alerts := m.Alerts
	truncated := 0
	if maxAlerts > 0 && len(alerts) > maxAlerts {
		truncated = len(alerts) - maxAlerts
		alerts = alerts[:maxAlerts]
	}
	labels := make([]map[string]string, len(m.Alerts))
	anns := make([]map[string]string, len(m.Alerts))
	for i, a := range m.Alerts {
		labels[i], anns[i] = a.Labels, a.Annotations
	}
	out := webhookMessage{
		Version: "4", GroupKey: m.GroupKey, TruncatedAlerts: truncated, Status: m.Status, Receiver: m.Receiver,
		GroupLabels: copyMap(m.GroupLabels), CommonLabels: common(labels), CommonAnnotations: common(anns),
		ExternalURL: m.ExternalURL, Alerts: make([]alertItem, len(alerts)),
	}
	for i, a := range alerts {
		if a.Labels == nil {
			a.Labels = Labels{}
		}
		if a.Annotations == nil {
			a.Annotations = map[string]string{}
		}
		// Alertmanager leaves endsAt zero (0001-01-01T00:00:00Z) while firing.
		if a.Status == "firing" {
			a.EndsAt = time.Time{}
		}
		out.Alerts[i] = a
	}
	return out
}

type webhookNotifier struct {
	client    *http.Client
	url       secretURL
	maxAlerts int
}

func (w *webhookNotifier) integration() string { return "webhook" }

func (w *webhookNotifier) send(ctx context.Context, m *message) (int, error) {
	body, err := marshalJSON(newWebhookMessage(m, w.maxAlerts))
	if err != nil {
		return 0, &deliveryError{msg: "encoding webhook payload: " + err.Error()}
	}
	return post(ctx, w.client, w.url.raw, w.url, body)
}

// slackNotifier posts a readable message to a Slack incoming webhook.
type slackNotifier struct {
	client   *http.Client
	url      secretURL
	channel  string
	username string
}

func (s *slackNotifier) integration() string { return "slack" }

type slackPayload struct {
	Text     string `json:"text"`
	Channel  string `json:"channel,omitempty"`
	Username string `json:"username,omitempty"`
	Mrkdwn   bool   `json:"mrkdwn"`
}

func (s *slackNotifier) send(ctx context.Context, m *message) (int, error) {
	body, err := marshalJSON(slackPayload{Text: slackText(m), Channel: s.channel, Username: s.username, Mrkdwn: true})
	if err != nil {
		return 0, &deliveryError{msg: "encoding Slack message: " + err.Error()}
	}
	return post(ctx, s.client, s.url.raw, s.url, body)
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func slackLink(u, text string) string {
	if u == "" {
		return slackEscape(text)
	}
	u = strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(u)
	return "<" + u + "|" + slackEscape(text) + ">"
}

// slackText renders a message as Slack mrkdwn: a title line, then one
// entry per alert with its summary and links to the UI.
func slackText(m *message) string {
	firing, resolved := m.countByStatus()
	var b strings.Builder
	title := m.GroupLabels["alertname"]
	if title == "" {
		title = common(alertLabels(m.Alerts))["alertname"]
	}
	var rest []string
	for _, k := range Labels(m.GroupLabels).sortedNames() {
		if k != "alertname" {
			rest = append(rest, k+"="+m.GroupLabels[k])
		}
	}
	if m.Status == "firing" {
		fmt.Fprintf(&b, ":rotating_light: *[FIRING:%d] %s*", firing, slackEscape(title))
	} else {
		fmt.Fprintf(&b, ":white_check_mark: *[RESOLVED] %s*", slackEscape(title))
	}
	if len(rest) > 0 {
		fmt.Fprintf(&b, " (%s)", slackEscape(strings.Join(rest, ", ")))
	}
	if firing > 0 && resolved > 0 {
		fmt.Fprintf(&b, " — %d resolved", resolved)
	}
	b.WriteByte('\n')
	for _, a := range m.Alerts {
		b.WriteString(slackAlertLine(m.ExternalURL, a))
	}
	return strings.TrimRight(b.String(), "\n")
}

func alertLabels(as []alertItem) []map[string]string {
	out := make([]map[string]string, len(as))
	for i, a := range as {
		out[i] = a.Labels
	}
	return out
}

func slackAlertLine(ext string, a alertItem) string {
	var b strings.Builder
	l := a.Labels
	mark := ":red_circle:"
	if a.Status == "resolved" {
		mark = ":large_green_circle:"
	}
	subject := l["service"]
	if l["peer"] != "" {
		subject += " → " + l["peer"]
	}
	what := l["kind"]
	if what == "metric" {
		what = l["metric"]
	}
	fmt.Fprintf(&b, "• %s *%s* %s", mark, slackEscape(l["severity"]), slackEscape(strings.TrimSpace(what+" "+subject)))
	if l["operation"] != "" {
		fmt.Fprintf(&b, " `%s`", slackEscape(l["operation"]))
	}
	if a.Status == "resolved" {
		fmt.Fprintf(&b, " — resolved %s", a.EndsAt.UTC().Format("15:04:05 MST"))
	}
	b.WriteByte('\n')
	if s := a.Annotations["summary"]; s != "" {
		fmt.Fprintf(&b, "    %s\n", slackEscape(s))
	}
	var links []string
	if a.GeneratorURL != "" {
		label := "Findings"
		if l["kind"] == "metric" {
			label = "Service map"
			if l["scope"] == "service" {
				label = "Service"
			}
		}
		links = append(links, slackLink(a.GeneratorURL, label))
	}
	if u := traceURL(ext, a.Annotations["example_trace_id"]); u != "" {
		links = append(links, slackLink(u, "Example trace"))
	}
	if r := a.Annotations["runbook_url"]; r != "" {
		links = append(links, slackLink(r, "Runbook"))
	}
	if len(links) > 0 {
		fmt.Fprintf(&b, "    %s\n", strings.Join(links, " · "))
	}
	return b.String()
}

// alertmanagerNotifier pushes alerts to Alertmanager's API v2. Firing
// alerts get an endsAt of four re-send intervals ahead, as Prometheus does,
// so Alertmanager resolves them if tracehound stops re-sending.
type alertmanagerNotifier struct {
	client *http.Client
	url    secretURL
	resend time.Duration
	now    func() time.Time
}

func (a *alertmanagerNotifier) integration() string { return "alertmanager" }

type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func (a *alertmanagerNotifier) send(ctx context.Context, m *message) (int, error) {
	validUntil := a.now().Add(4 * a.resend)
	out := make([]postableAlert, 0, len(m.Alerts))
	for _, al := range m.Alerts {
		p := postableAlert{Labels: copyMap(al.Labels), Annotations: al.Annotations, StartsAt: al.StartsAt, EndsAt: al.EndsAt,
			GeneratorURL: al.GeneratorURL}
		if al.Status == "firing" {
			p.EndsAt = validUntil
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartsAt.Before(out[j].StartsAt) })
	body, err := marshalJSON(out)
	if err != nil {
		return 0, &deliveryError{msg: "encoding alerts: " + err.Error()}
	}
	return post(ctx, a.client, strings.TrimSuffix(a.url.raw, "/")+"/api/v2/alerts", a.url, body)
}

// newNotifier builds the receiver's integration; the URL and token are read
// from the environment now.
func newNotifier(r *Receiver, client *http.Client, resend time.Duration) notifier {
	switch {
	case r.Webhook != nil:
		u, tok := r.Webhook.resolve()
		return &webhookNotifier{client: client, url: newSecretURL(u, tok), maxAlerts: r.Webhook.MaxAlerts}
	case r.Slack != nil:
		u, tok := r.Slack.resolve()
		return &slackNotifier{client: client, url: newSecretURL(u, tok), channel: r.Slack.Channel, username: r.Slack.Username}
	case r.Alertmanager != nil:
		u, tok := r.Alertmanager.resolve()
		return &alertmanagerNotifier{client: client, url: newSecretURL(u, tok), resend: resend, now: time.Now}
	}
	return nil
}
