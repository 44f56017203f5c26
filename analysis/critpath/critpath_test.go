package critpath

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// ms is one millisecond in nanoseconds.
const ms = int64(1_000_000)

// sid turns a small test number into a span id; 0 gives the all-zero id.
func sid(n uint64) [8]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b
}

// ts describes a test span compactly.
type ts struct {
	id, parent uint64
	start, end int64
	kind       Kind
	svc        string
	links      []uint64
}

// mk converts test span descriptions into Spans; an empty service becomes "a".
func mk(t testing.TB, in ...ts) []Span {
	t.Helper()
	out := make([]Span, len(in))
	for i, s := range in {
		if s.end < s.start {
			t.Fatalf("span %d: end %d before start %d", i, s.end, s.start)
		}
		svc := s.svc
		if svc == "" {
			svc = "a"
		}
		var links [][8]byte
		for _, l := range s.links {
			links = append(links, sid(l))
		}
		out[i] = Span{ID: sid(s.id), ParentID: sid(s.parent), Start: s.start, End: s.end, Kind: s.kind, Service: svc, LinkedTo: links}
	}
	return out
}

// r is shorthand for a Result.
func r(self int64, on bool) Result { return Result{SelfTimeNs: self, OnCriticalPath: on} }

// checkResults compares got with want span by span.
func checkResults(t *testing.T, spans []Span, got, want []Result) {
	t.Helper()
	if len(got) != len(spans) {
		t.Fatalf("got %d results for %d spans", len(got), len(spans))
	}
	if len(want) != len(got) {
		t.Fatalf("test bug: %d expectations for %d results", len(want), len(got))
	}
	bad := 0
	for i := range got {
		if got[i] != want[i] {
			bad++
			if bad <= 10 {
				t.Errorf("span %d (id %x): got self=%d on=%v, want self=%d on=%v",
					i, spans[i].ID, got[i].SelfTimeNs, got[i].OnCriticalPath, want[i].SelfTimeNs, want[i].OnCriticalPath)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... and %d more mismatches", bad-10)
	}
}

// chain builds an n-deep chain: span i is the parent of span i+1 and covers
// [i, 2n-i], so every span has self time 2 and all are on the critical path.
// With cyclic set, span 0's parent is the last span. With reversed set the
// input order is reversed.
func chain(n int, cyclic, reversed bool) ([]Span, []Result) {
	spans := make([]Span, n)
	want := make([]Result, n)
	for i := range n {
		var parent [8]byte
		if i > 0 {
			parent = sid(uint64(i))
		} else if cyclic {
			parent = sid(uint64(n))
		}
		spans[i] = Span{ID: sid(uint64(i + 1)), ParentID: parent, Start: int64(i), End: int64(2*n - i), Kind: KindInternal, Service: "a"}
		want[i] = r(2, true)
	}
	if reversed {
		slices.Reverse(spans)
		slices.Reverse(want)
	}
	return spans, want
}

func TestAnalyzeGolden(t *testing.T) {
	t.Parallel()
	const (
		srv  = KindServer
		cli  = KindClient
		prod = KindProducer
		cons = KindConsumer
		intl = KindInternal
	)
	type tc struct {
		name  string
		spans []Span
		want  []Result
	}
	tests := []tc{
		{
			name:  "single span",
			spans: mk(t, ts{id: 1, start: 0, end: 100 * ms, kind: srv}),
			want:  []Result{r(100*ms, true)},
		},
		{
			name: "sequential children",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100, kind: srv},
				ts{id: 2, parent: 1, start: 10, end: 40},
				ts{id: 3, parent: 1, start: 40, end: 90}, // back to back with 2
				ts{id: 4, parent: 1, start: 92, end: 100},
			),
			want: []Result{r(12, true), r(30, true), r(50, true), r(8, true)},
		},
		{
			name: "parallel children",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100, kind: srv},
				ts{id: 2, parent: 1, start: 10, end: 50},
				ts{id: 3, parent: 1, start: 10, end: 80},
				ts{id: 4, parent: 1, start: 85, end: 95},
				ts{id: 5, parent: 2, start: 20, end: 30}, // under an off-path span
			),
			want: []Result{r(20, true), r(30, false), r(70, true), r(10, true), r(10, false)},
		},
		{
			name: "parallel children ending together: earlier start wins",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100},
				ts{id: 2, parent: 1, start: 30, end: 80},
				ts{id: 3, parent: 1, start: 10, end: 80},
			),
			want: []Result{r(30, true), r(50, false), r(70, true)},
		},
		{
			name: "overflowing child is clipped",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100},
				ts{id: 2, parent: 1, start: 50, end: 150},
				ts{id: 3, parent: 2, start: 120, end: 140}, // outside 2's walk interval [50,100]
				ts{id: 4, parent: 2, start: 60, end: 70},
			),
			want: []Result{r(50, true), r(70, true), r(20, false), r(10, true)},
		},
		{
			name: "children overflowing together: earlier start wins",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100},
				ts{id: 2, parent: 1, start: 10, end: 150},
				ts{id: 3, parent: 1, start: 5, end: 120},
				ts{id: 4, parent: 1, start: 1, end: 3}, // before 3's start: on the path
			),
			want: []Result{r(3, true), r(140, false), r(115, true), r(2, true)},
		},
		{
			name: "same-service children outside the parent",
			spans: mk(t,
				ts{id: 1, start: 100, end: 200},
				ts{id: 2, parent: 1, start: 0, end: 50},    // entirely before
				ts{id: 3, parent: 1, start: 50, end: 100},  // touches the start only
				ts{id: 4, parent: 1, start: 250, end: 300}, // entirely after: async
				ts{id: 5, parent: 1, start: 200, end: 210}, // starts at the end: async
				ts{id: 6, parent: 1, start: 150, end: 160},
			),
			want: []Result{r(90, true), r(50, false), r(50, false), r(50, false), r(10, false), r(10, true)},
		},
		{
			name: "same-service child is clipped, not shifted",
			spans: mk(t,
				ts{id: 1, start: 100, end: 200, kind: srv},
				ts{id: 2, parent: 1, start: 80, end: 120, kind: cli, svc: "a"},
			),
			want: []Result{r(80, true), r(40, true)},
		},
		{
			name: "async consumer",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100, kind: srv, svc: "a"},
				ts{id: 2, parent: 1, start: 10, end: 20, kind: prod, svc: "a"},
				ts{id: 3, parent: 2, start: 1000, end: 2000, kind: cons, svc: "b"}, // long after
				ts{id: 4, parent: 3, start: 1100, end: 1200, kind: intl, svc: "b"},
				ts{id: 5, parent: 2, start: 15, end: 60, kind: cons, svc: "c"}, // overlapping, still async
			),
			want: []Result{r(90, true), r(10, true), r(900, false), r(100, false), r(45, false)},
		},
		{
			name: "clock-skewed remote server child (+5 s) is shifted inside",
			spans: mk(t,
				ts{id: 1, start: 1000 * ms, end: 1100 * ms, kind: cli, svc: "a"},
				ts{id: 2, parent: 1, start: 6010 * ms, end: 6090 * ms, kind: srv, svc: "b"},
				// Same service as 2: moves with 2's correction.
				ts{id: 3, parent: 2, start: 6020 * ms, end: 6030 * ms, kind: intl, svc: "b"},
			),
			want: []Result{r(20*ms, true), r(70*ms, true), r(10*ms, true)},
		},
		{
			name: "skewed remote child is centred",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100, kind: srv, svc: "a"},
				ts{id: 2, parent: 1, start: 0, end: 10, kind: intl, svc: "a"},
				ts{id: 3, parent: 1, start: 5000, end: 5060, kind: intl, svc: "b"},   // -> [20,80]
				ts{id: 4, parent: 1, start: -3000, end: -2990, kind: intl, svc: "c"}, // -> [45,55]
				ts{id: 5, parent: 1, start: 5001, end: 5070, kind: intl, svc: "d"},   // 69 ns -> [15,84]
			),
			// Union of [0,10] and [15,84] is 79 ns.
			want: []Result{r(21, true), r(10, true), r(60, false), r(10, false), r(69, true)},
		},
		{
			name: "remote child fitting on the raw clock is not shifted",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100, kind: cli, svc: "a"},
				ts{id: 2, parent: 1, start: 70, end: 90, kind: srv, svc: "b"},
			),
			want: []Result{r(80, true), r(20, true)},
		},
		{
			name: "same-service server under client is corrected by kind",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100, kind: cli, svc: "a"},
				ts{id: 2, parent: 1, start: 150, end: 170, kind: srv, svc: "a"}, // -> [40,60]
			),
			want: []Result{r(80, true), r(20, true)},
		},
		{
			name: "remote child longer than parent is clipped, not shifted",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100, kind: cli, svc: "a"},
				ts{id: 2, parent: 1, start: 50, end: 250, kind: srv, svc: "b"},
				ts{id: 3, parent: 2, start: 150, end: 160, kind: intl, svc: "b"}, // beyond 1's end
				ts{id: 4, parent: 1, start: 200, end: 500, kind: srv, svc: "c"},  // longer and after: async
			),
			want: []Result{r(50, true), r(190, true), r(10, false), r(300, false)},
		},
		{
			name: "skew corrections accumulate down same-service chains",
			spans: mk(t,
				ts{id: 1, start: 0, end: 1000, kind: cli, svc: "a"},
				ts{id: 2, parent: 1, start: 10100, end: 10900, kind: srv, svc: "b"}, // delta -10000
				ts{id: 3, parent: 2, start: 10200, end: 10800, kind: cli, svc: "b"}, // [200,800]
				ts{id: 4, parent: 3, start: 300, end: 700, kind: srv, svc: "a"},     // fits raw
			),
			want: []Result{r(200, true), r(200, true), r(200, true), r(400, true)},
		},
		{
			name: "missing parent: orphan is a root",
			spans: mk(t,
				ts{id: 1, parent: 99, start: 0, end: 100},
				ts{id: 2, parent: 1, start: 10, end: 20},
				ts{id: 3, start: 200, end: 300},
				ts{id: 4, parent: 98, start: 5, end: 6},
			),
			want: []Result{r(90, true), r(10, true), r(100, true), r(1, true)},
		},
		{
			name: "cycles are broken at their earliest span",
			spans: mk(t,
				ts{id: 1, parent: 2, start: 0, end: 100},
				ts{id: 2, parent: 1, start: 10, end: 60},
				ts{id: 3, parent: 2, start: 20, end: 30}, // tail hanging off the cycle
				ts{id: 4, parent: 4, start: 0, end: 10},  // own parent
				ts{id: 5, parent: 6, start: 50, end: 60},
				ts{id: 6, parent: 5, start: 40, end: 70}, // earlier than 5: becomes the root
			),
			want: []Result{r(50, true), r(40, true), r(10, true), r(10, true), r(10, true), r(20, true)},
		},
		{
			name: "duplicate ids",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100},
				ts{id: 2, parent: 1, start: 10, end: 30},
				ts{id: 1, start: 500, end: 600},              // duplicate root
				ts{id: 3, parent: 1, start: 40, end: 50},     // attaches to the first 1
				ts{id: 2, parent: 1, start: 60, end: 90},     // duplicate child: ignored
				ts{id: 4, parent: 2, start: 15, end: 25},     // attaches to the first 2
				ts{id: 3, parent: 9, start: 1000, end: 1007}, // duplicate orphan
			),
			want: []Result{r(70, true), r(10, true), r(100, false), r(10, true), r(30, false), r(10, true), r(7, false)},
		},
		{
			name: "link-only relation is not a child",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100, kind: prod, svc: "a"},
				ts{id: 2, parent: 1, start: 10, end: 20, kind: intl, svc: "a"},
				ts{id: 3, start: 30, end: 90, kind: cons, svc: "b", links: []uint64{1}}, // inside 1, but only linked
				ts{id: 4, parent: 3, start: 40, end: 50, kind: intl, svc: "b", links: []uint64{2, 77}},
			),
			want: []Result{r(90, true), r(10, true), r(50, true), r(10, true)},
		},
		{
			name: "zero-duration spans",
			spans: mk(t,
				ts{id: 1, start: 0, end: 100},
				ts{id: 2, parent: 1, start: 100, end: 100}, // at the parent's end: async
				ts{id: 3, parent: 1, start: 50, end: 50},   // ties with 4 on end, starts later
				ts{id: 4, parent: 1, start: 10, end: 50},
				ts{id: 5, parent: 1, start: 70, end: 70},
				ts{id: 6, start: 7, end: 7},
				ts{id: 7, parent: 6, start: 7, end: 7}, // starts at the parent's end: async
			),
			want: []Result{r(60, true), r(0, false), r(0, false), r(40, true), r(0, true), r(0, true), r(0, false)},
		},
		{
			name:  "no spans",
			spans: nil,
			want:  []Result{},
		},
	}

	deep := func(name string, cyclic, reversed bool) tc {
		spans, want := chain(50_000, cyclic, reversed)
		return tc{name: name, spans: spans, want: want}
	}
	tests = append(tests,
		deep("deep chain of 50000", false, false),
		deep("deep chain of 50000, children first", false, true),
		deep("cycle of 50000", true, false),
	)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := slices.Clone(tt.spans)
			got := Analyze(tt.spans)
			checkResults(t, tt.spans, got, tt.want)
			for i := range in {
				if in[i].ID != tt.spans[i].ID || in[i].Start != tt.spans[i].Start || in[i].End != tt.spans[i].End {
					t.Fatalf("Analyze modified span %d", i)
				}
			}
		})
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		k    Kind
		want string
	}{
		{KindUnspecified, "UNSPECIFIED"},
		{KindInternal, "INTERNAL"},
		{KindServer, "SERVER"},
		{KindClient, "CLIENT"},
		{KindProducer, "PRODUCER"},
		{KindConsumer, "CONSUMER"},
		{Kind(9), "Kind(9)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", int32(tt.k), got, tt.want)
		}
	}
}

