package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// TestEcosystemIntegrations drives the integrations the way their clients
// do: a trace sent over OTLP read back through the Jaeger query API (what
// Jaeger UI and Grafana's Jaeger data source call) and checked against
// Jaeger's JSON model; Zipkin's documentation example posted to the Zipkin
// v2 endpoint on the API address, stored and drawn on the service graph;
// the RED series on /metrics compared with the API's numbers; and the
// OpenAPI document served at /api/v1/openapi.json.
func TestEcosystemIntegrations(t *testing.T) {
	cfg := writeConfig(t, "analysis:\n  idle: 1s\n  window: 1s\n  interval: 200ms\n"+
		"metrics:\n  max_series: 1000\n  dimensions: [http.request.method]\n")
	srv := startServer(t, serverOpts{extra: []string{"--config", cfg}})
	testStart := time.Now()

	otlp := sendOTLPTrace(t, srv)
	t.Run("jaeger", func(t *testing.T) { checkJaeger(t, srv, otlp) })
	t.Run("zipkin", func(t *testing.T) { checkZipkin(t, srv) })
	t.Run("dependencies", func(t *testing.T) {
		q := url.Values{"endTs": {fmt.Sprint(time.Now().Add(time.Minute).UnixMilli())}, "lookback": {"3600000"}}
		var env jaegerEnvelope
		if code := srv.getJSON(t, "/api/dependencies?"+q.Encode(), &env); code != 200 {
			t.Fatalf("dependencies: %d", code)
		}
		var links []struct {
			Parent, Child string
			CallCount     int
		}
		if err := json.Unmarshal(env.Data, &links); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, l := range links {
			got[l.Parent+" -> "+l.Child] = l.CallCount
		}
		if got["frontend -> payments"] != 1 || got["frontend -> backend"] != 1 {
			t.Errorf("dependencies: %v", got)
		}
	})
	t.Run("metrics", func(t *testing.T) { checkREDMetrics(t, srv, testStart) })
	t.Run("openapi", func(t *testing.T) {
		var doc map[string]any
		if code := srv.getJSON(t, "/api/v1/openapi.json", &doc); code != 200 {
			t.Fatalf("openapi.json: %d", code)
		}
		paths, _ := doc["paths"].(map[string]any)
		if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") || paths["/traces/{trace_id}"] == nil || paths["/servicegraph"] == nil {
			t.Errorf("openapi.json: version %v, paths %v", doc["openapi"], paths)
		}
	})
}

// otlpTrace is what sendOTLPTrace sent.
type otlpTrace struct {
	traceID, linkedTraceID             string
	rootID, clientID, serverID, linkID string
	base                               time.Time
}

