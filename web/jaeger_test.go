package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/storage"
)

// Jaeger's UI model (jaeger internal/uimodel), decoded strictly: an unknown
// field is an error, and validateJaegerTrace checks what the types alone do
// not (ids, units, references, typed values, the process map).
type jTrace struct {
	TraceID   string              `json:"traceID"`
	Spans     []jSpan             `json:"spans"`
	Processes map[string]jProcess `json:"processes"`
	Warnings  []string            `json:"warnings"`
}

type jSpan struct {
	TraceID       string       `json:"traceID"`
	SpanID        string       `json:"spanID"`
	ParentSpanID  string       `json:"parentSpanID,omitempty"`
	Flags         uint32       `json:"flags,omitempty"`
	OperationName string       `json:"operationName"`
	References    []jReference `json:"references"`
	StartTime     uint64       `json:"startTime"`
	Duration      uint64       `json:"duration"`
	Tags          []jKeyValue  `json:"tags"`
	Logs          []jLog       `json:"logs"`
	ProcessID     string       `json:"processID"`
	Warnings      []string     `json:"warnings"`
}

type jReference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type jProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []jKeyValue `json:"tags"`
}

type jLog struct {
	Timestamp uint64      `json:"timestamp"`
	Fields    []jKeyValue `json:"fields"`
}

type jKeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type jEnvelope struct {
	Data   json.RawMessage `json:"data"`
	Total  int             `json:"total"`
	Limit  int             `json:"limit"`
	Offset int             `json:"offset"`
	Errors []struct {
		Code    int    `json:"code"`
		Msg     string `json:"msg"`
		TraceID string `json:"traceID"`
	} `json:"errors"`
}

var (
	hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// strictDecode decodes b into v, refusing unknown fields and trailing data.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// requiredKeys checks that the JSON object b has every key (Jaeger's UI
// reads them without checking).
func requiredKeys(t *testing.T, what string, b []byte, keys ...string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: field %q missing", what, k)
		}
	}
}

// validateKeyValue checks that a tag's value has its declared type.
func validateKeyValue(t *testing.T, where string, kv jKeyValue) {
	t.Helper()
	switch kv.Type {
	case "string":
		if _, ok := kv.Value.(string); !ok {
			t.Errorf("%s: tag %s type string with value %T", where, kv.Key, kv.Value)
		}
	case "bool":
		if _, ok := kv.Value.(bool); !ok {
			t.Errorf("%s: tag %s type bool with value %T", where, kv.Key, kv.Value)
		}
	case "int64":
		switch v := kv.Value.(type) {
		case json.Number:
			if strings.ContainsAny(v.String(), ".eE") {
				t.Errorf("%s: tag %s int64 value %s", where, kv.Key, v)
			}
		case string: // Jaeger sends integers beyond ±2^53 as strings
			if !regexp.MustCompile(`^-?[0-9]{16,}$`).MatchString(v) {
				t.Errorf("%s: tag %s int64 string value %q", where, kv.Key, v)
			}
		default:
			t.Errorf("%s: tag %s type int64 with value %T", where, kv.Key, kv.Value)
		}
	case "float64":
		if _, ok := kv.Value.(json.Number); !ok {
			t.Errorf("%s: tag %s type float64 with value %T", where, kv.Key, kv.Value)
		}
	case "binary":
		s, ok := kv.Value.(string)
		if _, err := base64.StdEncoding.DecodeString(s); !ok || err != nil {
			t.Errorf("%s: tag %s binary value %v is not base64", where, kv.Key, kv.Value)
		}
	default:
		t.Errorf("%s: tag %s has type %q; Jaeger knows string, bool, int64, float64, binary", where, kv.Key, kv.Type)
	}
}

