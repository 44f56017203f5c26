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
	// inserted; with the write-ahead log, the spans it keeps in memory
	// rather than reading them back from disk). When full, Enqueue refuses
	// with ErrQueueFull (with the write-ahead log, spans beyond it wait on
	// disk). Default 100000 (about 100 MB of process memory at the measured
	// ~1 KB per queued span, columns and dictionaries; see
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
		QueueSpans:      100_000,
		BatchSpans:      50_000,
		FlushInterval:   time.Second,
		InsertTimeout:   30 * time.Second,
		MaxRetryBackoff: 10 * time.Second,
	}
}

// spanMemoryBytes is the memory of a queued span in a SpanBatch (~1 KB
// with the realistic spans of docs/benchmarks.md: ~600 bytes of columns
// plus allocation slack); a span of the batch being inserted takes about
// twice that (the merged batch, and again in the insert's encoded block).
const spanMemoryBytes = 1000

// FitMemory returns c with QueueSpans and BatchSpans lowered, if needed, so
// that the spans the writer holds fit in shares of a process memory bound:
// the queue within a fifth of it, the batch being inserted within a tenth.
// The defaults are unchanged from about 1 GB up.
func (c WriterConfig) FitMemory(limit int64) WriterConfig {
	if limit <= 0 {
		return c
	}
	c.QueueSpans = int(min(int64(c.QueueSpans), max(1000, limit/5/spanMemoryBytes)))
	c.BatchSpans = int(min(int64(c.BatchSpans), max(1000, limit/10/(2*spanMemoryBytes)), int64(c.QueueSpans)))
	return c
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

// ErrLogDrained is returned by Log.Next once appends are stopped and every
// span was handed out.
var ErrLogDrained = errors.New("log drained")

// ErrLogFailed wraps the errors of a Log that can no longer write (a disk
// error); it is transient for clients, who should retry later or elsewhere.
var ErrLogFailed = errors.New("write-ahead log failed")

// Log is a durable queue between Enqueue and the inserts: the write-ahead
// log on disk (storage/wal implements it). With a Log, Enqueue returns once
// the Log has the spans durably, and the Writer inserts the batches the Log
// hands out with the Log's deduplication tokens, so that a batch inserted
// again after a crash is dropped by ClickHouse if it had been stored.
//
// Append, PendingSpans and StopAppends are safe for concurrent use; Next and
// Commit are called by the Writer's loop only.
type Log interface {
	// Append makes the batch durable and queues it; it takes ownership of
	// the batch. A full log returns an error wrapping ErrQueueFull, a stopped
	// one ErrStopped, a failed one an error wrapping ErrLogFailed.
	Append(ctx context.Context, batch *SpanBatch) error
	// Next blocks until a batch is ready — maxSpans spans (more only when
	// one logged request holds more), or maxWait after its first span was
	// appended — and returns it with its deduplication token. It returns
	// ErrLogDrained once appends are stopped and everything was handed out,
	// or ctx's error.
	Next(ctx context.Context, maxSpans int, maxWait time.Duration) (LogBatch, error)
	// Commit records that the batch returned by the last Next is stored.
	Commit() error
	// StopAppends makes Append return ErrStopped and lets Next drain.
	StopAppends()
	// PendingSpans is the number of spans appended and not yet committed.
	PendingSpans() int
}

// LogBatch is a batch handed out by Log.Next. The Writer owns Batch.
type LogBatch struct {
	Batch *SpanBatch
	Token string
}

// SpanInserter inserts a batch with a deduplication token; *Store is one.
type SpanInserter interface {
	InsertSpans(ctx context.Context, batch *SpanBatch, token string) error
}

// Writer batches spans and inserts them into ClickHouse.
//
// Without a Log (NewWriter), spans are held in a bounded in-memory queue
// until ClickHouse has committed them; a failed insert is retried with
// backoff, with the same rows and the same insert_deduplication_token, so a
// retry of an insert that did reach ClickHouse is dropped by the server
// instead of duplicated. While ClickHouse is down the queue fills and
// Enqueue refuses with ErrQueueFull, which the receivers turn into retryable
// OTLP errors. Spans still queued when the process crashes are lost;
// Shutdown flushes.
//
// With a Log (NewLogWriter), the queue is the write-ahead log on disk:
// Enqueue appends to it, and the Writer inserts the Log's batches with the
// Log's tokens, committing each once stored. A crash loses nothing the Log
// acknowledged, and Shutdown flushes what it can before its deadline and
// leaves the rest in the Log for the next start.
type Writer struct {
	ins SpanInserter
	wal Log
	cfg WriterConfig
	log *slog.Logger
	m   *writerMetrics

	mu       sync.Mutex
	pending  []*SpanBatch // queued, not yet in a batch
	queued   int          // spans in pending plus the batch being inserted
	stopped  bool
	wake     chan struct{}
	stopping chan struct{} // closed by Shutdown
	drainCtx context.Context
	done     chan struct{}
	started  bool
	// loopCtx ends when the shutdown deadline passes (Log mode).
	loopCtx    context.Context
	loopCancel context.CancelFunc
}

// NewWriter validates cfg and returns a Writer with an in-memory queue;
// reg may be nil.
func NewWriter(store *Store, cfg WriterConfig, reg prometheus.Registerer, log *slog.Logger) (*Writer, error) {
	return newWriter(store, nil, cfg, reg, log)
}

// NewLogWriter validates cfg and returns a Writer that queues spans in l
// (the write-ahead log) and inserts them with ins. The caller keeps
// ownership of l and closes it after the Writer's Shutdown. reg may be nil.
func NewLogWriter(ins SpanInserter, l Log, cfg WriterConfig, reg prometheus.Registerer, log *slog.Logger) (*Writer, error) {
	if l == nil {
		return nil, errors.New("writer: log is nil")
	}
	return newWriter(ins, l, cfg, reg, log)
}

func newWriter(ins SpanInserter, l Log, cfg WriterConfig, reg prometheus.Registerer, log *slog.Logger) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		ins:      ins,
		wal:      l,
		cfg:      cfg,
		log:      log,
		wake:     make(chan struct{}, 1),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	w.loopCtx, w.loopCancel = context.WithCancel(context.Background())
	w.m = newWriterMetrics(reg, cfg.QueueSpans, w.QueuedSpans)
	return w, nil
}

