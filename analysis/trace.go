// Package analysis turns stored spans into what people act on: per-span self
// time and critical path, and (later) the service graph and findings.
package analysis

import (
	"github.com/tracehound/tracehound/analysis/critpath"
	"github.com/tracehound/tracehound/storage"
)

// SpanTiming is the critical-path analysis of one span.
type SpanTiming struct {
	SelfTimeNs     int64
	OnCriticalPath bool
}

// TraceTimings computes self time and critical-path membership for every
// span of one trace; result i belongs to spans[i].
func TraceTimings(spans []storage.Span) []SpanTiming {
	in := make([]critpath.Span, len(spans))
	for i := range spans {
		sp := &spans[i]
		cs := critpath.Span{
			ID:       sp.SpanID,
			ParentID: sp.ParentSpanID,
			Start:    sp.StartUnixNano,
			End:      sp.StartUnixNano + sp.DurationNano,
			Kind:     critpath.Kind(sp.Kind),
			Service:  sp.Service,
		}
		for _, l := range sp.Links {
			if l.TraceID == sp.TraceID {
				cs.LinkedTo = append(cs.LinkedTo, l.SpanID)
			}
		}
		in[i] = cs
	}
	res := critpath.Analyze(in)
	out := make([]SpanTiming, len(res))
	for i, r := range res {
		out[i] = SpanTiming{SelfTimeNs: r.SelfTimeNs, OnCriticalPath: r.OnCriticalPath}
	}
	return out
}
