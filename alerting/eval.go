package alerting

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/storage"
)

// candidate is an alert whose condition holds at this evaluation.
type candidate struct {
	key         string
	rule        *Rule
	labels      Labels
	annotations map[string]string
	value       float64
}

// source is the data the rules read.
type source interface {
	RecentFindings(ctx context.Context, since time.Time, limit int) ([]storage.Finding, error)
	Edges(ctx context.Context, from, to time.Time) ([]storage.EdgeStats, error)
	Services(ctx context.Context, from, to time.Time) ([]storage.ServiceStats, error)
}

// maxFindings bounds the findings one evaluation reads (highest score
// first).
const maxFindings = 10000

// evaluateRules returns every candidate of every rule at now. Any read
// error fails the whole evaluation, so that no alert is resolved because
// its data could not be read.
func evaluateRules(ctx context.Context, src source, rules []Rule, now time.Time) ([]candidate, error) {
	var (
		findings    []storage.Finding
		maxWindow   time.Duration
		edges       = map[time.Duration][]storage.EdgeStats{}
		services    = map[time.Duration][]storage.ServiceStats{}
		needEdges   = map[time.Duration]bool{}
		needService = map[time.Duration]bool{}
	)
	for i := range rules {
		r := &rules[i]
		switch {
		case r.Finding != nil:
			maxWindow = max(maxWindow, r.Finding.window())
		case r.Metric != nil && r.Metric.Scope == "edge":
			needEdges[r.Metric.lookback()] = true
		case r.Metric != nil:
			needService[r.Metric.lookback()] = true
		}
	}
	if maxWindow > 0 {
		var err error
		findings, err = src.RecentFindings(ctx, now.Add(-maxWindow), maxFindings)
		if err != nil {
			return nil, err
		}
	}
	for lb := range needEdges {
		e, err := src.Edges(ctx, now.Add(-lb), now)
		if err != nil {
			return nil, err
		}
		edges[lb] = e
	}
	for lb := range needService {
		s, err := src.Services(ctx, now.Add(-lb), now)
		if err != nil {
			return nil, err
		}
		services[lb] = s
	}
	var out []candidate
	for i := range rules {
		r := &rules[i]
		switch {
		case r.Finding != nil:
			out = append(out, findingCandidates(r, findings, now)...)
		case r.Metric != nil && r.Metric.Scope == "edge":
			out = append(out, edgeCandidates(r, edges[r.Metric.lookback()])...)
		case r.Metric != nil:
			out = append(out, serviceCandidates(r, services[r.Metric.lookback()])...)
		}
	}
	return out, nil
}

