package storage

import (
	"context"
	"fmt"
	"time"
)

// Unit is one piece of analysis work: the traces whose last span arrived in
// [WindowStart, WindowStart+window) and whose id falls in Shard.
type Unit struct {
	WindowStart time.Time
	Shard       uint16
}

// String names the unit in logs and deduplication tokens.
func (u Unit) String() string { return fmt.Sprintf("%d/%d", u.WindowStart.Unix(), u.Shard) }

// UnitStates returns, for units with windows at or after from, which are done
// and which hold a live claim (claimed within lease) by any instance.
func (s *Store) UnitStates(ctx context.Context, from time.Time, lease time.Duration) (done, claimed map[Unit]bool, err error) {
	rows, err := s.conn.Query(ctx, `SELECT window_start, shard,
		countIf(state = 'done') > 0,
		countIf(state = 'claimed' AND at > now64(3) - toIntervalMillisecond(?)) > 0
	FROM `+s.db+`.analysis_units WHERE window_start >= ? GROUP BY window_start, shard`,
		lease.Milliseconds(), from.Unix())
	if err != nil {
		return nil, nil, fmt.Errorf("reading analysis units: %w", err)
	}
	defer rows.Close()
	done, claimed = map[Unit]bool{}, map[Unit]bool{}
	for rows.Next() {
		var (
			u       Unit
			d, c    bool
			windowT time.Time
		)
		if err := rows.Scan(&windowT, &u.Shard, &d, &c); err != nil {
			return nil, nil, fmt.Errorf("reading analysis units: %w", err)
		}
		u.WindowStart = windowT.UTC()
		if d {
			done[u] = true
		} else if c {
			claimed[u] = true
		}
	}
	return done, claimed, rows.Err()
}