// randomTrace returns a small trace with random structure: missing parents,
// cycles, duplicate ids, several services and kinds, skew and overlaps.
func randomTrace(rng *rand.Rand, n int) []Span {
	spans := make([]Span, n)
	services := []string{"a", "b", "c"}
	for i := range spans {
		id := uint64(rng.IntN(n+n/4) + 1) // some duplicates
		var parent uint64
		if rng.IntN(6) > 0 {
			parent = uint64(rng.IntN(n+3) + 1) // sometimes missing or cyclic
		}
		start := int64(rng.IntN(200) - 50)
		if rng.IntN(5) == 0 {
			start += 5000 // skewed
		}
		end := start + int64(rng.IntN(120))
		spans[i] = Span{
			ID: sid(id), ParentID: sid(parent), Start: start, End: end,
			Kind: Kind(rng.IntN(6)), Service: services[rng.IntN(len(services))],
		}
	}
	return spans
}

// TestAnalyzeMatchesReference compares Analyze with a direct, recursive
// implementation of the documented rules on many small random traces.
func TestAnalyzeMatchesReference(t *testing.T) {
	t.Parallel()
	for seed := range uint64(64) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 42))
			for iter := range 100 {
				spans := randomTrace(rng, 1+rng.IntN(40))
				got := Analyze(spans)
				want := reference(spans)
				if !slices.Equal(got, want) {
					checkResults(t, spans, got, want)
					t.Fatalf("iteration %d: mismatch on %+v", iter, spans)
				}
				checkInvariants(t, spans, got)
			}
		})
	}
}