// sendOTLPTrace sends, over OTLP/HTTP protobuf, frontend GET /checkout
// (SERVER) → POST /pay (CLIENT, failed) → payments POST /pay (SERVER,
// failed), and in a second trace a ledger CONSUMER span linked to the root.
func sendOTLPTrace(t *testing.T, srv *server) otlpTrace {
	t.Helper()
	ids := func(n int) []byte {
		b, _ := hex.DecodeString(randomHex(n))
		return b
	}
	o := otlpTrace{base: time.Now().Add(-3 * time.Second).Truncate(time.Microsecond)}
	var tid, tid2 pcommon.TraceID
	copy(tid[:], ids(16))
	copy(tid2[:], ids(16))
	var root, client, server, link pcommon.SpanID
	for _, s := range []*pcommon.SpanID{&root, &client, &server, &link} {
		copy(s[:], ids(8))
	}
	o.traceID, o.linkedTraceID = hex.EncodeToString(tid[:]), hex.EncodeToString(tid2[:])
	o.rootID, o.clientID, o.serverID, o.linkID = hex.EncodeToString(root[:]), hex.EncodeToString(client[:]),
		hex.EncodeToString(server[:]), hex.EncodeToString(link[:])

	td := ptrace.NewTraces()
	resource := func(service string) ptrace.SpanSlice {
		rs := td.ResourceSpans().AppendEmpty()
		a := rs.Resource().Attributes()
		a.PutStr("service.name", service)
		a.PutStr("deployment.environment", "e2e")
		a.PutInt("host.cpus", 4)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("e2e-ecosystem")
		ss.Scope().SetVersion("0.1.0")
		return ss.Spans()
	}
	at := func(d time.Duration) pcommon.Timestamp { return pcommon.NewTimestampFromTime(o.base.Add(d)) }
	fe := resource("frontend")
	s := fe.AppendEmpty()
	s.SetTraceID(tid)
	s.SetSpanID(root)
	s.SetName("GET /checkout")
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(at(0))
	s.SetEndTimestamp(at(120 * time.Millisecond))
	s.TraceState().FromRaw("vendor=e2e")
	a := s.Attributes()
	a.PutStr("http.request.method", "GET")
	a.PutInt("http.response.status_code", 200)
	a.PutDouble("ratio", 0.25)
	a.PutBool("cache.hit", false)
	a.PutEmptyBytes("payload").FromRaw([]byte{0, 0, 48, 57})
	a.PutEmptySlice("tags").FromRaw([]any{"a", "b"})
	ev := s.Events().AppendEmpty()
	ev.SetName("cart.loaded")
	ev.SetTimestamp(at(5 * time.Millisecond))
	ev.Attributes().PutInt("items", 3)

	s = fe.AppendEmpty()
	s.SetTraceID(tid)
	s.SetSpanID(client)
	s.SetParentSpanID(root)
	s.SetName("POST /pay")
	s.SetKind(ptrace.SpanKindClient)
	s.SetStartTimestamp(at(10 * time.Millisecond))
	s.SetEndTimestamp(at(60 * time.Millisecond))
	s.Attributes().PutStr("http.request.method", "POST")
	s.Status().SetCode(ptrace.StatusCodeError)
	s.Status().SetMessage("card declined")

	s = resource("payments").AppendEmpty()
	s.SetTraceID(tid)
	s.SetSpanID(server)
	s.SetParentSpanID(client)
	s.SetName("POST /pay")
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(at(11 * time.Millisecond))
	s.SetEndTimestamp(at(59*time.Millisecond + 500*time.Microsecond))
	s.Attributes().PutStr("http.request.method", "POST")
	s.Status().SetCode(ptrace.StatusCodeError)

	s = resource("ledger").AppendEmpty()
	s.SetTraceID(tid2)
	s.SetSpanID(link)
	s.SetName("record payment")
	s.SetKind(ptrace.SpanKindConsumer)
	s.SetStartTimestamp(at(200 * time.Millisecond))
	s.SetEndTimestamp(at(230 * time.Millisecond))
	l := s.Links().AppendEmpty()
	l.SetTraceID(tid)
	l.SetSpanID(root)

	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	if code, resp, _ := postOTLP(t, srv.otlpHTTP, "application/x-protobuf", body, nil); code != http.StatusOK {
		t.Fatalf("OTLP export: %d %s", code, resp)
	}
	srv.waitTrace(t, o.traceID, 3)
	srv.waitTrace(t, o.linkedTraceID, 1)
	return o
}

// Jaeger's UI model (jaeger internal/uimodel), decoded strictly.
type jaegerEnvelope struct {
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

type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
	Warnings  []string                 `json:"warnings"`
}

type jaegerSpan struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	ParentSpanID  string      `json:"parentSpanID,omitempty"`
	Flags         uint32      `json:"flags,omitempty"`
	OperationName string      `json:"operationName"`
	References    []jaegerRef `json:"references"`
	StartTime     uint64      `json:"startTime"`
	Duration      uint64      `json:"duration"`
	Tags          []jaegerKV  `json:"tags"`
	Logs          []jaegerLog `json:"logs"`
	ProcessID     string      `json:"processID"`
	Warnings      []string    `json:"warnings"`
}

