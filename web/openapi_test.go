package web

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tracehound/tracehound/alerting"
	"github.com/tracehound/tracehound/storage"
)

// The OpenAPI check: every documented operation and response status is run
// against the real handlers (in-process, with a fake reader), and every
// response body is validated against the documented schema by a small
// checker: types, required fields, enums, patterns, formats, bounds and no
// undocumented fields at any level (additionalProperties defaults to false
// here). Conversely every documented property must show up in some
// response, every documented parameter is sent (with its example) and a
// malformed value of a typed parameter must be refused with 400, and every
// GET route under /api/v1 must be documented. So the test fails when a
// handler and the document disagree in either direction.

// fakeReader serves fixtures; err, when set, is returned by every call.
type fakeReader struct {
	err      error
	traces   []storage.TraceSummary
	spans    []storage.Span
	services []storage.ServiceStats
	edges    []storage.EdgeStats
	findings []storage.Finding
	rules    []alerting.RuleInfo
	alerts   []alerting.Alert
	attempts []alerting.Delivery
}

func (f *fakeReader) Rules() []alerting.RuleInfo { return f.rules }

func (f *fakeReader) Alerts(_ context.Context, _ alerting.AlertQuery) ([]alerting.Alert, error) {
	return f.alerts, f.err
}

func (f *fakeReader) Deliveries(_ context.Context, _ alerting.DeliveryQuery) ([]alerting.Delivery, error) {
	return f.attempts, f.err
}

func (f *fakeReader) FindTraces(_ context.Context, _ storage.TraceQuery) ([]storage.TraceSummary, error) {
	return f.traces, f.err
}

func (f *fakeReader) GetTrace(_ context.Context, id [16]byte) ([]storage.Span, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []storage.Span
	for _, sp := range f.spans {
		if sp.TraceID == id {
			out = append(out, sp)
		}
	}
	if len(out) == 0 {
		return nil, storage.ErrNotFound
	}
	return out, nil
}

func (f *fakeReader) Edges(_ context.Context, _, _ time.Time) ([]storage.EdgeStats, error) {
	return f.edges, f.err
}

func (f *fakeReader) Services(_ context.Context, _, _ time.Time) ([]storage.ServiceStats, error) {
	return f.services, f.err
}

func (f *fakeReader) Findings(_ context.Context, _ storage.FindingQuery) ([]storage.Finding, error) {
	return f.findings, f.err
}

func id16(s string) [16]byte {
	var b [16]byte
	copy(b[:], mustDecodeHex(s))
	return b
}

func id8(s string) [8]byte {
	var b [8]byte
	copy(b[:], mustDecodeHex(s))
	return b
}

func mustDecodeHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

const fixtureTraceID = "5b8efff798038103d269b633813fc60c"

