package storage

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testStore starts `tracehound clickhouse` (the binary from TRACEHOUND_BIN,
// else bin/tracehound) on free ports and returns a migrated store. It skips
// when the binary or libchdb.so is missing (`make test` provides both).
func testStore(t *testing.T) *Store {
	t.Helper()
	bin := os.Getenv("TRACEHOUND_BIN")
	if bin == "" {
		bin, _ = filepath.Abs("../bin/tracehound")
	}
	lib := os.Getenv("TRACEHOUND_CHDB_LIB")
	if lib == "" {
		lib, _ = filepath.Abs("../lib/libchdb.so")
	}
	for _, p := range []string{bin, lib} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("needs %s (`make test` builds it): %v", p, err)
			}
			t.Skipf("needs %s (run `make build chdb`): %v", p, err)
		}
	}
	port := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	tcp, httpPort := port(), port()
	cmd := exec.Command(bin, "clickhouse", "--data-dir", t.TempDir(), "--tcp-port", fmt.Sprint(tcp), "--http-port", fmt.Sprint(httpPort))
	cmd.Env = append(os.Environ(), "TRACEHOUND_CHDB_LIB="+lib)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	s, err := Open(Options{DSN: fmt.Sprintf("clickhouse://127.0.0.1:%d/alerts_test", tcp), Retention: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := s.WaitReady(ctx); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAlertTables(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	now, err := s.ServerNowMilli(ctx)
	if err != nil || time.Since(now) > time.Minute || time.Since(now) < -time.Minute {
		t.Fatalf("server now %v: %v", now, err)
	}

	t.Run("slot election", func(t *testing.T) {
		slot := now.Truncate(time.Second)
		var wg sync.WaitGroup
		won := make([]bool, 3)
		for i := range won {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, err := s.ClaimAlertSlot(ctx, fmt.Sprintf("inst-%d", i), slot, 300*time.Millisecond)
				if err != nil {
					t.Error(err)
				}
				won[i] = w
			}()
		}
		wg.Wait()
		n := 0
		for _, w := range won {
			if w {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d winners of one slot: %v", n, won)
		}
		if w, _ := s.ClaimAlertSlot(ctx, "late", slot, 0); w {
			t.Error("a late claim won")
		}
	})

	t.Run("states", func(t *testing.T) {
		base := now.Add(-time.Minute).Truncate(time.Millisecond)
		rows := []AlertState{
			{Key: "r|a", Fingerprint: "fa", Rule: "r", State: "pending", Labels: map[string]string{"alertname": "r"}, ActiveAt: base, EvaluatedAt: base},
			{Key: "r|b", Fingerprint: "fb", Rule: "r", State: "firing", ActiveAt: base, FiredAt: base, EvaluatedAt: base, Value: 2.5},
		}
		if err := s.InsertAlertStates(ctx, rows, "t1"); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertAlertStates(ctx, rows, "t1"); err != nil { // deduplicated
			t.Fatal(err)
		}
		later := base.Add(time.Second)
		if err := s.InsertAlertStates(ctx, []AlertState{{Key: "r|a", Fingerprint: "fa", Rule: "r", State: "firing", ActiveAt: base,
			FiredAt: later, EvaluatedAt: later, Annotations: map[string]string{"summary": "x"}}}, "t2"); err != nil {
			t.Fatal(err)
		}
		got, err := s.LatestAlertStates(ctx, base.Add(-time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].State != "firing" || !got[0].FiredAt.Equal(later) || got[0].Annotations["summary"] != "x" ||
			!got[0].ResolvedAt.IsZero() || got[1].Value != 2.5 || got[1].Labels == nil {
			t.Fatalf("%+v", got)
		}
		var n uint64
		_ = s.conn.QueryRow(ctx, "SELECT count() FROM "+s.db+".alert_states").Scan(&n)
		if n != 3 {
			t.Errorf("%d rows stored, want 3 (the repeated insert is deduplicated)", n)
		}
		if got, _ := s.LatestAlertStates(ctx, later.Add(time.Second)); len(got) != 0 {
			t.Errorf("since filter: %+v", got)
		}
	})

	t.Run("notification log", func(t *testing.T) {
		claim := []NotificationRecord{{Receiver: "hook", GroupKey: "g1", Seq: 1, Status: "firing", Firing: []string{"fa"}, AlertsJSON: `{"alerts":[]}`}}
		var wg sync.WaitGroup
		wins := make([]int, 2)
		for i := range wins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, err := s.ClaimNotifications(ctx, fmt.Sprintf("inst-%d", i), claim, time.Minute, 300*time.Millisecond)
				if err != nil {
					t.Error(err)
				}
				wins[i] = len(w)
			}()
		}
		wg.Wait()
		if wins[0]+wins[1] != 1 {
			t.Fatalf("winners %v, want exactly one", wins)
		}
		heads, err := s.NotificationGroupHeads(ctx, time.Minute)
		if err != nil || len(heads) != 1 || heads[0].LastSeq != 1 || heads[0].LastState != "claimed" || heads[0].DeliveredSeq != 0 {
			t.Fatalf("in flight: %v %+v", err, heads)
		}
		rec := claim[0]
		rec.State, rec.Instance = "delivered", "inst-0"
		if err := s.AppendNotification(ctx, rec); err != nil {
			t.Fatal(err)
		}
		// A claim of seq 2 that expired (lease 1 ms) is not the head.
		if _, err := s.ClaimNotifications(ctx, "dead", []NotificationRecord{{Receiver: "hook", GroupKey: "g1", Seq: 2}}, time.Minute, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		heads, err = s.NotificationGroupHeads(ctx, time.Millisecond)
		if err != nil || len(heads) != 1 {
			t.Fatal(err, heads)
		}
		h := heads[0]
		if h.LastSeq != 1 || h.LastState != "delivered" || h.DeliveredSeq != 1 || len(h.DeliveredFiring) != 1 ||
			h.DeliveredAlertsJSON != `{"alerts":[]}` || time.Since(h.LastAt) > time.Minute {
			t.Errorf("%+v", h)
		}
		heads, _ = s.NotificationGroupHeads(ctx, time.Minute)
		if heads[0].LastSeq != 2 || heads[0].LastState != "claimed" {
			t.Errorf("live claim of seq 2: %+v", heads[0])
		}
	})

	t.Run("recent findings", func(t *testing.T) {
		obs := func(id string, score float64, last time.Time, occ uint64) FindingObservation {
			return FindingObservation{ID: id, Kind: "chatty", Service: "orders", Operation: "GET /items/{id}", Peer: "inventory",
				PeerKind: "service", Severity: "medium", Score: score, Summary: id, EvidenceJSON: "{}", Occurrences: occ,
				ExampleTraceIDs: [][16]byte{{1}}, FirstSeen: last.Add(-time.Second), LastSeen: last}
		}
		base := now.Truncate(time.Millisecond)
		if err := s.InsertFindingObservations(ctx, []FindingObservation{
			obs("f-old", 90, base.Add(-2*time.Hour), 7), // only old observations: not recent
			obs("f-new", 20, base.Add(-2*time.Hour), 5), // old and new: merged over the new ones only
			obs("f-new", 30, base.Add(-time.Minute), 2),
			obs("f-new", 40, base.Add(-30*time.Second), 3),
		}, "rf"); err != nil {
			t.Fatal(err)
		}
		got, err := s.RecentFindings(ctx, base.Add(-10*time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != "f-new" || got[0].Score != 40 || got[0].Occurrences != 5 ||
			!got[0].LastSeen.Equal(base.Add(-30*time.Second)) || len(got[0].ExampleTraceIDs) != 1 {
			t.Fatalf("%+v", got)
		}
	})

	t.Run("deliveries", func(t *testing.T) {
		for i, o := range []string{"retry", "success"} {
			if err := s.InsertDeliveryAttempt(ctx, DeliveryAttempt{Receiver: "hook", Integration: "webhook", GroupKey: "g1", Seq: 1,
				Status: "firing", Alerts: 1, Attempt: i + 1, Outcome: o, HTTPStatus: 503 - 303*i, Error: "e", Duration: 1500 * time.Microsecond,
				Instance: "inst-0"}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.DeliveryAttempts(ctx, DeliveryQuery{From: now.Add(-time.Hour), To: time.Now().Add(time.Hour), Receiver: "hook", Limit: 10})
		if err != nil || len(got) != 2 || got[0].Outcome != "success" || got[1].HTTPStatus != 503 || got[1].Duration != 1500*time.Microsecond {
			t.Fatalf("%v %+v", err, got)
		}
		if got, _ := s.DeliveryAttempts(ctx, DeliveryQuery{From: now.Add(-time.Hour), To: time.Now().Add(time.Hour), Outcome: "retry", Limit: 10}); len(got) != 1 {
			t.Errorf("outcome filter: %+v", got)
		}
	})
}
