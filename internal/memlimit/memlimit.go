// Package memlimit keeps tracehound's memory under a configured bound
// (otlp.memory_limit_bytes), in the manner of the OpenTelemetry Collector's
// memory_limiter: it sets the Go runtime's soft memory limit below the
// bound, samples the runtime's memory statistics, and reports two levels
// of pressure — Shed, at which the write-ahead log stops keeping spans in
// memory (they are read back from disk), and Over, at which the receivers
// refuse new requests with a retryable error until the garbage collector
// has brought memory back down.
package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Fractions of the limit. The Go runtime is asked to keep its memory under
// runtimeShare, leaving room for what it does not count (binary text,
// thread stacks of the OS); it collects garbage and returns memory to the
// OS as needed to stay there. Pressure is judged on the live heap after the
// last garbage collection — what is really held — and, as a safety, on the
// memory in use right now, which passes the runtime's limit only when the
// collector cannot keep up.
const (
	runtimeShare = 0.80
	shedLive     = 0.40
	shedUsed     = 0.90
	overLive     = 0.55
	overUsed     = 0.95
)

// interval is how often memory is sampled; gcEvery is the least time
// between two garbage collections forced while over the limit. Without
// them a refusing server allocates nothing, no collection runs, and the
// live heap measured at the last one would keep it refusing.
const (
	interval = 25 * time.Millisecond
	gcEvery  = time.Second
)

// Limiter samples memory; a nil *Limiter never reports pressure.
type Limiter struct {
	limit      int64
	shed, over atomic.Bool
	used, live atomic.Uint64

	mu      sync.Mutex
	started bool
	stopped bool
	prevGo  int64
	quit    chan struct{}
	done    chan struct{}

	cbMu   sync.Mutex
	onShed []func()

	lastGC time.Time // sampler goroutine only
	forced atomic.Int64
}

// OnShed registers f to be called (from the sampling goroutine) each time
// the Shed level is reached, so that caches can be dropped at once rather
// than at their next use. Call before Start.
func (l *Limiter) OnShed(f func()) {
	if l == nil {
		return
	}
	l.cbMu.Lock()
	defer l.cbMu.Unlock()
	l.onShed = append(l.onShed, f)
}

// New returns a limiter for limit bytes, or nil when limit is not positive.
// Its gauges are registered with reg (nil registers none).
func New(limit int64, reg prometheus.Registerer) *Limiter {
	if limit <= 0 {
		return nil
	}
	l := &Limiter{limit: limit, quit: make(chan struct{}), done: make(chan struct{})}
	if reg != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "tracehound", Subsystem: "memory", Name: "limit_bytes",
				Help: "The memory bound (otlp.memory_limit_bytes)."}, func() float64 { return float64(limit) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "tracehound", Subsystem: "memory", Name: "used_bytes",
				Help: "Memory used by the Go runtime at the last sample (mapped, not released to the OS)."},
				func() float64 { return float64(l.used.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "memory", Name: "forced_gcs_total",
				Help: "Garbage collections forced because memory was over the limit."}, func() float64 { return float64(l.forced.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "tracehound", Subsystem: "memory", Name: "pressure",
				Help: "0: normal; 1: spans are not kept in memory; 2: new requests are refused."}, func() float64 {
				switch {
				case l.Over():
					return 2
				case l.Shed():
					return 1
				}
				return 0
			}),
		)
	}
	return l
}

// Limit is the configured bound.
func (l *Limiter) Limit() int64 {
	if l == nil {
		return 0
	}
	return l.limit
}

// Start sets the Go runtime's soft memory limit (process-wide) and starts
// sampling. It returns at once.
func (l *Limiter) Start() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.stopped {
		return
	}
	l.started = true
	l.prevGo = debug.SetMemoryLimit(int64(float64(l.limit) * runtimeShare))
	l.sample(newSamples())
	go l.loop()
}

// Stop stops sampling and restores the runtime's previous memory limit.
// Safe without Start and more than once; a stopped Limiter cannot start
// again.
func (l *Limiter) Stop() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started || l.stopped {
		l.stopped = true
		return
	}
	l.stopped = true
	close(l.quit)
	<-l.done
	debug.SetMemoryLimit(l.prevGo)
}

// Shed reports whether spans should not be kept in memory.
func (l *Limiter) Shed() bool { return l != nil && l.shed.Load() }

// Over reports whether new requests should be refused.
func (l *Limiter) Over() bool { return l != nil && l.over.Load() }

func newSamples() []metrics.Sample {
	return []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
}

func (l *Limiter) loop() {
	defer close(l.done)
	s := newSamples()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.sample(s)
		case <-l.quit:
			return
		}
	}
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}

func (l *Limiter) sample(s []metrics.Sample) {
	wasShed := l.shed.Load()
	shed, over := l.measure(s)
	if over && time.Since(l.lastGC) >= gcEvery {
		// Refresh the live heap (and reclaim the garbage) now rather than
		// when allocation resumes, which refusing prevents.
		l.lastGC = time.Now()
		l.forced.Add(1)
		runtime.GC()
		shed, over = l.measure(s)
	}
	l.shed.Store(shed)
	l.over.Store(over)
	if shed && !wasShed {
		l.cbMu.Lock()
		callbacks := l.onShed
		l.cbMu.Unlock()
		for _, f := range callbacks {
			f()
		}
	}
}

// measure reads the runtime's memory statistics and judges the pressure.
func (l *Limiter) measure(s []metrics.Sample) (shed, over bool) {
	metrics.Read(s)
	live := value(s[0])
	used := value(s[1]) - min(value(s[2]), value(s[1]))
	l.live.Store(live)
	l.used.Store(used)
	lim := float64(l.limit)
	frac := func(v uint64) float64 { return float64(v) / lim }
	return frac(live) > shedLive || frac(used) > shedUsed, frac(live) > overLive || frac(used) > overUsed
}

// Detect returns the memory bound to use when none is configured: the Go
// runtime's limit when GOMEMLIMIT set one, else 0 (no bound).
func Detect() int64 {
	if v := debug.SetMemoryLimit(-1); v > 0 && v < math.MaxInt64 {
		return v
	}
	return 0
}

// NewStatic returns a Limiter of limit bytes that reports the given
// pressure and samples nothing (Start and Stop do nothing): for tests of
// the components that consult a Limiter.
func NewStatic(limit int64, shed, over bool) *Limiter {
	l := &Limiter{limit: limit, stopped: true}
	l.shed.Store(shed)
	l.over.Store(over)
	return l
}