// fixtures returns a reader whose data exercises every documented field,
// optional ones included.
func fixtures() *fakeReader {
	start := time.Date(2026, 11, 26, 2, 18, 37, 840724804, time.UTC)
	tid := id16(fixtureTraceID)
	root := storage.Span{
		TraceID: tid, SpanID: id8("eee19b7ec3c1b174"), TraceState: "vendor=1",
		Service: "checkout", Name: "GET /cart", Kind: storage.SpanKindServer,
		StartUnixNano: start.UnixNano(), DurationNano: 50e6,
		StatusCode: storage.StatusOK, ScopeName: "io.opentelemetry.http", ScopeVersion: "1.2.3",
		ResourceAttributes:      map[string]string{"service.name": "checkout"},
		ResourceTypedAttributes: map[string]string{"host.cpus": "2"},
		Attributes:              map[string]string{"x": "y"},
		TypedAttributes: map[string]string{"http.response.status_code": "200", "ratio": "0.25", "ok": "true",
			"tags": `["a","b"]`, "m": `{"k":1}`, "blob": `"AAAwOQ=="`},
		Events: []storage.Event{{TimeUnixNano: start.UnixNano() + 1000, Name: "ev", AttributesJSON: `{"a":true}`}},
		Links: []storage.Link{{TraceID: id16("0af7651916cd43dd8448eb211c80319c"), SpanID: id8("b7ad6b7169203331"),
			TraceState: "other=2", AttributesJSON: `{"link.kind":"follows"}`}},
		DroppedAttributesCount: 1, DroppedEventsCount: 2, DroppedLinksCount: 3,
	}
	child := storage.Span{
		TraceID: tid, SpanID: id8("0102030405060708"), ParentSpanID: root.SpanID,
		Service: "checkout", Name: "SELECT orders", Kind: storage.SpanKindClient,
		StartUnixNano: start.UnixNano() + 10e6, DurationNano: 30e6,
		StatusCode: storage.StatusError, StatusMessage: "deadlock detected",
		Attributes: map[string]string{"db.system": "postgresql"},
	}
	return &fakeReader{
		traces: []storage.TraceSummary{{TraceID: tid, RootService: "checkout", RootOperation: "GET /cart", Start: start,
			Duration: 50 * time.Millisecond, SpanCount: 2, ErrorCount: 1}},
		spans:    []storage.Span{root, child},
		services: []storage.ServiceStats{{Name: "checkout", Requests: 1200, Errors: 3, P50Ms: 41.2, P95Ms: 120.5, P99Ms: 310}},
		edges: []storage.EdgeStats{{Source: "checkout", SourceKind: "service", Target: "postgresql/shop", TargetKind: "database",
			Calls: 5, Errors: 1, P50Ms: 10, P95Ms: 10, P99Ms: 10, RequestBytesAvg: 100, CallsPerTraceAvg: 1}},
		findings: []storage.Finding{{FindingObservation: storage.FindingObservation{
			ID: "3f1c9a0e5d2b7c41", Kind: "chatty", Service: "orders", Operation: "GET /items/{id}", Peer: "inventory",
			PeerKind: "service", Severity: "medium", Score: 27.3, Summary: "orders calls inventory 10× per request",
			EvidenceJSON: `{"calls_per_trace":10,"sequential":true}`, Occurrences: 5, ExampleTraceIDs: [][16]byte{tid},
			FirstSeen: start, LastSeen: start.Add(20 * time.Second)}}},
		rules: []alerting.RuleInfo{
			{Name: "bottlenecks", Type: "finding", Condition: "a bottleneck finding …", For: 0, Labels: map[string]string{"team": "shop"},
				Annotations: map[string]string{"runbook_url": "https://rb/{{ $labels.service }}"}, Receivers: []string{"slack"},
				Finding: &alerting.FindingRule{Kind: "bottleneck", MinSeverity: "medium", Service: "checkout*", Window: 10 * time.Minute}},
			{Name: "slow-payments", Type: "metric", Condition: "p99_ms of …", For: 2 * time.Minute, Severity: "high",
				Labels: map[string]string{}, Annotations: map[string]string{}, Receivers: []string{"ops-webhook"},
				Metric: &alerting.MetricRule{Scope: "edge", Name: "p99_ms", Service: "checkout", Peer: "payments", Op: ">",
					Threshold: func() *float64 { v := 500.0; return &v }(), Lookback: 5 * time.Minute, MinCount: 1}},
		},
		alerts: []alerting.Alert{
			{Fingerprint: "8b1a9953c4611296", Rule: "bottlenecks", State: "firing",
				Labels:      alerting.Labels{"alertname": "bottlenecks", "kind": "bottleneck", "service": "checkout", "severity": "high"},
				Annotations: map[string]string{"summary": "…", "example_trace_id": fixtureTraceID}, Value: 61.5,
				ActiveAt: start, FiredAt: start, EvaluatedAt: start.Add(time.Minute), GeneratorURL: "http://ui/findings?kind=bottleneck&service=checkout"},
			{Fingerprint: "0f1e2d3c4b5a6978", Rule: "slow-payments", State: "resolved", Labels: alerting.Labels{"alertname": "slow-payments"},
				Value: 812, ActiveAt: start, FiredAt: start.Add(2 * time.Minute), ResolvedAt: start.Add(time.Hour), EvaluatedAt: start.Add(time.Hour)},
			{Fingerprint: "00000000000000aa", Rule: "slow-payments", State: "pending", Labels: alerting.Labels{"alertname": "slow-payments"},
				ActiveAt: start, EvaluatedAt: start},
		},
		attempts: []alerting.Delivery{{At: start, Receiver: "ops-webhook", Integration: "webhook", GroupKey: `{}:{alertname="bottlenecks"}`,
			Seq: 1, Status: "firing", Alerts: 1, Attempt: 2, Outcome: "retry", HTTPStatus: 503,
			Error: "http://hooks.example/<redacted> responded 503 Service Unavailable", Duration: 12 * time.Millisecond, Instance: "host-1-ab12"}},
	}
}

