package web

// The Jaeger query API: the HTTP JSON API that Jaeger UI and Grafana's
// Jaeger data source call, under /api (Jaeger's "internal" API, the one
// `jaeger-query` serves). Responses use Jaeger's envelope
//
//	{"data": …, "total": n, "limit": n, "offset": 0, "errors": null}
//
// and Jaeger's UI model (uimodel): traces with 32-hex traceID, spans with
// references, microsecond startTime/duration, typed tags, logs and a
// processID pointing into the trace's processes map. Spans are mapped from
// tracehound's OTLP-shaped rows the way the OpenTelemetry Collector's
// Jaeger translator maps OTLP: parent → CHILD_OF reference, links →
// FOLLOWS_FROM references, kind → span.kind tag, status → otel.status_code
// (+ error=true, otel.status_description), scope → otel.scope.name/version,
// resource → process tags, events → logs with an "event" field.
//
// The Zipkin v2 span upload (POST /api/v2/spans) is mounted here too: it
// shares the /api prefix and the API address.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/tracehound/tracehound/storage"
)

// JaegerReader is the part of storage the Jaeger query API reads.
// *storage.Store implements it. Implementations are safe for concurrent use.
type JaegerReader interface {
	ServiceNames(ctx context.Context, from, to time.Time) ([]string, error)
	Operations(ctx context.Context, q storage.OperationQuery) ([]storage.Operation, error)
	FindTraceIDs(ctx context.Context, q storage.SpanSearch) ([][16]byte, error)
	// LoadTraces returns the spans of each found trace, ordered by start.
	LoadTraces(ctx context.Context, ids [][16]byte) (map[[16]byte][]storage.Span, error)
	// GetTrace returns storage.ErrNotFound for an unknown trace.
	GetTrace(ctx context.Context, traceID [16]byte) ([]storage.Span, error)
	Edges(ctx context.Context, from, to time.Time) ([]storage.EdgeStats, error)
}

const (
	// jaegerCatalogLookback is the window of /api/services and the
	// operations endpoints (Jaeger's take no time range).
	jaegerCatalogLookback = 7 * 24 * time.Hour
	// jaegerSearchLookback is the search window when neither start nor
	// lookback is given (jaeger-query's default trace query lookback).
	jaegerSearchLookback = 48 * time.Hour
	// jaegerDefaultLimit is Jaeger's default number of traces.
	jaegerDefaultLimit = 100
	// jaegerDependencyLookback is Jaeger's default /api/dependencies lookback.
	jaegerDependencyLookback = 24 * time.Hour
	// jsMaxSafeInteger is the largest integer a JavaScript number holds
	// exactly; Jaeger sends larger int64 tag values as strings.
	jsMaxSafeInteger = int64(1)<<53 - 1
)

// mountJaeger serves the Jaeger query API on app; a nil jr mounts nothing.
func (s *Server) mountJaeger(app fiber.Router, jr JaegerReader) {
	if jr == nil {
		return
	}
	j := &jaegerAPI{jr: jr, timeout: s.opts.QueryTimeout, log: s.log.Warn, now: time.Now}
	app.Get("/api/services", j.handle(j.services))
	app.Get("/api/services/:service/operations", j.handle(j.serviceOperations))
	app.Get("/api/operations", j.handle(j.operations))
	app.Get("/api/traces", j.handle(j.findTraces))
	app.Get("/api/traces/:trace_id", j.handle(j.getTrace))
	app.Get("/api/dependencies", j.handle(j.dependencies))
}

// mountZipkin serves Zipkin's v2 span upload, POST /api/v2/spans, with h
// (ingest.Receiver.ZipkinHandler); a nil h mounts nothing. Zipkin reporters
// are pointed at the API address: http://tracehound:8080/api/v2/spans.
func (s *Server) mountZipkin(app fiber.Router, h http.Handler) {
	if h == nil {
		return
	}
	app.Post("/api/v2/spans", adaptor.HTTPHandler(h))
}

// jaegerAPI holds the Jaeger handlers' dependencies.
type jaegerAPI struct {
	jr      JaegerReader
	timeout time.Duration
	log     func(msg string, args ...any)
	now     func() time.Time
}

