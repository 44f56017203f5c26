// Package wal is tracehound's write-ahead log: a bounded, disk-backed queue
// between the OTLP receivers and the ClickHouse writer, so that a span
// acknowledged to an exporter survives ClickHouse being down and a crash of
// tracehound.
//
// Receivers Append validated spans; Append returns once the record is
// durable (per the sync policy, with group commit) and the receiver then
// acknowledges. The writer takes batches with Next, inserts them with the
// batch's deduplication token and calls Commit; the log then advances its
// checkpoint and deletes the segment files whose records are all stored.
//
// Batches are cut at record boundaries, and the range and token of the
// batch being inserted are persisted before it is handed out, so after a
// crash the same records are inserted again with the same token, which
// ClickHouse's insert deduplication drops if the first attempt had
// committed. The token names the log's random identity and the record
// range, so two different batches never share one.
//
// Memory is bounded: appended batches are kept in memory (for the writer to
// insert without reading them back) only up to MemorySpans spans, and not
// at all while MemoryPressure reports true; the rest is read back from disk.
//
// A record's payload is its storage.SpanBatch in the batch's binary form;
// payloads of the span-list format of older versions are still read (see
// codec.go).
//
// See docs/reliability.md for the guarantees.
package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/storage"
)

// ErrLocked is returned by Open when another process holds the directory.
var ErrLocked = errors.New("write-ahead log directory is locked")

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("write-ahead log is closed")

// Options configures Open.
type Options struct {
	// Dir is the log directory; it is created if missing.
	Dir string
	// Config holds the size and sync settings (Enabled and Dir are not
	// read).
	Config Config
	// MemorySpans bounds the spans of the batches the log keeps in memory,
	// the batch handed to the writer included (writer.queue_spans).
	// Default 100000.
	MemorySpans int
	// MemoryPressure, when set and true, makes Append keep no spans in
	// memory (they are read back from disk) and drop those it kept.
	MemoryPressure func() bool
	// Registerer receives the log's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger receives start-up, corruption and failure messages; nil
	// discards them.
	Logger *slog.Logger
}

// Log is an open write-ahead log. Append, PendingSpans, StopAppends and
// Close are safe for concurrent use; Next and Commit must be called from
// one goroutine at a time (the writer's loop). It implements storage.Log.
type Log struct {
	dir      string
	cfg      Config
	memCap   int
	pressure func() bool
	log      *slog.Logger
	m        *metrics
	lock     *os.File
	id       string

	syncMu sync.Mutex // serialises fsyncs; taken before mu, never while holding it

	mu           sync.Mutex
	stopped      bool  // StopAppends or Close called
	closed       bool  // Close called
	failed       error // sticky write or fsync failure
	segs         []*segment
	active       *os.File   // the last segment, open for appending
	unsynced     []*os.File // sealed segments written since the last fsync
	writeEnd     pos        // end of the last record written
	durableEnd   pos        // end of the last record fsynced
	seq          uint64     // records written
	syncedSeq    uint64     // records fsynced
	syncGen      chan struct{}
	diskBytes    int64
	pendingSpans int // appended, not committed
	mem          []memRecord
	memHead      int
	memSpans     int
	diskOnly     bool // an appended record was not cached; cache nothing until the reader catches up
	held         int  // spans of the batch handed out and not committed
	avail        chan struct{}

	dirty      chan struct{} // wakes the batch syncer
	quit       chan struct{}
	syncerDone chan struct{}

	// Reader state, used by Next and Commit only.
	rmu      sync.Mutex
	rpos     pos
	peeked   *record
	replay   *inflight // batch to insert again first (from the checkpoint)
	inflight *inflight // batch handed out by Next, not committed
	stored   pos
	readSeg  uint64
	readFile *os.File
}

// segment is one segment file.
type segment struct {
	id     uint64
	size   int64 // bytes of valid records
	sealed bool  // no more records will be appended
}

// memRecord is a record whose batch is kept in memory.
type memRecord struct {
	start, end pos
	batch      *storage.SpanBatch
	at         time.Time
}

