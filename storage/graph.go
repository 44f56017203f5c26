package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The service graph and RED metrics are pre-aggregated per minute: a window
// covers every minute whose start lies in [floor(from to the minute), to).
// So a window that cuts a minute in half includes that whole minute at its
// start and excludes it at its end.

// EdgeStats is one service-graph edge over a window.
type EdgeStats struct {
	Source, SourceKind  string
	Target, TargetKind  string
	Calls, Errors       uint64
	P50Ms, P95Ms, P99Ms float64
	RequestBytesAvg     float64 // 0 when no call had a known size
	ResponseBytesAvg    float64
	CallsPerTraceAvg    float64
}

// ServiceStats is RED metrics of one service over a window.
type ServiceStats struct {
	Name                string
	Requests, Errors    uint64
	P50Ms, P95Ms, P99Ms float64
}

func minuteBounds(from, to time.Time) (int64, int64) {
	return from.Truncate(time.Minute).Unix(), to.Unix()
}

// Edges returns the service-graph edges of the window.
func (s *Store) Edges(ctx context.Context, from, to time.Time) ([]EdgeStats, error) {
	f, t := minuteBounds(from, to)
	rows, err := s.conn.Query(ctx, `SELECT source, source_kind, target, target_kind,
		sum(calls), sum(errors), quantilesMerge(0.5, 0.95, 0.99)(duration),
		if(sum(request_sized) > 0, sum(request_bytes) / sum(request_sized), 0),
		if(sum(response_sized) > 0, sum(response_bytes) / sum(response_sized), 0),
		sum(calls) / greatest(uniqCombinedMerge(traces), 1)
	FROM `+s.db+`.edge_minutes
	WHERE minute >= ? AND minute < ?
	GROUP BY source, source_kind, target, target_kind
	ORDER BY source, target`, f, t)
	if err != nil {
		return nil, fmt.Errorf("reading service graph: %w", err)
	}
	defer rows.Close()
	var out []EdgeStats
	for rows.Next() {
		var (
			e  EdgeStats
			qs []float64
		)
		if err := rows.Scan(&e.Source, &e.SourceKind, &e.Target, &e.TargetKind, &e.Calls, &e.Errors, &qs,
			&e.RequestBytesAvg, &e.ResponseBytesAvg, &e.CallsPerTraceAvg); err != nil {
			return nil, fmt.Errorf("reading service graph: %w", err)
		}
		if len(qs) == 3 {
			e.P50Ms, e.P95Ms, e.P99Ms = qs[0], qs[1], qs[2]
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Services returns RED metrics per service over the window.
func (s *Store) Services(ctx context.Context, from, to time.Time) ([]ServiceStats, error) {
	f, t := minuteBounds(from, to)
	rows, err := s.conn.Query(ctx, `SELECT service, sum(requests), sum(errors), quantilesMerge(0.5, 0.95, 0.99)(duration)
	FROM `+s.db+`.service_minutes
	WHERE minute >= ? AND minute < ?
	GROUP BY service ORDER BY service`, f, t)
	if err != nil {
		return nil, fmt.Errorf("reading service metrics: %w", err)
	}
	defer rows.Close()
	var out []ServiceStats
	for rows.Next() {
		var (
			st ServiceStats
			qs []float64
		)
		if err := rows.Scan(&st.Name, &st.Requests, &st.Errors, &qs); err != nil {
			return nil, fmt.Errorf("reading service metrics: %w", err)
		}
		if len(qs) == 3 {
			st.P50Ms, st.P95Ms, st.P99Ms = qs[0], qs[1], qs[2]
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// FindingQuery selects findings whose last_seen lies in [From, To].
type FindingQuery struct {
	From, To time.Time
	Kind     string // empty = all kinds
	Service  string // empty = all services
	Limit    int
}

// Finding is a finding merged over all its observations.
type Finding struct {
	FindingObservation
}

// Findings merges observations per finding id.
func (s *Store) Findings(ctx context.Context, q FindingQuery) ([]Finding, error) {
	where, args := "1", []any{}
	if q.Kind != "" {
		where += " AND kind = ?"
		args = append(args, q.Kind)
	}
	if q.Service != "" {
		where += " AND service = ?"
		args = append(args, q.Service)
	}
	args = append(args, q.From.UnixMilli(), q.To.UnixMilli(), q.Limit)
	rows, err := s.conn.Query(ctx, `SELECT `+findingColumns+`
	FROM `+s.db+`.finding_observations
	WHERE `+where+`
	GROUP BY id
	HAVING ls >= fromUnixTimestamp64Milli(?) AND ls <= fromUnixTimestamp64Milli(?)
	ORDER BY argMax(score, last_seen) DESC, id
	LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading findings: %w", err)
	}
	out, err := scanFindings(rows)
	if err != nil {
		return nil, fmt.Errorf("reading findings: %w", err)
	}
	return out, nil
}

// findingColumns merges the observations of each finding id; scanFindings
// reads them.
const findingColumns = `id, any(kind), any(service), any(operation), any(peer), any(peer_kind),
		argMax(severity, last_seen), argMax(score, last_seen), argMax(summary, last_seen), argMax(evidence, last_seen),
		sum(occurrences), arraySlice(arrayReverse(groupArrayArray(example_trace_ids)), 1, 5),
		min(first_seen) AS fs, max(last_seen) AS ls`

// scanFindings reads rows selected with findingColumns and closes them;
// example trace ids are de-duplicated, newest first.
func scanFindings(rows driver.Rows) ([]Finding, error) {
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var (
			f  Finding
			ex []string
		)
		if err := rows.Scan(&f.ID, &f.Kind, &f.Service, &f.Operation, &f.Peer, &f.PeerKind, &f.Severity, &f.Score,
			&f.Summary, &f.EvidenceJSON, &f.Occurrences, &ex, &f.FirstSeen, &f.LastSeen); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, id := range ex {
			if seen[id] {
				continue
			}
			seen[id] = true
			var b [16]byte
			copy(b[:], id)
			f.ExampleTraceIDs = append(f.ExampleTraceIDs, b)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// OperationLatency is the request count and p95 of one SERVER/CONSUMER
// operation over a window.
type OperationLatency struct {
	Service, Operation string
	Requests           uint64
	P95Ms              float64
}

// OperationLatencies returns the latency of every operation with requests
// in the minutes starting in [from, to).
func (s *Store) OperationLatencies(ctx context.Context, from, to time.Time) ([]OperationLatency, error) {
	f, t := minuteBounds(from, to)
	rows, err := s.conn.Query(ctx, `SELECT service, name, sum(requests), quantilesMerge(0.5, 0.95, 0.99)(duration)[2]
	FROM `+s.db+`.operation_minutes WHERE minute >= ? AND minute < ? GROUP BY service, name`, f, t)
	if err != nil {
		return nil, fmt.Errorf("reading operation latencies: %w", err)
	}
	defer rows.Close()
	var out []OperationLatency
	for rows.Next() {
		var o OperationLatency
		if err := rows.Scan(&o.Service, &o.Operation, &o.Requests, &o.P95Ms); err != nil {
			return nil, fmt.Errorf("reading operation latencies: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// SlowestTraces returns up to n trace ids of the slowest SERVER/CONSUMER
// spans of an operation starting in [from, to).
func (s *Store) SlowestTraces(ctx context.Context, service, operation string, from, to time.Time, n int) ([][16]byte, error) {
	rows, err := s.conn.Query(ctx, `SELECT trace_id FROM `+s.db+`.spans
	WHERE service = ? AND name = ? AND kind IN ('server', 'consumer')
	  AND start >= fromUnixTimestamp64Nano(?) AND start < fromUnixTimestamp64Nano(?)
	ORDER BY duration_ns DESC LIMIT ?`, service, operation, from.UnixNano(), to.UnixNano(), n)
	if err != nil {
		return nil, fmt.Errorf("reading example traces: %w", err)
	}
	defer rows.Close()
	var out [][16]byte
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("reading example traces: %w", err)
		}
		var b [16]byte
		copy(b[:], id)
		out = append(out, b)
	}
	return out, rows.Err()
}
