package detect

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"
)

// Finding kinds.
const (
	// KindBottleneck is a span group dominating the critical path.
	KindBottleneck = "bottleneck"
	// KindChatty is an N+1 pattern or a call storm.
	KindChatty = "chatty"
	// KindOversizedPayload is an edge with oversized requests, responses or
	// messages.
	KindOversizedPayload = "oversized_payload"
)

// Severities, from least to most severe. They are bands of Score: low below
// 25, medium below 50, high below 75, critical from 75.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// maxExamples is the number of example traces kept per finding.
const maxExamples = 5

// Finding is a detector result aggregated over one batch of traces.
type Finding struct {
	// ID is stable across batches: the first 16 hex characters of the
	// SHA-256 of kind, service, operation and peer, plus the entry service
	// and operation for a bottleneck and the direction for an oversized
	// payload (the same group can dominate several entry operations, and an
	// edge can be oversized in both directions).
	ID string
	// Kind is "bottleneck", "chatty" or "oversized_payload".
	Kind string
	// Service and Operation name the span group (bottleneck) or the caller
	// service and the callee operation (chatty, oversized_payload).
	Service, Operation string
	// Peer is the callee node: the called service or virtual node; for a
	// bottleneck the node the group's spans call, or "" when they call none.
	Peer string
	// PeerKind is "service", "database", "messaging", "external", or "" when
	// Peer is "".
	PeerKind string
	// Severity is "low", "medium", "high" or "critical", a band of Score.
	Severity string
	// Score is 0..100, higher is worse; findings sort by it.
	Score float64
	// Summary is one human sentence.
	Summary string
	// Evidence holds machine-readable evidence; the keys per kind are
	// listed in the package documentation.
	Evidence map[string]any
	// Occurrences is the number of traces in the batch showing the finding.
	Occurrences int
	// ExampleTraceIDs are up to 5 traces showing it, worst first.
	ExampleTraceIDs [][16]byte
	// FirstSeen and LastSeen are the earliest and latest start time of the
	// spans showing it in this batch.
	FirstSeen, LastSeen time.Time
}

// MarshalJSON encodes a finding as in the findings API: snake_case keys,
// trace ids as 32 hex characters and times in RFC 3339.
func (f Finding) MarshalJSON() ([]byte, error) {
	ids := make([]string, len(f.ExampleTraceIDs))
	for i, id := range f.ExampleTraceIDs {
		ids[i] = hex.EncodeToString(id[:])
	}
	ev := f.Evidence
	if ev == nil {
		ev = map[string]any{}
	}
	return json.Marshal(struct {
		ID              string         `json:"id"`
		Kind            string         `json:"kind"`
		Service         string         `json:"service"`
		Operation       string         `json:"operation"`
		Peer            string         `json:"peer"`
		PeerKind        string         `json:"peer_kind"`
		Severity        string         `json:"severity"`
		Score           float64        `json:"score"`
		Summary         string         `json:"summary"`
		Evidence        map[string]any `json:"evidence"`
		Occurrences     int            `json:"occurrences"`
		ExampleTraceIDs []string       `json:"example_trace_ids"`
		FirstSeen       string         `json:"first_seen"`
		LastSeen        string         `json:"last_seen"`
	}{f.ID, f.Kind, f.Service, f.Operation, f.Peer, f.PeerKind, f.Severity, f.Score, f.Summary, ev,
		f.Occurrences, ids, f.FirstSeen.UTC().Format(time.RFC3339Nano), f.LastSeen.UTC().Format(time.RFC3339Nano)})
}