// jaegerResponse is Jaeger's structuredResponse envelope.
type jaegerResponse struct {
	Data   any           `json:"data"`
	Total  int           `json:"total"`
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`
	Errors []jaegerError `json:"errors"`
}

// jaegerError is Jaeger's structuredError.
type jaegerError struct {
	Code    int    `json:"code,omitempty"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

// handle adapts a Jaeger handler: it bounds the query time and maps errors
// to Jaeger's error envelope (and the same statuses as /api/v1).
func (j *jaegerAPI) handle(fn func(ctx context.Context, c *fiber.Ctx) (jaegerResponse, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), j.timeout)
		defer cancel()
		resp, err := fn(ctx, c)
		if err != nil {
			status := http.StatusInternalServerError
			var pe *paramError
			switch {
			case errors.As(err, &pe):
				status = http.StatusBadRequest
			case errors.Is(err, storage.ErrNotFound):
				status = http.StatusNotFound
			case errors.Is(err, context.DeadlineExceeded):
				status = http.StatusServiceUnavailable
			}
			if status >= 500 {
				j.log("Jaeger API request failed", "path", c.Path(), "err", err)
			}
			return c.Status(status).JSON(jaegerResponse{Errors: []jaegerError{{Code: status, Msg: err.Error()}}})
		}
		return c.JSON(resp)
	}
}

func (j *jaegerAPI) services(ctx context.Context, _ *fiber.Ctx) (jaegerResponse, error) {
	now := j.now()
	names, err := j.jr.ServiceNames(ctx, now.Add(-jaegerCatalogLookback), now)
	if err != nil {
		return jaegerResponse{}, err
	}
	if names == nil {
		names = []string{}
	}
	return jaegerResponse{Data: names, Total: len(names)}, nil
}

// serviceOperations is the legacy operations endpoint: span names only.
func (j *jaegerAPI) serviceOperations(ctx context.Context, c *fiber.Ctx) (jaegerResponse, error) {
	service, err := url.PathUnescape(strings.Clone(c.Params("service")))
	if err != nil || service == "" {
		return jaegerResponse{}, &paramError{"service", "want a URL-encoded service name"}
	}
	now := j.now()
	ops, err := j.jr.Operations(ctx, storage.OperationQuery{Service: service, From: now.Add(-jaegerCatalogLookback), To: now})
	if err != nil {
		return jaegerResponse{}, err
	}
	names := make([]string, 0, len(ops))
	for _, op := range ops {
		if len(names) == 0 || names[len(names)-1] != op.Name { // ops are sorted by name
			names = append(names, op.Name)
		}
	}
	return jaegerResponse{Data: names, Total: len(names)}, nil
}

type jaegerOperation struct {
	Name     string `json:"name"`
	SpanKind string `json:"spanKind"`
}

// jaegerKindNames are the spanKind values Jaeger uses ("" for unspecified).
var jaegerKindNames = map[string]bool{"": true, "server": true, "client": true, "producer": true, "consumer": true, "internal": true}

func (j *jaegerAPI) operations(ctx context.Context, c *fiber.Ctx) (jaegerResponse, error) {
	service := strings.Clone(c.Query("service"))
	if service == "" {
		return jaegerResponse{}, &paramError{"service", "required"}
	}
	kind := strings.ToLower(strings.Clone(c.Query("spanKind")))
	if !jaegerKindNames[kind] {
		return jaegerResponse{}, &paramError{"spanKind", "want server, client, producer, consumer or internal"}
	}
	now := j.now()
	ops, err := j.jr.Operations(ctx, storage.OperationQuery{Service: service, Kind: kind, From: now.Add(-jaegerCatalogLookback), To: now})
	if err != nil {
		return jaegerResponse{}, err
	}
	out := make([]jaegerOperation, 0, len(ops))
	for _, op := range ops {
		out = append(out, jaegerOperation{Name: op.Name, SpanKind: jaegerSpanKind(op.Kind)})
	}
	return jaegerResponse{Data: out, Total: len(out)}, nil
}

// jaegerSpanKind is the span.kind tag value of k ("" for unspecified).
func jaegerSpanKind(k storage.SpanKind) string {
	if k == storage.SpanKindUnspecified {
		return ""
	}
	return k.String()
}

