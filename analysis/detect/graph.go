package detect

import (
	"cmp"
	"slices"

	"github.com/tracehound/tracehound/storage"
)

// Trace is one assembled trace: every stored span with the trace id ID.
// Detect and Calls read the spans and never modify them.
type Trace struct {
	// ID is the trace id.
	ID [16]byte
	// Spans are the trace's spans, in any order.
	Spans []storage.Span
}

// Call is one service-graph edge call derived from a trace. See Calls for
// which spans produce calls and how they are named.
type Call struct {
	// TraceID is the id of the trace the call was found in.
	TraceID [16]byte
	// StartUnixNano is the start of the span the call is counted from.
	StartUnixNano int64
	// Source and Target are node names: a service name, or a virtual node
	// name as returned by Peer.
	Source, Target string
	// SourceKind and TargetKind are "service", "database", "messaging" or
	// "external".
	SourceKind, TargetKind string
	// Operation is the normalised callee operation (see Calls).
	Operation string
	// DurationNs is the duration of the span the call is counted from.
	DurationNs int64
	// Error reports that the span the call is counted from has status
	// ERROR or an error.type attribute.
	Error bool
	// RequestBytes and ResponseBytes are the payload sizes (see
	// PayloadSizes), -1 when unknown. A message's size is its RequestBytes.
	RequestBytes, ResponseBytes int64
	// SpanID is the span the call is counted from. Together with TraceID
	// and Target it identifies the call, so that a trace seen twice is not
	// counted twice.
	SpanID [8]byte
}

// callRec is a Call with what the detectors need besides it.
type callRec struct {
	Call
	from      int32 // index of the span the call is counted from
	caller    int32 // index of the caller's local entry span, or -1
	message   bool  // a message from a producer: size direction "message"
	fromQueue bool  // the source is a messaging node
}

// noSpan marks a missing span index.
const noSpan int32 = -1

// traceIndex is the parent/child structure of one trace.
type traceIndex struct {
	t        *Trace
	parent   []int32 // parent index or noSpan
	dup      []bool  // the span repeats an earlier span's id
	kidStart []int32 // children of i: kids[kidStart[i]:kidStart[i+1]]
	kids     []int32
	linked   map[int32][]int32 // producer index → consumer spans linking to it
	ops      []string          // normalised operation per span, "" until computed
	entry    []int32           // local entry span per span, -2 until computed
	norm     *normCache
}

// newTraceIndex indexes t. The first span with a given id wins; a parent
// id that matches no span (or the span itself) makes a root.
func newTraceIndex(t *Trace, norm *normCache) *traceIndex {
	n := len(t.Spans)
	x := &traceIndex{
		t:        t,
		parent:   make([]int32, n),
		dup:      make([]bool, n),
		kidStart: make([]int32, n+1),
		ops:      make([]string, n),
		entry:    make([]int32, n),
		norm:     norm,
	}
	byID := make(map[[8]byte]int32, n)
	for i := range t.Spans {
		if _, dup := byID[t.Spans[i].SpanID]; dup {
			x.dup[i] = true
		} else {
			byID[t.Spans[i].SpanID] = int32(i)
		}
	}
	var zero [8]byte
	for i := range t.Spans {
		sp := &t.Spans[i]
		x.parent[i] = noSpan
		x.entry[i] = -2
		if sp.ParentSpanID != zero {
			if p, ok := byID[sp.ParentSpanID]; ok && p != int32(i) {
				x.parent[i] = p
				x.kidStart[p+1]++
			}
		}
		if sp.Kind == storage.SpanKindConsumer {
			for _, l := range sp.Links {
				if l.TraceID != t.ID && l.TraceID != sp.TraceID {
					continue
				}
				if p, ok := byID[l.SpanID]; ok && p != int32(i) && t.Spans[p].Kind == storage.SpanKindProducer && x.parent[i] != p {
					if x.linked == nil {
						x.linked = make(map[int32][]int32)
					}
					if !slices.Contains(x.linked[p], int32(i)) {
						x.linked[p] = append(x.linked[p], int32(i))
					}
				}
			}
		}
	}
	for i := 1; i <= n; i++ {
		x.kidStart[i] += x.kidStart[i-1]
	}
	x.kids = make([]int32, x.kidStart[n])
	fill := make([]int32, n)
	for i := range t.Spans {
		if p := x.parent[i]; p != noSpan {
			x.kids[x.kidStart[p]+fill[p]] = int32(i)
			fill[p]++
		}
	}
	return x
}