type jaegerRef struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type jaegerProcess struct {
	ServiceName string     `json:"serviceName"`
	Tags        []jaegerKV `json:"tags"`
}

type jaegerLog struct {
	Timestamp uint64     `json:"timestamp"`
	Fields    []jaegerKV `json:"fields"`
}

type jaegerKV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// jaegerGet GETs a Jaeger API path and decodes the envelope strictly.
func jaegerGet(t *testing.T, srv *server, path string) (int, jaegerEnvelope) {
	t.Helper()
	resp, err := http.Get("http://" + srv.apiAddr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env jaegerEnvelope
	if err := strictJSON(b, &env); err != nil {
		t.Fatalf("GET %s: not Jaeger's envelope: %v: %s", path, err, b)
	}
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(b, &keys)
	for _, k := range []string{"data", "total", "limit", "offset", "errors"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("GET %s: envelope field %q missing", path, k)
		}
	}
	return resp.StatusCode, env
}

func strictJSON(b []byte, v any) error {
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

var (
	hex32RE = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hex16RE = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// jaegerTraces decodes the data of a traces response and checks each trace
// against Jaeger's model: ids, required arrays, reference types, process
// map, and that every tag's value has its declared type.
func jaegerTraces(t *testing.T, env jaegerEnvelope) []jaegerTrace {
	t.Helper()
	var raw []json.RawMessage
	if err := json.Unmarshal(env.Data, &raw); err != nil {
		t.Fatalf("data is not an array of traces: %s", env.Data)
	}
	out := make([]jaegerTrace, 0, len(raw))
	for _, r := range raw {
		var tr jaegerTrace
		if err := strictJSON(r, &tr); err != nil {
			t.Fatalf("trace does not decode as Jaeger's model: %v: %s", err, r)
		}
		if !hex32RE.MatchString(tr.TraceID) || len(tr.Processes) == 0 {
			t.Errorf("trace %s: processes %v", tr.TraceID, tr.Processes)
		}
		checkKV := func(where string, kv jaegerKV) {
			ok := false
			switch kv.Type {
			case "string":
				_, ok = kv.Value.(string)
			case "bool":
				_, ok = kv.Value.(bool)
			case "int64":
				n, isNum := kv.Value.(json.Number)
				ok = isNum && !strings.ContainsAny(n.String(), ".eE")
			case "float64":
				_, ok = kv.Value.(json.Number)
			case "binary":
				s, isStr := kv.Value.(string)
				_, err := base64.StdEncoding.DecodeString(s)
				ok = isStr && err == nil
			}
			if !ok {
				t.Errorf("%s: tag %s: type %q with value %#v", where, kv.Key, kv.Type, kv.Value)
			}
		}
		for pid, p := range tr.Processes {
			for _, kv := range p.Tags {
				checkKV("process "+pid, kv)
			}
		}
		for _, sp := range tr.Spans {
			where := "span " + sp.SpanID
			if sp.TraceID != tr.TraceID || !hex16RE.MatchString(sp.SpanID) || sp.References == nil || sp.Tags == nil || sp.Logs == nil {
				t.Errorf("%s: %+v", where, sp)
			}
			if _, ok := tr.Processes[sp.ProcessID]; !ok {
				t.Errorf("%s: processID %q not in processes", where, sp.ProcessID)
			}
			for _, r := range sp.References {
				if (r.RefType != "CHILD_OF" && r.RefType != "FOLLOWS_FROM") || !hex32RE.MatchString(r.TraceID) || !hex16RE.MatchString(r.SpanID) {
					t.Errorf("%s: reference %+v", where, r)
				}
			}
			for _, kv := range sp.Tags {
				checkKV(where, kv)
			}
			for _, l := range sp.Logs {
				for _, kv := range l.Fields {
					checkKV(where+" log", kv)
				}
			}
		}
		out = append(out, tr)
	}
	return out
}

func tagMap(kvs []jaegerKV) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		out[kv.Key] = fmt.Sprintf("%s:%v", kv.Type, kv.Value)
	}
	return out
}