// validateJaegerTrace decodes one trace of Jaeger's model and checks it.
func validateJaegerTrace(t *testing.T, raw []byte) jTrace {
	t.Helper()
	var tr jTrace
	if err := strictDecode(raw, &tr); err != nil {
		t.Fatalf("trace does not decode as Jaeger's model: %v\n%s", err, raw)
	}
	requiredKeys(t, "trace", raw, "traceID", "spans", "processes", "warnings")
	var rawSpans struct {
		Spans []json.RawMessage `json:"spans"`
	}
	_ = json.Unmarshal(raw, &rawSpans)
	for i, rs := range rawSpans.Spans {
		requiredKeys(t, fmt.Sprintf("span %d", i), rs, "traceID", "spanID", "operationName", "references",
			"startTime", "duration", "tags", "logs", "processID", "warnings")
	}
	if !hex32.MatchString(tr.TraceID) {
		t.Errorf("traceID %q is not 32 hex", tr.TraceID)
	}
	for pid, p := range tr.Processes {
		if p.ServiceName == "" || p.Tags == nil {
			t.Errorf("process %s: %+v", pid, p)
		}
		for _, kv := range p.Tags {
			validateKeyValue(t, "process "+pid, kv)
		}
	}
	for _, sp := range tr.Spans {
		where := "span " + sp.SpanID
		if sp.TraceID != tr.TraceID || !hex16.MatchString(sp.SpanID) {
			t.Errorf("%s: ids %q %q", where, sp.TraceID, sp.SpanID)
		}
		if _, ok := tr.Processes[sp.ProcessID]; !ok {
			t.Errorf("%s: processID %q not in processes", where, sp.ProcessID)
		}
		if sp.References == nil || sp.Tags == nil || sp.Logs == nil {
			t.Errorf("%s: references, tags and logs must be arrays", where)
		}
		for _, r := range sp.References {
			if (r.RefType != "CHILD_OF" && r.RefType != "FOLLOWS_FROM") || !hex32.MatchString(r.TraceID) || !hex16.MatchString(r.SpanID) {
				t.Errorf("%s: reference %+v", where, r)
			}
		}
		// Microseconds since the epoch: after 2001, before 2286.
		if sp.StartTime < 1e15 || sp.StartTime > 1e16 {
			t.Errorf("%s: startTime %d is not in microseconds", where, sp.StartTime)
		}
		for _, kv := range sp.Tags {
			validateKeyValue(t, where, kv)
		}
		for _, l := range sp.Logs {
			if l.Timestamp < 1e15 || l.Timestamp > 1e16 || l.Fields == nil {
				t.Errorf("%s: log %+v", where, l)
			}
			for _, kv := range l.Fields {
				validateKeyValue(t, where+" log", kv)
			}
		}
	}
	return tr
}

// fakeJaeger is a JaegerReader over fixtures that records the queries.
type fakeJaeger struct {
	*fakeReader
	mu        sync.Mutex
	searches  []storage.SpanSearch
	opQueries []storage.OperationQuery
	windows   [][2]time.Time
	found     [][16]byte
}

func (f *fakeJaeger) ServiceNames(_ context.Context, from, to time.Time) ([]string, error) {
	f.mu.Lock()
	f.windows = append(f.windows, [2]time.Time{from, to})
	f.mu.Unlock()
	return []string{"checkout", "frontend"}, f.err
}

func (f *fakeJaeger) Operations(_ context.Context, q storage.OperationQuery) ([]storage.Operation, error) {
	f.mu.Lock()
	f.opQueries = append(f.opQueries, q)
	f.mu.Unlock()
	return []storage.Operation{{Name: "GET /cart", Kind: storage.SpanKindServer}, {Name: "GET /cart", Kind: storage.SpanKindInternal},
		{Name: "SELECT orders", Kind: storage.SpanKindClient}, {Name: "work", Kind: storage.SpanKindUnspecified}}, f.err
}

func (f *fakeJaeger) FindTraceIDs(_ context.Context, q storage.SpanSearch) ([][16]byte, error) {
	f.mu.Lock()
	f.searches = append(f.searches, q)
	f.mu.Unlock()
	return f.found, f.err
}