// children returns the children of span i by parent id.
func (x *traceIndex) children(i int32) []int32 {
	return x.kids[x.kidStart[i]:x.kidStart[i+1]]
}

// op returns the normalised operation of span i.
func (x *traceIndex) op(i int32) string {
	if x.ops[i] == "" {
		sp := &x.t.Spans[i]
		x.ops[i] = normalizeOperation(sp.Name, sp.Attributes, x.norm)
		if x.ops[i] == "" {
			x.ops[i] = "(unnamed)"
		}
	}
	return x.ops[i]
}

// localEntry returns the span where the work containing span i entered its
// service: walking up from i through spans of the same service, the first
// SERVER or CONSUMER span, or the topmost one.
func (x *traceIndex) localEntry(i int32) int32 {
	if e := x.entry[i]; e != -2 {
		return e
	}
	spans := x.t.Spans
	j := i
	// Bounded: corrupt parent links may form a cycle.
	for range len(spans) {
		k := spans[j].Kind
		if k == storage.SpanKindServer || k == storage.SpanKindConsumer {
			break
		}
		p := x.parent[j]
		if p == noSpan || spans[p].Service != spans[j].Service {
			break
		}
		if e := x.entry[p]; e != -2 {
			j = e
			break
		}
		j = p
	}
	x.entry[i] = j
	return j
}

// callerOf returns the caller's local entry for a call made by the code
// running in span p (the parent of a client span), or -1 when p is -1.
func (x *traceIndex) callerOf(p int32) int32 {
	if p == noSpan {
		return noSpan
	}
	return x.localEntry(p)
}

// isError reports whether a span failed.
func isError(sp *storage.Span) bool {
	return sp.StatusCode == storage.StatusError || sp.Attributes["error.type"] != ""
}

// isCaller reports whether a span kind makes outgoing calls.
func isCaller(k storage.SpanKind) bool {
	return k == storage.SpanKindClient || k == storage.SpanKindProducer
}

// isCallee reports whether a span kind receives calls.
func isCallee(k storage.SpanKind) bool {
	return k == storage.SpanKindServer || k == storage.SpanKindConsumer
}

// Calls returns the service-graph edge calls of one trace, ordered by
// start time (then span id and target). The rules are in the package
// documentation ("Service graph").
func Calls(t Trace) []Call {
	x := newTraceIndex(&t, nil)
	recs := x.calls()
	out := make([]Call, len(recs))
	for i := range recs {
		out[i] = recs[i].Call
	}
	return out
}

// calleeOp returns the callee operation of a call from client span c to
// server span s (s may be noSpan): the client's normalised operation, or
// the server's when the client's is generic ("GET", "HTTP POST", …).
func (x *traceIndex) calleeOp(c, s int32) string {
	op := x.op(c)
	if s != noSpan && isGenericName(op) {
		return x.op(s)
	}
	return op
}

