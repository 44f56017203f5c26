package demo

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// spanPlan is one span of a simulated request, with times relative to the
// start of the trace. A request is first planned as a tree (so its total
// extent is known and it can be placed to end "now"), then emitted through
// the OpenTelemetry SDK with explicit timestamps.
type spanPlan struct {
	service string
	name    string
	kind    trace.SpanKind
	start   time.Duration
	end     time.Duration
	attrs   []attribute.KeyValue
	events  []eventPlan
	// errMsg, when not empty, sets the span status to Error with this
	// description.
	errMsg string
	// linked starts the span as the root of a new trace with a link to its
	// plan parent, instead of as a child of it.
	linked   bool
	children []*spanPlan
}

// eventPlan is a span event at a time relative to the trace start.
type eventPlan struct {
	name  string
	at    time.Duration
	attrs []attribute.KeyValue
}

// add appends c to p's children and returns c.
func (p *spanPlan) add(c *spanPlan) *spanPlan {
	p.children = append(p.children, c)
	return c
}

// set appends attributes.
func (p *spanPlan) set(kv ...attribute.KeyValue) { p.attrs = append(p.attrs, kv...) }

// walk calls f for p and every descendant.
func (p *spanPlan) walk(f func(*spanPlan)) {
	f(p)
	for _, c := range p.children {
		c.walk(f)
	}
}

// extent returns the latest end offset in the tree.
func (p *spanPlan) extent() time.Duration {
	var m time.Duration
	p.walk(func(s *spanPlan) { m = max(m, s.end) })
	return m
}

// emitter creates real SDK spans from plans.
type emitter struct {
	tracers map[string]trace.Tracer
}

// emit creates the span for p (and its subtree) with timestamps base+offset.
// parent is the SDK span of p's plan parent (nil for the root); ctx carries
// it. It returns the number of spans created.
func (e *emitter) emit(ctx context.Context, p *spanPlan, base time.Time, parent trace.Span) int {
	opts := []trace.SpanStartOption{
		trace.WithTimestamp(base.Add(p.start)),
		trace.WithSpanKind(p.kind),
		trace.WithAttributes(p.attrs...),
	}
	if p.linked && parent != nil {
		opts = append(opts,
			trace.WithNewRoot(),
			trace.WithLinks(trace.Link{SpanContext: parent.SpanContext()}),
		)
	}
	ctx, span := e.tracers[p.service].Start(ctx, p.name, opts...)
	n := 1
	for _, ev := range p.events {
		span.AddEvent(ev.name, trace.WithTimestamp(base.Add(ev.at)), trace.WithAttributes(ev.attrs...))
	}
	for _, c := range p.children {
		n += e.emit(ctx, c, base, span)
	}
	if p.errMsg != "" {
		span.SetStatus(codes.Error, p.errMsg)
	}
	span.End(trace.WithTimestamp(base.Add(p.end)))
	return n
}
