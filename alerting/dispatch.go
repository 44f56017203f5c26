package alerting

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/tracehound/tracehound/storage"
)

// message is one notification of one group to one receiver, before an
// integration renders it.
type message struct {
	Receiver    string
	GroupKey    string
	Seq         uint64
	GroupLabels Labels
	Status      string // firing when any alert fires, else resolved
	Alerts      []alertItem
	ExternalURL string
}

// alertItem is an alert as notified (Alertmanager's alert shape).
type alertItem struct {
	Status       string            `json:"status"`
	Labels       Labels            `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// loggedNotification is what the notification log keeps of a message (the
// alerts_json column): enough to notify its alerts as resolved later.
type loggedNotification struct {
	GroupLabels Labels      `json:"group_labels"`
	Alerts      []alertItem `json:"alerts"`
}

func (m *message) firingFingerprints() []string {
	var out []string
	for _, a := range m.Alerts {
		if a.Status == "firing" {
			out = append(out, a.Fingerprint)
		}
	}
	return out
}

func (m *message) countByStatus() (firing, resolved int) {
	for _, a := range m.Alerts {
		if a.Status == "firing" {
			firing++
		} else {
			resolved++
		}
	}
	return firing, resolved
}

// action is what a group needs at this evaluation.
type action int

const (
	actNone  action = iota
	actSend         // send a notification
	actClose        // record the group as closed without sending (send_resolved off)
)

// group is the current state of one (receiver, group key).
type group struct {
	key    string
	labels Labels
	firing []storage.AlertState // firing alerts routed to the receiver, in this group
	head   *storage.GroupHead   // nil when the group was never notified
}

// decide applies Alertmanager's timing to a group. A group is open while
// its last delivered notification had firing alerts.
//   - Nothing is decided while a notification of the group is in flight.
//   - A closed group with firing alerts is notified group_wait after its
//     earliest alert fired (and, after a failed attempt, group_interval
//     after that attempt).
//   - An open group is notified when its alerts changed (one started
//     firing, or one resolved and the receiver sends resolved ones) and
//     group_interval has passed since the last notification, or when
//     nothing changed, alerts still fire and repeat_interval has passed.
//   - An open group without firing alerts on a receiver that does not send
//     resolved notifications is closed silently.
func decide(now time.Time, rt Route, sendResolved bool, g *group) action {
	h := g.head
	if h != nil && h.LastState == "claimed" {
		return actNone
	}
	cur := map[string]bool{}
	var earliest time.Time
	for _, a := range g.firing {
		cur[a.Fingerprint] = true
		if earliest.IsZero() || a.FiredAt.Before(earliest) {
			earliest = a.FiredAt
		}
	}
	var last map[string]bool
	if h != nil && len(h.DeliveredFiring) > 0 {
		last = map[string]bool{}
		for _, fp := range h.DeliveredFiring {
			last[fp] = true
		}
	}
	if last == nil {
		if len(cur) == 0 || now.Before(earliest.Add(rt.GroupWait)) {
			return actNone
		}
		if h != nil && h.LastState == "failed" && now.Before(h.LastAt.Add(rt.GroupInterval)) {
			return actNone
		}
		return actSend
	}
	if len(cur) == 0 && !sendResolved {
		return actClose
	}
	changed := false
	for fp := range cur {
		if !last[fp] {
			changed = true
		}
	}
	if sendResolved {
		for fp := range last {
			if !cur[fp] {
				changed = true
			}
		}
	}
	if changed {
		if !now.Before(h.LastAt.Add(rt.GroupInterval)) {
			return actSend
		}
		return actNone
	}
	if len(cur) > 0 && !now.Before(h.LastAt.Add(rt.RepeatInterval)) {
		return actSend
	}
	return actNone
}

// buildMessage assembles the notification of a group: its firing alerts
// and, when the receiver sends resolved ones, the alerts notified as firing
// last time that no longer fire (endsAt from resolvedAt, else now).
func buildMessage(now time.Time, rcv string, ext string, sendResolved bool, g *group, resolvedAt map[string]time.Time) *message {
	m := &message{Receiver: rcv, GroupKey: g.key, GroupLabels: g.labels, ExternalURL: ext}
	cur := map[string]bool{}
	for _, a := range g.firing {
		cur[a.Fingerprint] = true
		m.Alerts = append(m.Alerts, alertItem{
			Status: "firing", Labels: Labels(a.Labels), Annotations: a.Annotations,
			StartsAt: a.FiredAt, GeneratorURL: generatorURL(ext, a.Labels), Fingerprint: a.Fingerprint,
		})
	}
	if g.head != nil && g.head.DeliveredAlertsJSON != "" {
		var prev loggedNotification
		if json.Unmarshal([]byte(g.head.DeliveredAlertsJSON), &prev) == nil {
			if len(m.GroupLabels) == 0 {
				m.GroupLabels = prev.GroupLabels
			}
			if sendResolved {
				for _, a := range prev.Alerts {
					if a.Status != "firing" || cur[a.Fingerprint] {
						continue
					}
					a.Status = "resolved"
					a.EndsAt = now
					if t, ok := resolvedAt[a.Fingerprint]; ok && !t.IsZero() {
						a.EndsAt = t
					}
					m.Alerts = append(m.Alerts, a)
				}
			}
		}
	}
	if m.GroupLabels == nil {
		m.GroupLabels = Labels{}
	}
	sort.SliceStable(m.Alerts, func(i, j int) bool {
		a, b := m.Alerts[i], m.Alerts[j]
		if a.Status != b.Status {
			return a.Status == "firing"
		}
		if !a.StartsAt.Equal(b.StartsAt) {
			return a.StartsAt.Before(b.StartsAt)
		}
		return a.Fingerprint < b.Fingerprint
	})
	m.Status = "resolved"
	if len(g.firing) > 0 {
		m.Status = "firing"
	}
	return m
}
