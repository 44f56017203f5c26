package memlimit

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestNilLimiter(t *testing.T) {
	var l *Limiter
	if New(0, nil) != nil || l.Over() || l.Shed() || l.Limit() != 0 {
		t.Fatal("nil limiter reports pressure")
	}
	l.Start()
	l.Stop()
}

func TestPressureLevels(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	runtime.GC()
	// A limit far above use: no pressure.
	l := New(1<<40, nil)
	l.Start()
	time.Sleep(3 * interval)
	if l.Over() || l.Shed() {
		t.Fatal("pressure far below the limit")
	}
	if got, want := debug.SetMemoryLimit(-1), int64(float64(l.limit)*runtimeShare); got != want {
		t.Errorf("runtime limit %d", got)
	}
	l.Stop()
	l.Stop()
	if got := debug.SetMemoryLimit(-1); got != prev {
		t.Errorf("runtime limit not restored: %d, want %d", got, prev)
	}

	// A limit below what the process already uses: refuse and shed.
	hold := make([]byte, 64<<20)
	for i := range hold {
		hold[i] = 1
	}
	runtime.GC()
	l = New(32<<20, nil)
	l.Start()
	defer l.Stop()
	time.Sleep(3 * interval)
	if !l.Over() || !l.Shed() {
		t.Fatalf("no pressure at %d bytes live with a 32 MiB limit", l.live.Load())
	}
	runtime.KeepAlive(hold)
}

func TestOnShedAndForcedGC(t *testing.T) {
	hold := make([]byte, 64<<20)
	for i := range hold {
		hold[i] = 1
	}
	runtime.GC()
	l := New(64<<20, nil)
	called := make(chan struct{}, 10)
	l.OnShed(func() { called <- struct{}{} })
	l.Start()
	defer l.Stop()
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("OnShed callback not called")
	}
	// Over the limit: a collection is forced, so releasing memory ends the
	// pressure even though nothing allocates.
	runtime.KeepAlive(hold)
	hold = nil
	deadline := time.Now().Add(5 * time.Second)
	for l.Over() {
		if time.Now().After(deadline) {
			t.Fatalf("still over after the memory was released (live %d)", l.live.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if l.forced.Load() == 0 {
		t.Error("no forced collection")
	}
}