func (j *jaegerAPI) findTraces(ctx context.Context, c *fiber.Ctx) (jaegerResponse, error) {
	args := c.Context().QueryArgs()
	var ids [][16]byte
	for _, v := range args.PeekMulti("traceID") {
		id, err := parseJaegerTraceID(string(v))
		if err != nil {
			return jaegerResponse{}, &paramError{"traceID", err.Error()}
		}
		ids = append(ids, id)
	}
	var multi []string
	for _, v := range args.PeekMulti("tag") {
		multi = append(multi, string(v))
	}
	var tagsJSON []string
	for _, v := range args.PeekMulti("tags") {
		tagsJSON = append(tagsJSON, string(v))
	}
	var (
		q   storage.SpanSearch
		err error
	)
	if len(ids) == 0 { // Jaeger ignores the other parameters when traceID is given
		q, err = parseJaegerSearch(c.Query, multi, tagsJSON, j.now())
		if err != nil {
			return jaegerResponse{}, err
		}
		if ids, err = j.jr.FindTraceIDs(ctx, q); err != nil {
			return jaegerResponse{}, err
		}
	}
	var byID map[[16]byte][]storage.Span
	if len(ids) > 0 {
		if byID, err = j.jr.LoadTraces(ctx, ids); err != nil {
			return jaegerResponse{}, err
		}
	}
	data := make([]jaegerTrace, 0, len(ids))
	var errs []jaegerError
	for _, id := range ids {
		spans := byID[id]
		if len(spans) == 0 {
			errs = append(errs, jaegerError{Code: http.StatusNotFound, Msg: "trace not found", TraceID: hex.EncodeToString(id[:])})
			continue
		}
		data = append(data, toJaegerTrace(id, spans))
	}
	return jaegerResponse{Data: data, Total: len(data), Limit: q.Limit, Errors: errs}, nil
}

func (j *jaegerAPI) getTrace(ctx context.Context, c *fiber.Ctx) (jaegerResponse, error) {
	id, err := parseJaegerTraceID(c.Params("trace_id"))
	if err != nil {
		return jaegerResponse{}, &paramError{"traceID", err.Error()}
	}
	spans, err := j.jr.GetTrace(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && len(spans) == 0) {
		return jaegerResponse{}, fmt.Errorf("trace not found: %w", storage.ErrNotFound)
	}
	if err != nil {
		return jaegerResponse{}, err
	}
	return jaegerResponse{Data: []jaegerTrace{toJaegerTrace(id, spans)}, Total: 1}, nil
}

type jaegerDependencyLink struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount uint64 `json:"callCount"`
}

// dependencies serves the service graph as Jaeger dependency links. Node
// names are the /api/v1/servicegraph node ids: the service name, or
// kind:name for databases, queues and external peers.
func (j *jaegerAPI) dependencies(ctx context.Context, c *fiber.Ctx) (jaegerResponse, error) {
	end := j.now()
	if v := c.Query("endTs"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return jaegerResponse{}, &paramError{"endTs", "want Unix milliseconds"}
		}
		end = time.UnixMilli(ms)
	}
	lookback := jaegerDependencyLookback
	if v := c.Query("lookback"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			return jaegerResponse{}, &paramError{"lookback", "want a positive number of milliseconds"}
		}
		lookback = time.Duration(ms) * time.Millisecond
	}
	edges, err := j.jr.Edges(ctx, end.Add(-lookback), end)
	if err != nil {
		return jaegerResponse{}, err
	}
	type pair struct{ p, c string }
	idx := map[pair]int{}
	out := make([]jaegerDependencyLink, 0, len(edges))
	for _, e := range edges {
		k := pair{nodeID(e.Source, e.SourceKind), nodeID(e.Target, e.TargetKind)}
		if i, ok := idx[k]; ok {
			out[i].CallCount += e.Calls
			continue
		}
		idx[k] = len(out)
		out = append(out, jaegerDependencyLink{Parent: k.p, Child: k.c, CallCount: e.Calls})
	}
	return jaegerResponse{Data: out, Total: len(out)}, nil
}

// parseJaegerTraceID accepts 1 to 32 hex characters, left-padded with
// zeros as Jaeger does (a 64-bit Zipkin id is 16 characters).
func parseJaegerTraceID(v string) ([16]byte, error) {
	var id [16]byte
	if len(v) == 0 || len(v) > 32 {
		return id, errors.New("want 1 to 32 hex characters")
	}
	padded := strings.Repeat("0", 32-len(v)) + strings.ToLower(v)
	if _, err := hex.Decode(id[:], []byte(padded)); err != nil {
		return id, errors.New("want 1 to 32 hex characters")
	}
	if id == ([16]byte{}) {
		return id, errors.New("must not be all zero")
	}
	return id, nil
}