// LastDoneWindow returns the latest window start with a done unit, or the
// zero time.
func (s *Store) LastDoneWindow(ctx context.Context) (time.Time, error) {
	var t time.Time
	var n uint64
	if err := s.conn.QueryRow(ctx, `SELECT max(window_start), count() FROM `+s.db+`.analysis_units WHERE state = 'done'`).Scan(&t, &n); err != nil {
		return time.Time{}, fmt.Errorf("reading analysis progress: %w", err)
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return t.UTC(), nil
}

// ClaimUnits records claims for units and returns those this instance won:
// after settle, the earliest claim per unit (server time, then instance id)
// among live claims is the winner.
func (s *Store) ClaimUnits(ctx context.Context, instance string, units []Unit, lease, settle time.Duration) ([]Unit, error) {
	if len(units) == 0 {
		return nil, nil
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".analysis_units (window_start, shard, instance, state)")
	if err != nil {
		return nil, fmt.Errorf("claiming analysis units: %w", err)
	}
	for _, u := range units {
		if err := batch.Append(u.WindowStart, u.Shard, instance, "claimed"); err != nil {
			_ = batch.Abort()
			return nil, fmt.Errorf("claiming analysis units: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return nil, fmt.Errorf("claiming analysis units: %w", err)
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	minW := units[0].WindowStart
	for _, u := range units {
		if u.WindowStart.Before(minW) {
			minW = u.WindowStart
		}
	}
	rows, err := s.conn.Query(ctx, `SELECT window_start, shard, argMin(instance, (at, instance))
	FROM `+s.db+`.analysis_units
	WHERE window_start >= ? AND state = 'claimed' AND at > now64(3) - toIntervalMillisecond(?)
	GROUP BY window_start, shard`, minW.Unix(), lease.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("reading analysis claims: %w", err)
	}
	defer rows.Close()
	winners := map[Unit]string{}
	for rows.Next() {
		var (
			u  Unit
			wt time.Time
			in string
		)
		if err := rows.Scan(&wt, &u.Shard, &in); err != nil {
			return nil, fmt.Errorf("reading analysis claims: %w", err)
		}
		u.WindowStart = wt.UTC()
		winners[u] = in
	}
	var won []Unit
	for _, u := range units {
		if winners[u] == instance {
			won = append(won, u)
		}
	}
	return won, rows.Err()
}

// MarkUnitDone records that a unit's results are written.
func (s *Store) MarkUnitDone(ctx context.Context, instance string, u Unit) error {
	if err := s.conn.Exec(ctx, "INSERT INTO "+s.db+".analysis_units (window_start, shard, instance, state) VALUES (?, ?, ?, 'done')",
		u.WindowStart.Unix(), u.Shard, instance); err != nil {
		return fmt.Errorf("marking analysis unit %s done: %w", u, err)
	}
	return nil
}

// TracesInUnit returns the ids of traces whose latest span arrived within
// the unit's window (so traces still receiving spans later are left to a
// later unit), for the unit's shard of shards, in id order: spans are
// stored by time bucket and trace id, so a batch of consecutive ids (see
// LoadTraces) reads one stretch of each bucket instead of a granule here
// and there across all of it.
func (s *Store) TracesInUnit(ctx context.Context, u Unit, window time.Duration, shards int) ([][16]byte, error) {
	end := u.WindowStart.Add(window)
	rows, err := s.conn.Query(ctx, `SELECT trace_id FROM `+s.db+`.traces
	WHERE trace_id IN (
		SELECT trace_id FROM `+s.db+`.traces
		WHERE ingested >= ? AND ingested < ? AND cityHash64(trace_id) % ? = ?)
	GROUP BY trace_id
	HAVING max(ingested) < ?
	ORDER BY trace_id`, u.WindowStart.Unix(), end.Unix(), uint64(shards), uint64(u.Shard), end.Unix())
	if err != nil {
		return nil, fmt.Errorf("listing traces of unit %s: %w", u, err)
	}
	defer rows.Close()
	var ids [][16]byte
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("listing traces of unit %s: %w", u, err)
		}
		var b [16]byte
		copy(b[:], id)
		ids = append(ids, b)
	}
	return ids, rows.Err()
}

// LoadTraces reads every span of the given traces, grouped by trace id.
func (s *Store) LoadTraces(ctx context.Context, ids [][16]byte) (map[[16]byte][]Span, error) {
	out := make(map[[16]byte][]Span, len(ids))
	const chunk = 2000
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		args := make([]string, len(part))
		for j := range part {
			args[j] = string(part[j][:])
		}
		// Bound the scan by the traces' time range (from the traces table,
		// keyed by trace_id): the spans table is ordered by (ten-minute
		// bucket of start, trace_id), so the range picks the buckets and
		// the ids the granules within them.
		var from, to time.Time
		if err := s.conn.QueryRow(ctx, `SELECT min(start), max(end) FROM `+s.db+`.traces WHERE trace_id IN (?)`, args).Scan(&from, &to); err != nil {
			return nil, fmt.Errorf("loading traces: %w", err)
		}
		rows, err := s.conn.Query(ctx, `SELECT `+spanReadColumns+` FROM `+s.db+`.spans
		WHERE trace_id IN (?) AND start >= fromUnixTimestamp64Nano(?) AND start <= fromUnixTimestamp64Nano(?)
		ORDER BY trace_id, start
		LIMIT 1 BY trace_id, span_id`, args, from.UnixNano(), to.UnixNano())
		if err != nil {
			return nil, fmt.Errorf("loading traces: %w", err)
		}
		spans, err := scanSpans(rows)
		if err != nil {
			return nil, fmt.Errorf("loading traces: %w", err)
		}
		for _, sp := range spans {
			out[sp.TraceID] = append(out[sp.TraceID], sp)
		}
	}
	return out, nil
}

// EdgeCall is one service-graph call, as the analyzer derives it.
type EdgeCall struct {
	StartUnixNano               int64
	TraceID                     [16]byte
	SpanID                      [8]byte
	Source, SourceKind          string
	Target, TargetKind          string
	Operation                   string
	DurationNs                  int64
	Error                       bool
	RequestBytes, ResponseBytes int64 // -1 when unknown
}

// InsertEdgeCalls stores calls; token makes a repeated insert a no-op.
func (s *Store) InsertEdgeCalls(ctx context.Context, calls []EdgeCall, token string) error {
	if len(calls) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(insertContext(ctx, token), "INSERT INTO "+s.db+`.edge_calls
		(start, trace_id, span_id, source, source_kind, target, target_kind, operation, duration_ns, error, request_bytes, response_bytes)`)
	if err != nil {
		return fmt.Errorf("inserting edge calls: %w", err)
	}
	defer func() { _ = batch.Abort() }()
	for i := range calls {
		c := &calls[i]
		var e uint8
		if c.Error {
			e = 1
		}
		if err := batch.Append(time.Unix(0, c.StartUnixNano), bytesString(c.TraceID[:]), bytesString(c.SpanID[:]),
			c.Source, c.SourceKind, c.Target, c.TargetKind, c.Operation, c.DurationNs, e, c.RequestBytes, c.ResponseBytes); err != nil {
			return fmt.Errorf("inserting edge calls: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("inserting edge calls: %w", err)
	}
	return nil
}

// FindingObservation is what one analysis unit saw of one finding.
type FindingObservation struct {
	ID, Kind                 string
	Service, Operation, Peer string
	PeerKind                 string
	Severity                 string
	Score                    float64
	Summary                  string
	EvidenceJSON             string
	Occurrences              uint64
	ExampleTraceIDs          [][16]byte
	FirstSeen, LastSeen      time.Time
}

// InsertFindingObservations stores observations; token makes a repeated
// insert a no-op.
func (s *Store) InsertFindingObservations(ctx context.Context, obs []FindingObservation, token string) error {
	if len(obs) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(insertContext(ctx, token), "INSERT INTO "+s.db+`.finding_observations
		(id, kind, service, operation, peer, peer_kind, severity, score, summary, evidence, occurrences, example_trace_ids, first_seen, last_seen)`)
	if err != nil {
		return fmt.Errorf("inserting findings: %w", err)
	}
	defer func() { _ = batch.Abort() }()
	for i := range obs {
		o := &obs[i]
		ex := make([]string, len(o.ExampleTraceIDs))
		for j := range o.ExampleTraceIDs {
			ex[j] = string(o.ExampleTraceIDs[j][:])
		}
		if err := batch.Append(o.ID, o.Kind, o.Service, o.Operation, o.Peer, o.PeerKind, o.Severity, o.Score,
			o.Summary, o.EvidenceJSON, o.Occurrences, ex, o.FirstSeen, o.LastSeen); err != nil {
			return fmt.Errorf("inserting findings: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("inserting findings: %w", err)
	}
	return nil
}

// ActiveWindows returns the starts of the windows in [from, to] in which at
// least one span arrived, so the analyzer never claims empty units.
func (s *Store) ActiveWindows(ctx context.Context, from, to time.Time, window time.Duration) ([]time.Time, error) {
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT toStartOfInterval(ingested, toIntervalSecond(?)) AS w
	FROM `+s.db+`.traces WHERE ingested >= ? AND ingested < ? ORDER BY w`,
		int64(window/time.Second), from.Unix(), to.Add(window).Unix())
	if err != nil {
		return nil, fmt.Errorf("listing active analysis windows: %w", err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var w time.Time
		if err := rows.Scan(&w); err != nil {
			return nil, fmt.Errorf("listing active analysis windows: %w", err)
		}
		out = append(out, w.UTC())
	}
	return out, rows.Err()
}