// TestAnalyzeRealisticMatchesReference cross-checks the benchmark's trace
// shape (skew, overflow, fan-out, async consumers) against the reference.
func TestAnalyzeRealisticMatchesReference(t *testing.T) {
	t.Parallel()
	for seed := range uint64(4) {
		spans := realisticTrace(20_000, seed)
		got := Analyze(spans)
		checkResults(t, spans, got, reference(spans))
		checkInvariants(t, spans, got)
		on := 0
		for _, g := range got {
			if g.OnCriticalPath {
				on++
			}
		}
		if on < 2 || on == len(spans) {
			t.Errorf("seed %d: %d of %d spans on the critical path; generator is degenerate", seed, on, len(spans))
		}
	}
}

// checkInvariants checks properties that hold for any input.
func checkInvariants(t *testing.T, spans []Span, got []Result) {
	t.Helper()
	ids := map[[8]byte]int{}
	for i, s := range spans {
		if self := got[i].SelfTimeNs; self < 0 || self > s.End-s.Start {
			t.Fatalf("span %d: self time %d outside [0, %d]", i, self, s.End-s.Start)
		}
		if _, ok := ids[s.ID]; !ok {
			ids[s.ID] = i
		}
	}
	for i, s := range spans {
		if ids[s.ID] != i && (got[i].OnCriticalPath || got[i].SelfTimeNs != s.End-s.Start) {
			t.Fatalf("duplicate span %d: got %+v", i, got[i])
		}
	}
}