// parseJaegerSearch reads the /api/traces search parameters: service,
// operation, tag (key:value, repeatable), tags (a JSON object, or logfmt
// key=value pairs), minDuration/maxDuration (Go duration strings such as
// "1.2s" or "100ms"), limit, start/end (Unix microseconds) and lookback
// (used when start is absent: "1h", "2d", …; "custom" is ignored).
func parseJaegerSearch(get func(string, ...string) string, tag, tags []string, now time.Time) (storage.SpanSearch, error) {
	// fiber's strings are only valid during the request: copy what the
	// query keeps.
	q := storage.SpanSearch{Service: strings.Clone(get("service")), Operation: strings.Clone(get("operation")), Limit: jaegerDefaultLimit}
	q.To = now
	if v := get("end"); v != "" {
		us, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return q, &paramError{"end", "want Unix microseconds"}
		}
		q.To = time.UnixMicro(us)
	}
	q.From = q.To.Add(-jaegerSearchLookback)
	if v := get("lookback"); v != "" && v != "custom" {
		d, err := parseJaegerLookback(v)
		if err != nil {
			return q, &paramError{"lookback", err.Error()}
		}
		q.From = q.To.Add(-d)
	}
	if v := get("start"); v != "" {
		us, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return q, &paramError{"start", "want Unix microseconds"}
		}
		q.From = time.UnixMicro(us)
	}
	if q.From.After(q.To) {
		return q, &paramError{"start", "must not be after end"}
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, &paramError{"limit", "want a non-negative integer"}
		}
		if n > 0 {
			q.Limit = min(n, storage.MaxSpanSearchLimit)
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Duration
	}{{"minDuration", &q.MinDuration}, {"maxDuration", &q.MaxDuration}} {
		v := get(p.name)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(strings.ReplaceAll(v, " ", ""))
		if err != nil || d < 0 {
			return q, &paramError{p.name, `want a duration such as "100ms", "1.2s" or "2m" (units ns, us, µs, ms, s, m, h)`}
		}
		*p.dst = d
	}
	if q.MinDuration > 0 && q.MaxDuration > 0 && q.MaxDuration < q.MinDuration {
		return q, &paramError{"maxDuration", "'maxDuration' should be greater than 'minDuration'"}
	}
	t, err := parseJaegerTags(tag, tags)
	if err != nil {
		return q, err
	}
	q.Tags = t
	return q, nil
}

// parseJaegerLookback reads a Jaeger UI lookback: a Go duration or a whole
// number of days ("2d") or weeks ("1w").
func parseJaegerLookback(v string) (time.Duration, error) {
	if n := len(v); n > 1 && (v[n-1] == 'd' || v[n-1] == 'w') {
		k, err := strconv.Atoi(v[:n-1])
		if err == nil && k > 0 {
			unit := 24 * time.Hour
			if v[n-1] == 'w' {
				unit *= 7
			}
			return time.Duration(k) * unit, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errors.New(`want a duration such as "1h", "2d" or "custom"`)
	}
	return d, nil
}

// parseJaegerTags merges the tag (key:value) and tags (JSON object or logfmt)
// parameters.
func parseJaegerTags(tag, tags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, t := range tag {
		k, v, ok := strings.Cut(t, ":")
		if !ok || k == "" {
			return nil, &paramError{"tag", fmt.Sprintf("malformed 'tag' parameter, expecting key:value, received: %s", t)}
		}
		out[k] = v
	}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "{") {
			dec := json.NewDecoder(strings.NewReader(t))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return nil, &paramError{"tags", "malformed 'tags' parameter, cannot unmarshal JSON: " + err.Error()}
			}
			for k, v := range m {
				switch v := v.(type) {
				case string:
					out[k] = v
				case json.Number:
					out[k] = v.String()
				case bool:
					out[k] = strconv.FormatBool(v)
				default:
					return nil, &paramError{"tags", fmt.Sprintf("tag %q: want a string, number or boolean value", k)}
				}
			}
			continue
		}
		kv, err := parseLogfmt(t)
		if err != nil {
			return nil, &paramError{"tags", err.Error()}
		}
		for k, v := range kv {
			out[k] = v
		}
	}
	return out, nil
}