func (f *fakeJaeger) LoadTraces(_ context.Context, ids [][16]byte) (map[[16]byte][]storage.Span, error) {
	out := map[[16]byte][]storage.Span{}
	for _, id := range ids {
		for _, sp := range f.spans {
			if sp.TraceID == id {
				out[id] = append(out[id], sp)
			}
		}
	}
	return out, f.err
}

func (f *fakeJaeger) Edges(ctx context.Context, from, to time.Time) ([]storage.EdgeStats, error) {
	f.mu.Lock()
	f.windows = append(f.windows, [2]time.Time{from, to})
	f.mu.Unlock()
	return f.fakeReader.Edges(ctx, from, to)
}

// jaegerFixtures adds a second process and a 64-bit (Zipkin) trace to the
// /api/v1 fixtures.
func jaegerFixtures() *fakeJaeger {
	r := fixtures()
	r.spans[0].TypedAttributes["big"] = "9007199254740993"
	r.spans[0].TypedAttributes["nan"] = `"NaN"`
	r.spans[0].TypedAttributes["integral.double"] = "2.0"
	r.spans[1].ResourceAttributes = r.spans[0].ResourceAttributes // one resource, one process
	r.spans[1].ResourceTypedAttributes = r.spans[0].ResourceTypedAttributes
	other := r.spans[1]
	other.SpanID = id8("1112131415161718")
	other.ParentSpanID = r.spans[1].SpanID
	other.Service = "postgres-proxy"
	other.ResourceAttributes = map[string]string{"service.name": "postgres-proxy", "host.name": "db1"}
	other.ResourceTypedAttributes = nil
	other.StatusCode, other.StatusMessage = storage.StatusUnset, ""
	r.spans = append(r.spans, other)
	zipkin := storage.Span{TraceID: id16("00000000000000005af7183fb1d4cf5f"), SpanID: id8("352bff9a74ca9ad2"),
		ParentSpanID: id8("6b221d5bc9e6496c"), Service: "backend", Name: "get /api", Kind: storage.SpanKindServer,
		StartUnixNano: 1556604172355737000, DurationNano: 1431000,
		ResourceAttributes: map[string]string{"service.name": "backend"}}
	r.spans = append(r.spans, zipkin)
	return &fakeJaeger{fakeReader: r, found: [][16]byte{id16(fixtureTraceID)}}
}

// jaegerApp mounts the Jaeger API (and a Zipkin handler) on a fresh app, as
// routes() does once wired.
func jaegerApp(f *fakeJaeger, zipkin http.Handler) (*fiber.App, *Server) {
	s := New(Options{Traces: f, Analysis: f, QueryTimeout: time.Second})
	app := fiber.New(fiber.Config{ErrorHandler: s.errorHandler})
	s.mountJaeger(app, f)
	s.mountZipkin(app, zipkin)
	return app, s
}

func jget(t *testing.T, app *fiber.App, target string) (int, jEnvelope, []byte) {
	t.Helper()
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, target, nil), 5000)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: Content-Type %q", target, ct)
	}
	var env jEnvelope
	if err := strictDecode(b, &env); err != nil {
		t.Fatalf("GET %s: not Jaeger's envelope: %v\n%s", target, err, b)
	}
	requiredKeys(t, target, b, "data", "total", "limit", "offset", "errors")
	return resp.StatusCode, env, b
}