// record is a record handed to Next, from memory or read back from disk.
type record struct {
	start, end pos
	batch      *storage.SpanBatch
	at         time.Time
}

var _ storage.Log = (*Log)(nil)

// Open opens (or creates) the log in o.Dir, locks it, checks every record
// not yet stored (a record cut short by a crash at the end of the last
// segment is discarded; it was never acknowledged) and starts a new
// segment. The records not yet stored are handed out by Next before any new
// one, the batch that was being inserted at the crash first and unchanged.
func Open(o Options) (*Log, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Dir == "" {
		return nil, errors.New("wal: directory is empty")
	}
	if o.MemorySpans <= 0 {
		o.MemorySpans = 100_000
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the write-ahead log directory: %w", err)
	}
	lock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	l := &Log{
		dir:        o.Dir,
		cfg:        o.Config,
		memCap:     o.MemorySpans,
		pressure:   o.MemoryPressure,
		log:        log,
		lock:       lock,
		syncGen:    make(chan struct{}),
		avail:      make(chan struct{}, 1),
		dirty:      make(chan struct{}, 1),
		quit:       make(chan struct{}),
		syncerDone: make(chan struct{}),
	}
	l.m = newMetrics(o.Registerer, l)
	if err := l.recover(); err != nil {
		_ = lock.Close()
		return nil, err
	}
	if l.cfg.Sync == SyncBatch {
		go l.syncLoop()
	} else {
		close(l.syncerDone)
	}
	return l, nil
}

