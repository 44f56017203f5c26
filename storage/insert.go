package storage

import (
	"context"
	"fmt"
	"time"
	"unsafe"
)

// spanColumns lists the spans table columns in insert order.
const spanColumns = `trace_id, span_id, parent_span_id, trace_state, service, name, kind, start, duration_ns,
	status_code, status_message, scope_name, scope_version,
	resource_attributes, resource_typed_attributes, attributes, typed_attributes,
	events.time, events.name, events.attributes,
	links.trace_id, links.span_id, links.trace_state, links.attributes,
	dropped_attributes_count, dropped_events_count, dropped_links_count`

// InsertSpans writes one batch with the native protocol, column by column.
// token is the insert_deduplication_token: inserting the same rows with the
// same token again is a no-op on the server.
func (s *Store) InsertSpans(ctx context.Context, spans []Span, token string) error {
	ctx = insertContext(ctx, token)
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".spans ("+spanColumns+")")
	if err != nil {
		return fmt.Errorf("preparing insert: %w", err)
	}
	defer func() { _ = batch.Abort() }()

	n := len(spans)
	var (
		traceIDs      = make([]string, n)
		spanIDs       = make([]string, n)
		parentIDs     = make([]string, n)
		traceStates   = make([]string, n)
		services      = make([]string, n)
		names         = make([]string, n)
		kinds         = make([]int8, n)
		starts        = make([]time.Time, n)
		durations     = make([]int64, n)
		statusCodes   = make([]int8, n)
		statusMsgs    = make([]string, n)
		scopeNames    = make([]string, n)
		scopeVersions = make([]string, n)
		resAttrs      = make([]map[string]string, n)
		resTyped      = make([]map[string]string, n)
		attrs         = make([]map[string]string, n)
		typed         = make([]map[string]string, n)
		evTimes       = make([][]time.Time, n)
		evNames       = make([][]string, n)
		evAttrs       = make([][]string, n)
		lkTraceIDs    = make([][]string, n)
		lkSpanIDs     = make([][]string, n)
		lkStates      = make([][]string, n)
		lkAttrs       = make([][]string, n)
		droppedAttrs  = make([]uint32, n)
		droppedEvents = make([]uint32, n)
		droppedLinks  = make([]uint32, n)
	)
	for i := range spans {
		sp := &spans[i]
		traceIDs[i] = bytesString(sp.TraceID[:])
		spanIDs[i] = bytesString(sp.SpanID[:])
		parentIDs[i] = bytesString(sp.ParentSpanID[:])
		traceStates[i] = sp.TraceState
		services[i] = sp.Service
		names[i] = sp.Name
		kinds[i] = int8(sp.Kind)
		starts[i] = time.Unix(0, sp.StartUnixNano)
		durations[i] = sp.DurationNano
		statusCodes[i] = int8(sp.StatusCode)
		statusMsgs[i] = sp.StatusMessage
		scopeNames[i] = sp.ScopeName
		scopeVersions[i] = sp.ScopeVersion
		resAttrs[i] = nonNilMap(sp.ResourceAttributes)
		resTyped[i] = nonNilMap(sp.ResourceTypedAttributes)
		attrs[i] = nonNilMap(sp.Attributes)
		typed[i] = nonNilMap(sp.TypedAttributes)
		if len(sp.Events) > 0 {
			et := make([]time.Time, len(sp.Events))
			en := make([]string, len(sp.Events))
			ea := make([]string, len(sp.Events))
			for j, e := range sp.Events {
				et[j], en[j], ea[j] = time.Unix(0, e.TimeUnixNano), e.Name, e.AttributesJSON
			}
			evTimes[i], evNames[i], evAttrs[i] = et, en, ea
		} else {
			evTimes[i], evNames[i], evAttrs[i] = []time.Time{}, []string{}, []string{}
		}
		if len(sp.Links) > 0 {
			lt := make([]string, len(sp.Links))
			ls := make([]string, len(sp.Links))
			lst := make([]string, len(sp.Links))
			la := make([]string, len(sp.Links))
			for j := range sp.Links {
				l := &sp.Links[j]
				lt[j], ls[j], lst[j], la[j] = bytesString(l.TraceID[:]), bytesString(l.SpanID[:]), l.TraceState, l.AttributesJSON
			}
			lkTraceIDs[i], lkSpanIDs[i], lkStates[i], lkAttrs[i] = lt, ls, lst, la
		} else {
			lkTraceIDs[i], lkSpanIDs[i], lkStates[i], lkAttrs[i] = []string{}, []string{}, []string{}, []string{}
		}
		droppedAttrs[i] = sp.DroppedAttributesCount
		droppedEvents[i] = sp.DroppedEventsCount
		droppedLinks[i] = sp.DroppedLinksCount
	}
	cols := []any{traceIDs, spanIDs, parentIDs, traceStates, services, names, kinds, starts, durations,
		statusCodes, statusMsgs, scopeNames, scopeVersions, resAttrs, resTyped, attrs, typed,
		evTimes, evNames, evAttrs, lkTraceIDs, lkSpanIDs, lkStates, lkAttrs,
		droppedAttrs, droppedEvents, droppedLinks}
	for i, c := range cols {
		if err := batch.Column(i).Append(c); err != nil {
			return fmt.Errorf("building insert column %d: %w", i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("sending %d spans: %w", n, err)
	}
	return nil
}

var emptyMap = map[string]string{}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return emptyMap
	}
	return m
}

// bytesString views b as a string without copying. The string is valid only
// while b is unchanged; here b is an id array inside a Span the batch owns.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