// reference is a deliberately naive, recursive implementation of the rules
// in the package documentation, used only to cross-check Analyze on small
// inputs.
func reference(spans []Span) []Result {
	n := len(spans)
	res := make([]Result, n)
	first := map[[8]byte]int{}
	dup := make([]bool, n)
	for i, s := range spans {
		res[i].SelfTimeNs = s.End - s.Start
		if _, ok := first[s.ID]; ok {
			dup[i] = true
		} else {
			first[s.ID] = i
		}
	}
	parent := make([]int, n)
	for i, s := range spans {
		parent[i] = -1
		if p, ok := first[s.ParentID]; ok && !dup[i] && s.ParentID != ([8]byte{}) && p != i {
			parent[i] = p
		}
	}
	// Break cycles: find any span whose ancestor chain revisits a span.
	for {
		broke := false
		for i := range n {
			if dup[i] {
				continue
			}
			seen := map[int]bool{}
			v := i
			for v != -1 && !seen[v] {
				seen[v] = true
				v = parent[v]
			}
			if v == -1 {
				continue
			}
			best := v
			for u := parent[v]; u != v; u = parent[u] {
				if spans[u].Start < spans[best].Start || (spans[u].Start == spans[best].Start && u < best) {
					best = u
				}
			}
			parent[best] = -1
			broke = true
		}
		if !broke {
			break
		}
	}
	kids := make([][]int, n)
	for i := range n {
		if !dup[i] && parent[i] != -1 {
			kids[parent[i]] = append(kids[parent[i]], i)
		}
	}
	st := make([]int64, n)
	en := make([]int64, n)
	syncKid := make([]bool, n)
	var place func(p int)
	place = func(p int) {
		sp := spans[p]
		for _, c := range kids[p] {
			sc := spans[c]
			var delta int64
			if sc.Service == sp.Service {
				delta = st[p] - sp.Start
			}
			async := sp.Kind == KindProducer && sc.Kind == KindConsumer
			remote := sc.Service != sp.Service ||
				((sc.Kind == KindServer || sc.Kind == KindConsumer) && (sp.Kind == KindClient || sp.Kind == KindProducer))
			dur := sc.End - sc.Start
			if !async && remote {
				fits := sc.Start+delta >= st[p] && sc.End+delta <= en[p]
				if !fits && dur <= en[p]-st[p] {
					delta = st[p] + (en[p]-st[p]-dur)/2 - sc.Start
				}
			}
			st[c], en[c] = sc.Start+delta, sc.End+delta
			syncKid[c] = !async && st[c] < en[p]
			place(c)
		}
	}
	var roots []int
	for i := range n {
		if !dup[i] && parent[i] == -1 {
			roots = append(roots, i)
			st[i], en[i] = spans[i].Start, spans[i].End
			place(i)
		}
	}
	// Self time: brute-force union of clipped synchronous child intervals.
	for p := range n {
		if dup[p] {
			continue
		}
		type iv struct{ s, e int64 }
		var ivs []iv
		for _, c := range kids[p] {
			if s, e := max(st[c], st[p]), min(en[c], en[p]); syncKid[c] && s < e {
				ivs = append(ivs, iv{s, e})
			}
		}
		slices.SortFunc(ivs, func(x, y iv) int { return cmp.Compare(x.s, y.s) })
		var covered, curS, curE int64
		for k, v := range ivs {
			if k == 0 || v.s > curE {
				covered += curE - curS
				curS, curE = v.s, v.e
			} else {
				curE = max(curE, v.e)
			}
		}
		covered += curE - curS
		res[p].SelfTimeNs = en[p] - st[p] - covered
	}
	// Critical path: recursive last-finishing-child walk.
	var visit func(p int, lo, hi int64)
	visit = func(p int, lo, hi int64) {
		res[p].OnCriticalPath = true
		type cand struct {
			c      int
			lo, hi int64
		}
		var cs []cand
		for _, c := range kids[p] {
			clo, chi := max(st[c], lo), min(en[c], hi)
			if syncKid[c] && (clo < chi || (clo == chi && st[c] == en[c])) {
				cs = append(cs, cand{c, clo, chi})
			}
		}
		slices.SortFunc(cs, func(x, y cand) int {
			if c := cmp.Compare(y.hi, x.hi); c != 0 {
				return c
			}
			if c := cmp.Compare(st[x.c], st[y.c]); c != 0 {
				return c
			}
			return cmp.Compare(x.c, y.c)
		})
		point := hi
		for _, c := range cs {
			if c.hi <= point {
				visit(c.c, c.lo, c.hi)
				point = c.lo
			}
		}
	}
	for _, rt := range roots {
		visit(rt, st[rt], en[rt])
	}
	return res
}