// recover reads the checkpoint and the segments and starts a new segment.
func (l *Log) recover() error {
	start := time.Now()
	cp, err := readCheckpoint(l.dir)
	switch {
	case err == nil:
	case isNotExist(err):
		cp = checkpoint{Version: 1, ID: newID()}
	default:
		// Without the checkpoint every record is inserted again, under a
		// new identity: duplicates are possible, losses are not.
		l.log.Error("write-ahead log checkpoint unreadable; replaying every segment", "dir", l.dir, "err", err)
		cp = checkpoint{Version: 1, ID: newID()}
	}
	l.id = cp.ID
	l.stored = cp.Stored
	ids, err := listSegments(l.dir)
	if err != nil {
		return fmt.Errorf("reading the write-ahead log directory: %w", err)
	}
	var maxID uint64
	pendingRecords := 0
	for i, id := range ids {
		maxID = max(maxID, id)
		path := filepath.Join(l.dir, segmentName(id))
		if id < cp.Stored.Seg {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("removing stored WAL segment: %w", err)
			}
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("opening WAL segment: %w", err)
		}
		size := int64(0)
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		validEnd, serr := scanSegment(f, size, func(off, n int64, spans int) {
			if !(pos{id, off}).less(cp.Stored) {
				pendingRecords++
				l.pendingSpans += spans
			}
		})
		_ = f.Close()
		if serr != nil {
			last := i == len(ids)-1
			if last && (errors.Is(serr, errTorn) || errors.Is(serr, errCorrupt)) {
				// The tail of the segment being written when tracehound
				// stopped: never acknowledged.
				l.log.Warn("write-ahead log: discarding an incomplete record at the end of the last segment",
					"segment", segmentName(id), "offset", validEnd, "bytes", size-validEnd, "reason", serr)
				if err := os.Truncate(path, validEnd); err != nil {
					return fmt.Errorf("truncating WAL segment: %w", err)
				}
			} else {
				l.m.corruptBytes.Add(float64(size - validEnd))
				l.log.Error("write-ahead log: segment damaged; the records after the damage cannot be replayed",
					"segment", segmentName(id), "offset", validEnd, "bytes_skipped", size-validEnd, "err", serr)
			}
		}
		if validEnd == 0 {
			_ = os.Remove(path)
			continue
		}
		l.segs = append(l.segs, &segment{id: id, size: validEnd, sealed: true})
		l.diskBytes += validEnd
	}
	activeID := max(maxID, cp.Stored.Seg) + 1
	f, err := createSegment(l.dir, activeID)
	if err != nil {
		return err
	}
	l.active = f
	l.segs = append(l.segs, &segment{id: activeID})
	l.writeEnd = pos{activeID, 0}
	l.durableEnd = l.writeEnd
	l.rpos = cp.Stored
	l.diskOnly = pendingRecords > 0
	if b := cp.Batch; b != nil && b.Start == cp.Stored && cp.Stored.less(b.End) {
		l.replay = b
	}
	cp.Version = 1
	if err := writeCheckpoint(l.dir, cp); err != nil {
		_ = f.Close()
		return err
	}
	l.m.replayed.Add(float64(l.pendingSpans))
	if pendingRecords > 0 {
		l.log.Info("write-ahead log holds spans not yet stored; inserting them first",
			"dir", l.dir, "spans", l.pendingSpans, "records", pendingRecords, "bytes", l.diskBytes,
			"segments", len(l.segs)-1, "batch_in_flight", l.replay != nil, "scan", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// Append writes batch as one record and returns once it is durable under
// the sync policy; it takes ownership of batch, which it may keep in memory
// until Next hands it out. When the log is over
// MaxBytes it returns an error wrapping storage.ErrQueueFull; after
// StopAppends, storage.ErrStopped; after a disk failure, an error wrapping
// storage.ErrLogFailed. When ctx ends while waiting for the fsync, the
// record stays in the log and will be stored.
func (l *Log) Append(ctx context.Context, batch *storage.SpanBatch) error {
	n := batch.Len()
	if n == 0 {
		return nil
	}
	bp := getBuf(batch.MarshalSizeHint() + headerSize)
	b := appendRecord(*bp, batch)
	defer func() { *bp = b; putBuf(bp) }()
	size := int64(len(b))
	if size-headerSize > maxRecordBytes {
		return fmt.Errorf("wal: a request of %d spans encodes to %d bytes, above the %d-byte record limit", n, size, maxRecordBytes)
	}

	l.mu.Lock()
	switch {
	case l.failed != nil:
		err := l.failed
		l.mu.Unlock()
		return fmt.Errorf("%w: %v", storage.ErrLogFailed, err)
	case l.stopped:
		l.mu.Unlock()
		return storage.ErrStopped
	case l.diskBytes+size > l.cfg.MaxBytes:
		used := l.diskBytes
		l.mu.Unlock()
		l.m.refused.Add(float64(n))
		return fmt.Errorf("%w: the write-ahead log is full (%d of %d bytes, wal.max_bytes; ClickHouse slow or unreachable?)",
			storage.ErrQueueFull, used, l.cfg.MaxBytes)
	}
	seg := l.segs[len(l.segs)-1]
	if seg.size > 0 && seg.size+size > l.cfg.SegmentBytes {
		if err := l.rotateLocked(); err != nil {
			l.failLocked(err)
			l.mu.Unlock()
			return fmt.Errorf("%w: %v", storage.ErrLogFailed, err)
		}
		seg = l.segs[len(l.segs)-1]
	}
	if _, err := l.active.Write(b); err != nil {
		// Undo a partial write so that the segment stays a sequence of
		// whole records.
		if terr := l.active.Truncate(seg.size); terr != nil {
			l.failLocked(fmt.Errorf("write: %v; truncate: %w", err, terr))
		}
		l.mu.Unlock()
		return fmt.Errorf("writing to the write-ahead log: %w", err)
	}
	start := pos{seg.id, seg.size}
	seg.size += size
	l.diskBytes += size
	end := pos{seg.id, seg.size}
	l.writeEnd = end
	l.seq++
	seq := l.seq
	l.pendingSpans += n
	switch {
	case l.pressure != nil && l.pressure():
		l.shedLocked()
	case !l.diskOnly && l.memSpans+l.held+n <= l.memCap:
		l.mem = append(l.mem, memRecord{start: start, end: end, batch: batch, at: time.Now()})
		l.memSpans += n
	default:
		l.diskOnly = true
	}
	if l.cfg.Sync == SyncNone {
		l.syncedSeq = seq
		l.durableEnd = end
		l.notifyLocked()
	}
	l.mu.Unlock()
	l.m.appended.Add(float64(n))

	switch l.cfg.Sync {
	case SyncNone:
		return nil
	case SyncAlways:
		if err := l.sync(false); err != nil {
			return fmt.Errorf("%w: %v", storage.ErrLogFailed, err)
		}
	default:
		select {
		case l.dirty <- struct{}{}:
		default:
		}
	}
	return l.waitSynced(ctx, seq)
}

// shedLocked drops the batches kept in memory: they are on disk, and the
// reader reads them back from there.
func (l *Log) shedLocked() {
	for i := l.memHead; i < len(l.mem); i++ {
		l.mem[i] = memRecord{}
	}
	l.mem, l.memHead, l.memSpans = l.mem[:0], 0, 0
	l.diskOnly = true
}

// DropMemory drops the batches kept in memory (they are read back from
// disk) and keeps none until the reader catches up: for memory pressure.
func (l *Log) DropMemory() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shedLocked()
}

func (l *Log) failLocked(err error) {
	if l.failed == nil {
		l.failed = err
		l.log.Error("write-ahead log failed; refusing spans until restart", "dir", l.dir, "err", err)
	}
	close(l.syncGen)
	l.syncGen = make(chan struct{})
}

// rotateLocked seals the active segment and starts the next one.
func (l *Log) rotateLocked() error {
	cur := l.segs[len(l.segs)-1]
	f, err := createSegment(l.dir, cur.id+1)
	if err != nil {
		return err
	}
	cur.sealed = true
	old := l.active
	l.active = f
	l.segs = append(l.segs, &segment{id: cur.id + 1})
	if l.cfg.Sync == SyncNone {
		_ = old.Close()
	} else {
		l.unsynced = append(l.unsynced, old) // fsynced and closed by the next sync
	}
	return nil
}

// sync fsyncs everything written so far (and the segments sealed since the
// last fsync) and advances the durable end. Concurrent callers share one
// fsync: the ones waiting on syncMu find their records already durable.
// force fsyncs even when no record was written since the last fsync (with
// SyncNone, records count as synced once written).
func (l *Log) sync(force bool) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if l.failed != nil {
		err := l.failed
		l.mu.Unlock()
		return err
	}
	target, end, f, sealed := l.seq, l.writeEnd, l.active, l.unsynced
	l.unsynced = nil
	if target == l.syncedSeq && len(sealed) == 0 && !force {
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()

	start := time.Now()
	var err error
	for _, s := range sealed {
		if e := s.Sync(); e != nil && err == nil {
			err = e
		}
		_ = s.Close()
	}
	if err == nil && f != nil {
		err = f.Sync()
	}
	l.m.fsyncs.Inc()
	l.m.fsyncSeconds.Observe(time.Since(start).Seconds())

	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("fsync: %w", err)
		l.failLocked(err)
		return err
	}
	if target > l.syncedSeq {
		l.syncedSeq = target
		l.durableEnd = end
	}
	close(l.syncGen)
	l.syncGen = make(chan struct{})
	l.notifyLocked()
	return nil
}