// loadSpec parses the embedded document, numbers as json.Number.
func loadSpec(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(openAPISpec))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi version %q, want 3.x", v)
	}
	return doc
}

// schemaChecker validates JSON values against the document's schemas.
type schemaChecker struct {
	doc  map[string]any
	seen map[string]bool // "<schema location>.<property>" present in some value
	all  map[string]bool // every property of every schema a response used
}

// knownKeywords are the schema keywords the checker understands; any other
// keyword in the document is an error, so the document cannot rely on a
// rule the test does not enforce.
var knownKeywords = map[string]bool{"type": true, "properties": true, "required": true, "additionalProperties": true,
	"items": true, "$ref": true, "enum": true, "pattern": true, "format": true, "minimum": true, "maximum": true,
	"description": true, "default": true, "example": true, "nullable": true}

// resolve follows $ref (#/a/b/c) and returns the schema and its location.
func (c *schemaChecker) resolve(s map[string]any, loc string) (map[string]any, string, error) {
	for range 10 {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s, loc, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, "", fmt.Errorf("%s: unsupported $ref %q", loc, ref)
		}
		var cur any = c.doc
		for _, part := range strings.Split(ref[2:], "/") {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, "", fmt.Errorf("%s: $ref %q does not resolve", loc, ref)
			}
			if cur, ok = m[part]; !ok {
				return nil, "", fmt.Errorf("%s: $ref %q does not resolve", loc, ref)
			}
		}
		if s, ok = cur.(map[string]any); !ok {
			return nil, "", fmt.Errorf("%s: $ref %q is not an object", loc, ref)
		}
		loc = ref
	}
	return nil, "", fmt.Errorf("%s: $ref chain too long", loc)
}

func num(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// check validates v against schema s at JSON path p; it returns every
// violation.
func (c *schemaChecker) check(p string, s map[string]any, loc string, v any) []string {
	s, loc, err := c.resolve(s, loc)
	if err != nil {
		return []string{err.Error()}
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, p+": "+fmt.Sprintf(format, args...)) }
	for k := range s {
		if !knownKeywords[k] {
			bad("schema %s uses keyword %q, which the checker does not support", loc, k)
		}
	}
	if v == nil {
		if s["nullable"] != true {
			bad("null, but the schema (%s) is not nullable", loc)
		}
		return errs
	}
	typ, _ := s["type"].(string)
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("want an object, got %T", v)
			return errs
		}
		props, _ := s["properties"].(map[string]any)
		for name := range props {
			c.all[loc+"."+name] = true
		}
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := m[r.(string)]; !ok {
					bad("required field %q missing", r)
				}
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				c.seen[loc+"."+k] = true
				errs = append(errs, c.check(p+"."+k, ps, loc+"/properties/"+k, m[k])...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					bad("undocumented field %q (schema %s)", k, loc)
				}
			case map[string]any:
				errs = append(errs, c.check(p+"."+k, ap, loc+"/additionalProperties", m[k])...)
			case nil:
				bad("undocumented field %q (schema %s)", k, loc)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("want an array, got %T", v)
			return errs
		}
		items, _ := s["items"].(map[string]any)
		if items == nil {
			bad("schema %s: array without items", loc)
			return errs
		}
		for i, e := range a {
			errs = append(errs, c.check(fmt.Sprintf("%s[%d]", p, i), items, loc+"/items", e)...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("want a string, got %T %v", v, v)
			return errs
		}
		if pat, ok := s["pattern"].(string); ok && !regexp.MustCompile(pat).MatchString(str) {
			bad("%q does not match %s", str, pat)
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				bad("%q is not an RFC 3339 date-time", str)
			}
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			bad("want a %s, got %T %v", typ, v, v)
			return errs
		}
		if typ == "integer" && strings.ContainsAny(n.String(), ".eE") {
			bad("want an integer, got %s", n)
		}
		f, _ := n.Float64()
		if lo, ok := num(s["minimum"]); ok && f < lo {
			bad("%s is below the minimum %v", n, lo)
		}
		if hi, ok := num(s["maximum"]); ok && f > hi {
			bad("%s is above the maximum %v", n, hi)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, got %T %v", v, v)
		}
	case "":
		// {}: any value.
	default:
		bad("schema %s: unsupported type %q", loc, typ)
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			bad("%v is not one of %v", v, enum)
		}
	}
	return errs
}

