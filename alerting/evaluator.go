package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/storage"
)

// Backend is the part of storage the evaluator uses; *storage.Store
// implements it. Implementations must be safe for concurrent use.
type Backend interface {
	source
	ServerNowMilli(ctx context.Context) (time.Time, error)
	ClaimAlertSlot(ctx context.Context, instance string, slot time.Time, settle time.Duration) (bool, error)
	LatestAlertStates(ctx context.Context, since time.Time) ([]storage.AlertState, error)
	InsertAlertStates(ctx context.Context, states []storage.AlertState, token string) error
	NotificationGroupHeads(ctx context.Context, lease time.Duration) ([]storage.GroupHead, error)
	ClaimNotifications(ctx context.Context, instance string, claims []storage.NotificationRecord, lease, settle time.Duration) ([]storage.NotificationRecord, error)
	AppendNotification(ctx context.Context, r storage.NotificationRecord) error
	InsertDeliveryAttempt(ctx context.Context, d storage.DeliveryAttempt) error
	DeliveryAttempts(ctx context.Context, q storage.DeliveryQuery) ([]storage.DeliveryAttempt, error)
}

var _ Backend = (*storage.Store)(nil)

// Options are the evaluator's dependencies.
type Options struct {
	// Backend is the ClickHouse store. Required.
	Backend Backend
	// Registerer receives the tracehound_alerting_* metrics; nil skips them.
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// DefaultExternalURL is used for links when external_url is not set,
	// e.g. "http://" + http_addr.
	DefaultExternalURL string
	// HTTPClient sends notifications; nil uses a client with the default
	// transport (proxies from the environment). Timeouts come from the
	// configuration.
	HTTPClient *http.Client
}

const (
	// slotSettle and notifySettle are how long a claim waits for
	// concurrent claims of other instances before reading the winner.
	slotSettle   = 300 * time.Millisecond
	notifySettle = 300 * time.Millisecond
	// stateLookback is how far back the latest alert states are read (plus
	// the longest for:). A firing alert not evaluated for longer (no
	// instance running) starts a new episode.
	stateLookback = time.Hour
)

// Evaluator evaluates the alerting rules on a schedule and sends the
// notifications. It keeps its state in ClickHouse, so any number of
// instances can run it: one instance evaluates each slot and one sends
// each notification (see the package documentation).
type Evaluator struct {
	cfg       Config
	b         Backend
	instance  string
	log       *slog.Logger
	m         *metrics
	ext       string
	rules     map[string]*Rule
	receivers []*receiverRuntime
	lease     time.Duration
	gap       time.Duration
	lookback  time.Duration

	mu       sync.Mutex
	cancel   context.CancelFunc
	done     chan struct{}
	dctx     context.Context // deliveries
	dcancel  context.CancelFunc
	inflight map[string]bool
	wg       sync.WaitGroup
	lastSlot time.Time
}

type receiverRuntime struct {
	cfg   *Receiver
	route Route
	n     notifier
}

// New validates the configuration and returns an evaluator.
func New(cfg Config, opts Options) (*Evaluator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Backend == nil {
		return nil, errors.New("alerting: no backend")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	ext := cfg.ExternalURL
	if ext == "" {
		ext = opts.DefaultExternalURL
	}
	host, _ := os.Hostname()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	e := &Evaluator{
		cfg: cfg, b: opts.Backend, log: log.With("component", "alerting"), m: newMetrics(opts.Registerer), ext: ext,
		rules:    map[string]*Rule{},
		instance: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(rnd[:])),
		lease:    cfg.Delivery.Timeout + cfg.Delivery.MaxInterval + 30*time.Second,
		gap:      max(5*cfg.EvaluationInterval, time.Minute),
		lookback: stateLookback,
		inflight: map[string]bool{},
	}
	for i := range e.cfg.Rules {
		r := &e.cfg.Rules[i]
		e.rules[r.Name] = r
		e.lookback = max(e.lookback, stateLookback+r.For)
	}
	for i := range e.cfg.Receivers {
		r := &e.cfg.Receivers[i]
		rt := r.route(cfg.Route)
		e.receivers = append(e.receivers, &receiverRuntime{cfg: r, route: rt, n: newNotifier(r, client, max(rt.RepeatInterval, cfg.EvaluationInterval))})
	}
	e.dctx, e.dcancel = context.WithCancel(context.Background())
	return e, nil
}

// Instance is this evaluator's id in claims and records.
func (e *Evaluator) Instance() string { return e.instance }