// waitSynced waits until record seq is durable.
func (l *Log) waitSynced(ctx context.Context, seq uint64) error {
	for {
		l.mu.Lock()
		synced, failed, gen := l.syncedSeq >= seq, l.failed, l.syncGen
		l.mu.Unlock()
		switch {
		case synced:
			return nil
		case failed != nil:
			return fmt.Errorf("%w: %v", storage.ErrLogFailed, failed)
		}
		select {
		case <-gen:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the write-ahead log fsync: %w", ctx.Err())
		}
	}
}

// syncLoop is the SyncBatch syncer: after a write it fsyncs at once when
// the last fsync is SyncInterval old, else when it becomes so.
func (l *Log) syncLoop() {
	defer close(l.syncerDone)
	var last time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-l.dirty:
		case <-l.quit:
			return
		}
		if wait := l.cfg.SyncInterval - time.Since(last); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-l.quit:
				timer.Stop()
				return
			}
		}
		last = time.Now()
		_ = l.sync(false) // a failure is sticky and reported to the appenders
	}
}

// notifyLocked wakes a Next waiting for records.
func (l *Log) notifyLocked() {
	select {
	case l.avail <- struct{}{}:
	default:
	}
}

// StopAppends makes Append return storage.ErrStopped; Next then returns
// storage.ErrLogDrained once every appended record was handed out.
func (l *Log) StopAppends() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	l.notifyLocked()
}

