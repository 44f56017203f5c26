package procstat

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestSelfAndChildren(t *testing.T) {
	pid := os.Getpid()
	if _, err := CPU(pid); err != nil {
		t.Fatal(err)
	}
	if p, err := PeakRSS(pid); err != nil || p <= 0 {
		t.Fatalf("PeakRSS = %d, %v", p, err)
	}
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	kids, err := Children(pid)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range kids {
		found = found || k == cmd.Process.Pid
	}
	if !found {
		t.Fatalf("child %d not in %v", cmd.Process.Pid, kids)
	}
	args, err := Cmdline(cmd.Process.Pid)
	if err != nil || len(args) != 2 || args[1] != "5" {
		t.Fatalf("Cmdline = %q, %v", args, err)
	}
	if b, err := SystemBusy(); err != nil || b <= 0 {
		t.Fatalf("SystemBusy = %v, %v", b, err)
	}
}

func TestTrackerSurvivesRestart(t *testing.T) {
	tr := NewTracker()
	tr.Sample(os.Getpid())
	end := time.Now().Add(30 * time.Millisecond)
	for time.Now().Before(end) {
	}
	tr.Sample(os.Getpid())
	tr.Sample(1 << 30) // no such process: ignored
	if tr.PIDs() != 1 || tr.PeakRSS() <= 0 {
		t.Fatalf("tracker: %d pids, peak %d", tr.PIDs(), tr.PeakRSS())
	}
}