func TestJaegerServicesAndOperations(t *testing.T) {
	t.Parallel()
	f := jaegerFixtures()
	app, _ := jaegerApp(f, nil)

	code, env, _ := jget(t, app, "/api/services")
	if code != 200 || string(env.Data) != `["checkout","frontend"]` || env.Total != 2 || env.Errors != nil {
		t.Errorf("services: %d %+v", code, env)
	}
	if w := f.windows[0]; w[1].Sub(w[0]) != jaegerCatalogLookback {
		t.Errorf("services window %v", w)
	}

	code, env, _ = jget(t, app, "/api/services/my%20shop%2Fcheckout/operations")
	if code != 200 || string(env.Data) != `["GET /cart","SELECT orders","work"]` || env.Total != 3 {
		t.Errorf("legacy operations: %d %s %+v", code, env.Data, env)
	}
	if q := f.opQueries[0]; q.Service != "my shop/checkout" || q.Kind != "" {
		t.Errorf("legacy operations query: %+v", q)
	}

	code, env, _ = jget(t, app, "/api/operations?service=checkout&spanKind=server")
	want := `[{"name":"GET /cart","spanKind":"server"},{"name":"GET /cart","spanKind":"internal"},{"name":"SELECT orders","spanKind":"client"},{"name":"work","spanKind":""}]`
	if code != 200 || string(env.Data) != want || env.Total != 4 {
		t.Errorf("operations: %d %s", code, env.Data)
	}
	if q := f.opQueries[1]; q.Service != "checkout" || q.Kind != "server" {
		t.Errorf("operations query: %+v", q)
	}

	for _, target := range []string{"/api/operations", "/api/operations?service=a&spanKind=sideways"} {
		code, env, _ = jget(t, app, target)
		if code != 400 || string(env.Data) != "null" || len(env.Errors) != 1 || env.Errors[0].Code != 400 || env.Errors[0].Msg == "" {
			t.Errorf("%s: %d %+v", target, code, env)
		}
	}
}