// PendingSpans is the number of spans appended and not committed.
func (l *Log) PendingSpans() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pendingSpans
}

// ID is the log's identity, part of every deduplication token.
func (l *Log) ID() string { return l.id }

// Next returns the next batch for the writer: records in log order, at
// least one, until adding the next would exceed maxSpans, or until maxWait
// has passed since the first of them was appended and no more is
// available; with its deduplication token. The records' batches are
// merged into a new batch, but a batch of a single record is handed out as
// it is, without a copy. The range and token are persisted before the batch
// is returned. After a restart the batch that was in flight is returned
// first, unchanged. Next returns storage.ErrLogDrained
// when appends are stopped and everything was handed out, and ctx's error
// when ctx ends before a record is available.
func (l *Log) Next(ctx context.Context, maxSpans int, maxWait time.Duration) (storage.LogBatch, error) {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	if l.inflight != nil {
		return storage.LogBatch{}, errors.New("wal: Next called before the previous batch was committed")
	}
	var (
		parts      []*storage.SpanBatch // the records' batches, in log order
		spans      int                  // their spans
		start, end pos
		deadline   time.Time
		timer      *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	replay := l.replay
	if l.pressure != nil && l.pressure() {
		// Under memory pressure, smaller inserts: the batch being inserted
		// (and, while it is merged, the records' batches) is the writer's
		// memory.
		maxSpans = max(1, maxSpans/4)
	}
	for {
		if replay != nil && !l.rpos.less(replay.End) {
			break
		}
		r, err := l.nextRecord()
		if err != nil {
			return storage.LogBatch{}, err
		}
		if r != nil {
			n := r.batch.Len()
			if replay == nil && len(parts) > 0 && spans+n > maxSpans {
				l.peeked = r
				break
			}
			if len(parts) == 0 {
				start, deadline = r.start, r.at.Add(maxWait)
			}
			parts = append(parts, r.batch)
			spans += n
			end = r.end
			l.rpos = r.end
			l.mu.Lock()
			l.held += n
			if !l.rpos.less(l.writeEnd) && l.memHead == len(l.mem) {
				l.diskOnly = false // caught up: cache new records again
			}
			l.mu.Unlock()
			if replay == nil && spans >= maxSpans {
				break
			}
			continue
		}
		if replay != nil && len(parts) > 0 {
			break // the rest of the batch did not survive; insert what did
		}
		stopped, drained, closed := l.drainState()
		if closed {
			return storage.LogBatch{}, ErrClosed
		}
		if len(parts) > 0 && (stopped || !time.Now().Before(deadline)) {
			break
		}
		if len(parts) == 0 && drained {
			return storage.LogBatch{}, storage.ErrLogDrained
		}
		var timeout <-chan time.Time
		if len(parts) > 0 {
			if timer == nil {
				timer = time.NewTimer(time.Until(deadline))
			} else {
				timer.Reset(time.Until(deadline))
			}
			timeout = timer.C
		}
		select {
		case <-l.avail:
		case <-timeout:
		case <-ctx.Done():
			if len(parts) == 0 {
				return storage.LogBatch{}, ctx.Err()
			}
			deadline = time.Now() // hand out what we have; it stays logged until committed
		}
	}
	b := &inflight{Start: start, End: end, spans: spans}
	if replay != nil {
		b.Token = replay.Token
		l.replay = nil
	} else {
		b.Token = fmt.Sprintf("wal-%s-%s-%s", l.id, start, end)
		l.stored = start // everything before the batch is committed
		if err := writeCheckpoint(l.dir, checkpoint{Version: 1, ID: l.id, Stored: l.stored, Batch: b}); err != nil {
			// The batch is still inserted: should tracehound crash before
			// the next checkpoint, it may be inserted again in a different
			// batch, a duplicate but never a loss.
			l.m.checkpointErrors.Inc()
			l.log.Error("write-ahead log: cannot persist the batch in flight", "err", err)
		}
	}
	l.inflight = b
	return storage.LogBatch{Batch: storage.MergeSpanBatches(parts), Token: b.Token}, nil
}

// drainState reports whether appends are stopped, whether every written
// record was handed out too, and whether the log is closed.
func (l *Log) drainState() (stopped, drained, closed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.normalizeLocked(l.rpos)
	drained = l.stopped && l.peeked == nil && !p.less(l.writeEnd)
	return l.stopped, drained, l.closed
}

// nextRecord returns the record at the read position when it is durable,
// from memory or from disk, or nil when there is none yet.
func (l *Log) nextRecord() (*record, error) {
	if r := l.peeked; r != nil {
		l.peeked = nil
		return r, nil
	}
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, ErrClosed
		}
		p := l.normalizeLocked(l.rpos)
		l.rpos = p
		if !p.less(l.durableEnd) {
			if !p.less(l.writeEnd) && l.memHead == len(l.mem) {
				l.diskOnly = false // caught up: cache new records again
			}
			l.mu.Unlock()
			return nil, nil
		}
		for l.memHead < len(l.mem) && l.mem[l.memHead].start.less(p) {
			l.popMemLocked() // cannot happen: the reader never skips cached records
		}
		if l.memHead < len(l.mem) && l.mem[l.memHead].start == p {
			m := l.popMemLocked()
			l.mu.Unlock()
			return &record{start: m.start, end: m.end, batch: m.batch, at: m.at}, nil
		}
		seg := l.segmentLocked(p.Seg)
		l.mu.Unlock()
		r, err := l.readAt(p, seg)
		if err == nil {
			l.m.diskReads.Inc()
			return r, nil
		}
		l.skipDamaged(p, seg, err)
	}
}

