package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// WriterConfig configures the batching writer.
type WriterConfig struct {
	// QueueSpans bounds the spans held in memory (queued plus being
	// inserted). When full, Enqueue refuses with ErrQueueFull. Default 200000 (about 1 GB of
	// process memory at the measured ~2.5 KB per queued span; see
	// docs/benchmarks.md).
	QueueSpans int `yaml:"queue_spans"`
	// BatchSpans is the largest insert; a batch is sent when it is full or
	// FlushInterval after its first span arrived. Default 50000.
	BatchSpans int `yaml:"batch_spans"`
	// FlushInterval is the longest a span waits before its batch is sent.
	// Default 1s.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// InsertTimeout bounds one insert attempt. Default 30s.
	InsertTimeout time.Duration `yaml:"insert_timeout"`
	// MaxRetryBackoff caps the wait between retries of a failed insert
	// (retries go on until the insert succeeds or shutdown). Default 10s.
	MaxRetryBackoff time.Duration `yaml:"max_retry_backoff"`
}

// NewDefaultWriterConfig returns the defaults documented on WriterConfig.
func NewDefaultWriterConfig() WriterConfig {
	return WriterConfig{
		QueueSpans:      200_000,
		BatchSpans:      50_000,
		FlushInterval:   time.Second,
		InsertTimeout:   30 * time.Second,
		MaxRetryBackoff: 10 * time.Second,
	}
}

// Validate reports configuration errors, naming the YAML field.
func (c WriterConfig) Validate() error {
	var errs []error
	if c.QueueSpans <= 0 {
		errs = append(errs, errors.New("writer.queue_spans must be positive"))
	}
	if c.BatchSpans <= 0 {
		errs = append(errs, errors.New("writer.batch_spans must be positive"))
	}
	if c.BatchSpans > c.QueueSpans {
		errs = append(errs, fmt.Errorf("writer.batch_spans (%d) must not exceed writer.queue_spans (%d)", c.BatchSpans, c.QueueSpans))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, errors.New("writer.flush_interval must be positive"))
	}
	if c.InsertTimeout <= 0 {
		errs = append(errs, errors.New("writer.insert_timeout must be positive"))
	}
	if c.MaxRetryBackoff <= 0 {
		errs = append(errs, errors.New("writer.max_retry_backoff must be positive"))
	}
	return errors.Join(errs...)
}

// Writer batches spans and inserts them into ClickHouse.
//
// Spans are held in a bounded in-memory queue until ClickHouse has committed
// them; a failed insert is retried with backoff, with the same rows and the
// same insert_deduplication_token, so a retry of an insert that did reach
// ClickHouse is dropped by the server instead of duplicated. While
// ClickHouse is down the queue fills and Enqueue refuses with ErrQueueFull,
// which the receivers turn into retryable OTLP errors. Spans still queued
// when the process crashes are lost; Shutdown flushes.
type Writer struct {
	store *Store
	cfg   WriterConfig
	log   *slog.Logger
	m     *writerMetrics

	mu       sync.Mutex
	pending  [][]Span // queued, not yet in a batch
	queued   int      // spans in pending plus the batch being inserted
	stopped  bool
	wake     chan struct{}
	stopping chan struct{} // closed by Shutdown
	drainCtx context.Context
	done     chan struct{}
	started  bool
}

// NewWriter validates cfg and returns a Writer; reg may be nil.
func NewWriter(store *Store, cfg WriterConfig, reg prometheus.Registerer, log *slog.Logger) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Writer{
		store:    store,
		cfg:      cfg,
		log:      log,
		m:        newWriterMetrics(reg, cfg.QueueSpans),
		wake:     make(chan struct{}, 1),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}, nil
}

// Start launches the flush loop. It returns at once.
func (w *Writer) Start(_ context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("writer already started")
	}
	w.started = true
	go w.loop()
	return nil
}