// parseLogfmt reads space-separated key=value pairs; values may be
// double-quoted (with backslash escapes), and a bare key means "present".
func parseLogfmt(s string) (map[string]string, error) {
	out := map[string]string{}
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := s[start:i]
		if key == "" {
			return nil, fmt.Errorf("malformed 'tags' parameter: expected key=value at offset %d", start)
		}
		if i == len(s) || s[i] != '=' {
			out[key] = ""
			continue
		}
		i++ // '='
		if i < len(s) && s[i] == '"' {
			end := i + 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, fmt.Errorf("malformed 'tags' parameter: unterminated quote after %s=", key)
			}
			v, err := strconv.Unquote(s[i : end+1])
			if err != nil {
				return nil, fmt.Errorf("malformed 'tags' parameter: bad quoted value of %s: %v", key, err)
			}
			out[key] = v
			i = end + 1
			continue
		}
		start = i
		for i < len(s) && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		out[key] = s[start:i]
	}
	return out, nil
}

// The Jaeger UI model.

type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
	Warnings  []string                 `json:"warnings"`
}

type jaegerSpan struct {
	TraceID       string            `json:"traceID"`
	SpanID        string            `json:"spanID"`
	OperationName string            `json:"operationName"`
	References    []jaegerReference `json:"references"`
	StartTime     int64             `json:"startTime"` // µs since the Unix epoch
	Duration      int64             `json:"duration"`  // µs
	Tags          []jaegerKeyValue  `json:"tags"`
	Logs          []jaegerLog       `json:"logs"`
	ProcessID     string            `json:"processID"`
	Warnings      []string          `json:"warnings"`
}

