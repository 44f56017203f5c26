package storage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Reads behind the Jaeger query API (web/jaeger.go): the service and
// operation catalogues and a span-level trace search. The service graph for
// /api/dependencies comes from Edges.

// ServiceNames returns the names of the services seen in [from, to] (to the
// minute), sorted. It reads the per-minute tables: span_names has every
// service that sent a span (since the table exists), service_minutes the
// services with requests (also before).
func (s *Store) ServiceNames(ctx context.Context, from, to time.Time) ([]string, error) {
	f, t := minuteBounds(from, to)
	rows, err := s.conn.Query(ctx, `SELECT service FROM (
		SELECT service FROM `+s.db+`.service_minutes WHERE minute >= ? AND minute <= ?
		UNION ALL
		SELECT service FROM `+s.db+`.span_names WHERE minute >= ? AND minute <= ?
	) GROUP BY service ORDER BY service`, f, t, f, t)
	if err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("listing services: %w", err)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// OperationQuery selects the operations of one service.
type OperationQuery struct {
	Service  string
	Kind     string // "" = any kind; else a SpanKind.String() value
	From, To time.Time
}

// Operation is a span name with the kind it was seen with.
type Operation struct {
	Name string
	Kind SpanKind
}

// Operations returns the distinct (name, kind) pairs of q.Service's spans
// that started in [q.From, q.To] (to the minute), sorted by name then kind,
// from the per-minute span_names table: one service's few rows per minute.
func (s *Store) Operations(ctx context.Context, q OperationQuery) ([]Operation, error) {
	if q.Service == "" {
		return nil, errors.New("operations: service is required")
	}
	f, t := minuteBounds(q.From, q.To)
	query := `SELECT name, toString(kind) AS k FROM ` + s.db + `.span_names
	WHERE service = ? AND minute >= ? AND minute <= ?`
	args := []any{q.Service, f, t}
	if q.Kind != "" {
		query += ` AND kind = ?`
		args = append(args, q.Kind)
	}
	query += ` GROUP BY name, k ORDER BY name, k`
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing operations of %q: %w", q.Service, err)
	}
	defer rows.Close()
	var out []Operation
	for rows.Next() {
		var (
			op   Operation
			kind string
		)
		if err := rows.Scan(&op.Name, &kind); err != nil {
			return nil, fmt.Errorf("listing operations of %q: %w", q.Service, err)
		}
		op.Kind = parseKind(kind)
		out = append(out, op)
	}
	return out, rows.Err()
}

// SpanSearch selects traces by one of their spans, the way Jaeger searches:
// every condition must hold for the same span, and the whole trace is the
// result.
type SpanSearch struct {
	From, To  time.Time // the span starts within [From, To]
	Service   string    // "" = any service
	Operation string    // "" = any span name
	// Tags must all match the span: a span attribute or a resource
	// attribute with that key and value (typed values compare by their JSON
	// text, so 200 matches "200" and true matches "true"). An empty value
	// only requires the key. Some keys match span fields instead, as the
	// Jaeger view shows them: "error" (true = status error), "span.kind",
	// "otel.status_code" (OK, ERROR, UNSET), "otel.status_description",
	// "otel.scope.name", "otel.scope.version".
	Tags map[string]string
	// MinDuration and MaxDuration bound the span's duration; 0 = no bound.
	MinDuration, MaxDuration time.Duration
	// Limit is how many traces to return, newest (latest matching span)
	// first; 1..1500.
	Limit int
}

// MaxSpanSearchLimit is the largest SpanSearch.Limit.
const MaxSpanSearchLimit = 1500

// FindTraceIDs returns the ids of the traces with a span matching q, newest
// first.
func (s *Store) FindTraceIDs(ctx context.Context, q SpanSearch) ([][16]byte, error) {
	query, args, err := s.spanSearchSQL(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("searching traces: %w", err)
	}
	defer rows.Close()
	var out [][16]byte
	for rows.Next() {
		var (
			id     string
			latest time.Time
		)
		if err := rows.Scan(&id, &latest); err != nil {
			return nil, fmt.Errorf("reading trace search results: %w", err)
		}
		var b [16]byte
		copy(b[:], id)
		out = append(out, b)
	}
	return out, rows.Err()
}

// spanSearchSQL builds the FindTraceIDs query; every value is a ? argument.
func (s *Store) spanSearchSQL(q SpanSearch) (string, []any, error) {
	if q.Limit <= 0 || q.Limit > MaxSpanSearchLimit {
		return "", nil, fmt.Errorf("limit %d out of range 1..%d", q.Limit, MaxSpanSearchLimit)
	}
	var (
		sb   strings.Builder
		args []any
	)
	sb.WriteString(`SELECT trace_id, max(start) AS latest FROM ` + s.db + `.spans
WHERE start >= fromUnixTimestamp64Nano(?) AND start <= fromUnixTimestamp64Nano(?)`)
	args = append(args, q.From.UnixNano(), q.To.UnixNano())
	if q.Service != "" {
		sb.WriteString(` AND service = ?`)
		args = append(args, q.Service)
	}
	if q.Operation != "" {
		sb.WriteString(` AND name = ?`)
		args = append(args, q.Operation)
	}
	if q.MinDuration > 0 {
		sb.WriteString(` AND duration_ns >= ?`)
		args = append(args, q.MinDuration.Nanoseconds())
	}
	if q.MaxDuration > 0 {
		sb.WriteString(` AND duration_ns <= ?`)
		args = append(args, q.MaxDuration.Nanoseconds())
	}
	keys := make([]string, 0, len(q.Tags))
	for k := range q.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a stable query text for a given search
	for _, k := range keys {
		cond, cargs := tagCondition(k, q.Tags[k])
		sb.WriteString(" AND ")
		sb.WriteString(cond)
		args = append(args, cargs...)
	}
	sb.WriteString(` GROUP BY trace_id ORDER BY latest DESC LIMIT ?`)
	args = append(args, q.Limit)
	return sb.String(), args, nil
}

// attributeMaps are the map columns a tag is looked up in.
var attributeMaps = []string{"attributes", "typed_attributes", "resource_attributes", "resource_typed_attributes"}

// tagCondition returns the WHERE condition for one Jaeger tag filter.
func tagCondition(key, value string) (string, []any) {
	switch key {
	case "error":
		switch strings.ToLower(value) {
		case "true":
			return `(status_code = 'error' OR attributes['error'] = 'true' OR typed_attributes['error'] = 'true')`, nil
		case "false":
			return `status_code != 'error'`, nil
		}
	case "span.kind":
		return `toString(kind) = ?`, []any{strings.ToLower(value)}
	case "otel.status_code":
		return `toString(status_code) = ?`, []any{strings.ToLower(value)}
	case "otel.status_description":
		return `status_message = ?`, []any{value}
	case "otel.scope.name":
		return `scope_name = ?`, []any{value}
	case "otel.scope.version":
		return `scope_version = ?`, []any{value}
	}
	var (
		b    strings.Builder
		args []any
	)
	b.WriteByte('(')
	for i, m := range attributeMaps {
		if i > 0 {
			b.WriteString(" OR ")
		}
		if value == "" {
			b.WriteString("mapContains(" + m + ", ?)")
			args = append(args, key)
			continue
		}
		b.WriteString(m + "[?] = ?")
		args = append(args, key, value)
	}
	b.WriteByte(')')
	return b.String(), args
}