func checkJaeger(t *testing.T, srv *server, o otlpTrace) {
	var names []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, env := jaegerGet(t, srv, "/api/services")
		names = nil
		_ = json.Unmarshal(env.Data, &names)
		if code == 200 && strings.Contains(strings.Join(names, ","), "frontend,ledger,payments") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/api/services: %d %v", code, names)
		}
		time.Sleep(200 * time.Millisecond)
	}

	code, env := jaegerGet(t, srv, "/api/services/frontend/operations")
	if code != 200 || string(env.Data) != `["GET /checkout","POST /pay"]` || env.Total != 2 {
		t.Errorf("operations of frontend: %d %s", code, env.Data)
	}
	code, env = jaegerGet(t, srv, "/api/operations?service=frontend&spanKind=client")
	if code != 200 || string(env.Data) != `[{"name":"POST /pay","spanKind":"client"}]` {
		t.Errorf("client operations of frontend: %d %s", code, env.Data)
	}

	code, env = jaegerGet(t, srv, "/api/traces/"+o.traceID)
	if code != 200 {
		t.Fatalf("trace: %d %+v", code, env)
	}
	trs := jaegerTraces(t, env)
	if len(trs) != 1 || trs[0].TraceID != o.traceID || len(trs[0].Spans) != 3 {
		t.Fatalf("trace: %+v", trs)
	}
	tr := trs[0]
	byID := map[string]jaegerSpan{}
	for _, sp := range tr.Spans {
		byID[sp.SpanID] = sp
	}
	root, client, server := byID[o.rootID], byID[o.clientID], byID[o.serverID]
	// Microseconds, exactly the nanoseconds sent divided by 1000.
	if root.StartTime != uint64(o.base.UnixMicro()) || root.Duration != 120000 || client.StartTime != uint64(o.base.UnixMicro())+10000 ||
		client.Duration != 50000 || server.Duration != 48500 {
		t.Errorf("times: root %d+%d client %d+%d server %d", root.StartTime, root.Duration, client.StartTime, client.Duration, server.Duration)
	}
	// The process map: one process per resource, service.name as serviceName.
	pf, pp := tr.Processes[root.ProcessID], tr.Processes[server.ProcessID]
	if pf.ServiceName != "frontend" || pp.ServiceName != "payments" || client.ProcessID != root.ProcessID || len(tr.Processes) != 2 {
		t.Errorf("processes: %+v (root %s client %s server %s)", tr.Processes, root.ProcessID, client.ProcessID, server.ProcessID)
	}
	if got := tagMap(pf.Tags); fmt.Sprint(got) != "map[deployment.environment:string:e2e host.cpus:int64:4]" {
		t.Errorf("process tags: %v", got)
	}
	if len(root.References) != 0 || fmt.Sprint(client.References) != fmt.Sprintf("[{CHILD_OF %s %s}]", o.traceID, o.rootID) ||
		fmt.Sprint(server.References) != fmt.Sprintf("[{CHILD_OF %s %s}]", o.traceID, o.clientID) {
		t.Errorf("references: root %v client %v server %v", root.References, client.References, server.References)
	}
	wantRoot := map[string]string{
		"otel.scope.name": "string:e2e-ecosystem", "otel.scope.version": "string:0.1.0",
		"http.request.method": "string:GET", "http.response.status_code": "int64:200", "ratio": "float64:0.25",
		"cache.hit": "bool:false", "payload": "binary:AAAwOQ==", "tags": `string:["a","b"]`,
		"span.kind": "string:server", "w3c.tracestate": "string:vendor=e2e",
	}
	if got := tagMap(root.Tags); fmt.Sprint(got) != fmt.Sprint(wantRoot) {
		t.Errorf("root tags:\n got %v\nwant %v", got, wantRoot)
	}
	wantClient := map[string]string{"otel.scope.name": "string:e2e-ecosystem", "otel.scope.version": "string:0.1.0",
		"http.request.method": "string:POST", "span.kind": "string:client", "otel.status_code": "string:ERROR",
		"error": "bool:true", "otel.status_description": "string:card declined"}
	if got := tagMap(client.Tags); fmt.Sprint(got) != fmt.Sprint(wantClient) {
		t.Errorf("client tags:\n got %v\nwant %v", got, wantClient)
	}
	if len(root.Logs) != 1 || root.Logs[0].Timestamp != uint64(o.base.UnixMicro())+5000 ||
		fmt.Sprint(tagMap(root.Logs[0].Fields)) != "map[event:string:cart.loaded items:int64:3]" {
		t.Errorf("logs: %+v", root.Logs)
	}

	// The link becomes a FOLLOWS_FROM reference into the first trace.
	_, env = jaegerGet(t, srv, "/api/traces/"+o.linkedTraceID)
	if lt := jaegerTraces(t, env); len(lt) != 1 || fmt.Sprint(lt[0].Spans[0].References) != fmt.Sprintf("[{FOLLOWS_FROM %s %s}]", o.traceID, o.rootID) {
		t.Errorf("linked trace: %+v", lt)
	}

	// Search as Grafana does: service, operation, tags, durations, limit,
	// start/end in microseconds.
	search := func(extra url.Values) []jaegerTrace {
		t.Helper()
		q := url.Values{"service": {"frontend"}, "limit": {"20"},
			"start": {fmt.Sprint(o.base.Add(-time.Minute).UnixMicro())}, "end": {fmt.Sprint(time.Now().Add(time.Minute).UnixMicro())}}
		for k, v := range extra {
			q[k] = v
		}
		code, env := jaegerGet(t, srv, "/api/traces?"+q.Encode())
		if code != 200 {
			t.Fatalf("search %v: %d %+v", extra, code, env)
		}
		return jaegerTraces(t, env)
	}
	hit := func(trs []jaegerTrace) bool {
		for _, tr := range trs {
			if tr.TraceID == o.traceID {
				return len(tr.Spans) == 3
			}
		}
		return false
	}
	for _, tc := range []struct {
		params url.Values
		want   bool
	}{
		{url.Values{}, true},
		{url.Values{"operation": {"POST /pay"}, "tags": {`{"error":"true"}`}, "minDuration": {"10ms"}, "maxDuration": {"1.2s"}}, true},
		{url.Values{"tags": {`http.request.method=POST error=true`}}, true},                     // logfmt
		{url.Values{"tags": {`{"http.response.status_code":"200","cache.hit":"false"}`}}, true}, // typed values
		{url.Values{"tags": {`deployment.environment=e2e`}}, true},                              // resource attribute
		{url.Values{"tag": {"span.kind:client"}, "operation": {"POST /pay"}}, true},
		{url.Values{"operation": {"POST /pay"}, "minDuration": {"51ms"}}, false}, // the span lasts 50 ms
		{url.Values{"operation": {"GET /checkout"}, "tags": {`{"error":"true"}`}}, false},
		{url.Values{"tags": {`http.request.method=DELETE`}}, false},
	} {
		if got := hit(search(tc.params)); got != tc.want {
			t.Errorf("search %v: found %v, want %v", tc.params, got, tc.want)
		}
	}
}