// Enqueue implements ingest.Sink: it takes ownership of spans and returns at
// once, with ErrQueueFull when the queue has no room (a request larger than
// the whole queue is accepted only into an empty queue) and ErrStopped after
// Shutdown began.
func (w *Writer) Enqueue(_ context.Context, spans []Span) error {
	if len(spans) == 0 {
		return nil
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return ErrStopped
	}
	if w.queued > 0 && w.queued+len(spans) > w.cfg.QueueSpans {
		w.mu.Unlock()
		w.m.refused.Add(float64(len(spans)))
		return fmt.Errorf("%w: %d spans queued, capacity %d (ClickHouse slow or unreachable?)", ErrQueueFull, w.queued, w.cfg.QueueSpans)
	}
	w.pending = append(w.pending, spans)
	w.queued += len(spans)
	w.m.queue.Set(float64(w.queued))
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// QueuedSpans is the number of spans accepted but not yet stored.
func (w *Writer) QueuedSpans() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queued
}

// Shutdown refuses new spans, flushes everything queued (retrying while
// ClickHouse is unreachable) and returns once all spans are stored or ctx
// ends; in the latter case the error says how many spans were lost. Safe
// without Start and more than once.
func (w *Writer) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	if !w.started {
		w.stopped = true
		w.mu.Unlock()
		return nil
	}
	if w.stopped {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.stopped = true
	w.drainCtx = ctx
	w.mu.Unlock()
	close(w.stopping)
	<-w.done
	w.mu.Lock()
	lost := w.queued
	w.mu.Unlock()
	if lost > 0 {
		return fmt.Errorf("shutdown deadline passed with %d spans not stored: %w", lost, ctx.Err())
	}
	return nil
}

func (w *Writer) loop() {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var firstPending time.Time
	for {
		w.mu.Lock()
		n := w.pendingCount()
		w.mu.Unlock()
		stopping := isClosed(w.stopping)
		switch {
		case n == 0 && stopping:
			return
		case n == 0:
			firstPending = time.Time{}
			select {
			case <-w.wake:
			case <-w.stopping:
			}
			continue
		}
		if firstPending.IsZero() {
			firstPending = time.Now()
		}
		if n < w.cfg.BatchSpans && !stopping {
			wait := time.Until(firstPending.Add(w.cfg.FlushInterval))
			if wait > 0 {
				timer.Reset(wait)
				select {
				case <-w.wake:
				case <-timer.C:
				case <-w.stopping:
				}
				timer.Stop()
				continue
			}
		}
		batch := w.takeBatch()
		firstPending = time.Time{}
		if !w.insertWithRetry(batch) {
			return // shutdown deadline passed; the rest is counted as lost
		}
		w.mu.Lock()
		w.queued -= len(batch)
		w.m.queue.Set(float64(w.queued))
		w.mu.Unlock()
	}
}

// pendingCount is called with mu held.
func (w *Writer) pendingCount() int {
	n := 0
	for _, p := range w.pending {
		n += len(p)
	}
	return n
}

// takeBatch moves up to BatchSpans spans out of pending.
func (w *Writer) takeBatch() []Span {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 1 && len(w.pending[0]) <= w.cfg.BatchSpans {
		b := w.pending[0]
		w.pending[0] = nil
		w.pending = w.pending[:0]
		return b
	}
	batch := make([]Span, 0, min(w.cfg.BatchSpans, w.pendingCount()))
	for len(w.pending) > 0 && len(batch) < w.cfg.BatchSpans {
		p := w.pending[0]
		take := min(len(p), w.cfg.BatchSpans-len(batch))
		batch = append(batch, p[:take]...)
		if take == len(p) {
			w.pending[0] = nil
			w.pending = w.pending[1:]
		} else {
			w.pending[0] = p[take:]
		}
	}
	return batch
}