func (l *Log) popMemLocked() memRecord {
	m := l.mem[l.memHead]
	l.mem[l.memHead] = memRecord{}
	l.memHead++
	l.memSpans -= m.batch.Len()
	if l.memHead == len(l.mem) {
		l.mem, l.memHead = l.mem[:0], 0
	} else if l.memHead > 1024 && l.memHead > len(l.mem)/2 {
		n := copy(l.mem, l.mem[l.memHead:])
		clear(l.mem[n:])
		l.mem, l.memHead = l.mem[:n], 0
	}
	return m
}

// normalizeLocked moves p past the end of sealed segments and over
// segments that no longer exist.
func (l *Log) normalizeLocked(p pos) pos {
	for _, s := range l.segs {
		if s.id < p.Seg {
			continue
		}
		if s.id > p.Seg {
			p = pos{s.id, 0}
		}
		if s.sealed && p.Off >= s.size {
			p = pos{s.id + 1, 0}
			continue
		}
		return p
	}
	return p
}

func (l *Log) segmentLocked(id uint64) segment {
	for _, s := range l.segs {
		if s.id == id {
			return *s
		}
	}
	return segment{id: id}
}

// readAt reads and decodes the record at p, which is durable.
func (l *Log) readAt(p pos, seg segment) (*record, error) {
	if l.readFile == nil || l.readSeg != p.Seg {
		if l.readFile != nil {
			_ = l.readFile.Close()
			l.readFile = nil
		}
		f, err := os.Open(filepath.Join(l.dir, segmentName(p.Seg)))
		if err != nil {
			return nil, err
		}
		l.readFile, l.readSeg = f, p.Seg
	}
	var hdr [headerSize]byte
	if _, err := l.readFile.ReadAt(hdr[:], p.Off); err != nil {
		return nil, fmt.Errorf("reading record header: %w", err)
	}
	n, crc := parseHeader(hdr[:])
	if n == 0 || n > maxRecordBytes || p.Off+headerSize+n > seg.size {
		return nil, fmt.Errorf("%w: record length %d", errCorrupt, n)
	}
	payload := make([]byte, n)
	if _, err := l.readFile.ReadAt(payload, p.Off+headerSize); err != nil {
		if errors.Is(err, io.EOF) {
			err = errTorn
		}
		return nil, fmt.Errorf("reading record: %w", err)
	}
	if _, err := checkPayload(payload, crc); err != nil {
		return nil, err
	}
	batch, err := decodeBatch(payload)
	if err != nil {
		return nil, err
	}
	return &record{start: p, end: pos{p.Seg, p.Off + headerSize + n}, batch: batch, at: time.Now()}, nil
}

