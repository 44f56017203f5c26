// Package critpath computes, for the spans of one trace, each span's self
// time and whether it lies on the trace's critical path. These are the
// self_time_ns and on_critical_path fields returned by
// GET /api/v1/traces/{id}.
//
// # Tree construction
//
//   - The tree is built from Span.ParentID. A span whose ParentID is all
//     zero, or names a span that is not in the input, is a root. A trace may
//     therefore have several roots, or none with a zero ParentID at all; every
//     root tree is analysed on its own and gets its own critical path.
//   - Duplicate span ids: the first span with a given id (in input order) is
//     kept and is the one children attach to. Every later duplicate is left
//     out of the tree entirely: its self time is its own duration, it is not
//     on the critical path, and it is never anyone's parent or child.
//   - Cycles in parent links (corrupt data, including a span that is its own
//     parent) are broken by turning exactly one span of each cycle into a
//     root: the member with the earliest Start, ties going to the lowest input
//     index. The other members stay in the tree, under that span.
//   - Span links (Span.LinkedTo) never make a parent/child relation. A span
//     related to another only by a link is a separate tree (if it has no
//     parent it is a root, with a critical path of its own) and does not
//     affect the linked span's self time or critical path. LinkedTo is
//     accepted for completeness and is deliberately not used.
//
// # Synchronous and asynchronous children
//
// A child is asynchronous, i.e. not waited for by its parent, when
//
//   - it is a CONSUMER span whose parent is a PRODUCER span, whatever their
//     timing (message passing), or
//   - after clock-skew adjustment (below) it starts at or after its parent's
//     end (FOLLOWS_FROM-style, fire-and-forget work).
//
// Every other child is synchronous. Asynchronous children do not reduce
// their parent's self time and are not on its critical path, and neither is
// anything beneath them. Their own self time is computed as usual.
//
// # Clock skew
//
// Each span gets a clock correction (delta) that is added to both its Start
// and its End, so durations never change. Roots have delta 0: the root's
// clock is the reference for its tree.
//
//   - A child inherits its parent's delta when both have the same Service
//     (they are assumed to share a clock; Jaeger keys clocks by host, spans
//     here carry only a service), and starts from delta 0 otherwise.
//   - A synchronous child is remote when its Service differs from its
//     parent's, or when it is a SERVER or CONSUMER span whose parent is a
//     CLIENT or PRODUCER span. If a remote child's interval (with the delta
//     from the previous rule) does not fit inside its parent's adjusted
//     interval and the child is no longer than the parent, it is shifted,
//     never stretched, so that it is centred in the parent (the slack is
//     split evenly between request and response latency, as Jaeger's
//     clock-skew adjuster does; an odd nanosecond goes to the end). The
//     shift becomes that child's delta and is inherited by its same-service
//     descendants. A remote child longer than its parent is not shifted; it
//     is clipped like any other child.
//   - Non-remote (same-service, non-RPC) children get no correction of their
//     own: beyond the delta inherited from the parent they are only clipped.
//   - Because the fire-and-forget rule is applied after adjustment, a remote
//     child that is no longer than its parent is always moved inside it and
//     is therefore synchronous (unless it is a consumer of a producer, which
//     is never adjusted beyond the inherited delta, or the parent has zero
//     duration).
//
// # Self time
//
// A span's self time is its duration minus the length of the union of its
// synchronous children's adjusted intervals, each clipped to the span's own
// adjusted interval. It is never negative and never exceeds the duration. A
// child entirely outside its parent (after adjustment) contributes nothing.
//
// # Critical path
//
// The critical path of each root tree is found with Jaeger's "last finishing
// child" backward walk. Each span on the walk has a walk interval: a root's
// is its own interval, a child's is its adjusted interval clipped to the
// walk interval of its parent, so children that overflow their parent are
// cut at the parent's end (and start). Starting at the end of the root's
// walk interval, the walk repeatedly picks, among the synchronous children,
// the one whose walk interval ends last but not after the current point,
// recurses into it, then moves the point to that child's walk start and
// continues. Every span visited is on the critical path; roots always are.
//
//   - A child ending exactly at the current point qualifies (Jaeger requires
//     strictly before), so back-to-back sequential children are all on the
//     path.
//   - Ties in (clipped) end time go to the child whose adjusted start is
//     earlier, then to the lower input index; so of several children
//     overflowing the parent's end, the one that started first is picked.
//   - A child whose walk interval is empty (entirely outside its parent
//     after adjustment, or only touching it) is never visited, and neither
//     is a child still running at the current point: of several parallel
//     children only the one finishing last, and those that finish before it
//     starts, are on the path.
//   - A zero-duration child is visited if its instant lies within its
//     parent's walk interval and the walk reaches it.
//   - Asynchronous children, and everything below them, are never on the
//     path, even when the parent is.
//
// # Complexity
//
// Analyze uses explicit queues and stacks instead of recursion, so trace
// depth is bounded only by memory. It runs in O(n log n) time (span ids are
// looked up in a hash table seeded randomly per call, so crafted ids cannot
// degrade it; the seed does not affect results) and O(n) memory for n
// spans. Results are deterministic. Timestamps are assumed to be realistic
// Unix nanoseconds, so that differences between them fit in an int64.
package critpath

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strconv"
)