type jaegerReference struct {
	RefType string `json:"refType"` // CHILD_OF or FOLLOWS_FROM
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type jaegerProcess struct {
	ServiceName string           `json:"serviceName"`
	Tags        []jaegerKeyValue `json:"tags"`
}

type jaegerLog struct {
	Timestamp int64            `json:"timestamp"` // µs
	Fields    []jaegerKeyValue `json:"fields"`
}

// jaegerKeyValue is a typed tag: type is string, bool, int64, float64 or
// binary (value base64).
type jaegerKeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// toJaegerTrace converts the spans of one trace (ordered by start).
func toJaegerTrace(id [16]byte, spans []storage.Span) jaegerTrace {
	tid := hex.EncodeToString(id[:])
	t := jaegerTrace{TraceID: tid, Spans: make([]jaegerSpan, 0, len(spans)), Processes: map[string]jaegerProcess{}}
	procIDs := map[string]string{} // process key → p<n>
	for i := range spans {
		sp := &spans[i]
		proc := jaegerProcess{ServiceName: sp.Service, Tags: jaegerTags(sp.ResourceAttributes, sp.ResourceTypedAttributes, "service.name")}
		key := processKey(proc)
		pid, ok := procIDs[key]
		if !ok {
			pid = "p" + strconv.Itoa(len(procIDs)+1)
			procIDs[key] = pid
			t.Processes[pid] = proc
		}
		t.Spans = append(t.Spans, toJaegerSpan(tid, sp, pid))
	}
	return t
}

// processKey identifies a process by its service and tags.
func processKey(p jaegerProcess) string {
	var b strings.Builder
	b.WriteString(p.ServiceName)
	for _, kv := range p.Tags {
		b.WriteByte(0)
		b.WriteString(kv.Key)
		b.WriteByte(0)
		fmt.Fprint(&b, kv.Value)
	}
	return b.String()
}

func toJaegerSpan(tid string, sp *storage.Span, pid string) jaegerSpan {
	j := jaegerSpan{
		TraceID:       tid,
		SpanID:        hex.EncodeToString(sp.SpanID[:]),
		OperationName: sp.Name,
		References:    make([]jaegerReference, 0, len(sp.Links)+1),
		StartTime:     sp.StartUnixNano / 1000,
		Duration:      max(sp.DurationNano, 0) / 1000,
		Logs:          make([]jaegerLog, 0, len(sp.Events)),
		ProcessID:     pid,
	}
	if sp.ParentSpanID != ([8]byte{}) {
		j.References = append(j.References, jaegerReference{RefType: "CHILD_OF", TraceID: tid, SpanID: hex.EncodeToString(sp.ParentSpanID[:])})
	}
	for _, l := range sp.Links {
		j.References = append(j.References, jaegerReference{RefType: "FOLLOWS_FROM",
			TraceID: hex.EncodeToString(l.TraceID[:]), SpanID: hex.EncodeToString(l.SpanID[:])})
	}

	var tags []jaegerKeyValue
	if sp.ScopeName != "" {
		tags = append(tags, jaegerKeyValue{"otel.scope.name", "string", sp.ScopeName})
	}
	if sp.ScopeVersion != "" {
		tags = append(tags, jaegerKeyValue{"otel.scope.version", "string", sp.ScopeVersion})
	}
	tags = append(tags, jaegerTags(sp.Attributes, sp.TypedAttributes, "")...)
	if k := jaegerSpanKind(sp.Kind); k != "" {
		tags = append(tags, jaegerKeyValue{"span.kind", "string", k})
	}
	switch sp.StatusCode {
	case storage.StatusOK:
		tags = append(tags, jaegerKeyValue{"otel.status_code", "string", "OK"})
	case storage.StatusError:
		tags = append(tags, jaegerKeyValue{"otel.status_code", "string", "ERROR"}, jaegerKeyValue{"error", "bool", true})
	}
	if sp.StatusMessage != "" {
		tags = append(tags, jaegerKeyValue{"otel.status_description", "string", sp.StatusMessage})
	}
	if sp.TraceState != "" {
		tags = append(tags, jaegerKeyValue{"w3c.tracestate", "string", sp.TraceState})
	}
	if tags == nil {
		tags = []jaegerKeyValue{}
	}
	j.Tags = tags

	for _, e := range sp.Events {
		fields := []jaegerKeyValue{}
		if e.Name != "" {
			fields = append(fields, jaegerKeyValue{"event", "string", e.Name})
		}
		fields = append(fields, jaegerJSONObjectTags(e.AttributesJSON)...)
		j.Logs = append(j.Logs, jaegerLog{Timestamp: e.TimeUnixNano / 1000, Fields: fields})
	}
	return j
}

// jaegerTags converts an attribute set (string values, JSON-typed values)
// to tags sorted by key, leaving out skip.
func jaegerTags(strs, typed map[string]string, skip string) []jaegerKeyValue {
	out := make([]jaegerKeyValue, 0, len(strs)+len(typed))
	for k, v := range strs {
		if k != skip {
			out = append(out, jaegerKeyValue{k, "string", v})
		}
	}
	for k, v := range typed {
		if k != skip {
			out = append(out, typedTag(k, v))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// typedTag converts one stored non-string attribute value (JSON text, see
// storage.Span) to a Jaeger tag, as the OTLP → Jaeger translator types it:
// booleans bool, integers int64 (as a string beyond ±2^53, like Jaeger),
// doubles float64, bytes (stored as a base64 JSON string) binary, arrays and
// maps string holding their JSON. NaN and ±Infinity, which JSON numbers
// cannot hold, become strings.
func typedTag(key, v string) jaegerKeyValue {
	v = strings.TrimSpace(v)
	switch {
	case v == "true" || v == "false":
		return jaegerKeyValue{key, "bool", v == "true"}
	case v == "" || v == "null":
		return jaegerKeyValue{key, "string", ""}
	case v[0] == '"':
		var s string
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			return jaegerKeyValue{key, "string", v}
		}
		switch s {
		case "NaN", "Infinity", "-Infinity":
			return jaegerKeyValue{key, "string", s}
		}
		if _, err := base64.StdEncoding.DecodeString(s); err == nil {
			return jaegerKeyValue{key, "binary", s}
		}
		return jaegerKeyValue{key, "string", s}
	case v[0] == '[' || v[0] == '{':
		return jaegerKeyValue{key, "string", v}
	}
	return numberTag(key, v)
}

// numberTag types a JSON number: integer text is int64, anything else
// float64.
func numberTag(key, v string) jaegerKeyValue {
	if !strings.ContainsAny(v, ".eE") {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if n > jsMaxSafeInteger || n < -jsMaxSafeInteger {
				return jaegerKeyValue{key, "int64", v}
			}
			return jaegerKeyValue{key, "int64", n}
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return jaegerKeyValue{key, "string", v}
	}
	return jaegerKeyValue{key, "float64", f}
}

// jaegerJSONObjectTags converts an event's attributes (a JSON object of
// typed values) to tags sorted by key. In event attributes bytes and
// strings are both JSON strings; both become string tags.
func jaegerJSONObjectTags(obj string) []jaegerKeyValue {
	if obj == "" || obj == "{}" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(obj), &m); err != nil {
		return []jaegerKeyValue{{"attributes", "string", obj}}
	}
	out := make([]jaegerKeyValue, 0, len(m))
	for k, raw := range m {
		raw = bytes.TrimSpace(raw)
		if len(raw) > 0 && raw[0] == '"' {
			var s string
			_ = json.Unmarshal(raw, &s)
			out = append(out, jaegerKeyValue{k, "string", s})
			continue
		}
		out = append(out, typedTag(k, string(raw)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
