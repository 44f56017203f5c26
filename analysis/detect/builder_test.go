package detect

import (
	"encoding/binary"

	"github.com/tracehound/tracehound/storage"
)

// baseTime is the start of every synthetic trace (2026-01-01T00:00:00Z).
const baseTime int64 = 1767225600e9

// msNs converts milliseconds to nanoseconds.
func msNs(v float64) int64 { return int64(v * 1e6) }

// traceBuilder assembles a synthetic trace.
type traceBuilder struct {
	t      Trace
	offset int64 // added to every start time
	next   uint32
}

// newTrace starts a trace whose id is derived from n, starting n seconds
// after baseTime.
func newTrace(n int) *traceBuilder {
	b := &traceBuilder{offset: baseTime + int64(n)*1e9}
	binary.BigEndian.PutUint64(b.t.ID[:8], 0xabcdef)
	binary.BigEndian.PutUint64(b.t.ID[8:], uint64(n)+1)
	return b
}

// spanOpt adjusts a span being added.
type spanOpt func(*storage.Span)

// attr sets a string attribute.
func attr(k, v string) spanOpt {
	return func(sp *storage.Span) {
		if sp.Attributes == nil {
			sp.Attributes = map[string]string{}
		}
		sp.Attributes[k] = v
	}
}

// typed sets a non-string attribute from its JSON text.
func typed(k, jsonText string) spanOpt {
	return func(sp *storage.Span) {
		if sp.TypedAttributes == nil {
			sp.TypedAttributes = map[string]string{}
		}
		sp.TypedAttributes[k] = jsonText
	}
}

// linkTo adds a link to a span of traceID.
func linkTo(traceID [16]byte, span [8]byte) spanOpt {
	return func(sp *storage.Span) {
		sp.Links = append(sp.Links, storage.Link{TraceID: traceID, SpanID: span, AttributesJSON: "{}"})
	}
}

// event adds an event with JSON attributes.
func event(name, attrsJSON string) spanOpt {
	return func(sp *storage.Span) {
		sp.Events = append(sp.Events, storage.Event{TimeUnixNano: sp.StartUnixNano, Name: name, AttributesJSON: attrsJSON})
	}
}

// failed marks a span as an error.
func failed() spanOpt {
	return func(sp *storage.Span) { sp.StatusCode = storage.StatusError }
}

// root is the zero parent id.
var root [8]byte

// add appends a span and returns its id. Times are in milliseconds from
// the trace's start.
func (b *traceBuilder) add(parent [8]byte, service, name string, kind storage.SpanKind, startMs, durMs float64, opts ...spanOpt) [8]byte {
	b.next++
	var id [8]byte
	binary.BigEndian.PutUint32(id[:4], uint32(b.t.ID[15])<<8|0x5a)
	binary.BigEndian.PutUint32(id[4:], b.next)
	sp := storage.Span{
		TraceID:       b.t.ID,
		SpanID:        id,
		ParentSpanID:  parent,
		Service:       service,
		Name:          name,
		Kind:          kind,
		StartUnixNano: b.offset + msNs(startMs),
		DurationNano:  msNs(durMs),
	}
	for _, o := range opts {
		o(&sp)
	}
	b.t.Spans = append(b.t.Spans, sp)
	return id
}

// build returns the trace.
func (b *traceBuilder) build() Trace { return b.t }

// Shorthands for span kinds.
const (
	server   = storage.SpanKindServer
	client   = storage.SpanKindClient
	internal = storage.SpanKindInternal
	producer = storage.SpanKindProducer
	consumer = storage.SpanKindConsumer
)

// httpServer adds an HTTP server span with a route.
func (b *traceBuilder) httpServer(parent [8]byte, service, method, route string, startMs, durMs float64, opts ...spanOpt) [8]byte {
	opts = append([]spanOpt{attr("http.request.method", method), attr("http.route", route)}, opts...)
	return b.add(parent, service, method+" "+route, server, startMs, durMs, opts...)
}

// httpCall adds a CLIENT span to an instrumented HTTP service, with its
// SERVER child taking all but 1 ms of the call, and returns the client id.
func (b *traceBuilder) httpCall(parent [8]byte, from, to, method, path, route string, startMs, durMs float64, opts ...spanOpt) [8]byte {
	c := b.add(parent, from, method+" "+path, client, startMs, durMs, append([]spanOpt{
		attr("http.request.method", method), attr("url.full", "http://"+to+":8080"+path), attr("server.address", to)}, opts...)...)
	b.httpServer(c, to, method, route, startMs+0.5, durMs-1)
	return c
}

// dbCall adds a PostgreSQL CLIENT span on database "orders".
func (b *traceBuilder) dbCall(parent [8]byte, service, stmt string, startMs, durMs float64) [8]byte {
	return b.add(parent, service, "SELECT orders", client, startMs, durMs,
		attr("db.system.name", "postgresql"), attr("db.namespace", "orders"), attr("db.query.text", stmt),
		attr("server.address", "db-1"))
}
