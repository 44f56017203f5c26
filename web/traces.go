package web

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tracehound/tracehound/analysis"
	"github.com/tracehound/tracehound/storage"
)

type traceSummaryJSON struct {
	TraceID       string    `json:"trace_id"`
	RootService   string    `json:"root_service"`
	RootOperation string    `json:"root_operation"`
	Start         time.Time `json:"start"`
	DurationMs    float64   `json:"duration_ms"`
	SpanCount     uint64    `json:"span_count"`
	ErrorCount    uint64    `json:"error_count"`
	Error         bool      `json:"error"`
}

func (s *Server) findTraces(c *fiber.Ctx) error {
	var attrs []string
	for _, v := range c.Context().QueryArgs().PeekMulti("attr") {
		attrs = append(attrs, string(v))
	}
	q, err := parseTraceQuery(c.Query, attrs, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.QueryTimeout)
	defer cancel()
	rows, err := s.opts.Traces.FindTraces(ctx, q)
	if err != nil {
		return err
	}
	out := make([]traceSummaryJSON, 0, len(rows))
	for _, r := range rows {
		out = append(out, traceSummaryJSON{
			TraceID:       hex.EncodeToString(r.TraceID[:]),
			RootService:   r.RootService,
			RootOperation: r.RootOperation,
			Start:         r.Start.UTC(),
			DurationMs:    float64(r.Duration.Nanoseconds()) / 1e6,
			SpanCount:     r.SpanCount,
			ErrorCount:    r.ErrorCount,
			Error:         r.ErrorCount > 0,
		})
	}
	return c.JSON(fiber.Map{"traces": out})
}

// parseTraceQuery reads the /api/v1/traces parameters.
// attrs are the repeated attr=key=value parameters.
func parseTraceQuery(get func(string, ...string) string, attrs []string, now time.Time) (storage.TraceQuery, error) {
	from, to, err := parseWindow(get("from"), get("to"), now)
	if err != nil {
		return storage.TraceQuery{}, err
	}
	limit, err := parseIntParam("limit", get("limit"), 20, 1, 1000)
	if err != nil {
		return storage.TraceQuery{}, err
	}
	minMs, err := parseIntParam("min_duration_ms", get("min_duration_ms"), 0, 0, 365*24*3600*1000)
	if err != nil {
		return storage.TraceQuery{}, err
	}
	q := storage.TraceQuery{
		From: from, To: to,
		Service:     get("service"),
		Operation:   get("operation"),
		MinDuration: time.Duration(minMs) * time.Millisecond,
		Limit:       int(limit),
	}
	switch st := get("status"); st {
	case "", "any":
	case "error":
		q.ErrorsOnly = true
	default:
		return q, &paramError{"status", "want error or any"}
	}
	for _, a := range attrs {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return q, &paramError{"attr", "want key=value"}
		}
		if q.Attributes == nil {
			q.Attributes = map[string]string{}
		}
		q.Attributes[k] = v
	}
	return q, nil
}

type spanJSON struct {
	SpanID             string                     `json:"span_id"`
	ParentSpanID       string                     `json:"parent_span_id"`
	TraceState         string                     `json:"trace_state,omitempty"`
	Service            string                     `json:"service"`
	Name               string                     `json:"name"`
	Kind               string                     `json:"kind"`
	StartUnixNano      int64                      `json:"start_unix_nano"`
	DurationNs         int64                      `json:"duration_ns"`
	StatusCode         string                     `json:"status_code"`
	StatusMessage      string                     `json:"status_message,omitempty"`
	ScopeName          string                     `json:"scope_name,omitempty"`
	ScopeVersion       string                     `json:"scope_version,omitempty"`
	Attributes         map[string]json.RawMessage `json:"attributes"`
	ResourceAttributes map[string]json.RawMessage `json:"resource_attributes"`
	Events             []eventJSON                `json:"events"`
	Links              []linkJSON                 `json:"links"`
	DroppedAttributes  uint32                     `json:"dropped_attributes_count,omitempty"`
	DroppedEvents      uint32                     `json:"dropped_events_count,omitempty"`
	DroppedLinks       uint32                     `json:"dropped_links_count,omitempty"`
	SelfTimeNs         int64                      `json:"self_time_ns"`
	OnCriticalPath     bool                       `json:"on_critical_path"`
}

