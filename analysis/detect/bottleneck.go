package detect

import (
	"fmt"
	"math"
	"slices"

	"github.com/tracehound/tracehound/analysis/critpath"
)

// groupKey is a span group: a service and a normalised operation.
type groupKey struct{ service, op string }

// bottleneckKey identifies a bottleneck finding: an entry and a group.
type bottleneckKey struct{ entry, group groupKey }

// bottleneckOcc is one slow trace whose critical path a group dominates.
type bottleneckOcc struct {
	occurrence
	share, exclNs, durNs float64
	peer, peerKind       string
}

// entryStats counts the traces of one entry operation.
type entryStats struct {
	durations []float64 // entry-span durations (ns), sorted before use
	slow      int       // slow traces
	threshold float64   // slow threshold (ns)
}

// bottlenecks runs the bottleneck detector.
func (b *batch) bottlenecks(cfg BottleneckConfig) []Finding {
	entries := make([]int32, len(b.traces))
	stats := make(map[groupKey]*entryStats)
	keys := make([]groupKey, len(b.traces))
	for ti, x := range b.idx {
		e := x.entryOf()
		entries[ti] = e
		if e == noSpan {
			continue
		}
		sp := &x.t.Spans[e]
		k := groupKey{sp.Service, x.op(e)}
		keys[ti] = k
		st := stats[k]
		if st == nil {
			st = &entryStats{}
			stats[k] = st
		}
		st.durations = append(st.durations, float64(sp.DurationNano))
	}
	minDur := float64(cfg.MinTraceDuration)
	for _, st := range stats {
		st.threshold = minDur
		if len(st.durations) >= cfg.MinTracesForQuantile && cfg.SlowQuantile >= 0 && cfg.SlowQuantile <= 1 {
			slices.Sort(st.durations)
			st.threshold = max(minDur, quantile(st.durations, cfg.SlowQuantile))
		}
	}

	occs := make(map[bottleneckKey][]bottleneckOcc)
	var order []bottleneckKey // first-seen order, for determinism
	var cp []critpath.Span
	var stack []int32
	groupSelf := make(map[groupKey]float64)
	groupBest := make(map[groupKey]int32)
	for ti, x := range b.idx {
		e := entries[ti]
		if e == noSpan {
			continue
		}
		root := &x.t.Spans[e]
		dur := float64(root.DurationNano)
		st := stats[keys[ti]]
		if dur <= 0 || dur < st.threshold {
			continue
		}
		st.slow++

		cp = toCritpath(x.t, cp[:0])
		res := critpath.Analyze(cp)
		clear(groupSelf)
		clear(groupBest)
		stack = append(stack[:0], e)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			stack = append(stack, x.children(i)...)
			r := res[i]
			if !r.OnCriticalPath || r.SelfTimeNs <= 0 {
				continue
			}
			g := groupKey{x.t.Spans[i].Service, x.op(i)}
			groupSelf[g] += float64(r.SelfTimeNs)
			if bi, ok := groupBest[g]; !ok || res[bi].SelfTimeNs < r.SelfTimeNs {
				groupBest[g] = i
			}
		}
		var top groupKey
		topSelf := -1.0
		for g, v := range groupSelf {
			if v > topSelf || (v == topSelf && (g.service < top.service || (g.service == top.service && g.op < top.op))) {
				top, topSelf = g, v
			}
		}
		share := topSelf / dur
		if topSelf <= 0 || share < cfg.MinShare || topSelf < float64(cfg.MinSelfTime) {
			continue
		}
		peer, peerKind := "", ""
		if best := groupBest[top]; isCaller(x.t.Spans[best].Kind) {
			for _, c := range b.calls[ti] {
				if c.from == best && !c.fromQueue {
					peer, peerKind = c.Target, c.TargetKind
					break
				}
			}
		}
		k := bottleneckKey{keys[ti], top}
		if _, seen := occs[k]; !seen {
			order = append(order, k)
		}
		occs[k] = append(occs[k], bottleneckOcc{
			occurrence: occurrence{trace: ti, worst: topSelf, start: root.StartUnixNano, end: root.StartUnixNano},
			share:      min(share, 1),
			exclNs:     topSelf,
			durNs:      dur,
			peer:       peer,
			peerKind:   peerKind,
		})
	}

	var out []Finding
	for _, k := range order {
		list := occs[k]
		if len(list) < cfg.MinOccurrences {
			continue
		}
		out = append(out, b.bottleneckFinding(k, list, stats[k.entry]))
	}
	return out
}

// bottleneckFinding aggregates the occurrences of one (entry, group).
func (b *batch) bottleneckFinding(k bottleneckKey, list []bottleneckOcc, st *entryStats) Finding {
	shares := make([]float64, len(list))
	excl := make([]float64, len(list))
	durs := make([]float64, len(list))
	plain := make([]occurrence, len(list))
	peers := make(map[[2]string]int)
	for i, o := range list {
		shares[i], excl[i], durs[i], plain[i] = o.share, o.exclNs, o.durNs, o.occurrence
		if o.peer != "" {
			peers[[2]string{o.peer, o.peerKind}]++
		}
	}
	// The most common peer (ties: alphabetical).
	var peer [2]string
	bestN := 0
	for p, n := range peers {
		if n > bestN || (n == bestN && p[0] < peer[0]) {
			peer, bestN = p, n
		}
	}
	share, exclP50, durP50 := median(shares), median(excl), median(durs)
	score := clampScore(50*share + 25*math.Log10(max(exclP50, 1)/1e8))
	who := k.group.service + " " + k.group.op
	if peer[0] != "" {
		who += " (calling " + peer[0] + ")"
	}
	f := Finding{
		ID:        findingID(KindBottleneck, k.group.service, k.group.op, peer[0], k.entry.service, k.entry.op),
		Kind:      KindBottleneck,
		Service:   k.group.service,
		Operation: k.group.op,
		Peer:      peer[0],
		PeerKind:  peer[1],
		Score:     score,
		Severity:  severityOf(score),
		Summary: fmt.Sprintf("%s takes %.0f%% of %s %s in slow requests (%s of %s at p50) as exclusive time on the critical path",
			who, 100*share, k.entry.service, k.entry.op, fmtDuration(exclP50), fmtDuration(durP50)),
		Evidence: map[string]any{
			"entry_service":         k.entry.service,
			"entry_operation":       k.entry.op,
			"share":                 round3(share),
			"exclusive_ms_p50":      ms(exclP50),
			"trace_duration_ms_p50": ms(durP50),
			"slow_threshold_ms":     ms(st.threshold),
			"slow_traces":           st.slow,
			"traces_examined":       len(st.durations),
		},
	}
	b.fillOccurrences(&f, plain)
	return f
}

// toCritpath converts the spans of a trace for critpath.Analyze, appending
// to dst. Links to spans of the same trace become LinkedTo.
func toCritpath(t *Trace, dst []critpath.Span) []critpath.Span {
	for i := range t.Spans {
		sp := &t.Spans[i]
		cs := critpath.Span{
			ID:       sp.SpanID,
			ParentID: sp.ParentSpanID,
			Start:    sp.StartUnixNano,
			End:      sp.StartUnixNano + max(sp.DurationNano, 0),
			Kind:     critpath.Kind(sp.Kind),
			Service:  sp.Service,
		}
		for _, l := range sp.Links {
			if l.TraceID == sp.TraceID || l.TraceID == t.ID {
				cs.LinkedTo = append(cs.LinkedTo, l.SpanID)
			}
		}
		dst = append(dst, cs)
	}
	return dst
}
