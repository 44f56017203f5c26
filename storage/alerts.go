package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Alerting state lives in four tables (schemas 0011–0014): alert_slots
// elects one evaluator per evaluation slot, alert_states is the history of
// alert states, alert_notifications the per-group notification log with its
// claims, and alert_deliveries every delivery attempt. The alerting package
// owns the semantics; these are plain reads and writes.

// zeroTime is how a missing time is stored in DateTime64 columns.
var zeroTime = time.Unix(0, 0).UTC()

func toDB(t time.Time) time.Time {
	if t.IsZero() {
		return zeroTime
	}
	return t
}

func fromDB(t time.Time) time.Time {
	if t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}

// ClaimAlertSlot records this instance's claim on an evaluation slot and,
// after settle, reports whether it won: the earliest claim (server time, then
// instance id) wins.
func (s *Store) ClaimAlertSlot(ctx context.Context, instance string, slot time.Time, settle time.Duration) (bool, error) {
	if err := s.conn.Exec(ctx, "INSERT INTO "+s.db+".alert_slots (slot, instance) VALUES (?, ?)", slot, instance); err != nil {
		return false, fmt.Errorf("claiming alert evaluation slot: %w", err)
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return false, ctx.Err()
	}
	var winner string
	if err := s.conn.QueryRow(ctx, `SELECT argMin(instance, (at, instance)) FROM `+s.db+`.alert_slots WHERE slot = ?`,
		slot).Scan(&winner); err != nil {
		return false, fmt.Errorf("reading alert evaluation claims: %w", err)
	}
	return winner == instance, nil
}

// AlertState is one row of the alert state history.
type AlertState struct {
	// Key identifies what the alert is about (rule plus subject); it is
	// stable while labels (and so Fingerprint) may differ between episodes.
	Key         string
	Fingerprint string
	Rule        string
	// State is pending, firing, resolved or inactive (a pending alert whose
	// condition went away before it fired).
	State       string
	Labels      map[string]string
	Annotations map[string]string
	Value       float64
	// ActiveAt is when the condition started to hold; FiredAt when the alert
	// started firing; ResolvedAt when it resolved. Zero when not reached.
	ActiveAt, FiredAt, ResolvedAt time.Time
	EvaluatedAt                   time.Time
	Instance                      string
}

// LatestAlertStates returns the latest state row per key among rows
// evaluated at or after since.
func (s *Store) LatestAlertStates(ctx context.Context, since time.Time) ([]AlertState, error) {
	rows, err := s.conn.Query(ctx, `SELECT key, argMax(fingerprint, evaluated_at), argMax(rule, evaluated_at),
		toString(argMax(state, evaluated_at)), argMax(labels, evaluated_at), argMax(annotations, evaluated_at),
		argMax(value, evaluated_at), argMax(active_at, evaluated_at), argMax(fired_at, evaluated_at),
		argMax(resolved_at, evaluated_at), max(evaluated_at), argMax(instance, evaluated_at)
	FROM `+s.db+`.alert_states
	WHERE evaluated_at >= fromUnixTimestamp64Milli(?)
	GROUP BY key
	ORDER BY key`, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("reading alert states: %w", err)
	}
	defer rows.Close()
	var out []AlertState
	for rows.Next() {
		var a AlertState
		if err := rows.Scan(&a.Key, &a.Fingerprint, &a.Rule, &a.State, &a.Labels, &a.Annotations, &a.Value,
			&a.ActiveAt, &a.FiredAt, &a.ResolvedAt, &a.EvaluatedAt, &a.Instance); err != nil {
			return nil, fmt.Errorf("reading alert states: %w", err)
		}
		a.ActiveAt, a.FiredAt, a.ResolvedAt, a.EvaluatedAt = fromDB(a.ActiveAt), fromDB(a.FiredAt), fromDB(a.ResolvedAt), fromDB(a.EvaluatedAt)
		out = append(out, a)
	}
	return out, rows.Err()
}