// insertWithRetry inserts the batch until it succeeds; it gives up only when
// the shutdown context ends, returning false.
func (w *Writer) insertWithRetry(batch []Span) bool {
	token := newToken()
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.InsertTimeout)
		if dctx := w.shutdownCtx(); dctx != nil {
			ctx, cancel = context.WithTimeout(dctx, w.cfg.InsertTimeout)
		}
		start := time.Now()
		err := w.store.InsertSpans(ctx, batch, token)
		cancel()
		if err == nil {
			w.m.insertDuration.Observe(time.Since(start).Seconds())
			w.m.batchSpans.Observe(float64(len(batch)))
			w.m.stored.Add(float64(len(batch)))
			w.m.batches.WithLabelValues("ok").Inc()
			if attempt > 1 {
				w.log.Info("insert succeeded after retries", "attempts", attempt, "spans", len(batch))
			}
			return true
		}
		w.m.batches.WithLabelValues("error").Inc()
		w.m.insertErrors.Inc()
		if attempt == 1 || attempt%10 == 0 {
			w.log.Warn("inserting spans into ClickHouse failed; retrying", "err", err, "spans", len(batch), "attempt", attempt, "retry_in", backoff)
		}
		if dctx := w.shutdownCtx(); dctx != nil && dctx.Err() != nil {
			w.log.Error("giving up on a batch at shutdown deadline", "spans", len(batch), "err", err)
			return false
		}
		select {
		case <-time.After(backoff):
		case <-w.shutdownDone():
			return false
		}
		backoff = min(backoff*2, w.cfg.MaxRetryBackoff)
	}
}

func (w *Writer) shutdownCtx() context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.drainCtx
}

// shutdownDone is closed when the shutdown context ends (never before
// Shutdown).
func (w *Writer) shutdownDone() <-chan struct{} {
	if ctx := w.shutdownCtx(); ctx != nil {
		return ctx.Done()
	}
	return nil
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// insertContext adds the settings that make a retried insert idempotent.
func insertContext(ctx context.Context, token string) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"insert_deduplicate":                                 1,
		"insert_deduplication_token":                         token,
		"deduplicate_blocks_in_dependent_materialized_views": 1,
	}))
}

type writerMetrics struct {
	queue          prometheus.Gauge
	refused        prometheus.Counter
	stored         prometheus.Counter
	batches        *prometheus.CounterVec
	insertErrors   prometheus.Counter
	batchSpans     prometheus.Histogram
	insertDuration prometheus.Histogram
}

func newWriterMetrics(reg prometheus.Registerer, capacity int) *writerMetrics {
	m := &writerMetrics{
		queue: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tracehound", Subsystem: "storage",
			Name: "queue_spans", Help: "Spans accepted but not yet stored in ClickHouse."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "storage",
			Name: "queue_refused_spans_total", Help: "Spans refused because the write queue was full."}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "storage",
			Name: "spans_stored_total", Help: "Spans committed to ClickHouse."}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "storage",
			Name: "insert_attempts_total", Help: "Insert attempts by outcome (ok, error)."}, []string{"outcome"}),
		insertErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "tracehound", Subsystem: "storage",
			Name: "clickhouse_errors_total", Help: "Failed ClickHouse inserts (each is retried)."}),
		batchSpans: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "tracehound", Subsystem: "storage",
			Name: "batch_spans", Help: "Spans per committed insert.",
			Buckets: prometheus.ExponentialBuckets(10, 4, 8)}),
		insertDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "tracehound", Subsystem: "storage",
			Name: "insert_duration_seconds", Help: "Duration of successful inserts.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
	}
	if reg != nil {
		capGauge := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tracehound", Subsystem: "storage",
			Name: "queue_capacity_spans", Help: "Capacity of the write queue in spans."})
		capGauge.Set(float64(capacity))
		reg.MustRegister(m.queue, m.refused, m.stored, m.batches, m.insertErrors, m.batchSpans, m.insertDuration, capGauge)
	}
	return m
}