func TestJaegerTraceModel(t *testing.T) {
	t.Parallel()
	f := jaegerFixtures()
	app, _ := jaegerApp(f, nil)
	code, env, _ := jget(t, app, "/api/traces/"+fixtureTraceID)
	if code != 200 || env.Total != 1 || env.Errors != nil {
		t.Fatalf("trace: %d %+v", code, env)
	}
	var data []json.RawMessage
	if err := json.Unmarshal(env.Data, &data); err != nil || len(data) != 1 {
		t.Fatalf("data: %s", env.Data)
	}
	tr := validateJaegerTrace(t, data[0])
	if tr.TraceID != fixtureTraceID || len(tr.Spans) != 3 || len(tr.Processes) != 2 {
		t.Fatalf("trace: %+v", tr)
	}
	root, child, proxy := tr.Spans[0], tr.Spans[1], tr.Spans[2]
	start := time.Date(2026, 11, 26, 2, 18, 37, 840724804, time.UTC)
	if root.SpanID != "eee19b7ec3c1b174" || root.OperationName != "GET /cart" || root.StartTime != uint64(start.UnixMicro()) ||
		root.Duration != 50000 {
		t.Errorf("root: %+v", root)
	}
	// Processes: service.name is the serviceName, not a tag; other resource
	// attributes are tags; equal resources share a process.
	p1 := tr.Processes[root.ProcessID]
	if p1.ServiceName != "checkout" || fmt.Sprint(p1.Tags) != "[{host.cpus int64 2}]" || child.ProcessID != root.ProcessID {
		t.Errorf("process of root: %s %+v (child %s)", root.ProcessID, p1, child.ProcessID)
	}
	if p := tr.Processes[proxy.ProcessID]; p.ServiceName != "postgres-proxy" || fmt.Sprint(p.Tags) != "[{host.name string db1}]" || proxy.ProcessID == root.ProcessID {
		t.Errorf("process of proxy: %+v", p)
	}
	// References: the parent is CHILD_OF, links FOLLOWS_FROM.
	if fmt.Sprint(root.References) != "[{FOLLOWS_FROM 0af7651916cd43dd8448eb211c80319c b7ad6b7169203331}]" {
		t.Errorf("root references: %+v", root.References)
	}
	if fmt.Sprint(child.References) != "[{CHILD_OF "+fixtureTraceID+" eee19b7ec3c1b174}]" {
		t.Errorf("child references: %+v", child.References)
	}
	tags := func(sp jSpan) map[string]string {
		out := map[string]string{}
		for _, kv := range sp.Tags {
			out[kv.Key] = fmt.Sprintf("%s:%v", kv.Type, kv.Value)
		}
		return out
	}
	wantRoot := map[string]string{
		"otel.scope.name": "string:io.opentelemetry.http", "otel.scope.version": "string:1.2.3",
		"x": "string:y", "http.response.status_code": "int64:200", "ratio": "float64:0.25", "ok": "bool:true",
		"tags": `string:["a","b"]`, "m": `string:{"k":1}`, "blob": "binary:AAAwOQ==", "big": "int64:9007199254740993",
		"nan": "string:NaN", "integral.double": "float64:2",
		"span.kind": "string:server", "otel.status_code": "string:OK", "w3c.tracestate": "string:vendor=1",
	}
	if got := tags(root); fmt.Sprint(got) != fmt.Sprint(wantRoot) {
		t.Errorf("root tags:\n got %v\nwant %v", got, wantRoot)
	}
	wantChild := map[string]string{"db.system": "string:postgresql", "span.kind": "string:client",
		"otel.status_code": "string:ERROR", "error": "bool:true", "otel.status_description": "string:deadlock detected"}
	if got := tags(child); fmt.Sprint(got) != fmt.Sprint(wantChild) {
		t.Errorf("child tags:\n got %v\nwant %v", got, wantChild)
	}
	if len(root.Logs) != 1 || root.Logs[0].Timestamp != uint64(start.UnixMicro()+1) ||
		fmt.Sprint(root.Logs[0].Fields) != "[{event string ev} {a bool true}]" {
		t.Errorf("logs: %+v", root.Logs)
	}
	if len(tags(proxy)) != 2 { // span.kind and db.system only: no status tags when unset
		t.Errorf("proxy tags: %v", tags(proxy))
	}

	// A 64-bit (Zipkin) trace id: 16 hex characters are left-padded.
	code, env, _ = jget(t, app, "/api/traces/5af7183fb1d4cf5f")
	if code != 200 {
		t.Fatalf("16-hex trace id: %d %+v", code, env)
	}
	_ = json.Unmarshal(env.Data, &data)
	if zt := validateJaegerTrace(t, data[0]); zt.TraceID != "00000000000000005af7183fb1d4cf5f" || zt.Spans[0].StartTime != 1556604172355737 || zt.Spans[0].Duration != 1431 {
		t.Errorf("zipkin trace: %+v", zt)
	}

	code, env, _ = jget(t, app, "/api/traces/0af7651916cd43dd8448eb211c80319c")
	if code != 404 || len(env.Errors) != 1 || env.Errors[0].Code != 404 || !strings.Contains(env.Errors[0].Msg, "trace not found") {
		t.Errorf("unknown trace: %d %+v", code, env)
	}
	code, env, _ = jget(t, app, "/api/traces/xyz")
	if code != 400 || len(env.Errors) != 1 || !strings.Contains(env.Errors[0].Msg, "traceID") {
		t.Errorf("bad trace id: %d %+v", code, env)
	}
}