type eventJSON struct {
	TimeUnixNano int64           `json:"time_unix_nano"`
	Name         string          `json:"name"`
	Attributes   json.RawMessage `json:"attributes"`
}

type linkJSON struct {
	TraceID    string          `json:"trace_id"`
	SpanID     string          `json:"span_id"`
	TraceState string          `json:"trace_state,omitempty"`
	Attributes json.RawMessage `json:"attributes"`
}

func (s *Server) getTrace(c *fiber.Ctx) error {
	id, err := parseTraceID(c.Params("trace_id"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.QueryTimeout)
	defer cancel()
	spans, err := s.opts.Traces.GetTrace(ctx, id)
	if err != nil {
		return err
	}
	timings := analysis.TraceTimings(spans)
	out := make([]spanJSON, len(spans))
	for i := range spans {
		out[i] = toSpanJSON(&spans[i], timings[i])
	}
	return c.JSON(fiber.Map{"trace_id": hex.EncodeToString(id[:]), "spans": out})
}

func toSpanJSON(sp *storage.Span, t analysis.SpanTiming) spanJSON {
	j := spanJSON{
		SpanID:             hex.EncodeToString(sp.SpanID[:]),
		TraceState:         sp.TraceState,
		Service:            sp.Service,
		Name:               sp.Name,
		Kind:               sp.Kind.String(),
		StartUnixNano:      sp.StartUnixNano,
		DurationNs:         sp.DurationNano,
		StatusCode:         sp.StatusCode.String(),
		StatusMessage:      sp.StatusMessage,
		ScopeName:          sp.ScopeName,
		ScopeVersion:       sp.ScopeVersion,
		Attributes:         mergeAttributes(sp.Attributes, sp.TypedAttributes),
		ResourceAttributes: mergeAttributes(sp.ResourceAttributes, sp.ResourceTypedAttributes),
		Events:             make([]eventJSON, 0, len(sp.Events)),
		Links:              make([]linkJSON, 0, len(sp.Links)),
		DroppedAttributes:  sp.DroppedAttributesCount,
		DroppedEvents:      sp.DroppedEventsCount,
		DroppedLinks:       sp.DroppedLinksCount,
		SelfTimeNs:         t.SelfTimeNs,
		OnCriticalPath:     t.OnCriticalPath,
	}
	if sp.ParentSpanID != ([8]byte{}) {
		j.ParentSpanID = hex.EncodeToString(sp.ParentSpanID[:])
	}
	for _, e := range sp.Events {
		j.Events = append(j.Events, eventJSON{TimeUnixNano: e.TimeUnixNano, Name: e.Name, Attributes: rawObject(e.AttributesJSON)})
	}
	for _, l := range sp.Links {
		j.Links = append(j.Links, linkJSON{
			TraceID: hex.EncodeToString(l.TraceID[:]), SpanID: hex.EncodeToString(l.SpanID[:]),
			TraceState: l.TraceState, Attributes: rawObject(l.AttributesJSON),
		})
	}
	return j
}

// mergeAttributes returns one JSON object: string attributes as JSON strings
// and typed attributes with their stored JSON encoding.
func mergeAttributes(str, typed map[string]string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(str)+len(typed))
	for k, v := range str {
		b, _ := json.Marshal(v)
		out[k] = b
	}
	for k, v := range typed {
		if json.Valid([]byte(v)) {
			out[k] = json.RawMessage(v)
		} else {
			b, _ := json.Marshal(v)
			out[k] = b
		}
	}
	return out
}

func rawObject(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s)
}