// calls derives the edge calls of the trace.
func (x *traceIndex) calls() []callRec {
	spans := x.t.Spans
	n := int32(len(spans))
	reached := make([]bool, n) // callee spans accounted for from their caller
	var out []callRec
	var callees []int32
	newRec := func(from int32, src, srcKind, dst, dstKind, op string) callRec {
		sp := &spans[from]
		req, resp := PayloadSizes(sp)
		return callRec{
			Call: Call{
				TraceID:       x.t.ID,
				StartUnixNano: sp.StartUnixNano,
				Source:        src, SourceKind: srcKind,
				Target: dst, TargetKind: dstKind,
				Operation:     op,
				DurationNs:    sp.DurationNano,
				Error:         isError(sp),
				RequestBytes:  req,
				ResponseBytes: resp,
				SpanID:        sp.SpanID,
			},
			from:    from,
			caller:  noSpan,
			message: sp.Kind == storage.SpanKindProducer,
		}
	}
	fillSizes := func(r *callRec, other int32) {
		if r.RequestBytes >= 0 && r.ResponseBytes >= 0 {
			return
		}
		req, resp := PayloadSizes(&spans[other])
		if r.RequestBytes < 0 {
			r.RequestBytes = req
		}
		if r.ResponseBytes < 0 {
			r.ResponseBytes = resp
		}
	}

	for i := int32(0); i < n; i++ {
		sp := &spans[i]
		if !isCaller(sp.Kind) {
			continue
		}
		// The SERVER/CONSUMER spans this call caused. A CONSUMER child of a
		// CLIENT span of the same service is the processing of a received
		// message, not a callee.
		callees = callees[:0]
		wrapper := false
		for _, c := range x.children(i) {
			ck := spans[c].Kind
			switch {
			case isCallee(ck):
				if ck == storage.SpanKindConsumer && sp.Kind == storage.SpanKindClient && spans[c].Service == sp.Service {
					reached[c] = true
					continue
				}
				callees = append(callees, c)
			case isCaller(ck) && spans[c].Service == sp.Service:
				wrapper = true
			}
		}
		callees = append(callees, x.linked[i]...)
		caller := x.callerOf(x.parent[i])

		if len(callees) == 0 {
			if wrapper {
				// A client span around an inner client span of the same
				// service (an SDK call over HTTP): the inner span is the
				// call.
				continue
			}
			name, kind, ok := Peer(sp)
			if !ok {
				continue
			}
			if kind == KindMessaging && isReceive(sp) {
				r := newRec(i, name, kind, sp.Service, KindService, x.op(i))
				r.fromQueue, r.message = true, false
				out = append(out, r)
				continue
			}
			r := newRec(i, sp.Service, KindService, name, kind, x.op(i))
			r.caller = caller
			out = append(out, r)
			continue
		}

		if sp.Kind == storage.SpanKindProducer && hasMessaging(sp) {
			// producer → queue → consumer(s), so that the queue is on the map.
			q, qKind, _ := Peer(sp)
			if qKind != KindMessaging {
				q, qKind = "messaging", KindMessaging
			}
			r := newRec(i, sp.Service, KindService, q, qKind, x.op(i))
			r.caller = caller
			fillSizes(&r, callees[0])
			out = append(out, r)
			for _, c := range callees {
				reached[c] = true
				cr := newRec(c, q, qKind, spans[c].Service, KindService, x.op(c))
				cr.fromQueue = true
				if cr.RequestBytes < 0 {
					cr.RequestBytes = r.RequestBytes
				}
				out = append(out, cr)
			}
			continue
		}

		first := len(out)
		for _, c := range callees {
			reached[c] = true
			target := spans[c].Service
			dup := false
			for _, o := range out[first:] {
				if o.Target == target {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
			r := newRec(i, sp.Service, KindService, target, KindService, x.calleeOp(i, c))
			r.caller = caller
			fillSizes(&r, c)
			out = append(out, r)
		}
	}

	// Callee spans whose caller is not a client/producer span.
	for i := int32(0); i < n; i++ {
		sp := &spans[i]
		if !isCallee(sp.Kind) || reached[i] {
			continue
		}
		p := x.parent[i]
		if p != noSpan && spans[p].Service == sp.Service {
			continue // in-process hand-off: not an edge
		}
		if sp.Kind == storage.SpanKindConsumer && hasMessaging(sp) {
			q, qKind, _ := Peer(sp)
			r := newRec(i, q, qKind, sp.Service, KindService, x.op(i))
			r.fromQueue, r.message = true, false
			out = append(out, r)
			continue
		}
		if p == noSpan {
			continue // a root: nobody (known) called it
		}
		r := newRec(i, spans[p].Service, KindService, sp.Service, KindService, x.op(i))
		r.caller = x.callerOf(p)
		r.message = false
		out = append(out, r)
	}

	slices.SortFunc(out, func(a, b callRec) int {
		if c := cmp.Compare(a.StartUnixNano, b.StartUnixNano); c != 0 {
			return c
		}
		if c := slices.Compare(a.SpanID[:], b.SpanID[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Target, b.Target)
	})
	return out
}
