package detect

import (
	"fmt"
	"math"
	"slices"
)

// Payload directions.
const (
	directionRequest  = "request"
	directionResponse = "response"
	directionMessage  = "message"
)

// payloadKey identifies an edge, operation and direction.
type payloadKey struct{ service, peer, peerKind, op, dir string }

// payloadSample is one sized call.
type payloadSample struct {
	trace int
	start int64
	size  float64
}

// payloads runs the oversized-payload detector.
func (b *batch) payloads(cfg PayloadConfig) []Finding {
	samples := make(map[payloadKey][]payloadSample)
	var order []payloadKey
	add := func(k payloadKey, s payloadSample) {
		if _, ok := samples[k]; !ok {
			order = append(order, k)
		}
		samples[k] = append(samples[k], s)
	}
	for ti, calls := range b.calls {
		for ci := range calls {
			c := &calls[ci]
			if c.fromQueue || c.SourceKind != KindService {
				continue // a queue → consumer hop: counted at the producer
			}
			k := payloadKey{c.Source, c.Target, c.TargetKind, c.Operation, ""}
			if c.message {
				if c.RequestBytes >= 0 {
					k.dir = directionMessage
					add(k, payloadSample{ti, c.StartUnixNano, float64(c.RequestBytes)})
				}
				continue
			}
			if c.RequestBytes >= 0 {
				k.dir = directionRequest
				add(k, payloadSample{ti, c.StartUnixNano, float64(c.RequestBytes)})
			}
			if c.ResponseBytes >= 0 {
				k.dir = directionResponse
				add(k, payloadSample{ti, c.StartUnixNano, float64(c.ResponseBytes)})
			}
		}
	}
	var out []Finding
	sizes := make([]float64, 0, 64)
	for _, k := range order {
		list := samples[k]
		sizes = sizes[:0]
		for _, s := range list {
			sizes = append(sizes, s.size)
		}
		slices.Sort(sizes)
		p50, p95, maxSize := quantile(sizes, 0.5), quantile(sizes, 0.95), sizes[len(sizes)-1]
		var reason string
		var threshold float64
		switch {
		case len(sizes) >= cfg.MinSamples && p50 >= float64(cfg.AbsoluteBytes):
			reason, threshold = "absolute", float64(cfg.AbsoluteBytes)
		case len(sizes) >= cfg.OutlierMinSamples && p95 >= cfg.OutlierFactor*p50 && p95 >= float64(cfg.OutlierMinBytes):
			reason, threshold = "outlier", max(cfg.OutlierFactor*p50, float64(cfg.OutlierMinBytes))
		default:
			continue
		}
		out = append(out, b.payloadFinding(k, list, reason, threshold, p50, p95, maxSize))
	}
	return out
}

// payloadFinding builds the finding of one oversized edge and direction.
func (b *batch) payloadFinding(k payloadKey, list []payloadSample, reason string, threshold, p50, p95, maxSize float64) Finding {
	// Occurrences: the traces with a sample at or above the threshold.
	var occs []occurrence
	pos := make(map[int]int)
	for _, s := range list {
		if s.size < threshold {
			continue
		}
		if i, ok := pos[s.trace]; ok {
			o := &occs[i]
			o.worst = max(o.worst, s.size)
			o.start, o.end = min(o.start, s.start), max(o.end, s.start)
			continue
		}
		pos[s.trace] = len(occs)
		occs = append(occs, occurrence{trace: s.trace, worst: s.size, start: s.start, end: s.start})
	}
	var score float64
	var summary string
	plural := k.dir + "s"
	if k.dir == directionResponse {
		plural = "response bodies"
	} else if k.dir == directionRequest {
		plural = "request bodies"
	}
	if reason == "absolute" {
		score = clampScore(5 + 37.5*math.Log10(p50/threshold))
		summary = fmt.Sprintf("%s → %s %s: %s are %s at the median (p95 %s), above the %s threshold",
			k.service, k.peer, k.op, plural, fmtBytes(p50), fmtBytes(p95), fmtBytes(threshold))
	} else {
		score = clampScore(37.5 * math.Log10(p95/threshold*2))
		summary = fmt.Sprintf("%s → %s %s: %s reach %s at p95, %.0f× the edge's median of %s",
			k.service, k.peer, k.op, plural, fmtBytes(p95), p95/max(p50, 1), fmtBytes(p50))
	}
	f := Finding{
		ID:        findingID(KindOversizedPayload, k.service, k.op, k.peer, k.dir),
		Kind:      KindOversizedPayload,
		Service:   k.service,
		Operation: k.op,
		Peer:      k.peer,
		PeerKind:  k.peerKind,
		Score:     score,
		Severity:  severityOf(score),
		Summary:   summary,
		Evidence: map[string]any{
			"direction":       k.dir,
			"p50_bytes":       int64(p50),
			"p95_bytes":       int64(p95),
			"max_bytes":       int64(maxSize),
			"threshold_bytes": int64(threshold),
			"samples":         len(list),
			"reason":          reason,
		},
	}
	b.fillOccurrences(&f, occs)
	return f
}