// Kind is the span kind, numbered as in OTLP (opentelemetry.proto.trace.v1
// Span.SpanKind).
type Kind int32

// Span kinds, with their OTLP numbers.
const (
	// KindUnspecified is SPAN_KIND_UNSPECIFIED (0).
	KindUnspecified Kind = 0
	// KindInternal is SPAN_KIND_INTERNAL (1): an operation inside a process.
	KindInternal Kind = 1
	// KindServer is SPAN_KIND_SERVER (2): the server side of a synchronous RPC.
	KindServer Kind = 2
	// KindClient is SPAN_KIND_CLIENT (3): the client side of a synchronous RPC.
	KindClient Kind = 3
	// KindProducer is SPAN_KIND_PRODUCER (4): the sending of an asynchronous
	// message.
	KindProducer Kind = 4
	// KindConsumer is SPAN_KIND_CONSUMER (5): the processing of an
	// asynchronous message.
	KindConsumer Kind = 5
)

// String returns the OTLP name of k without its SPAN_KIND_ prefix, such as
// "SERVER", or "Kind(n)" for numbers OTLP does not define.
func (k Kind) String() string {
	switch k {
	case KindUnspecified:
		return "UNSPECIFIED"
	case KindInternal:
		return "INTERNAL"
	case KindServer:
		return "SERVER"
	case KindClient:
		return "CLIENT"
	case KindProducer:
		return "PRODUCER"
	case KindConsumer:
		return "CONSUMER"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Span is the input to Analyze: one span of a trace.
type Span struct {
	// ID is the span id. Only the first span with a given ID takes part in
	// the tree; see the package documentation.
	ID [8]byte
	// ParentID is the parent's span id, all zero for a root. A ParentID that
	// matches no span in the input also makes the span a root.
	ParentID [8]byte
	// Start is the start time in Unix nanoseconds.
	Start int64
	// End is the end time in Unix nanoseconds; the caller guarantees
	// End >= Start.
	End int64
	// Kind is the OTLP span kind.
	Kind Kind
	// Service is the name of the service that emitted the span. A child
	// whose Service differs from its parent's is remote for clock-skew
	// handling.
	Service string
	// LinkedTo lists the ids of spans of the same trace this span links to
	// (asynchronous causality). Links never create a parent/child relation,
	// so Analyze ignores them.
	LinkedTo [][8]byte
}

// Result is the output of Analyze for one span.
type Result struct {
	// SelfTimeNs is the span's duration minus the time covered by its
	// synchronous children, in nanoseconds; never negative.
	SelfTimeNs int64
	// OnCriticalPath reports whether the span is on the critical path of its
	// root tree.
	OnCriticalPath bool
}

// Analyze computes self time and critical-path membership for the spans of
// one trace, following the rules in the package documentation. results[i]
// belongs to spans[i]; len(results) == len(spans). spans is not modified.
// Span indexes are held as int32, so a trace may have at most math.MaxInt32
// spans.
func Analyze(spans []Span) []Result {
	n := len(spans)
	res := make([]Result, n)
	if n == 0 {
		return res
	}
	a := analysis{
		spans:    spans,
		res:      res,
		nodes:    make([]node, n),
		children: make([]int32, n),
		order:    make([]int32, 0, n),
	}
	a.link()
	a.breakCycles()
	a.buildChildren()
	nRoots := a.adjust()
	a.walk(a.order[:nRoots])
	return res
}

// noParent is the parent index of a root.
const noParent int32 = -1

// Node states used while breaking cycles.
const (
	stateNew    uint8 = iota // not yet visited
	stateOnPath              // on the parent chain being followed
	stateDone                // visited, known to reach a root
	stateDup                 // duplicate id: not part of the tree
)

// node is the per-span working state of one Analyze call.
type node struct {
	start, end int64 // interval after clock-skew adjustment
	parent     int32 // index of the parent, or noParent
	first      int32 // offset of the first child in analysis.children
	nChild     int32 // number of children
	nSync      int32 // number of synchronous children (stored first)
	state      uint8 // one of the state* constants
}

// analysis holds the working state of one Analyze call.
type analysis struct {
	spans    []Span
	res      []Result
	nodes    []node
	children []int32 // children of node i: children[first : first+nChild]
	order    []int32 // breadth-first order, roots first
}

// link indexes span ids, marks duplicates and resolves parent indexes. It
// also sets every result's self time to the span's duration, which is final
// for duplicates.
func (a *analysis) link() {
	idx := newIDIndex(a.spans)
	for i := range a.spans {
		s := &a.spans[i]
		a.res[i].SelfTimeNs = s.End - s.Start
		a.nodes[i].parent = noParent
		if !idx.insert(int32(i)) {
			a.nodes[i].state = stateDup
		}
	}
	var zero [8]byte
	for i := range a.spans {
		nd := &a.nodes[i]
		pid := a.spans[i].ParentID
		if nd.state == stateDup || pid == zero {
			continue
		}
		// A span that is its own parent is a one-span cycle: leave it a root.
		if p := idx.lookup(pid); p != noParent && p != int32(i) {
			nd.parent = p
		}
	}
}

// idIndex maps a span id to the index of the first span with that id. It is
// an open-addressing hash table with linear probing, sized to stay at most
// half full, and hashed with a seed chosen per Analyze call so that crafted
// span ids cannot force collisions.
type idIndex struct {
	spans []Span
	slots []int32 // span index + 1; 0 marks an empty slot
	mask  uint64
	seed  maphash.Seed
}

// newIDIndex returns an empty index able to hold all of spans.
func newIDIndex(spans []Span) idIndex {
	size := 2
	for size < 2*len(spans) {
		size <<= 1
	}
	return idIndex{spans: spans, slots: make([]int32, size), mask: uint64(size - 1), seed: maphash.MakeSeed()}
}

// insert adds span i and reports true, or reports false if a span with the
// same id is already present.
func (x *idIndex) insert(i int32) bool {
	id := x.spans[i].ID
	for h := maphash.Comparable(x.seed, id) & x.mask; ; h = (h + 1) & x.mask {
		switch v := x.slots[h]; {
		case v == 0:
			x.slots[h] = i + 1
			return true
		case x.spans[v-1].ID == id:
			return false
		}
	}
}

// lookup returns the index of the first span with the given id, or noParent.
func (x *idIndex) lookup(id [8]byte) int32 {
	for h := maphash.Comparable(x.seed, id) & x.mask; ; h = (h + 1) & x.mask {
		switch v := x.slots[h]; {
		case v == 0:
			return noParent
		case x.spans[v-1].ID == id:
			return v - 1
		}
	}
}

// breakCycles makes one span of every parent-link cycle a root. Parent links
// form a functional graph, so every span is walked at most twice: once while
// following a chain and once while marking it done.
func (a *analysis) breakCycles() {
	nodes := a.nodes
	path := a.order[:0] // scratch; order is rebuilt by adjust
	for i := range nodes {
		if nodes[i].state != stateNew {
			continue
		}
		path = path[:0]
		v := int32(i)
		for v != noParent && nodes[v].state == stateNew {
			nodes[v].state = stateOnPath
			path = append(path, v)
			v = nodes[v].parent
		}
		if v != noParent && nodes[v].state == stateOnPath {
			// The chain closed on itself: v lies on a cycle.
			best := v
			for u := nodes[v].parent; u != v; u = nodes[u].parent {
				if a.earlier(u, best) {
					best = u
				}
			}
			nodes[best].parent = noParent
		}
		for _, u := range path {
			nodes[u].state = stateDone
		}
	}
}

// earlier reports whether span u should be preferred over span v as the root
// of a broken cycle: earlier Start first, then lower index.
func (a *analysis) earlier(u, v int32) bool {
	su, sv := a.spans[u].Start, a.spans[v].Start
	return su < sv || (su == sv && u < v)
}

// buildChildren lays out every node's children contiguously (in input
// order) in a.children.
func (a *analysis) buildChildren() {
	nodes := a.nodes
	for i := range nodes {
		if p := nodes[i].parent; p != noParent {
			nodes[p].nChild++
		}
	}
	var off int32
	for i := range nodes {
		nodes[i].first = off
		off += nodes[i].nChild
		nodes[i].nChild = 0 // reused as the fill cursor below
	}
	for i := range nodes {
		if p := nodes[i].parent; p != noParent {
			a.children[nodes[p].first+nodes[p].nChild] = int32(i)
			nodes[p].nChild++
		}
	}
}

// adjust visits the trees breadth first from their roots. For each node it
// computes its children's adjusted intervals and synchronicity, stores the
// synchronous children first, sorted for the critical-path walk, and
// computes the node's self time. It returns the number of roots, which are
// a.order's first entries.
func (a *analysis) adjust() int {
	nodes, spans := a.nodes, a.spans
	order := a.order[:0]
	for i := range nodes {
		if nodes[i].state != stateDup && nodes[i].parent == noParent {
			nodes[i].start, nodes[i].end = spans[i].Start, spans[i].End
			order = append(order, int32(i))
		}
	}
	nRoots := len(order)
	byEndDesc := func(x, y int32) int {
		nx, ny := &nodes[x], &nodes[y]
		if c := cmp.Compare(ny.end, nx.end); c != 0 {
			return c
		}
		if c := cmp.Compare(nx.start, ny.start); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	}
	for h := 0; h < len(order); h++ {
		p := order[h]
		pn := &nodes[p]
		kids := a.children[pn.first : pn.first+pn.nChild]
		nSync := 0
		for k, c := range kids {
			if a.place(p, c) {
				kids[k], kids[nSync] = kids[nSync], kids[k]
				nSync++
			}
		}
		pn.nSync = int32(nSync)
		sync := kids[:nSync]
		if len(sync) > 1 {
			slices.SortFunc(sync, byEndDesc)
		}
		a.res[p].SelfTimeNs = (pn.end - pn.start) - a.covered(sync, pn.start, pn.end)
		order = append(order, kids...)
	}
	a.order = order
	return nRoots
}

// place sets the adjusted interval of child c of p (whose own interval is
// already adjusted) and reports whether c is synchronous.
func (a *analysis) place(p, c int32) bool {
	sp, sc := &a.spans[p], &a.spans[c]
	ps, pe := a.nodes[p].start, a.nodes[p].end
	var delta int64 // clock correction for c
	sameService := sp.Service == sc.Service
	if sameService {
		delta = ps - sp.Start // share the parent's clock
	}
	async := sp.Kind == KindProducer && sc.Kind == KindConsumer
	if !async && (!sameService || isRPCHop(sp.Kind, sc.Kind)) {
		s, e := sc.Start+delta, sc.End+delta
		dur := sc.End - sc.Start
		if (s < ps || e > pe) && dur <= pe-ps {
			// Remote child outside its parent: centre it.
			delta = ps + (pe-ps-dur)/2 - sc.Start
		}
	}
	cn := &a.nodes[c]
	cn.start, cn.end = sc.Start+delta, sc.End+delta
	return !async && cn.start < pe
}

// isRPCHop reports whether a child of kind child under a parent of kind
// parent crosses a process boundary (a request or message being received).
func isRPCHop(parent, child Kind) bool {
	return (child == KindServer || child == KindConsumer) &&
		(parent == KindClient || parent == KindProducer)
}

// covered returns the length of the union of the intervals of kids, each
// clipped to [lo, hi]. kids must be sorted by adjusted end, descending.
func (a *analysis) covered(kids []int32, lo, hi int64) int64 {
	var total, bLo, bHi int64
	open := false
	for _, c := range kids {
		s, e := max(a.nodes[c].start, lo), min(a.nodes[c].end, hi)
		if s >= e {
			continue
		}
		switch {
		case !open:
			bLo, bHi, open = s, e, true
		case e >= bLo: // e <= bHi by the sort order: overlaps the block
			bLo = min(bLo, s)
		default:
			total += bHi - bLo
			bLo, bHi = s, e
		}
	}
	if open {
		total += bHi - bLo
	}
	return total
}

// frame is one level of the critical-path walk.
type frame struct {
	lo, hi int64 // walk interval of node
	point  int64 // current point of the backward walk
	node   int32
	cur    int32 // next candidate child (offset in analysis.children)
	end    int32 // end of node's synchronous children
}

// walk marks the critical path of every root tree with an iterative
// "last finishing child" backward walk.
func (a *analysis) walk(roots []int32) {
	nodes := a.nodes
	stack := make([]frame, 0, 64)
	push := func(c int32, lo, hi int64) {
		a.res[c].OnCriticalPath = true
		f := nodes[c].first
		end := f + nodes[c].nSync
		a.preferEarliestOverflow(a.children[f:end], lo, hi)
		stack = append(stack, frame{lo: lo, hi: hi, point: hi, node: c, cur: f, end: end})
	}
	for _, r := range roots {
		push(r, nodes[r].start, nodes[r].end)
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			next := noParent
			var lo, hi int64
			for f.cur < f.end {
				c := a.children[f.cur]
				f.cur++
				lo, hi = max(nodes[c].start, f.lo), min(nodes[c].end, f.hi)
				inside := lo < hi || (lo == hi && nodes[c].start == nodes[c].end)
				if inside && hi <= f.point {
					next = c
					break
				}
				// Children are sorted by end, descending, and the point
				// only moves back, so a skipped child never qualifies later.
			}
			if next == noParent {
				stack = stack[:len(stack)-1]
				continue
			}
			f.point = lo
			push(next, lo, hi)
		}
	}
}

// preferEarliestOverflow restores the tie-break order for the first pick of
// a walk over sync, the sorted synchronous children of a span with walk
// interval [lo, hi]. Children ending at or after hi all end at hi once
// clipped, so they tie; they form a prefix of sync, which is sorted by
// unclipped end. The one that starts earliest (then has the lowest index)
// among those with a non-empty walk interval is moved to the front. Later
// picks cannot involve the rest of the prefix: their clipped end is hi,
// which is after the new point unless the first pick was zero-length at hi,
// in which case all candidates of the prefix are zero-length at hi and
// already in index order.
func (a *analysis) preferEarliestOverflow(sync []int32, lo, hi int64) {
	nodes := a.nodes
	best := -1
	for k, c := range sync {
		cn := &nodes[c]
		if cn.end < hi {
			break
		}
		s := max(cn.start, lo)
		if s > hi || (s == hi && cn.start != cn.end) {
			continue // empty walk interval
		}
		if best < 0 {
			best = k
			continue
		}
		b := &nodes[sync[best]]
		if cn.start < b.start || (cn.start == b.start && c < sync[best]) {
			best = k
		}
	}
	if best > 0 {
		sync[0], sync[best] = sync[best], sync[0]
	}
}