// zipkinDocsExample is the example of Zipkin's API documentation
// (zipkin2-api.yaml, POST /api/v2/spans) with the timestamp moved to %d
// (the stored data expires after the retention), preceded by the frontend
// spans that called it: a SERVER root and the CLIENT span 6b221d5bc9e6496c
// that is the example's parent.
const zipkinDocsExample = `[
  {
    "id": "352bff9a74ca9ad2",
    "traceId": "5af7183fb1d4cf5f",
    "parentId": "6b221d5bc9e6496c",
    "name": "get /api",
    "timestamp": %d,
    "duration": 1431,
    "kind": "SERVER",
    "localEndpoint": {
      "serviceName": "backend",
      "ipv4": "192.168.99.1",
      "port": 3306
    },
    "remoteEndpoint": {
      "ipv4": "172.19.0.2",
      "port": 58648
    },
    "tags": {
      "http.method": "GET",
      "http.path": "/api"
    }
  }
]`

const zipkinFrontend = `[
  {"traceId": "5af7183fb1d4cf5f", "id": "1f2e3d4c5b6a7988", "name": "get /", "kind": "SERVER", "timestamp": %d, "duration": 5000,
   "localEndpoint": {"serviceName": "frontend"}, "tags": {"http.method": "GET"}},
  {"traceId": "5af7183fb1d4cf5f", "parentId": "1f2e3d4c5b6a7988", "id": "6b221d5bc9e6496c", "name": "get", "kind": "CLIENT",
   "timestamp": %d, "duration": 3000, "localEndpoint": {"serviceName": "frontend"}, "remoteEndpoint": {"serviceName": "backend"},
   "annotations": [{"timestamp": %d, "value": "wire.send"}], "tags": {"http.method": "GET", "http.path": "/api"}}
]`

