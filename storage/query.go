package storage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// TraceQuery selects traces for FindTraces.
type TraceQuery struct {
	From, To    time.Time     // the trace must start within [From, To]
	Service     string        // a span of this service is in the trace
	Operation   string        // a span with this name (of Service, when set) is in the trace
	MinDuration time.Duration // trace duration at least this
	// Attributes: a span with every one of these attributes (span or
	// resource; typed values compare in their JSON form, e.g. "200", "true")
	// is in the trace.
	Attributes map[string]string
	ErrorsOnly bool // only traces with an error span
	Limit      int  // newest first; 1..1000
}

// TraceSummary is one row of a trace search.
type TraceSummary struct {
	TraceID       [16]byte
	RootService   string
	RootOperation string
	Start         time.Time
	Duration      time.Duration
	SpanCount     uint64
	ErrorCount    uint64
}

// FindTraces returns the newest traces matching q.
func (s *Store) FindTraces(ctx context.Context, q TraceQuery) ([]TraceSummary, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		return nil, fmt.Errorf("limit %d out of range 1..1000", q.Limit)
	}
	var (
		sb   strings.Builder
		args []any
	)
	sb.WriteString(`SELECT trace_id, min(start) AS s, max(end) AS e, sum(span_count), sum(error_count), tupleElement(argMinMerge(root), 1), tupleElement(argMinMerge(root), 2)
FROM ` + s.db + `.traces
WHERE start >= fromUnixTimestamp64Nano(?) AND start <= fromUnixTimestamp64Nano(?)`)
	args = append(args, q.From.UnixNano(), q.To.UnixNano())
	// Filters on spans select trace ids from the spans of the window (a
	// scan of its LowCardinality service and name columns: cheaper than
	// aggregating the services arrays of every trace in the traces table,
	// measured at 10 million spans).
	if q.Service != "" || q.Operation != "" || len(q.Attributes) > 0 {
		sb.WriteString(` AND trace_id IN (SELECT trace_id FROM ` + s.db + `.spans WHERE start >= fromUnixTimestamp64Nano(?) AND start <= fromUnixTimestamp64Nano(?)`)
		args = append(args, q.From.Add(-time.Hour).UnixNano(), q.To.Add(time.Hour).UnixNano())
		if q.Service != "" {
			sb.WriteString(` AND service = ?`)
			args = append(args, q.Service)
		}
		if q.Operation != "" {
			sb.WriteString(` AND name = ?`)
			args = append(args, q.Operation)
		}
		keys := make([]string, 0, len(q.Attributes))
		for k := range q.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := q.Attributes[k]
			sb.WriteString(` AND (attributes[?] = ? OR typed_attributes[?] = ? OR resource_attributes[?] = ? OR resource_typed_attributes[?] = ?)`)
			args = append(args, k, v, k, v, k, v, k, v)
		}
		sb.WriteString(`)`)
	}
	sb.WriteString(` GROUP BY trace_id HAVING 1`)
	if q.MinDuration > 0 {
		sb.WriteString(` AND dateDiff('nanosecond', s, e) >= ?`)
		args = append(args, q.MinDuration.Nanoseconds())
	}
	if q.ErrorsOnly {
		sb.WriteString(` AND sum(error_count) > 0`)
	}
	sb.WriteString(` ORDER BY s DESC LIMIT ?`)
	args = append(args, q.Limit)

	rows, err := s.conn.Query(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("searching traces: %w", err)
	}
	defer rows.Close()
	var out []TraceSummary
	for rows.Next() {
		var (
			id  string
			t   TraceSummary
			end time.Time
		)
		if err := rows.Scan(&id, &t.Start, &end, &t.SpanCount, &t.ErrorCount, &t.RootService, &t.RootOperation); err != nil {
			return nil, fmt.Errorf("reading trace search results: %w", err)
		}
		copy(t.TraceID[:], id)
		t.Duration = end.Sub(t.Start)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading trace search results: %w", err)
	}
	return out, nil
}