// Start launches the evaluation loop and returns at once. With
// enabled: false, or with neither rules nor receivers, it starts nothing
// (the API still reads the alerts other instances evaluate).
func (e *Evaluator) Start(_ context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done != nil {
		return errors.New("alert evaluator already started")
	}
	if !e.cfg.Enabled || (len(e.cfg.Rules) == 0 && len(e.cfg.Receivers) == 0) {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan struct{})
	go e.loop(ctx)
	e.log.Info("alert evaluation started", "rules", len(e.cfg.Rules), "receivers", len(e.cfg.Receivers),
		"interval", e.cfg.EvaluationInterval, "instance", e.instance)
	return nil
}

// Shutdown stops the loop and abandons deliveries in progress: their
// claims expire after the delivery lease and another instance (or this one
// after a restart) sends them. Safe without Start and more than once.
func (e *Evaluator) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	cancel, done := e.cancel, e.done
	e.mu.Unlock()
	e.dcancel()
	if cancel != nil {
		cancel()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("alert evaluator did not stop: %w", ctx.Err())
		}
	}
	waited := make(chan struct{})
	go func() { e.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("alert deliveries did not stop: %w", ctx.Err())
	}
}

func (e *Evaluator) loop(ctx context.Context) {
	defer close(e.done)
	t := time.NewTicker(e.cfg.EvaluationInterval / 3)
	defer t.Stop()
	failures := 0
	for {
		cctx, cancel := context.WithTimeout(ctx, e.cfg.EvaluationInterval+30*time.Second)
		err := e.RunOnce(cctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			if failures == 1 || failures%10 == 0 {
				e.log.Warn("alert evaluation failed; retrying", "err", err, "consecutive_failures", failures)
			}
		case err == nil && failures > 0:
			e.log.Info("alert evaluation recovered", "after_failures", failures)
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce claims the current evaluation slot and, when this instance wins
// it, evaluates every rule, records the alert states and starts the
// notifications that are due. It returns at once when the slot was already
// handled.
func (e *Evaluator) RunOnce(ctx context.Context) error {
	now, err := e.b.ServerNowMilli(ctx)
	if err != nil {
		return err
	}
	slot := now.Truncate(e.cfg.EvaluationInterval)
	e.mu.Lock()
	done := !slot.After(e.lastSlot)
	e.mu.Unlock()
	if done {
		return nil
	}
	won, err := e.b.ClaimAlertSlot(ctx, e.instance, slot, slotSettle)
	if err != nil {
		e.m.evaluations.WithLabelValues("error").Inc()
		return err
	}
	e.mu.Lock()
	e.lastSlot = slot
	e.mu.Unlock()
	if !won {
		e.m.evaluations.WithLabelValues("other_instance").Inc()
		return nil
	}
	start := time.Now()
	if err := e.evaluate(ctx, now, slot); err != nil {
		e.m.evaluations.WithLabelValues("error").Inc()
		return err
	}
	e.m.evaluations.WithLabelValues("ok").Inc()
	e.m.evalDuration.Observe(time.Since(start).Seconds())
	return nil
}

func (e *Evaluator) evaluate(ctx context.Context, now, slot time.Time) error {
	latest, err := e.b.LatestAlertStates(ctx, now.Add(-e.lookback))
	if err != nil {
		return err
	}
	prev := make(map[string]storage.AlertState, len(latest))
	for _, s := range latest {
		prev[s.Key] = s
	}
	cands, err := evaluateRules(ctx, e.b, e.cfg.Rules, now)
	if err != nil {
		return err
	}
	rows := transition(prev, cands, now, e.gap, e.instance)
	if err := e.b.InsertAlertStates(ctx, rows, "alert-states/"+strconv.FormatInt(slot.UnixMilli(), 10)); err != nil {
		return err
	}
	for _, r := range rows {
		switch {
		case r.State == "firing" && (prev[r.Key].State != "firing"):
			e.log.Info("alert firing", "alert", r.Rule, "labels", Labels(r.Labels).String(), "fingerprint", r.Fingerprint)
		case r.State == "resolved":
			e.log.Info("alert resolved", "alert", r.Rule, "labels", Labels(r.Labels).String(), "fingerprint", r.Fingerprint)
		}
	}
	// Current state per key: this evaluation's rows over the previous ones.
	cur := prev
	for _, r := range rows {
		cur[r.Key] = r
	}
	return e.dispatch(ctx, now, cur)
}

// dispatch decides which groups need a notification, claims them and
// starts the deliveries this instance won.
func (e *Evaluator) dispatch(ctx context.Context, now time.Time, states map[string]storage.AlertState) error {
	if len(e.receivers) == 0 {
		return nil
	}
	heads, err := e.b.NotificationGroupHeads(ctx, e.lease)
	if err != nil {
		return err
	}
	headOf := map[[2]string]*storage.GroupHead{}
	for i := range heads {
		h := &heads[i]
		headOf[[2]string{h.Receiver, h.GroupKey}] = h
	}
	resolvedAt := map[string]time.Time{}
	keys := make([]string, 0, len(states))
	for k, s := range states {
		keys = append(keys, k)
		if s.State == "resolved" {
			if t, ok := resolvedAt[s.Fingerprint]; !ok || s.ResolvedAt.After(t) {
				resolvedAt[s.Fingerprint] = s.ResolvedAt
			}
		}
	}
	sort.Strings(keys)
	type pending struct {
		rr  *receiverRuntime
		msg *message
	}
	var (
		claims []storage.NotificationRecord
		msgs   = map[[2]string]pending{}
	)
	for _, rr := range e.receivers {
		name := rr.cfg.Name
		groups := map[string]*group{}
		for _, k := range keys {
			s := states[k]
			if s.State != "firing" || !e.routes(s.Rule, name) {
				continue
			}
			gl := groupLabels(s.Labels, rr.route.GroupBy)
			gk := groupKey(gl)
			g := groups[gk]
			if g == nil {
				g = &group{key: gk, labels: gl, head: headOf[[2]string{name, gk}]}
				groups[gk] = g
			}
			g.firing = append(g.firing, s)
		}
		for _, h := range heads {
			if h.Receiver == name && groups[h.GroupKey] == nil && (len(h.DeliveredFiring) > 0 || h.LastState == "failed") {
				groups[h.GroupKey] = &group{key: h.GroupKey, head: headOf[[2]string{name, h.GroupKey}]}
			}
		}
		gks := make([]string, 0, len(groups))
		for gk := range groups {
			gks = append(gks, gk)
		}
		sort.Strings(gks)
		for _, gk := range gks {
			g := groups[gk]
			id := name + "\x00" + gk
			e.mu.Lock()
			busy := e.inflight[id]
			e.mu.Unlock()
			if busy {
				continue
			}
			var seq uint64 = 1
			if g.head != nil {
				seq = g.head.LastSeq + 1
			}
			switch decide(now, rr.route, rr.cfg.sendResolved(), g) {
			case actClose:
				if err := e.b.AppendNotification(ctx, storage.NotificationRecord{Receiver: name, GroupKey: gk, Seq: seq,
					State: "closed", Instance: e.instance, Status: "resolved", AlertsJSON: "{}"}); err != nil {
					return err
				}
			case actSend:
				msg := buildMessage(now, name, e.ext, rr.cfg.sendResolved(), g, resolvedAt)
				msg.Seq = seq
				if len(msg.Alerts) == 0 {
					continue
				}
				logged, _ := json.Marshal(loggedNotification{GroupLabels: msg.GroupLabels, Alerts: msg.Alerts})
				claims = append(claims, storage.NotificationRecord{Receiver: name, GroupKey: gk, Seq: seq, Status: msg.Status,
					Firing: msg.firingFingerprints(), AlertsJSON: string(logged)})
				msgs[[2]string{name, gk}] = pending{rr, msg}
			}
		}
	}
	if len(claims) == 0 {
		return nil
	}
	won, err := e.b.ClaimNotifications(ctx, e.instance, claims, e.lease, notifySettle)
	if err != nil {
		return err
	}
	for _, rec := range won {
		p := msgs[[2]string{rec.Receiver, rec.GroupKey}]
		if p.msg == nil {
			continue
		}
		id := rec.Receiver + "\x00" + rec.GroupKey
		e.mu.Lock()
		e.inflight[id] = true
		e.mu.Unlock()
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer func() {
				e.mu.Lock()
				delete(e.inflight, id)
				e.mu.Unlock()
			}()
			e.deliver(e.dctx, p.rr, rec, p.msg)
		}()
	}
	return nil
}

// routes reports whether alerts of the rule go to the receiver.
func (e *Evaluator) routes(rule, receiver string) bool {
	r := e.rules[rule]
	if r == nil {
		return false
	}
	if len(r.Receivers) == 0 {
		return true
	}
	for _, n := range r.Receivers {
		if n == receiver {
			return true
		}
	}
	return false
}

// deliver sends a claimed notification, retrying transient failures with
// exponential backoff, and records every attempt and the outcome.
func (e *Evaluator) deliver(ctx context.Context, rr *receiverRuntime, rec storage.NotificationRecord, msg *message) {
	d := e.cfg.Delivery
	begin := time.Now()
	backoff := d.InitialInterval
	firing, resolved := msg.countByStatus()
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			renew := rec
			renew.State, renew.Firing, renew.AlertsJSON = "claimed", nil, ""
			if err := e.record(func(c context.Context) error { return e.b.AppendNotification(c, renew) }); err != nil {
				e.log.Warn("renewing a notification claim failed", "receiver", rec.Receiver, "err", err)
			}
		}
		actx, cancel := context.WithTimeout(ctx, d.Timeout)
		t0 := time.Now()
		status, err := rr.n.send(actx, msg)
		took := time.Since(t0)
		cancel()
		if ctx.Err() != nil {
			return // shutting down: the claim expires and the notification is sent again
		}
		att := storage.DeliveryAttempt{Receiver: rec.Receiver, Integration: rr.n.integration(), GroupKey: rec.GroupKey,
			Seq: rec.Seq, Status: msg.Status, Alerts: len(msg.Alerts), Attempt: attempt, HTTPStatus: status,
			Duration: took, Instance: e.instance, Outcome: "success"}
		var wait time.Duration
		if err != nil {
			att.Error = err.Error()
			retry, after := retryable(err)
			wait = min(max(backoff, after), d.MaxInterval)
			if retry && time.Since(begin)+wait <= d.MaxElapsedTime {
				att.Outcome = "retry"
			} else {
				att.Outcome = "failed"
			}
		}
		e.m.attempts.WithLabelValues(rec.Receiver, att.Outcome).Inc()
		if rerr := e.record(func(c context.Context) error { return e.b.InsertDeliveryAttempt(c, att) }); rerr != nil {
			e.log.Warn("recording a delivery attempt failed", "receiver", rec.Receiver, "err", rerr)
		}
		switch att.Outcome {
		case "success":
			out := rec
			out.State = "delivered"
			if rerr := e.record(func(c context.Context) error { return e.b.AppendNotification(c, out) }); rerr != nil {
				e.log.Warn("recording a delivered notification failed; it may be sent again", "receiver", rec.Receiver, "err", rerr)
			}
			e.m.notifications.WithLabelValues(rec.Receiver, "delivered").Inc()
			e.log.Info("notification sent", "receiver", rec.Receiver, "group", rec.GroupKey, "status", msg.Status,
				"firing", firing, "resolved", resolved, "attempts", attempt)
			return
		case "failed":
			out := rec
			out.State, out.Error = "failed", att.Error
			if rerr := e.record(func(c context.Context) error { return e.b.AppendNotification(c, out) }); rerr != nil {
				e.log.Warn("recording a failed notification failed", "receiver", rec.Receiver, "err", rerr)
			}
			e.m.notifications.WithLabelValues(rec.Receiver, "failed").Inc()
			e.log.Warn("notification failed; giving up", "receiver", rec.Receiver, "group", rec.GroupKey,
				"attempts", attempt, "err", att.Error)
			return
		}
		if attempt == 1 {
			e.log.Warn("notification failed; retrying", "receiver", rec.Receiver, "group", rec.GroupKey, "err", att.Error, "retry_in", wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, d.MaxInterval)
	}
}

// record runs a bookkeeping write with its own timeout, so that it is not
// lost with the delivery's context.
func (e *Evaluator) record(f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return f(ctx)
}

type metrics struct {
	evaluations   *prometheus.CounterVec
	evalDuration  prometheus.Histogram
	notifications *prometheus.CounterVec
	attempts      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "alerting",
			Name: "evaluations_total", Help: "Evaluation slots by outcome: ok, error, other_instance (another instance evaluated it)."},
			[]string{"outcome"}),
		evalDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "tracehound", Subsystem: "alerting",
			Name: "evaluation_duration_seconds", Help: "Duration of rule evaluations (excluding deliveries).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 10)}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "alerting",
			Name: "notifications_total", Help: "Notifications sent by this instance, by receiver and outcome (delivered, failed)."},
			[]string{"receiver", "outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "alerting",
			Name: "delivery_attempts_total", Help: "Delivery attempts by receiver and outcome (success, retry, failed)."},
			[]string{"receiver", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.evaluations, m.evalDuration, m.notifications, m.attempts)
	}
	return m
}
