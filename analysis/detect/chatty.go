package detect

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// chattyKey identifies a chatty finding: caller service, callee node and
// callee operation.
type chattyKey struct{ service, peer, peerKind, op string }

// chattyInTrace groups the calls of one trace: one caller span, one callee.
type chattyInTrace struct {
	caller int32
	peer   string
	kind   string
	op     string
}

// chattyOcc is one caller span repeating a call in one trace.
type chattyOcc struct {
	occurrence
	calls      int
	sequential bool
	totalNs    float64
	savingsNs  float64
	callerOp   string
}

// chatty runs the chatty-call detector.
func (b *batch) chatty(cfg ChattyConfig) []Finding {
	byKey := make(map[chattyKey][]chattyOcc)
	var order []chattyKey
	groups := make(map[chattyInTrace][]int)
	var gorder []chattyInTrace
	for ti, calls := range b.calls {
		x := b.idx[ti]
		clear(groups)
		gorder = gorder[:0]
		for ci := range calls {
			c := &calls[ci]
			if c.caller == noSpan || c.fromQueue {
				continue
			}
			g := chattyInTrace{c.caller, c.Target, c.TargetKind, c.Operation}
			if _, ok := groups[g]; !ok {
				gorder = append(gorder, g)
			}
			groups[g] = append(groups[g], ci)
		}
		for _, g := range gorder {
			members := groups[g]
			if len(members) < cfg.MinCalls {
				continue
			}
			o := measureCalls(calls, members)
			if o.totalNs < float64(cfg.MinTotalDuration) {
				continue
			}
			k := chattyKey{calls[members[0]].Source, g.peer, g.kind, g.op}
			prev, seen := byKey[k]
			if !seen {
				order = append(order, k)
			}
			occ := chattyOcc{
				occurrence: occurrence{trace: ti, worst: o.savingsNs, start: o.start, end: o.lastStart},
				calls:      len(members),
				sequential: o.overlap <= cfg.MaxOverlap,
				totalNs:    o.totalNs,
				savingsNs:  o.savingsNs,
				callerOp:   x.op(g.caller),
			}
			// One occurrence per trace: keep the worst caller span.
			if n := len(prev); n > 0 && prev[n-1].trace == ti {
				if occ.savingsNs > prev[n-1].savingsNs || (occ.savingsNs == prev[n-1].savingsNs && occ.calls > prev[n-1].calls) {
					prev[n-1] = occ
				}
				continue
			}
			byKey[k] = append(prev, occ)
		}
	}
	out := make([]Finding, 0, len(order))
	for _, k := range order {
		out = append(out, b.chattyFinding(k, byKey[k], cfg))
	}
	return out
}

// callMeasure summarises a set of repeated calls in one trace.
type callMeasure struct {
	totalNs          float64 // summed call durations
	savingsNs        float64 // totalNs minus the slowest call
	overlap          float64 // 1 - union/sum of the call intervals
	start, lastStart int64   // earliest and latest call start
}

// measureCalls computes the timing of the calls at the given indexes.
func measureCalls(calls []callRec, members []int) callMeasure {
	type iv struct{ s, e int64 }
	ivs := make([]iv, len(members))
	var m callMeasure
	var slowest int64
	m.start, m.lastStart = math.MaxInt64, math.MinInt64
	for i, ci := range members {
		c := &calls[ci]
		d := max(c.DurationNs, 0)
		ivs[i] = iv{c.StartUnixNano, c.StartUnixNano + d}
		m.totalNs += float64(d)
		slowest = max(slowest, d)
		m.start, m.lastStart = min(m.start, c.StartUnixNano), max(m.lastStart, c.StartUnixNano)
	}
	slices.SortFunc(ivs, func(a, b iv) int { return cmp.Compare(a.s, b.s) })
	var union, curS, curE int64
	for i, v := range ivs {
		if i == 0 || v.s > curE {
			union += curE - curS
			curS, curE = v.s, v.e
			continue
		}
		curE = max(curE, v.e)
	}
	union += curE - curS
	if m.totalNs > 0 {
		m.overlap = 1 - float64(union)/m.totalNs
	}
	m.savingsNs = m.totalNs - float64(slowest)
	return m
}

// chattyFinding aggregates the occurrences of one chatty pattern.
func (b *batch) chattyFinding(k chattyKey, list []chattyOcc, cfg ChattyConfig) Finding {
	calls := make([]float64, len(list))
	totals := make([]float64, len(list))
	savings := make([]float64, len(list))
	plain := make([]occurrence, len(list))
	seq := 0
	callerOps := make(map[string]int)
	for i, o := range list {
		calls[i], totals[i], savings[i], plain[i] = float64(o.calls), o.totalNs, o.savingsNs, o.occurrence
		if o.sequential {
			seq++
		}
		callerOps[o.callerOp]++
	}
	callerOp, bestN := "", 0
	for op, n := range callerOps {
		if n > bestN || (n == bestN && op < callerOp) {
			callerOp, bestN = op, n
		}
	}
	sequential := 2*seq >= len(list)
	callsP50, totalP50, savingsP50 := median(calls), median(totals), median(savings)
	score := clampScore(25*math.Log10(1+savingsP50/5e6) + 10*math.Log10(callsP50/float64(max(cfg.MinCalls, 1))))
	pattern, summary := "n_plus_one", ""
	if sequential {
		summary = fmt.Sprintf("%s calls %s %s %.0f× per request sequentially (N+1); batching would save ~%s per request",
			k.service, k.peer, k.op, callsP50, fmtDuration(savingsP50))
	} else {
		pattern = "call_storm"
		summary = fmt.Sprintf("%s calls %s %s %.0f× per request in parallel (call storm); batching would save ~%s of call time per request",
			k.service, k.peer, k.op, callsP50, fmtDuration(savingsP50))
	}
	f := Finding{
		ID:        findingID(KindChatty, k.service, k.op, k.peer),
		Kind:      KindChatty,
		Service:   k.service,
		Operation: k.op,
		Peer:      k.peer,
		PeerKind:  k.peerKind,
		Score:     score,
		Severity:  severityOf(score),
		Summary:   summary,
		Evidence: map[string]any{
			"calls_per_trace":      callsP50,
			"sequential":           sequential,
			"total_ms_p50":         ms(totalP50),
			"estimated_savings_ms": ms(savingsP50),
			"caller_operation":     callerOp,
			"pattern":              pattern,
		},
	}
	b.fillOccurrences(&f, plain)
	return f
}