// GetTrace returns every stored span of a trace, ordered by start time, or
// ErrNotFound.
func (s *Store) GetTrace(ctx context.Context, traceID [16]byte) ([]Span, error) {
	id := bytesString(traceID[:])
	var from, to time.Time
	var n uint64
	row := s.conn.QueryRow(ctx, `SELECT min(start), max(end), count() FROM `+s.db+`.traces WHERE trace_id = ?`, id)
	if err := row.Scan(&from, &to, &n); err != nil {
		return nil, fmt.Errorf("looking up trace: %w", err)
	}
	if n == 0 {
		return nil, ErrNotFound
	}
	rows, err := s.conn.Query(ctx, `SELECT `+spanReadColumns+` FROM `+s.db+`.spans
WHERE trace_id = ? AND start >= fromUnixTimestamp64Nano(?) AND start <= fromUnixTimestamp64Nano(?)
ORDER BY start, span_id
LIMIT 1 BY span_id`, id, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("reading trace spans: %w", err)
	}
	out, err := scanSpans(rows)
	if err != nil {
		return nil, fmt.Errorf("reading trace spans: %w", err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

func parseKind(s string) SpanKind {
	for k := SpanKindUnspecified; k <= SpanKindConsumer; k++ {
		if k.String() == s {
			return k
		}
	}
	return SpanKindUnspecified
}

func parseStatus(s string) StatusCode {
	switch s {
	case "ok":
		return StatusOK
	case "error":
		return StatusError
	}
	return StatusUnset
}

// IsNotFound reports whether err means an unknown trace.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// spanColumns lists the spans table columns a Span is read from, in the
// order scanSpans reads them.
const spanColumns = `trace_id, span_id, parent_span_id, trace_state, service, name, kind, start, duration_ns,
	status_code, status_message, scope_name, scope_version,
	resource_attributes, resource_typed_attributes, attributes, typed_attributes,
	events.time, events.name, events.attributes,
	links.trace_id, links.span_id, links.trace_state, links.attributes,
	dropped_attributes_count, dropped_events_count, dropped_links_count`

// spanReadColumns are the columns scanSpans expects.
const spanReadColumns = spanColumns + ", toUnixTimestamp(ingested_at)"

// scanSpans reads rows selected with spanReadColumns and closes them.
func scanSpans(rows driver.Rows) ([]Span, error) {
	defer rows.Close()
	var out []Span
	for rows.Next() {
		var (
			sp                                       Span
			traceIDs, spanIDs, parentIDs             string
			kind, status                             string
			start                                    time.Time
			evTimes                                  []time.Time
			evNames, evAttrs                         []string
			lkTraceIDs, lkSpanIDs, lkStates, lkAttrs []string
			ingested                                 uint32
		)
		if err := rows.Scan(&traceIDs, &spanIDs, &parentIDs, &sp.TraceState, &sp.Service, &sp.Name, &kind, &start,
			&sp.DurationNano, &status, &sp.StatusMessage, &sp.ScopeName, &sp.ScopeVersion,
			&sp.ResourceAttributes, &sp.ResourceTypedAttributes, &sp.Attributes, &sp.TypedAttributes,
			&evTimes, &evNames, &evAttrs, &lkTraceIDs, &lkSpanIDs, &lkStates, &lkAttrs,
			&sp.DroppedAttributesCount, &sp.DroppedEventsCount, &sp.DroppedLinksCount, &ingested); err != nil {
			return nil, err
		}
		copy(sp.TraceID[:], traceIDs)
		copy(sp.SpanID[:], spanIDs)
		copy(sp.ParentSpanID[:], parentIDs)
		sp.Kind = parseKind(kind)
		sp.StatusCode = parseStatus(status)
		sp.StartUnixNano = start.UnixNano()
		sp.IngestedAt = int64(ingested)
		if len(evTimes) > 0 {
			sp.Events = make([]Event, len(evTimes))
			for j := range evTimes {
				sp.Events[j] = Event{TimeUnixNano: evTimes[j].UnixNano(), Name: evNames[j], AttributesJSON: evAttrs[j]}
			}
		}
		if len(lkTraceIDs) > 0 {
			sp.Links = make([]Link, len(lkTraceIDs))
			for j := range lkTraceIDs {
				l := &sp.Links[j]
				copy(l.TraceID[:], lkTraceIDs[j])
				copy(l.SpanID[:], lkSpanIDs[j])
				l.TraceState, l.AttributesJSON = lkStates[j], lkAttrs[j]
			}
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}

// bytesString views b as a string without copying. The string is valid only
// while b is unchanged.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
