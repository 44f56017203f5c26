package alerting

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tracehound/tracehound/storage"
)

func firingAlert(fp string, firedAt time.Time) storage.AlertState {
	return storage.AlertState{Fingerprint: fp, State: "firing", FiredAt: firedAt, Labels: map[string]string{"alertname": "a", "x": fp}}
}

func TestDecide(t *testing.T) {
	rt := Route{GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour}
	a, b := firingAlert("a", t0), firingAlert("b", t0.Add(time.Minute))
	delivered := func(at time.Time, fps ...string) *storage.GroupHead {
		return &storage.GroupHead{LastSeq: 3, LastState: "delivered", LastAt: at, DeliveredSeq: 3, DeliveredFiring: fps}
	}
	tests := []struct {
		name         string
		now          time.Time
		sendResolved bool
		firing       []storage.AlertState
		head         *storage.GroupHead
		want         action
	}{
		{"new group waits group_wait", t0.Add(29 * time.Second), true, []storage.AlertState{a}, nil, actNone},
		{"new group after group_wait", t0.Add(30 * time.Second), true, []storage.AlertState{a, b}, nil, actSend},
		{"nothing firing, never notified", t0, true, nil, nil, actNone},
		{"in flight", t0.Add(time.Hour), true, []storage.AlertState{a}, &storage.GroupHead{LastSeq: 1, LastState: "claimed", LastAt: t0}, actNone},
		{"unchanged", t0.Add(10 * time.Minute), true, []storage.AlertState{a}, delivered(t0, "a"), actNone},
		{"repeat", t0.Add(4 * time.Hour), true, []storage.AlertState{a}, delivered(t0, "a"), actSend},
		{"new alert before group_interval", t0.Add(4 * time.Minute), true, []storage.AlertState{a, b}, delivered(t0, "a"), actNone},
		{"new alert after group_interval", t0.Add(5 * time.Minute), true, []storage.AlertState{a, b}, delivered(t0, "a"), actSend},
		{"resolved one, send_resolved", t0.Add(5 * time.Minute), true, []storage.AlertState{a}, delivered(t0, "a", "b"), actSend},
		{"resolved one, no send_resolved", t0.Add(5 * time.Minute), false, []storage.AlertState{a}, delivered(t0, "a", "b"), actNone},
		{"all resolved", t0.Add(5 * time.Minute), true, nil, delivered(t0, "a"), actSend},
		{"all resolved, no send_resolved: close", t0.Add(time.Minute), false, nil, delivered(t0, "a"), actClose},
		{"closed group starts over with group_wait", t0.Add(time.Hour), true, []storage.AlertState{firingAlert("c", t0.Add(time.Hour))},
			&storage.GroupHead{LastSeq: 4, LastState: "delivered", LastAt: t0.Add(59 * time.Minute), DeliveredSeq: 4}, actNone},
		{"failed first notification waits group_interval", t0.Add(2 * time.Minute), true, []storage.AlertState{a},
			&storage.GroupHead{LastSeq: 1, LastState: "failed", LastAt: t0.Add(time.Minute)}, actNone},
		{"failed first notification retried after group_interval", t0.Add(6 * time.Minute), true, []storage.AlertState{a},
			&storage.GroupHead{LastSeq: 1, LastState: "failed", LastAt: t0.Add(time.Minute)}, actSend},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := decide(tc.now, rt, tc.sendResolved, &group{firing: tc.firing, head: tc.head}); got != tc.want {
				t.Errorf("decide = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestBuildMessageIncludesResolved(t *testing.T) {
	prev := loggedNotification{GroupLabels: Labels{"alertname": "a"}, Alerts: []alertItem{
		{Status: "firing", Fingerprint: "a", Labels: Labels{"alertname": "a", "x": "a"}, StartsAt: t0},
		{Status: "firing", Fingerprint: "b", Labels: Labels{"alertname": "a", "x": "b"}, StartsAt: t0},
		{Status: "resolved", Fingerprint: "old", Labels: Labels{"alertname": "a"}, StartsAt: t0},
	}}
	js, _ := json.Marshal(prev)
	g := &group{key: `{}:{alertname="a"}`, labels: Labels{"alertname": "a"}, firing: []storage.AlertState{firingAlert("a", t0)},
		head: &storage.GroupHead{DeliveredFiring: []string{"a", "b"}, DeliveredAlertsJSON: string(js)}}
	now := t0.Add(time.Hour)
	m := buildMessage(now, "r", "http://ui", true, g, map[string]time.Time{"b": t0.Add(30 * time.Minute)})
	if m.Status != "firing" || len(m.Alerts) != 2 || m.Alerts[0].Fingerprint != "a" || m.Alerts[1].Status != "resolved" ||
		!m.Alerts[1].EndsAt.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("%+v", m)
	}
	if m.Alerts[0].GeneratorURL != "http://ui/findings?" {
		t.Errorf("generator URL %q", m.Alerts[0].GeneratorURL)
	}
	if m = buildMessage(now, "r", "", false, g, nil); len(m.Alerts) != 1 {
		t.Errorf("send_resolved off: %+v", m.Alerts)
	}
	g.firing = nil
	if m = buildMessage(now, "r", "", true, g, nil); m.Status != "resolved" || len(m.Alerts) != 2 || !m.Alerts[0].EndsAt.Equal(now) {
		t.Errorf("all resolved: %+v", m)
	}
}