func TestJaegerSearch(t *testing.T) {
	t.Parallel()
	f := jaegerFixtures()
	app, _ := jaegerApp(f, nil)
	q := url.Values{
		"service": {"checkout"}, "operation": {"GET /cart"}, "limit": {"20"},
		"start": {"1795659000000000"}, "end": {"1795660000000000"}, "lookback": {"1h"},
		"minDuration": {"1.2s"}, "maxDuration": {"2m"},
		"tags": {`{"http.response.status_code":"200","error":true,"retries":3}`},
		"tag":  {"region:eu:west"},
	}
	code, env, _ := jget(t, app, "/api/traces?"+q.Encode())
	if code != 200 || env.Total != 1 || env.Limit != 20 || env.Errors != nil {
		t.Fatalf("search: %d %+v", code, env)
	}
	var data []json.RawMessage
	_ = json.Unmarshal(env.Data, &data)
	if len(data) != 1 {
		t.Fatalf("data: %s", env.Data)
	}
	validateJaegerTrace(t, data[0])
	s := f.searches[0]
	wantTags := map[string]string{"http.response.status_code": "200", "error": "true", "retries": "3", "region": "eu:west"}
	if s.Service != "checkout" || s.Operation != "GET /cart" || s.Limit != 20 || s.MinDuration != 1200*time.Millisecond ||
		s.MaxDuration != 2*time.Minute || fmt.Sprint(s.Tags) != fmt.Sprint(wantTags) ||
		!s.From.Equal(time.UnixMicro(1795659000000000)) || !s.To.Equal(time.UnixMicro(1795660000000000)) {
		t.Errorf("parsed search: %+v", s)
	}

	// logfmt tags (as typed in Grafana), a lookback without start, defaults.
	code, _, _ = jget(t, app, "/api/traces?service=checkout&lookback=2d&tags="+url.QueryEscape(`error=true http.route="/cart/{id}" cache.hit`))
	if code != 200 {
		t.Fatalf("logfmt search: %d", code)
	}
	s = f.searches[1]
	if fmt.Sprint(s.Tags) != `map[cache.hit: error:true http.route:/cart/{id}]` || s.To.Sub(s.From) != 48*time.Hour || s.Limit != jaegerDefaultLimit {
		t.Errorf("logfmt search: %+v", s)
	}
	code, _, _ = jget(t, app, "/api/traces?service=checkout&limit=100000")
	if code != 200 || f.searches[2].Limit != storage.MaxSpanSearchLimit {
		t.Errorf("limit clamp: %d %+v", code, f.searches[2])
	}

	// traceID parameters: the other filters are ignored; unknown ids are
	// reported in errors.
	n := len(f.searches)
	code, env, _ = jget(t, app, "/api/traces?service=x&traceID="+fixtureTraceID+"&traceID=0af7651916cd43dd8448eb211c80319c")
	if code != 200 || env.Total != 1 || len(env.Errors) != 1 || env.Errors[0].TraceID != "0af7651916cd43dd8448eb211c80319c" || len(f.searches) != n {
		t.Errorf("by traceID: %d %+v", code, env)
	}

	for _, bad := range []string{
		"minDuration=fast", "maxDuration=-1s", "minDuration=2s&maxDuration=1s", "start=yesterday", "end=x",
		"limit=-1", "lookback=forever", `tags={"a":`, `tags={"a":{"b":1}}`, "tag=novalue", `tags=a="unterminated`,
		"start=1795660000000001&end=1795660000000000",
	} {
		code, env, _ := jget(t, app, "/api/traces?service=checkout&"+bad)
		if code != 400 || len(env.Errors) != 1 || env.Errors[0].Code != 400 {
			t.Errorf("%s: %d %+v", bad, code, env)
		}
	}
}

