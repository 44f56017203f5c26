package alerting

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/tracehound/tracehound/storage"
)

// fakeBackend is an in-memory Backend with the claim semantics of the
// ClickHouse tables (earliest live claim wins) and a settable clock.
type fakeBackend struct {
	mu       sync.Mutex
	now      time.Time
	findings []storage.Finding
	edges    []storage.EdgeStats
	services []storage.ServiceStats
	readErr  error

	// bothWinSlots makes every slot claim win, as if two instances' claims
	// raced past the settle.
	bothWinSlots bool
	slots        map[time.Time]string
	states       []storage.AlertState
	tokens       map[string]bool
	notes        []fakeNote
	attempts     []storage.DeliveryAttempt
}

type fakeNote struct {
	storage.NotificationRecord
	at time.Time
}

func newFakeBackend(now time.Time) *fakeBackend {
	return &fakeBackend{now: now, slots: map[time.Time]string{}, tokens: map[string]bool{}}
}

func (f *fakeBackend) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fakeBackend) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeBackend) RecentFindings(_ context.Context, since time.Time, limit int) ([]storage.Finding, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return nil, f.readErr
	}
	var out []storage.Finding
	for _, x := range f.findings {
		if !x.LastSeen.Before(since) && len(out) < limit {
			out = append(out, x)
		}
	}
	return out, nil
}

func (f *fakeBackend) Edges(context.Context, time.Time, time.Time) ([]storage.EdgeStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.edges, f.readErr
}

func (f *fakeBackend) Services(context.Context, time.Time, time.Time) ([]storage.ServiceStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.services, f.readErr
}

func (f *fakeBackend) ServerNowMilli(context.Context) (time.Time, error) { return f.clock(), nil }

func (f *fakeBackend) ClaimAlertSlot(_ context.Context, instance string, slot time.Time, _ time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.slots[slot]; !ok {
		f.slots[slot] = instance
	}
	return f.bothWinSlots || f.slots[slot] == instance, nil
}

func (f *fakeBackend) LatestAlertStates(_ context.Context, since time.Time) ([]storage.AlertState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	latest := map[string]storage.AlertState{}
	for _, s := range f.states {
		if s.EvaluatedAt.Before(since) {
			continue
		}
		if p, ok := latest[s.Key]; !ok || !s.EvaluatedAt.Before(p.EvaluatedAt) {
			latest[s.Key] = s
		}
	}
	out := make([]storage.AlertState, 0, len(latest))
	for _, s := range latest {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (f *fakeBackend) InsertAlertStates(_ context.Context, rows []storage.AlertState, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokens[token] {
		return nil
	}
	f.tokens[token] = true
	f.states = append(f.states, rows...)
	return nil
}

func (f *fakeBackend) NotificationGroupHeads(_ context.Context, lease time.Duration) ([]storage.GroupHead, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	type seqKey struct {
		r, g string
		seq  uint64
	}
	type seqAgg struct {
		final                string
		finalAt, minClaim    time.Time
		live, claimed, anyAt bool
		minAt                time.Time
	}
	aggs := map[seqKey]*seqAgg{}
	heads := map[[2]string]*storage.GroupHead{}
	for _, n := range f.notes {
		k := seqKey{n.Receiver, n.GroupKey, n.Seq}
		a := aggs[k]
		if a == nil {
			a = &seqAgg{}
			aggs[k] = a
		}
		if !a.anyAt || n.at.Before(a.minAt) {
			a.minAt, a.anyAt = n.at, true
		}
		if n.State == "claimed" {
			if !a.claimed || n.at.Before(a.minClaim) {
				a.minClaim = n.at
			}
			a.claimed = true
			if n.at.After(f.now.Add(-lease)) {
				a.live = true
			}
		} else if a.final == "" || !n.at.Before(a.finalAt) {
			a.final, a.finalAt = n.State, n.at
		}
		hk := [2]string{n.Receiver, n.GroupKey}
		if heads[hk] == nil {
			heads[hk] = &storage.GroupHead{Receiver: n.Receiver, GroupKey: n.GroupKey}
		}
		if (n.State == "delivered" || n.State == "closed") && n.Seq >= heads[hk].DeliveredSeq {
			h := heads[hk]
			h.DeliveredSeq, h.DeliveredFiring, h.DeliveredAlertsJSON = n.Seq, n.Firing, n.AlertsJSON
		}
	}
	for k, a := range aggs {
		if a.final == "" && !a.live {
			continue
		}
		h := heads[[2]string{k.r, k.g}]
		if k.seq < h.LastSeq {
			continue
		}
		h.LastSeq = k.seq
		h.LastState = a.final
		if h.LastState == "" {
			h.LastState = "claimed"
		}
		h.LastAt = a.minAt
		if a.claimed {
			h.LastAt = a.minClaim
		}
	}
	out := make([]storage.GroupHead, 0, len(heads))
	for _, h := range heads {
		out = append(out, *h)
	}
	return out, nil
}

func (f *fakeBackend) ClaimNotifications(_ context.Context, instance string, claims []storage.NotificationRecord, lease, _ time.Duration) ([]storage.NotificationRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range claims {
		c.State, c.Instance = "claimed", instance
		f.notes = append(f.notes, fakeNote{c, f.now})
	}
	var won []storage.NotificationRecord
	for _, c := range claims {
		winner := ""
		var at time.Time
		for _, n := range f.notes {
			if n.State != "claimed" || n.Receiver != c.Receiver || n.GroupKey != c.GroupKey || n.Seq != c.Seq ||
				!n.at.After(f.now.Add(-lease)) {
				continue
			}
			if winner == "" || n.at.Before(at) {
				winner, at = n.Instance, n.at
			}
		}
		if winner == instance {
			c.State, c.Instance = "claimed", instance
			won = append(won, c)
		}
	}
	return won, nil
}

func (f *fakeBackend) AppendNotification(_ context.Context, r storage.NotificationRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notes = append(f.notes, fakeNote{r, f.now})
	return nil
}

func (f *fakeBackend) InsertDeliveryAttempt(_ context.Context, d storage.DeliveryAttempt) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d.At = f.now
	f.attempts = append(f.attempts, d)
	return nil
}

func (f *fakeBackend) DeliveryAttempts(_ context.Context, q storage.DeliveryQuery) ([]storage.DeliveryAttempt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []storage.DeliveryAttempt
	for i := len(f.attempts) - 1; i >= 0 && len(out) < q.Limit; i-- {
		if q.Receiver == "" || f.attempts[i].Receiver == q.Receiver {
			out = append(out, f.attempts[i])
		}
	}
	return out, nil
}

func (f *fakeBackend) deliveryOutcomes(receiver string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, a := range f.attempts {
		if a.Receiver == receiver {
			out = append(out, a.Outcome)
		}
	}
	return out
}