func postZipkin(t *testing.T, srv *server, body []byte, headers map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+srv.apiAddr+"/api/v2/spans", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/v2/spans: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func checkZipkin(t *testing.T, srv *server) {
	ts := time.Now().Add(-2 * time.Second).UnixMicro()
	code, body, _ := postZipkin(t, srv, fmt.Appendf(nil, zipkinDocsExample, ts+1000), nil)
	if code != http.StatusAccepted {
		t.Fatalf("Zipkin docs example: %d %q", code, body)
	}
	code, body, _ = postZipkin(t, srv, gzipBytes(t, fmt.Appendf(nil, zipkinFrontend, ts, ts+500, ts+600)), map[string]string{"Content-Encoding": "gzip"})
	if code != http.StatusAccepted {
		t.Fatalf("Zipkin frontend spans (gzip): %d %q", code, body)
	}
	code, body, _ = postZipkin(t, srv, []byte(`[{"traceId": "5af7183fb1d4cf5f",`), nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "malformed JSON") {
		t.Errorf("bad JSON: %d %q", code, body)
	}

	// Stored: a 64-bit trace id is padded to 32 hex characters.
	const traceID = "00000000000000005af7183fb1d4cf5f"
	tr := srv.waitTrace(t, traceID, 3)
	var backend apiSpan
	for _, sp := range tr.Spans {
		if sp.Service == "backend" {
			backend = sp
		}
	}
	if backend.SpanID != "352bff9a74ca9ad2" || backend.ParentSpanID != "6b221d5bc9e6496c" || backend.Kind != "server" ||
		backend.Name != "get /api" || backend.StartUnixNano != (ts+1000)*1000 || backend.DurationNs != 1431000 ||
		backend.Attributes["http.method"] != "GET" || backend.Attributes["http.path"] != "/api" ||
		backend.Attributes["network.local.address"] != "192.168.99.1" || backend.Attributes["network.peer.port"] != float64(58648) {
		t.Errorf("backend span: %+v", backend)
	}
	// Also visible through the Jaeger API, by its 16-hex id.
	if _, env := jaegerGet(t, srv, "/api/traces/5af7183fb1d4cf5f"); len(jaegerTraces(t, env)) != 1 {
		t.Errorf("zipkin trace through the Jaeger API: %s", env.Data)
	}

	// On the service graph, with the OTLP services.
	from, to := time.Now().Add(-10*time.Minute), time.Now().Add(time.Minute)
	var g apiGraph
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		g = srv.graph(t, from, to)
		c := edgeCounts(g)
		if c["frontend -> backend"] == "1/0" && c["frontend -> payments"] == "1/1" {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("service graph after Zipkin ingest: %v", edgeCounts(g))
}

// scrape parses /metrics.
func scrape(t *testing.T, srv *server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + srv.apiAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return mfs
}

// sumSeries adds the counter (or histogram count) of the series of family
// name whose labels include every label in match (a value may list
// alternatives separated by |).
func sumSeries(mfs map[string]*dto.MetricFamily, name string, match map[string]string) float64 {
	mf := mfs[name]
	if mf == nil {
		return 0
	}
	total := 0.0
series:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		for k, v := range match {
			ok := false
			for _, alt := range strings.Split(v, "|") {
				if labels[k] == alt {
					ok = true
				}
			}
			if !ok {
				continue series
			}
		}
		switch {
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetHistogram() != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// checkREDMetrics compares /metrics with /api/v1/services and
// /api/v1/servicegraph over a window holding everything this test sent
// (every root span is a SERVER or CONSUMER span, so requests are exactly
// the SERVER and CONSUMER spans).
func checkREDMetrics(t *testing.T, srv *server, since time.Time) {
	from, to := since.Add(-5*time.Minute), time.Now().Add(time.Minute)
	q := url.Values{"from": {fmt.Sprint(from.UnixMilli())}, "to": {fmt.Sprint(to.UnixMilli())}}
	var svcs struct {
		Services []struct {
			Name             string
			Requests, Errors float64
		} `json:"services"`
	}
	if code := srv.getJSON(t, "/api/v1/services?"+q.Encode(), &svcs); code != 200 || len(svcs.Services) == 0 {
		t.Fatalf("services: %d %+v", code, svcs)
	}
	g := srv.graph(t, from, to)
	mfs := scrape(t, srv)
	for _, name := range []string{"traces_span_metrics_calls_total", "traces_span_metrics_duration_seconds",
		"traces_service_graph_request_total", "traces_service_graph_request_failed_total", "traces_service_graph_request_server_seconds"} {
		if mfs[name] == nil {
			t.Fatalf("%s not exposed on /metrics", name)
		}
	}
	requestKinds := "SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"
	for _, s := range svcs.Services {
		calls := sumSeries(mfs, "traces_span_metrics_calls_total", map[string]string{"service_name": s.Name, "span_kind": requestKinds})
		errs := sumSeries(mfs, "traces_span_metrics_calls_total", map[string]string{"service_name": s.Name, "span_kind": requestKinds, "status_code": "STATUS_CODE_ERROR"})
		hist := sumSeries(mfs, "traces_span_metrics_duration_seconds", map[string]string{"service_name": s.Name, "span_kind": requestKinds})
		if calls != s.Requests || errs != s.Errors || hist != calls {
			t.Errorf("service %s: API requests/errors %v/%v, metrics calls/errors %v/%v (histogram count %v)", s.Name, s.Requests, s.Errors, calls, errs, hist)
		}
	}
	if len(g.Edges) == 0 {
		t.Fatal("no service-graph edges to compare")
	}
	for _, e := range g.Edges {
		match := map[string]string{"client": e.Source, "server": e.Target}
		total := sumSeries(mfs, "traces_service_graph_request_total", match)
		failed := sumSeries(mfs, "traces_service_graph_request_failed_total", match)
		hist := sumSeries(mfs, "traces_service_graph_request_server_seconds", match)
		if total != float64(e.Calls) || failed != float64(e.Errors) || hist != total {
			t.Errorf("edge %s -> %s: API calls/errors %v/%v, metrics %v/%v (histogram count %v)", e.Source, e.Target, e.Calls, e.Errors, total, failed, hist)
		}
	}
	// The configured dimension is a label.
	if n := sumSeries(mfs, "traces_span_metrics_calls_total", map[string]string{"service_name": "payments", "http_request_method": "POST"}); n != 1 {
		t.Errorf("payments calls with http_request_method=POST: %v, want 1", n)
	}
}