// InsertAlertStates appends state rows; token makes a repeated insert (the
// same evaluation slot stored twice) a no-op.
func (s *Store) InsertAlertStates(ctx context.Context, states []AlertState, token string) error {
	if len(states) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(insertContext(ctx, token), "INSERT INTO "+s.db+`.alert_states
		(key, fingerprint, rule, state, labels, annotations, value, active_at, fired_at, resolved_at, evaluated_at, instance)`)
	if err != nil {
		return fmt.Errorf("inserting alert states: %w", err)
	}
	defer func() { _ = batch.Abort() }()
	for i := range states {
		a := &states[i]
		if err := batch.Append(a.Key, a.Fingerprint, a.Rule, a.State, nonNilMap(a.Labels), nonNilMap(a.Annotations), a.Value,
			toDB(a.ActiveAt), toDB(a.FiredAt), toDB(a.ResolvedAt), toDB(a.EvaluatedAt), a.Instance); err != nil {
			return fmt.Errorf("inserting alert states: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("inserting alert states: %w", err)
	}
	return nil
}

// NotificationRecord is one row of the notification log.
type NotificationRecord struct {
	Receiver, GroupKey string
	Seq                uint64
	// State is claimed, delivered, failed or closed.
	State    string
	Instance string
	At       time.Time // set by the server on insert
	// Status is firing or resolved (of the notification as a whole).
	Status string
	// Firing holds the fingerprints notified as firing.
	Firing []string
	// AlertsJSON is the alerts of the notification, as the alerting package
	// encodes them.
	AlertsJSON string
	Error      string
}

// GroupHead is what the notification log says about one (receiver, group).
type GroupHead struct {
	Receiver, GroupKey string
	// LastSeq is the latest notification that is delivered, failed, closed or
	// still claimed by a live claim (0 when none); LastState is its state
	// (claimed while in flight) and LastAt the time of its first claim (or of
	// its outcome when it was never claimed).
	LastSeq   uint64
	LastState string
	LastAt    time.Time
	// DeliveredSeq is the latest delivered or closed notification (0 when
	// none), with what it notified as firing and its alerts.
	DeliveredSeq        uint64
	DeliveredFiring     []string
	DeliveredAlertsJSON string
}

// NotificationGroupHeads returns the head of every notification group. A
// claim is live for lease after it was made.
func (s *Store) NotificationGroupHeads(ctx context.Context, lease time.Duration) ([]GroupHead, error) {
	heads := map[[2]string]*GroupHead{}
	get := func(r, g string) *GroupHead {
		k := [2]string{r, g}
		if h, ok := heads[k]; ok {
			return h
		}
		h := &GroupHead{Receiver: r, GroupKey: g}
		heads[k] = h
		return h
	}
	rows, err := s.conn.Query(ctx, `SELECT receiver, group_key, seq,
		toString(if(countIf(state != 'claimed') > 0, argMaxIf(state, at, state != 'claimed'), 'claimed')),
		if(countIf(state = 'claimed') > 0, minIf(at, state = 'claimed'), min(at))
	FROM `+s.db+`.alert_notifications
	GROUP BY receiver, group_key, seq
	HAVING countIf(state != 'claimed') > 0 OR countIf(state = 'claimed' AND at > now64(3) - toIntervalMillisecond(?)) > 0
	ORDER BY receiver, group_key, seq DESC
	LIMIT 1 BY receiver, group_key`, lease.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("reading notification log: %w", err)
	}
	for rows.Next() {
		var (
			r, g, state string
			seq         uint64
			at          time.Time
		)
		if err := rows.Scan(&r, &g, &seq, &state, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading notification log: %w", err)
		}
		h := get(r, g)
		h.LastSeq, h.LastState, h.LastAt = seq, state, at.UTC()
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading notification log: %w", err)
	}
	rows, err = s.conn.Query(ctx, `SELECT receiver, group_key, max(seq), argMax(firing, (seq, at)), argMax(alerts, (seq, at))
	FROM `+s.db+`.alert_notifications
	WHERE state IN ('delivered', 'closed')
	GROUP BY receiver, group_key`)
	if err != nil {
		return nil, fmt.Errorf("reading notification log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r, g, alerts string
			seq          uint64
			firing       []string
		)
		if err := rows.Scan(&r, &g, &seq, &firing, &alerts); err != nil {
			return nil, fmt.Errorf("reading notification log: %w", err)
		}
		h := get(r, g)
		h.DeliveredSeq, h.DeliveredFiring, h.DeliveredAlertsJSON = seq, firing, alerts
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading notification log: %w", err)
	}
	out := make([]GroupHead, 0, len(heads))
	for _, h := range heads {
		out = append(out, *h)
	}
	return out, nil
}

// ClaimNotifications inserts claims (State is set to claimed) and, after
// settle, returns those this instance won: per (receiver, group, seq) the
// earliest live claim (server time, then instance id) wins.
func (s *Store) ClaimNotifications(ctx context.Context, instance string, claims []NotificationRecord, lease, settle time.Duration) ([]NotificationRecord, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+`.alert_notifications
		(receiver, group_key, seq, state, instance, status, firing, alerts, error)`)
	if err != nil {
		return nil, fmt.Errorf("claiming notifications: %w", err)
	}
	keys := make([]string, 0, len(claims))
	for _, c := range claims {
		if err := batch.Append(c.Receiver, c.GroupKey, c.Seq, "claimed", instance, c.Status, nonNilStrings(c.Firing), c.AlertsJSON, ""); err != nil {
			_ = batch.Abort()
			return nil, fmt.Errorf("claiming notifications: %w", err)
		}
		keys = append(keys, c.GroupKey)
	}
	if err := batch.Send(); err != nil {
		return nil, fmt.Errorf("claiming notifications: %w", err)
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	rows, err := s.conn.Query(ctx, `SELECT receiver, group_key, seq, argMin(instance, (at, instance))
	FROM `+s.db+`.alert_notifications
	WHERE state = 'claimed' AND at > now64(3) - toIntervalMillisecond(?) AND group_key IN (?)
	GROUP BY receiver, group_key, seq`, lease.Milliseconds(), keys)
	if err != nil {
		return nil, fmt.Errorf("reading notification claims: %w", err)
	}
	defer rows.Close()
	type claimKey struct {
		r, g string
		seq  uint64
	}
	winners := map[claimKey]string{}
	for rows.Next() {
		var (
			k  claimKey
			in string
		)
		if err := rows.Scan(&k.r, &k.g, &k.seq, &in); err != nil {
			return nil, fmt.Errorf("reading notification claims: %w", err)
		}
		winners[k] = in
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading notification claims: %w", err)
	}
	var won []NotificationRecord
	for _, c := range claims {
		if winners[claimKey{c.Receiver, c.GroupKey, c.Seq}] == instance {
			c.State, c.Instance = "claimed", instance
			won = append(won, c)
		}
	}
	return won, nil
}

// AppendNotification appends a row to the notification log: a renewed
// claim, or the outcome (delivered, failed, closed) of a notification.
func (s *Store) AppendNotification(ctx context.Context, r NotificationRecord) error {
	if err := s.conn.Exec(ctx, "INSERT INTO "+s.db+`.alert_notifications
		(receiver, group_key, seq, state, instance, status, firing, alerts, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Receiver, r.GroupKey, r.Seq, r.State, r.Instance, r.Status, nonNilStrings(r.Firing), r.AlertsJSON, r.Error); err != nil {
		return fmt.Errorf("recording notification %s of %s/%s: %w", r.State, r.Receiver, r.GroupKey, err)
	}
	return nil
}

// DeliveryAttempt is one attempt to deliver a notification.
type DeliveryAttempt struct {
	At                    time.Time // set by the server on insert
	Receiver, Integration string
	GroupKey              string
	Seq                   uint64
	Status                string // firing or resolved
	Alerts                int
	Attempt               int
	Outcome               string // success, retry or failed
	HTTPStatus            int    // 0 when no response
	Error                 string // redacted
	Duration              time.Duration
	Instance              string
}

// InsertDeliveryAttempt records one delivery attempt.
func (s *Store) InsertDeliveryAttempt(ctx context.Context, d DeliveryAttempt) error {
	if err := s.conn.Exec(ctx, "INSERT INTO "+s.db+`.alert_deliveries
		(receiver, integration, group_key, seq, status, alerts, attempt, outcome, http_status, error, duration_ms, instance)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Receiver, d.Integration, d.GroupKey, d.Seq, d.Status, uint32(d.Alerts), uint32(d.Attempt), d.Outcome,
		uint16(d.HTTPStatus), d.Error, float64(d.Duration.Microseconds())/1000, d.Instance); err != nil {
		return fmt.Errorf("recording delivery attempt: %w", err)
	}
	return nil
}

// DeliveryQuery selects delivery attempts made in [From, To].
type DeliveryQuery struct {
	From, To time.Time
	Receiver string // empty = all
	Outcome  string // empty = all
	Limit    int
}

// DeliveryAttempts returns attempts, newest first.
func (s *Store) DeliveryAttempts(ctx context.Context, q DeliveryQuery) ([]DeliveryAttempt, error) {
	var (
		sb   strings.Builder
		args = []any{q.From.UnixMilli(), q.To.UnixMilli()}
	)
	sb.WriteString(`SELECT at, receiver, integration, group_key, seq, status, alerts, attempt, toString(outcome), http_status,
		error, duration_ms, instance
	FROM ` + s.db + `.alert_deliveries
	WHERE at >= fromUnixTimestamp64Milli(?) AND at <= fromUnixTimestamp64Milli(?)`)
	if q.Receiver != "" {
		sb.WriteString(" AND receiver = ?")
		args = append(args, q.Receiver)
	}
	if q.Outcome != "" {
		sb.WriteString(" AND outcome = ?")
		args = append(args, q.Outcome)
	}
	sb.WriteString(" ORDER BY at DESC, attempt DESC LIMIT ?")
	args = append(args, q.Limit)
	rows, err := s.conn.Query(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("reading delivery attempts: %w", err)
	}
	defer rows.Close()
	var out []DeliveryAttempt
	for rows.Next() {
		var (
			d              DeliveryAttempt
			alerts, att    uint32
			status         uint16
			durMs          float64
			outcome, state string
		)
		if err := rows.Scan(&d.At, &d.Receiver, &d.Integration, &d.GroupKey, &d.Seq, &state, &alerts, &att, &outcome,
			&status, &d.Error, &durMs, &d.Instance); err != nil {
			return nil, fmt.Errorf("reading delivery attempts: %w", err)
		}
		d.At = d.At.UTC()
		d.Status, d.Outcome = state, outcome
		d.Alerts, d.Attempt, d.HTTPStatus = int(alerts), int(att), int(status)
		d.Duration = time.Duration(durMs * float64(time.Millisecond))
		out = append(out, d)
	}
	return out, rows.Err()
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ServerNowMilli is ClickHouse's clock with millisecond precision; alert
// evaluation runs on it so that instances agree on slots and timings.
func (s *Store) ServerNowMilli(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := s.conn.QueryRow(ctx, "SELECT now64(3)").Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("reading ClickHouse time: %w", err)
	}
	return t.UTC(), nil
}

// RecentFindings merges, per finding id, the observations whose last_seen
// is at or after since (so occurrences and first_seen cover only those),
// highest score first. Unlike Findings it never reads older observations,
// which keeps the alert evaluator's query cheap.
func (s *Store) RecentFindings(ctx context.Context, since time.Time, limit int) ([]Finding, error) {
	rows, err := s.conn.Query(ctx, `SELECT `+findingColumns+`
	FROM `+s.db+`.finding_observations
	WHERE last_seen >= fromUnixTimestamp64Milli(?)
	GROUP BY id
	ORDER BY argMax(score, last_seen) DESC, id
	LIMIT ?`, since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("reading recent findings: %w", err)
	}
	out, err := scanFindings(rows)
	if err != nil {
		return nil, fmt.Errorf("reading recent findings: %w", err)
	}
	return out, nil
}

var emptyMap = map[string]string{}

// nonNilMap returns m, or an empty map when m is nil (clickhouse-go wants
// a map for a Map column).
func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return emptyMap
	}
	return m
}