// skipDamaged makes the reader skip the rest of a segment whose record at
// p cannot be read: the disk changed under the log. The active segment is
// sealed first, so that new records go to a new one.
func (l *Log) skipDamaged(p pos, seg segment, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur := l.segs[len(l.segs)-1]; cur.id == p.Seg && !cur.sealed {
		if rerr := l.rotateLocked(); rerr != nil {
			l.failLocked(rerr)
		}
	}
	for _, s := range l.segs {
		if s.id == p.Seg {
			seg = *s
		}
	}
	l.m.corruptBytes.Add(float64(seg.size - p.Off))
	l.log.Error("write-ahead log: unreadable record; skipping the rest of its segment",
		"segment", segmentName(p.Seg), "offset", p.Off, "bytes_skipped", seg.size-p.Off, "err", err)
	l.rpos = pos{p.Seg + 1, 0}
	// The skipped records stay counted as pending until the segment is
	// deleted; the gauge is approximate from here on.
}

// Commit records that the batch returned by the last Next is stored in
// ClickHouse: the checkpoint advances past it and segments whose records
// are all stored are deleted.
func (l *Log) Commit() error {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	b := l.inflight
	if b == nil {
		return nil
	}
	l.inflight = nil
	l.stored = b.End
	err := writeCheckpoint(l.dir, checkpoint{Version: 1, ID: l.id, Stored: l.stored})
	l.mu.Lock()
	l.held -= b.spans
	l.pendingSpans -= b.spans
	var victims []uint64
	if err == nil {
		stored := l.normalizeLocked(l.stored)
		kept := l.segs[:0]
		for _, s := range l.segs {
			if s.sealed && s.id < stored.Seg {
				victims = append(victims, s.id)
				l.diskBytes -= s.size
				continue
			}
			kept = append(kept, s)
		}
		clear(l.segs[len(kept):])
		l.segs = kept
	}
	l.mu.Unlock()
	l.m.committed.Add(float64(b.spans))
	if err != nil {
		l.m.checkpointErrors.Inc()
		return err
	}
	for _, id := range victims {
		if l.readFile != nil && l.readSeg == id {
			_ = l.readFile.Close()
			l.readFile = nil
		}
		if rerr := os.Remove(filepath.Join(l.dir, segmentName(id))); rerr != nil && !isNotExist(rerr) {
			l.log.Warn("write-ahead log: cannot delete a stored segment", "segment", segmentName(id), "err", rerr)
		}
	}
	return nil
}

// Close stops appends, fsyncs and closes the files and releases the lock.
// The records not yet committed stay for the next Open. Safe to call more
// than once.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed, l.stopped = true, true
	l.notifyLocked()
	l.mu.Unlock()
	close(l.quit)
	<-l.syncerDone
	err := l.sync(true)

	l.rmu.Lock()
	if l.readFile != nil {
		_ = l.readFile.Close()
		l.readFile = nil
	}
	l.rmu.Unlock()
	l.mu.Lock()
	if l.active != nil {
		if cerr := l.active.Close(); err == nil {
			err = cerr
		}
		l.active = nil
	}
	for _, f := range l.unsynced {
		_ = f.Close()
	}
	l.unsynced = nil
	l.mu.Unlock()
	if cerr := l.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

// diskUsage returns the bytes of the segments and their count (metrics).
func (l *Log) diskUsage() (bytes int64, segments int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.diskBytes, len(l.segs)
}

// memoryUsage returns the spans kept in memory (metrics).
func (l *Log) memoryUsage() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.memSpans + l.held
}