func TestJaegerDependencies(t *testing.T) {
	t.Parallel()
	f := jaegerFixtures()
	f.edges = append(f.edges,
		storage.EdgeStats{Source: "frontend", SourceKind: "service", Target: "checkout", TargetKind: "service", Calls: 7},
		storage.EdgeStats{Source: "frontend", SourceKind: "", Target: "checkout", TargetKind: "", Calls: 1})
	app, _ := jaegerApp(f, nil)
	code, env, _ := jget(t, app, "/api/dependencies?endTs=1795660000000&lookback=3600000")
	want := `[{"parent":"checkout","child":"database:postgresql/shop","callCount":5},{"parent":"frontend","child":"checkout","callCount":8}]`
	if code != 200 || string(env.Data) != want {
		t.Errorf("dependencies: %d %s", code, env.Data)
	}
	w := f.windows[len(f.windows)-1]
	if !w[1].Equal(time.UnixMilli(1795660000000)) || w[1].Sub(w[0]) != time.Hour {
		t.Errorf("window %v", w)
	}
	jget(t, app, "/api/dependencies")
	if w := f.windows[len(f.windows)-1]; w[1].Sub(w[0]) != 24*time.Hour {
		t.Errorf("default lookback %v", w[1].Sub(w[0]))
	}
	for _, bad := range []string{"endTs=soon", "lookback=0", "lookback=1h"} {
		if code, _, _ := jget(t, app, "/api/dependencies?"+bad); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
}

func TestJaegerErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int
	}{
		{errors.New("clickhouse: boom"), 500},
		{fmt.Errorf("query: %w", context.DeadlineExceeded), 503},
	} {
		f := jaegerFixtures()
		f.err = tc.err
		app, _ := jaegerApp(f, nil)
		for _, target := range []string{"/api/services", "/api/operations?service=a", "/api/services/a/operations",
			"/api/traces?service=a", "/api/traces/" + fixtureTraceID, "/api/dependencies"} {
			code, env, _ := jget(t, app, target)
			if code != tc.status || len(env.Errors) != 1 || env.Errors[0].Code != tc.status || string(env.Data) != "null" {
				t.Errorf("%v %s: %d %+v", tc.err, target, code, env)
			}
		}
	}
}

func TestJaegerNotMountedWithoutReader(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	app := fiber.New()
	s.mountJaeger(app, nil)
	s.mountZipkin(app, nil)
	if len(app.GetRoutes(true)) != 0 {
		t.Fatalf("routes mounted without a reader: %v", app.GetRoutes(true))
	}
}

type zipkinSink struct {
	mu    sync.Mutex
	spans []storage.Span
	err   error
}

func (z *zipkinSink) Enqueue(_ context.Context, batch *storage.SpanBatch) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.err != nil {
		return z.err
	}
	for i := range batch.Len() {
		z.spans = append(z.spans, batch.Span(i))
	}
	return nil
}

// TestZipkinThroughFiber sends Zipkin's documentation example through the
// fiber adaptor to the real ingest handler.
func TestZipkinThroughFiber(t *testing.T) {
	t.Parallel()
	sink := &zipkinSink{}
	cfg := ingest.NewDefaultConfig()
	recv, err := ingest.New(cfg, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := jaegerApp(jaegerFixtures(), recv.ZipkinHandler())
	post := func(body, ct string) (int, string, http.Header) {
		req := httptest.NewRequest(http.MethodPost, "/api/v2/spans", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := app.Test(req, 5000)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	example := `[{"id":"352bff9a74ca9ad2","traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","name":"get /api",
		"timestamp":1556604172355737,"duration":1431,"kind":"SERVER",
		"localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":3306},
		"remoteEndpoint":{"ipv4":"172.19.0.2","port":58648},"tags":{"http.method":"GET","http.path":"/api"}}]`
	if code, body, _ := post(example, "application/json"); code != http.StatusAccepted || body != "" {
		t.Fatalf("docs example: %d %q", code, body)
	}
	sink.mu.Lock()
	got := sink.spans
	sink.mu.Unlock()
	if len(got) != 1 || got[0].Service != "backend" || hex.EncodeToString(got[0].TraceID[:]) != "00000000000000005af7183fb1d4cf5f" {
		t.Fatalf("stored: %+v", got)
	}
	if code, body, _ := post(`[{"traceId":`, "application/json"); code != 400 || !strings.Contains(body, "malformed JSON") {
		t.Errorf("bad JSON: %d %q", code, body)
	}
	sink.mu.Lock()
	sink.err = storage.ErrQueueFull
	sink.mu.Unlock()
	if code, _, hdr := post(example, "application/json"); code != 503 || hdr.Get("Retry-After") != "1" {
		t.Errorf("queue full: %d %v", code, hdr)
	}
}