// operation is one documented GET operation.
type operation struct {
	path      string // e.g. /traces/{trace_id}
	op        map[string]any
	responses map[string]map[string]any // status → response object (resolved)
	params    []map[string]any          // resolved parameters
}

func operations(t *testing.T, c *schemaChecker) []operation {
	t.Helper()
	paths, _ := c.doc["paths"].(map[string]any)
	var out []operation
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			if method != "get" {
				t.Errorf("%s %s: only GET operations are checked; extend the test", method, path)
				continue
			}
			o := operation{path: path, op: op.(map[string]any), responses: map[string]map[string]any{}}
			for _, p := range asSlice(o.op["parameters"]) {
				rp, _, err := c.resolve(p.(map[string]any), path)
				if err != nil {
					t.Fatal(err)
				}
				o.params = append(o.params, rp)
			}
			for status, r := range o.op["responses"].(map[string]any) {
				rr, _, err := c.resolve(r.(map[string]any), path+" "+status)
				if err != nil {
					t.Fatal(err)
				}
				o.responses[status] = rr
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// exampleURL fills path parameters and every query parameter with their
// documented examples; override replaces or adds query values.
func (o operation) exampleURL(t *testing.T, override url.Values) string {
	t.Helper()
	path := o.path
	q := url.Values{}
	for _, p := range o.params {
		name, _ := p["name"].(string)
		ex, ok := p["example"]
		if !ok {
			t.Errorf("%s: parameter %q has no example", o.path, name)
			continue
		}
		switch p["in"] {
		case "path":
			path = strings.ReplaceAll(path, "{"+name+"}", fmt.Sprint(ex))
		case "query":
			q.Set(name, fmt.Sprint(ex))
		default:
			t.Errorf("%s: parameter %q in %v is not checked", o.path, name, p["in"])
		}
	}
	for k, v := range override {
		if strings.HasPrefix(k, "path:") {
			path = strings.ReplaceAll(o.path, "{"+strings.TrimPrefix(k, "path:")+"}", v[0])
			continue
		}
		q[k] = v
	}
	u := "/api/v1" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// testAPI is the server under test and the app that serves its document.
type testAPI struct {
	app, specApp *fiber.App
}

func hasRoute(app *fiber.App, method, path string) bool {
	for _, r := range app.GetRoutes(true) {
		if r.Method == method && r.Path == path {
			return true
		}
	}
	return false
}

func newTestAPI(r *fakeReader) testAPI {
	s := New(Options{Traces: r, Analysis: r, Alerts: r, QueryTimeout: time.Second})
	api := testAPI{app: s.Handler(), specApp: s.Handler()}
	if !hasRoute(s.app, fiber.MethodGet, "/api/v1/openapi.json") {
		// routes() does not mount the document (yet): serve it alone.
		api.specApp = fiber.New(fiber.Config{ErrorHandler: s.errorHandler})
		s.mountOpenAPI(api.specApp.Group("/api/v1"))
	}
	return api
}

func (a testAPI) do(t *testing.T, target string) (int, http.Header, []byte) {
	t.Helper()
	app := a.app
	if strings.HasPrefix(target, "/api/v1/openapi.json") {
		app = a.specApp
	}
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, target, nil), 5000)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestOpenAPIMatchesHandlers(t *testing.T) {
	t.Parallel()
	c := &schemaChecker{doc: loadSpec(t), seen: map[string]bool{}, all: map[string]bool{}}
	ops := operations(t, c)
	if len(ops) == 0 {
		t.Fatal("no operations documented")
	}
	ok := newTestAPI(fixtures())
	failing := newTestAPI(&fakeReader{err: errors.New("clickhouse: connection refused")})
	slow := newTestAPI(&fakeReader{err: fmt.Errorf("reading: %w", context.DeadlineExceeded)})

	type run struct {
		api    testAPI
		url    string
		status string
	}
	covered := map[string]bool{}
	for _, o := range ops {
		var runs []run
		runs = append(runs, run{ok, o.exampleURL(t, nil), "200"})
		for _, p := range o.params {
			// A malformed value of a typed parameter must be refused.
			name := p["name"].(string)
			schema, _, _ := c.resolve(p["schema"].(map[string]any), o.path)
			if schema["type"] == "integer" || schema["enum"] != nil || schema["pattern"] != nil {
				key := name
				if p["in"] == "path" {
					key = "path:" + name
				}
				runs = append(runs, run{ok, o.exampleURL(t, url.Values{key: {"not-valid!"}}), "400"})
			}
		}
		if _, documented := o.responses["400"]; documented && o.path != "/traces/{trace_id}" {
			runs = append(runs, run{ok, o.exampleURL(t, url.Values{"from": {"yesterday"}}), "400"})
		}
		if _, documented := o.responses["404"]; documented {
			runs = append(runs, run{ok, o.exampleURL(t, url.Values{"path:trace_id": {"0af7651916cd43dd8448eb211c80319c"}}), "404"})
		}
		if _, documented := o.responses["500"]; documented {
			runs = append(runs, run{failing, o.exampleURL(t, nil), "500"})
		}
		if _, documented := o.responses["503"]; documented {
			runs = append(runs, run{slow, o.exampleURL(t, nil), "503"})
		}
		for _, r := range runs {
			code, hdr, body := r.api.do(t, r.url)
			if fmt.Sprint(code) != r.status {
				t.Errorf("GET %s: status %d, want %s; body %s", r.url, code, r.status, body)
				continue
			}
			resp, documented := o.responses[r.status]
			if !documented {
				t.Errorf("GET %s: status %s is not documented", r.url, r.status)
				continue
			}
			covered[o.path+" "+r.status] = true
			media, _ := resp["content"].(map[string]any)["application/json"].(map[string]any)
			if media == nil {
				t.Errorf("%s %s: no application/json content documented", o.path, r.status)
				continue
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("GET %s: Content-Type %q", r.url, ct)
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Errorf("GET %s: invalid JSON %q: %v", r.url, body, err)
				continue
			}
			for _, e := range c.check("$", media["schema"].(map[string]any), o.path+" "+r.status, v) {
				t.Errorf("GET %s (%s): %s", r.url, r.status, e)
			}
		}
		for status := range o.responses {
			if !covered[o.path+" "+status] {
				t.Errorf("%s: documented response %s was never produced by a test run", o.path, status)
			}
		}
	}
	// Every documented property appeared in some response.
	var missing []string
	for p := range c.all {
		if !c.seen[p] {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	for _, p := range missing {
		t.Errorf("documented property %s never appeared in a response (extend the fixtures or drop it from the document)", p)
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	c := &schemaChecker{doc: loadSpec(t), seen: map[string]bool{}, all: map[string]bool{}}
	documented := map[string]bool{}
	for _, o := range operations(t, c) {
		documented[o.path] = true
	}
	api := newTestAPI(fixtures())
	routed := map[string]bool{}
	for _, app := range []*fiber.App{api.app, api.specApp} {
		for _, r := range app.GetRoutes(true) {
			if r.Method != fiber.MethodGet || !strings.HasPrefix(r.Path, "/api/v1/") {
				continue
			}
			p := regexp.MustCompile(`:([a-zA-Z_]+)`).ReplaceAllString(strings.TrimPrefix(r.Path, "/api/v1"), "{$1}")
			routed[p] = true
		}
	}
	for p := range routed {
		if !documented[p] {
			t.Errorf("GET /api/v1%s is served but not documented in openapi.json", p)
		}
	}
	for p := range documented {
		if !routed[p] {
			t.Errorf("GET /api/v1%s is documented but not served", p)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	api := newTestAPI(fixtures())
	code, hdr, body := api.do(t, "/api/v1/openapi.json")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || !bytes.Equal(body, openAPISpec) {
		t.Fatalf("GET /api/v1/openapi.json: %d %q (%d bytes)", code, hdr.Get("Content-Type"), len(body))
	}
	if !bytes.Equal(OpenAPISpec(), body) {
		t.Fatal("OpenAPISpec() differs from the served document")
	}
}

// TestOpenAPISchemasWellFormed walks every component schema: refs resolve
// and only supported keywords are used (also in schemas no response uses).
func TestOpenAPISchemasWellFormed(t *testing.T) {
	t.Parallel()
	c := &schemaChecker{doc: loadSpec(t), seen: map[string]bool{}, all: map[string]bool{}}
	var walk func(loc string, s map[string]any)
	walk = func(loc string, s map[string]any) {
		for k, v := range s {
			if !knownKeywords[k] {
				t.Errorf("%s: unsupported keyword %q", loc, k)
			}
			switch k {
			case "$ref":
				if _, _, err := c.resolve(s, loc); err != nil {
					t.Error(err)
				}
			case "properties":
				for name, ps := range v.(map[string]any) {
					walk(loc+"/properties/"+name, ps.(map[string]any))
				}
			case "items":
				walk(loc+"/items", v.(map[string]any))
			case "additionalProperties":
				if m, ok := v.(map[string]any); ok {
					walk(loc+"/additionalProperties", m)
				}
			case "required":
				props, _ := s["properties"].(map[string]any)
				for _, r := range v.([]any) {
					if _, ok := props[r.(string)]; !ok {
						t.Errorf("%s: required %q is not a property", loc, r)
					}
				}
			case "pattern":
				if _, err := regexp.Compile(v.(string)); err != nil {
					t.Errorf("%s: bad pattern: %v", loc, err)
				}
			}
		}
	}
	schemas := c.doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name, s := range schemas {
		walk("#/components/schemas/"+name, s.(map[string]any))
	}
}

// TestSchemaCheckerCatchesDrift makes sure the checker itself fails on the
// kinds of disagreement it is meant to catch.
func TestSchemaCheckerCatchesDrift(t *testing.T) {
	t.Parallel()
	c := &schemaChecker{doc: loadSpec(t), seen: map[string]bool{}, all: map[string]bool{}}
	ref := map[string]any{"$ref": "#/components/schemas/Service"}
	good := `{"name":"a","requests":1,"errors":0,"error_rate":0,"p50_ms":1,"p95_ms":1,"p99_ms":1}`
	for _, tc := range []struct{ body, want string }{
		{good, ""},
		{`{"name":"a","requests":1,"errors":0,"error_rate":0,"p50_ms":1,"p95_ms":1}`, `required field "p99_ms" missing`},
		{`{"name":"a","requests":1,"errors":0,"error_rate":0,"p50_ms":1,"p95_ms":1,"p99_ms":1,"extra":1}`, `undocumented field "extra"`},
		{`{"name":1,"requests":1,"errors":0,"error_rate":0,"p50_ms":1,"p95_ms":1,"p99_ms":1}`, "want a string"},
		{`{"name":"a","requests":1.5,"errors":0,"error_rate":0,"p50_ms":1,"p95_ms":1,"p99_ms":1}`, "want an integer"},
		{`{"name":"a","requests":1,"errors":0,"error_rate":2,"p50_ms":1,"p95_ms":1,"p99_ms":1}`, "above the maximum"},
		{`[]`, "want an object"},
	} {
		dec := json.NewDecoder(strings.NewReader(tc.body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		errs := strings.Join(c.check("$", ref, "test", v), "; ")
		if (tc.want == "") != (errs == "") || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: errors %q, want %q", tc.body, errs, tc.want)
		}
	}
	node := map[string]any{"$ref": "#/components/schemas/Node"}
	var v any
	_ = json.Unmarshal([]byte(`{"id":"a","name":"a","kind":"planet"}`), &v)
	if errs := c.check("$", node, "test", v); len(errs) == 0 || !strings.Contains(errs[0], "not one of") {
		t.Errorf("enum violation not caught: %v", errs)
	}
}