// Detect runs the enabled detectors over a batch of complete traces and
// returns the findings, highest Score first (ties by Kind, then ID). cfg
// should have passed Validate; invalid values never make Detect panic but
// may make a detector find nothing. traces are not modified. Detect keeps no
// state between calls and is safe for concurrent use.
func Detect(traces []Trace, cfg Config) []Finding {
	b := &batch{
		traces: traces,
		idx:    make([]*traceIndex, len(traces)),
		calls:  make([][]callRec, len(traces)),
		norm:   newNormCache(),
	}
	for i := range traces {
		b.idx[i] = newTraceIndex(&traces[i], b.norm)
		b.calls[i] = b.idx[i].calls()
	}
	var out []Finding
	if cfg.Bottleneck.Enabled {
		out = append(out, b.bottlenecks(cfg.Bottleneck)...)
	}
	if cfg.Chatty.Enabled {
		out = append(out, b.chatty(cfg.Chatty)...)
	}
	if cfg.Payload.Enabled {
		out = append(out, b.payloads(cfg.Payload)...)
	}
	slices.SortFunc(out, func(x, y Finding) int {
		if c := cmp.Compare(y.Score, x.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Kind, y.Kind); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return out
}

// batch is the state of one Detect call.
type batch struct {
	traces []Trace
	idx    []*traceIndex
	calls  [][]callRec
	norm   *normCache
}

// findingID returns the stable id of a finding from its identifying parts.
func findingID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// severityOf returns the severity band of a score.
func severityOf(score float64) string {
	switch {
	case score >= 75:
		return SeverityCritical
	case score >= 50:
		return SeverityHigh
	case score >= 25:
		return SeverityMedium
	default:
		return SeverityLow
	}
}

// clampScore limits a score to 0..100 and rounds it to one decimal.
func clampScore(s float64) float64 {
	if math.IsNaN(s) || s < 0 {
		return 0
	}
	return math.Round(min(s, 100)*10) / 10
}

// quantile returns the empirical p-quantile (an actual sample value) of
// sorted values, 0 for none.
func quantile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return stat.Quantile(p, stat.Empirical, sorted, nil)
}

// median is quantile(sorted, 0.5) of an unsorted slice, which it sorts.
func median(xs []float64) float64 {
	slices.Sort(xs)
	return quantile(xs, 0.5)
}

// ms converts nanoseconds to milliseconds rounded to 0.01.
func ms(ns float64) float64 { return math.Round(ns/1e4) / 100 }

// round3 rounds to three decimals.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// fmtDuration renders nanoseconds for a summary: "45 ms", "1.2 s".
func fmtDuration(ns float64) string {
	switch {
	case ns >= 10e9:
		return fmt.Sprintf("%.0f s", ns/1e9)
	case ns >= 1e9:
		return fmt.Sprintf("%.1f s", ns/1e9)
	case ns >= 10e6:
		return fmt.Sprintf("%.0f ms", ns/1e6)
	default:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	}
}

// fmtBytes renders a size for a summary: "300 KiB", "5.0 MiB".
func fmtBytes(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}

// occurrence is one trace showing a finding, with the value ranking it.
type occurrence struct {
	trace int     // index in batch.traces
	worst float64 // larger is worse; orders the examples
	start int64   // earliest start (Unix ns) of the spans showing it
	end   int64   // latest start (Unix ns) of the spans showing it
}

// fillOccurrences sets Occurrences, ExampleTraceIDs, FirstSeen and LastSeen
// of f from occs (at most one per trace), which it sorts worst first.
func (b *batch) fillOccurrences(f *Finding, occs []occurrence) {
	slices.SortStableFunc(occs, func(x, y occurrence) int {
		if c := cmp.Compare(y.worst, x.worst); c != 0 {
			return c
		}
		return cmp.Compare(x.trace, y.trace)
	})
	f.Occurrences = len(occs)
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for i, o := range occs {
		if i < maxExamples {
			f.ExampleTraceIDs = append(f.ExampleTraceIDs, b.traces[o.trace].ID)
		}
		first, last = min(first, o.start), max(last, o.end)
	}
	if len(occs) > 0 {
		f.FirstSeen, f.LastSeen = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	}
}

// entryOf returns the entry span of a trace: the root (no parent in the
// trace) with a zero parent id, else any root, earliest start first, then
// longest; spans repeating an earlier span's id are never entries. It
// returns noSpan when there is none.
func (x *traceIndex) entryOf() int32 {
	best := noSpan
	bestTrue := false
	var zero [8]byte
	for i := range x.t.Spans {
		if x.parent[i] != noSpan || x.dup[i] {
			continue
		}
		sp := &x.t.Spans[i]
		isTrue := sp.ParentSpanID == zero
		if best == noSpan || (isTrue && !bestTrue) {
			best, bestTrue = int32(i), isTrue
			continue
		}
		if isTrue != bestTrue {
			continue
		}
		b := &x.t.Spans[best]
		if sp.StartUnixNano < b.StartUnixNano || (sp.StartUnixNano == b.StartUnixNano && sp.DurationNano > b.DurationNano) {
			best = int32(i)
		}
	}
	return best
}