// Start launches the flush loop. It returns at once.
func (w *Writer) Start(_ context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("writer already started")
	}
	w.started = true
	if w.wal != nil {
		go w.logLoop()
	} else {
		go w.loop()
	}
	return nil
}

// Enqueue implements ingest.Sink: it takes ownership of batch. Without a
// Log it returns at once, with ErrQueueFull when the queue has no room (a
// request larger than the whole queue is accepted only into an empty
// queue) and ErrStopped after Shutdown began. With a Log it returns once
// the Log has made the spans durable, or the Log's error.
func (w *Writer) Enqueue(ctx context.Context, batch *SpanBatch) error {
	n := batch.Len()
	if n == 0 {
		return nil
	}
	if w.wal != nil {
		err := w.wal.Append(ctx, batch)
		if errors.Is(err, ErrQueueFull) {
			w.m.refused.Add(float64(n))
		}
		return err
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return ErrStopped
	}
	if w.queued > 0 && w.queued+n > w.cfg.QueueSpans {
		w.mu.Unlock()
		w.m.refused.Add(float64(n))
		return fmt.Errorf("%w: %d spans queued, capacity %d (ClickHouse slow or unreachable?)", ErrQueueFull, w.queued, w.cfg.QueueSpans)
	}
	w.pending = append(w.pending, batch)
	w.queued += n
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// QueuedSpans is the number of spans accepted but not yet stored (with a
// Log, the spans in the Log).
func (w *Writer) QueuedSpans() int {
	if w.wal != nil {
		return w.wal.PendingSpans()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queued
}

// Shutdown refuses new spans, flushes everything queued and returns once
// all spans are stored or ctx ends. Without a Log it retries while
// ClickHouse is unreachable, and when ctx ends the error says how many
// spans were lost. With a Log it stops at the first failed insert or at
// ctx's end, and the spans not stored stay in the Log (nothing is lost).
// Safe without Start and more than once.
func (w *Writer) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	if !w.started {
		w.stopped = true
		w.mu.Unlock()
		if w.wal != nil {
			w.wal.StopAppends()
		}
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
	if w.wal != nil {
		w.wal.StopAppends()
		stop := context.AfterFunc(ctx, w.loopCancel)
		<-w.done
		stop()
		w.loopCancel()
		if n := w.wal.PendingSpans(); n > 0 {
			w.log.Info("spans not yet stored stay in the write-ahead log; they are stored at the next start", "spans", n)
		}
		return nil
	}
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
		if !w.insertWithRetry(batch, newToken()) {
			return // shutdown deadline passed; the rest is counted as lost
		}
		w.mu.Lock()
		w.queued -= batch.Len()
		w.mu.Unlock()
		// Counted once out of the queue, so that stored == accepted
		// implies an empty queue to whoever reads both metrics.
		w.m.stored.Add(float64(batch.Len()))
	}
}

// logLoop inserts the Log's batches one at a time until the Log is drained
// at shutdown or the shutdown deadline passes.
func (w *Writer) logLoop() {
	defer close(w.done)
	for {
		b, err := w.wal.Next(w.loopCtx, w.cfg.BatchSpans, w.cfg.FlushInterval)
		switch {
		case err == nil:
		case errors.Is(err, ErrLogDrained), w.loopCtx.Err() != nil:
			return
		default:
			w.log.Error("reading the write-ahead log failed", "err", err)
			select {
			case <-time.After(time.Second):
			case <-w.loopCtx.Done():
				return
			}
			continue
		}
		if !w.insertWithRetry(b.Batch, b.Token) {
			return // shutdown: the batch stays in the log, with its token
		}
		if err := w.wal.Commit(); err != nil {
			w.log.Error("recording a stored batch in the write-ahead log failed", "err", err)
		}
		w.m.stored.Add(float64(b.Batch.Len()))
	}
}

// pendingCount is called with mu held.
func (w *Writer) pendingCount() int {
	n := 0
	for _, p := range w.pending {
		n += p.Len()
	}
	return n
}

// takeBatch moves queued requests out of pending, whole, merging them into
// one batch of up to BatchSpans spans (more only when the first request
// alone has more).
func (w *Writer) takeBatch() *SpanBatch {
	w.mu.Lock()
	first := w.pending[0]
	w.pending[0] = nil
	w.pending = w.pending[1:]
	var more []*SpanBatch
	n := first.Len()
	for len(w.pending) > 0 && n+w.pending[0].Len() <= w.cfg.BatchSpans {
		n += w.pending[0].Len()
		more = append(more, w.pending[0])
		w.pending[0] = nil
		w.pending = w.pending[1:]
	}
	w.mu.Unlock()
	if len(more) == 0 {
		return first
	}
	return MergeSpanBatches(append([]*SpanBatch{first}, more...))
}

// insertWithRetry inserts the batch until it succeeds; it gives up only when
// the shutdown context ends (or, with a Log, at the first failure during
// shutdown), returning false.
func (w *Writer) insertWithRetry(batch *SpanBatch, token string) bool {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.InsertTimeout)
		if dctx := w.shutdownCtx(); dctx != nil {
			ctx, cancel = context.WithTimeout(dctx, w.cfg.InsertTimeout)
		}
		start := time.Now()
		err := w.ins.InsertSpans(ctx, batch, token)
		cancel()
		if err == nil {
			w.m.insertDuration.Observe(time.Since(start).Seconds())
			w.m.batchSpans.Observe(float64(batch.Len()))
			w.m.batches.WithLabelValues("ok").Inc()
			if attempt > 1 {
				w.log.Info("insert succeeded after retries", "attempts", attempt, "spans", batch.Len())
			}
			return true
		}
		w.m.batches.WithLabelValues("error").Inc()
		w.m.insertErrors.Inc()
		if attempt == 1 || attempt%10 == 0 {
			w.log.Warn("inserting spans into ClickHouse failed; retrying", "err", err, "spans", batch.Len(), "attempt", attempt, "retry_in", backoff)
		}
		if dctx := w.shutdownCtx(); dctx != nil && (dctx.Err() != nil || w.wal != nil) {
			if w.wal != nil {
				w.log.Warn("ClickHouse unavailable at shutdown; the batch stays in the write-ahead log", "spans", batch.Len(), "err", err)
			} else {
				w.log.Error("giving up on a batch at shutdown deadline", "spans", batch.Len(), "err", err)
			}
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
	refused        prometheus.Counter
	stored         prometheus.Counter
	batches        *prometheus.CounterVec
	insertErrors   prometheus.Counter
	batchSpans     prometheus.Histogram
	insertDuration prometheus.Histogram
}

func newWriterMetrics(reg prometheus.Registerer, capacity int, queued func() int) *writerMetrics {
	m := &writerMetrics{
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
		queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "tracehound", Subsystem: "storage",
			Name: "queue_spans", Help: "Spans accepted but not yet stored in ClickHouse (in memory, or in the write-ahead log)."},
			func() float64 { return float64(queued()) })
		reg.MustRegister(queue, m.refused, m.stored, m.batches, m.insertErrors, m.batchSpans, m.insertDuration, capGauge)
	}
	return m
}