func globMatch(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// baseLabels adds the rule's labels over computed ones and the alertname.
func (r *Rule) finishLabels(ls Labels) Labels {
	for k, v := range r.Labels {
		ls[k] = v
	}
	ls["alertname"] = r.Name
	for k, v := range ls {
		if v == "" {
			delete(ls, k)
		}
	}
	return ls
}

// identity is the part of the labels that names an alert's subject:
// everything but severity, which may change while the alert lasts.
func identity(ls Labels) string {
	id := Labels{}
	for k, v := range ls {
		if k != "severity" {
			id[k] = v
		}
	}
	return id.Fingerprint()
}

// findingCandidates: one alert per distinct label set of matching findings
// observed within the window; the highest-scoring finding describes it.
func findingCandidates(r *Rule, findings []storage.Finding, now time.Time) []candidate {
	f := r.Finding
	from := now.Add(-f.window())
	minRank := 0
	if f.MinSeverity != "" {
		minRank = severityRank(f.MinSeverity)
	}
	byKey := map[string]*candidate{}
	var order []string
	for i := range findings {
		fd := &findings[i]
		if fd.LastSeen.Before(from) || (f.Kind != "" && fd.Kind != f.Kind) || severityRank(fd.Severity) < minRank ||
			!globMatch(f.Service, fd.Service) {
			continue
		}
		sev := r.Severity
		if sev == "" {
			sev = fd.Severity
		}
		ls := r.finishLabels(Labels{"kind": fd.Kind, "service": fd.Service, "operation": fd.Operation, "peer": fd.Peer, "severity": sev})
		key := r.Name + "|finding|" + identity(ls)
		if c, ok := byKey[key]; ok && c.value >= fd.Score {
			continue
		}
		ann := map[string]string{
			"summary":     fd.Summary,
			"finding_id":  fd.ID,
			"score":       strconv.FormatFloat(fd.Score, 'f', -1, 64),
			"occurrences": strconv.FormatUint(fd.Occurrences, 10),
			"last_seen":   fd.LastSeen.UTC().Format(time.RFC3339),
		}
		if fd.PeerKind != "" {
			ann["peer_kind"] = fd.PeerKind
		}
		if len(fd.ExampleTraceIDs) > 0 {
			ann["example_trace_id"] = hex.EncodeToString(fd.ExampleTraceIDs[0][:])
		}
		if _, ok := byKey[key]; !ok {
			order = append(order, key)
		}
		byKey[key] = &candidate{key: key, rule: r, labels: ls, annotations: r.annotate(ann, ls, fd.Score), value: fd.Score}
	}
	out := make([]candidate, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out
}

func compare(v float64, op string, threshold float64) bool {
	switch op {
	case ">=":
		return v >= threshold
	case "<":
		return v < threshold
	case "<=":
		return v <= threshold
	default:
		return v > threshold
	}
}

// metricPhrase names a metric in a sentence, with its unit.
func metricPhrase(name string, v float64) (string, string) {
	switch name {
	case "p50_ms", "p95_ms", "p99_ms":
		return strings.TrimSuffix(name, "_ms") + " latency", fmt.Sprintf("%s ms", fmtNum(v))
	case "error_rate":
		return "error rate", fmt.Sprintf("%s%%", fmtNum(v*100))
	case "calls_per_trace":
		return "calls per trace", fmtNum(v)
	case "request_bytes":
		return "average request size", fmt.Sprintf("%s bytes", fmtNum(v))
	case "response_bytes":
		return "average response size", fmt.Sprintf("%s bytes", fmtNum(v))
	}
	return name, fmtNum(v)
}

func fmtNum(v float64) string {
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func (r *Rule) metricSeverity() string {
	if r.Severity == "" {
		return "high"
	}
	return r.Severity
}

func (r *Rule) metricCandidate(key, subject string, ls Labels, v float64) candidate {
	m := r.Metric
	what, val := metricPhrase(m.Name, v)
	_, thr := metricPhrase(m.Name, *m.Threshold)
	ls = r.finishLabels(ls)
	ann := map[string]string{
		"summary":   fmt.Sprintf("%s of %s is %s (%s %s over the last %s)", what, subject, val, m.op(), thr, shortDur(m.lookback())),
		"value":     strconv.FormatFloat(v, 'f', -1, 64),
		"threshold": strconv.FormatFloat(*m.Threshold, 'f', -1, 64),
	}
	return candidate{key: key, rule: r, labels: ls, annotations: r.annotate(ann, ls, v), value: v}
}

func edgeCandidates(r *Rule, edges []storage.EdgeStats) []candidate {
	m := r.Metric
	var out []candidate
	for _, e := range edges {
		if e.Calls < m.minCount() || !globMatch(m.Service, e.Source) || !globMatch(m.Peer, e.Target) {
			continue
		}
		var v float64
		switch m.Name {
		case "p50_ms":
			v = e.P50Ms
		case "p95_ms":
			v = e.P95Ms
		case "p99_ms":
			v = e.P99Ms
		case "error_rate":
			v = float64(e.Errors) / float64(e.Calls)
		case "calls_per_trace":
			v = e.CallsPerTraceAvg
		case "request_bytes":
			v = e.RequestBytesAvg
		case "response_bytes":
			v = e.ResponseBytesAvg
		}
		if !compare(v, m.op(), *m.Threshold) {
			continue
		}
		ls := Labels{"kind": "metric", "scope": "edge", "metric": m.Name, "service": e.Source, "peer": e.Target,
			"severity": r.metricSeverity()}
		if e.TargetKind != "" && e.TargetKind != "service" {
			ls["peer_kind"] = e.TargetKind
		}
		key := fmt.Sprintf("%s|edge|%s:%s|%s:%s", r.Name, e.SourceKind, e.Source, e.TargetKind, e.Target)
		out = append(out, r.metricCandidate(key, "calls from "+e.Source+" to "+e.Target, ls, v))
	}
	return out
}

func serviceCandidates(r *Rule, services []storage.ServiceStats) []candidate {
	m := r.Metric
	var out []candidate
	for _, s := range services {
		if s.Requests < m.minCount() || !globMatch(m.Service, s.Name) {
			continue
		}
		var v float64
		switch m.Name {
		case "p50_ms":
			v = s.P50Ms
		case "p95_ms":
			v = s.P95Ms
		case "p99_ms":
			v = s.P99Ms
		case "error_rate":
			v = float64(s.Errors) / float64(s.Requests)
		}
		if !compare(v, m.op(), *m.Threshold) {
			continue
		}
		ls := Labels{"kind": "metric", "scope": "service", "metric": m.Name, "service": s.Name, "severity": r.metricSeverity()}
		out = append(out, r.metricCandidate(r.Name+"|service|"+s.Name, "requests to "+s.Name, ls, v))
	}
	return out
}

func shortDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// annotate adds the rule's templated annotations to computed ones. A
// template that fails at run time yields its error text, so the problem is
// visible in the notification rather than silently dropped.
func (r *Rule) annotate(ann map[string]string, ls Labels, value float64) map[string]string {
	if len(r.Annotations) == 0 {
		return ann
	}
	var thr float64
	if r.Metric != nil && r.Metric.Threshold != nil {
		thr = *r.Metric.Threshold
	}
	data := struct {
		Labels    map[string]string
		Value     float64
		Threshold float64
	}{ls, value, thr}
	names := make([]string, 0, len(r.Annotations))
	for k := range r.Annotations {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t := r.tmpl[k]
		if t == nil {
			var err error
			if t, err = parseAnnotation(k, r.Annotations[k]); err != nil {
				ann[k] = r.Annotations[k]
				continue
			}
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			ann[k] = "template error: " + err.Error()
			continue
		}
		ann[k] = b.String()
	}
	return ann
}

// generatorURL links an alert to the UI: the findings it is about, or the
// service or edge of a metric rule.
func generatorURL(ext string, ls Labels) string {
	if ext == "" {
		return ""
	}
	base := strings.TrimSuffix(ext, "/")
	q := url.Values{}
	switch {
	case ls["kind"] == "metric" && ls["scope"] == "edge":
		q.Set("source", ls["service"])
		q.Set("target", ls["peer"])
		return base + "/servicegraph?" + q.Encode()
	case ls["kind"] == "metric":
		q.Set("service", ls["service"])
		return base + "/services?" + q.Encode()
	default:
		if ls["kind"] != "" {
			q.Set("kind", ls["kind"])
		}
		if ls["service"] != "" {
			q.Set("service", ls["service"])
		}
		return base + "/findings?" + q.Encode()
	}
}

// traceURL links a trace in the UI.
func traceURL(ext, traceID string) string {
	if ext == "" || traceID == "" {
		return ""
	}
	return strings.TrimSuffix(ext, "/") + "/traces/" + url.PathEscape(traceID)
}

// transition computes the state rows of this evaluation from the previous
// states (latest row per key) and the candidates, Prometheus-style: a new
// candidate is pending, and firing once its condition has held for the
// rule's For; a firing alert whose condition no longer holds is resolved,
// a pending one becomes inactive. A pending alert not evaluated for longer
// than gap (no instance was evaluating) starts over. Labels of an alert are
// fixed when it becomes active, so its fingerprint does not change while
// it lasts.
func transition(prev map[string]storage.AlertState, cands []candidate, now time.Time, gap time.Duration, instance string) []storage.AlertState {
	out := make([]storage.AlertState, 0, len(cands))
	seen := map[string]bool{}
	for _, c := range cands {
		if seen[c.key] {
			continue
		}
		seen[c.key] = true
		p, ok := prev[c.key]
		live := ok && (p.State == "firing" || (p.State == "pending" && now.Sub(p.EvaluatedAt) <= gap))
		s := storage.AlertState{Key: c.key, Rule: c.rule.Name, Annotations: c.annotations, Value: c.value, EvaluatedAt: now, Instance: instance}
		if live {
			s.Labels, s.Fingerprint, s.ActiveAt, s.FiredAt = p.Labels, p.Fingerprint, p.ActiveAt, p.FiredAt
		} else {
			s.Labels, s.ActiveAt = c.labels, now
			s.Fingerprint = Labels(s.Labels).Fingerprint()
		}
		switch {
		case live && p.State == "firing":
			s.State = "firing"
		case now.Sub(s.ActiveAt) >= c.rule.For:
			s.State, s.FiredAt = "firing", now
		default:
			s.State = "pending"
		}
		out = append(out, s)
	}
	keys := make([]string, 0, len(prev))
	for k := range prev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := prev[k]
		if seen[k] || (p.State != "firing" && p.State != "pending") {
			continue
		}
		s := p
		s.EvaluatedAt, s.Instance = now, instance
		if p.State == "firing" {
			s.State, s.ResolvedAt = "resolved", now
		} else {
			s.State = "inactive"
		}
		out = append(out, s)
	}
	return out
}
