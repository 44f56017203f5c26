package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tracehound/tracehound/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testSpans returns n distinct spans; seq numbers them across calls.
func testSpans(seq, n int) []storage.Span {
	spans := make([]storage.Span, n)
	for i := range spans {
		id := uint64(seq*1_000_000 + i + 1)
		s := &spans[i]
		binary.BigEndian.PutUint64(s.TraceID[8:], id)
		s.TraceID[0] = 0x7
		binary.BigEndian.PutUint64(s.SpanID[:], id)
		s.Service = "svc-" + strconv.Itoa(seq%3)
		s.Name = "GET /items/{id}"
		s.Kind = storage.SpanKindServer
		s.StartUnixNano = 1_700_000_000_000_000_000 + int64(id)
		s.DurationNano = int64(i) * 1000
		s.StatusCode = storage.StatusCode(i % 3)
		s.Attributes = map[string]string{"http.route": "/items/{id}", "seq": strconv.Itoa(seq)}
		s.TypedAttributes = map[string]string{"n": strconv.Itoa(i)}
		if i%2 == 0 {
			s.Events = []storage.Event{{TimeUnixNano: 5, Name: "exception", AttributesJSON: `{"a":1}`}}
			s.Links = []storage.Link{{TraceID: s.TraceID, SpanID: [8]byte{1}, TraceState: "x=1", AttributesJSON: "{}"}}
		}
		s.DroppedAttributesCount = uint32(i)
	}
	return spans
}

// batchOf returns spans as a batch.
func batchOf(spans []storage.Span) *storage.SpanBatch {
	b := storage.NewSpanBatch(len(spans))
	for i := range spans {
		b.AppendSpan(&spans[i])
	}
	return b
}

// testBatch returns testSpans(seq, n) as a batch.
func testBatch(seq, n int) *storage.SpanBatch { return batchOf(testSpans(seq, n)) }

// spansOf returns the spans of b.
func spansOf(b *storage.SpanBatch) []storage.Span {
	out := make([]storage.Span, b.Len())
	for i := range out {
		out[i] = b.Span(i)
	}
	return out
}

// normalize makes empty maps and slices nil, as SpanBatch.Span returns them.
func normalize(spans []storage.Span) []storage.Span {
	out := slices.Clone(spans)
	for i := range out {
		s := &out[i]
		for _, m := range []*map[string]string{&s.ResourceAttributes, &s.ResourceTypedAttributes, &s.Attributes, &s.TypedAttributes} {
			if len(*m) == 0 {
				*m = nil
			}
		}
		if len(s.Events) == 0 {
			s.Events = nil
		}
		if len(s.Links) == 0 {
			s.Links = nil
		}
		s.IngestedAt = 0
	}
	return out
}

// TestCodecRoundTrip decodes payloads of both formats: the batch's own
// binary form, and the span list older versions wrote.
func TestCodecRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 7, 300} {
		spans := testSpans(n, n)
		spans = append(spans, storage.Span{}) // all zero values
		v2 := batchOf(spans).MarshalAppend(nil)
		if v2[0] != formatV2 {
			t.Fatalf("SpanBatch.MarshalAppend writes format %d, want %d", v2[0], formatV2)
		}
		for name, p := range map[string][]byte{"v2": v2, "v1": appendBatchV1(nil, spans)} {
			got, err := decodeBatch(p)
			if err != nil {
				t.Fatalf("%s, %d spans: %v", name, n, err)
			}
			if !reflect.DeepEqual(spansOf(got), normalize(spans)) {
				t.Fatalf("%s, %d spans: round trip changed them", name, n)
			}
			if c, err := batchSpanCount(p); err != nil || c != len(spans) {
				t.Fatalf("%s: span count %d, %v", name, c, err)
			}
		}
	}
	got, err := decodeBatch(storage.NewSpanBatch(0).MarshalAppend(nil))
	if err != nil || got.Len() != 0 {
		t.Fatalf("empty batch: %d spans, %v", got.Len(), err)
	}
}

func TestCodecRejectsMalformed(t *testing.T) {
	good := testBatch(1, 3).MarshalAppend(nil)
	goodV1 := appendBatchV1(nil, testSpans(1, 3))
	for name, b := range map[string][]byte{
		"empty":              nil,
		"unknown format":     append([]byte{9}, good[1:]...),
		"truncated":          good[:len(good)-1],
		"trailing":           append(slices.Clone(good), 0),
		"huge count":         {formatV2, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad kind":           batchOf([]storage.Span{{Kind: 9}}).MarshalAppend(nil),
		"bad status":         batchOf([]storage.Span{{StatusCode: -1}}).MarshalAppend(nil),
		"v1 body, v2 byte":   append([]byte{formatV2}, goodV1[1:]...),
		"v2 body, v1 byte":   append([]byte{formatV1}, good[1:]...),
		"v1 truncated":       goodV1[:len(goodV1)-1],
		"v1 trailing":        append(slices.Clone(goodV1), 0),
		"v1 huge count":      {formatV1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"v1 bad kind":        appendBatchV1(nil, []storage.Span{{Kind: 9}}),
		"v1 bad status":      appendBatchV1(nil, []storage.Span{{StatusCode: -1}}),
		"v1 string too long": append(append([]byte{formatV1, 1}, make([]byte, 32)...), 0xff, 0x01),
	} {
		if _, err := decodeBatch(b); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: got %v, want errCorrupt", name, err)
		}
	}
}

func testConfig() Config {
	c := NewDefaultConfig()
	c.SegmentBytes = 1 << 20
	c.MaxBytes = 64 << 20
	c.SyncInterval = 2 * time.Millisecond
	return c
}

func openLog(t *testing.T, dir string, cfg Config, memSpans int) *Log {
	t.Helper()
	l, err := Open(Options{Dir: dir, Config: cfg, MemorySpans: memSpans})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// crash releases the log's resources the way a killed process does: no
// fsync, no checkpoint, no cleanup.
func (l *Log) crash() {
	l.mu.Lock()
	l.closed, l.stopped = true, true
	l.notifyLocked()
	l.mu.Unlock()
	close(l.quit)
	<-l.syncerDone
	l.rmu.Lock()
	if l.readFile != nil {
		_ = l.readFile.Close()
	}
	l.rmu.Unlock()
	_ = l.active.Close()
	for _, f := range l.unsynced {
		_ = f.Close()
	}
	_ = l.lock.Close()
}

func next(t *testing.T, l *Log, maxSpans int) storage.LogBatch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := l.Next(ctx, maxSpans, time.Millisecond)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return b
}

// ids returns the span ids of b's spans, as testSpans numbers them.
func ids(b *storage.SpanBatch) []uint64 {
	out := make([]uint64, b.Len())
	for i := range out {
		id := b.Row(i).SpanID
		out[i] = binary.BigEndian.Uint64(id[:])
	}
	return out
}

func TestAppendNextCommit(t *testing.T) {
	for _, mode := range []string{SyncAlways, SyncBatch, SyncNone} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig()
			cfg.Sync = mode
			l := openLog(t, t.TempDir(), cfg, 1000)
			defer l.Close()
			ctx := context.Background()
			var (
				want     []storage.Span
				appended []*storage.SpanBatch
			)
			for i := range 3 {
				spans := testSpans(i, 10)
				want = append(want, spans...)
				appended = append(appended, batchOf(spans))
				if err := l.Append(ctx, appended[i]); err != nil {
					t.Fatal(err)
				}
			}
			if n := l.PendingSpans(); n != 30 {
				t.Fatalf("pending %d", n)
			}
			// Batches end at record boundaries: 25 spans allows two records,
			// merged into a new batch.
			b := next(t, l, 25)
			if b.Batch.Len() != 20 || !reflect.DeepEqual(spansOf(b.Batch), normalize(want[:20])) {
				t.Fatalf("first batch: %d spans", b.Batch.Len())
			}
			if b.Batch == appended[0] || appended[0].Len() != 10 || appended[1].Len() != 10 {
				t.Fatal("merging changed the appended batches")
			}
			want0 := fmt.Sprintf("wal-%s-1:0-", l.ID())
			if b.Token[:len(want0)] != want0 {
				t.Errorf("token %q, want prefix %q", b.Token, want0)
			}
			if _, err := l.Next(ctx, 25, 0); err == nil {
				t.Fatal("Next before Commit succeeded")
			}
			if err := l.Commit(); err != nil {
				t.Fatal(err)
			}
			b2 := next(t, l, 25)
			if !reflect.DeepEqual(spansOf(b2.Batch), normalize(want[20:])) || b2.Token == b.Token {
				t.Fatalf("second batch %v token %q", ids(b2.Batch), b2.Token)
			}
			// A batch of one record kept in memory is the appended batch.
			if b2.Batch != appended[2] {
				t.Error("a single-record batch was copied")
			}
			if err := l.Commit(); err != nil {
				t.Fatal(err)
			}
			if n := l.PendingSpans(); n != 0 {
				t.Fatalf("pending %d after commits", n)
			}
		})
	}
}

func TestNextWaitsForBatchOrDeadline(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig(), 1000)
	defer l.Close()
	ctx := context.Background()
	if err := l.Append(ctx, testBatch(1, 5)); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(30 * time.Millisecond)
		_ = l.Append(ctx, testBatch(2, 5))
	}()
	start := time.Now()
	b, err := l.Next(ctx, 100, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); b.Batch.Len() != 10 || el < 250*time.Millisecond {
		t.Fatalf("got %d spans after %v; want both records, after the flush interval", b.Batch.Len(), el)
	}
	_ = l.Commit()
	// A full batch goes at once.
	_ = l.Append(ctx, testBatch(3, 50))
	start = time.Now()
	b = next(t, l, 50)
	if b.Batch.Len() != 50 || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("full batch: %d spans after %v", b.Batch.Len(), time.Since(start))
	}
	_ = l.Commit()
	// Nothing: Next waits for ctx.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Next(cctx, 10, time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty log: %v", err)
	}
}

// TestMemoryBoundSpillsToDisk: with room for 25 spans in memory, the rest
// is read back from disk, in order and intact.
func TestMemoryBoundSpillsToDisk(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig(), 25)
	defer l.Close()
	ctx := context.Background()
	var want []storage.Span
	for i := range 10 {
		s := testSpans(i, 10)
		want = append(want, s...)
		if err := l.Append(ctx, batchOf(s)); err != nil {
			t.Fatal(err)
		}
		if m := l.memoryUsage(); m > 25 {
			t.Fatalf("%d spans in memory, bound 25", m)
		}
	}
	var got []storage.Span
	for len(got) < len(want) {
		b := next(t, l, 20)
		got = append(got, spansOf(b.Batch)...)
		if m := l.memoryUsage(); m > 25+10 {
			t.Fatalf("%d spans in memory", m)
		}
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, normalize(want)) {
		t.Fatalf("spans differ after reading back from disk: %v", ids(batchOf(got)))
	}
	// Caught up: new records are cached again.
	_ = l.Append(ctx, testBatch(99, 3))
	if l.memoryUsage() != 3 {
		t.Errorf("not caching after catching up: %d", l.memoryUsage())
	}
}

func TestMemoryPressureSheds(t *testing.T) {
	var pressure bool
	var mu sync.Mutex
	l, err := Open(Options{Dir: t.TempDir(), Config: testConfig(), MemorySpans: 1000,
		MemoryPressure: func() bool { mu.Lock(); defer mu.Unlock(); return pressure }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	_ = l.Append(ctx, testBatch(1, 10))
	_ = l.Append(ctx, testBatch(2, 10))
	if l.memoryUsage() != 20 {
		t.Fatalf("memory %d", l.memoryUsage())
	}
	mu.Lock()
	pressure = true
	mu.Unlock()
	_ = l.Append(ctx, testBatch(3, 10))
	if l.memoryUsage() != 0 {
		t.Fatalf("memory %d under pressure", l.memoryUsage())
	}
	// Under pressure, batches are a quarter of the size asked for.
	b := next(t, l, 100)
	if b.Batch.Len() != 20 {
		t.Fatalf("got %d spans under pressure, want 20 (records of 10 within 100/4)", b.Batch.Len())
	}
	_ = l.Commit()
	_ = l.Append(ctx, testBatch(4, 10))
	mu.Lock()
	pressure = false
	mu.Unlock()
	if b := next(t, l, 100); b.Batch.Len() != 20 {
		t.Fatalf("got %d spans", b.Batch.Len())
	}
	_ = l.Commit()
	// DropMemory sheds at once.
	_ = l.Append(ctx, testBatch(5, 10))
	if l.memoryUsage() != 10 {
		t.Fatalf("not caching after catching up: %d", l.memoryUsage())
	}
	l.DropMemory()
	if l.memoryUsage() != 0 {
		t.Fatalf("memory %d after DropMemory", l.memoryUsage())
	}
	if b := next(t, l, 100); b.Batch.Len() != 10 {
		t.Fatalf("got %d spans after DropMemory", b.Batch.Len())
	}
}

func TestFullRefusesUntilStored(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBytes = 2 << 20
	l := openLog(t, t.TempDir(), cfg, 100_000)
	defer l.Close()
	ctx := context.Background()
	accepted := 0
	var err error
	for i := 0; i < 1000; i++ {
		if err = l.Append(ctx, testBatch(i, 100)); err != nil {
			break
		}
		accepted++
	}
	if !errors.Is(err, storage.ErrQueueFull) {
		t.Fatalf("got %v after %d appends, want ErrQueueFull", err, accepted)
	}
	if b, _ := l.diskUsage(); b > cfg.MaxBytes {
		t.Fatalf("log is %d bytes, bound %d", b, cfg.MaxBytes)
	}
	for l.PendingSpans() > 0 {
		next(t, l, 1000)
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if b, segs := l.diskUsage(); segs != 1 || b > cfg.SegmentBytes {
		t.Fatalf("after storing everything: %d bytes in %d segments", b, segs)
	}
	if err := l.Append(ctx, testBatch(5000, 100)); err != nil {
		t.Fatalf("append after draining: %v", err)
	}
	if n := countFiles(t, l.dir); n != 2 {
		t.Errorf("%d segment files left, want 2", n)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	return len(m)
}

// fakeClickHouse stores batches and drops a batch whose token it has seen,
// like insert deduplication.
type fakeClickHouse struct {
	mu     sync.Mutex
	tokens map[string]bool
	rows   map[uint64]int
	stored int
	fail   int // fail this many inserts
	calls  int
}

func newFakeClickHouse() *fakeClickHouse {
	return &fakeClickHouse{tokens: map[string]bool{}, rows: map[uint64]int{}}
}

func (f *fakeClickHouse) InsertSpans(ctx context.Context, batch *storage.SpanBatch, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail > 0 {
		f.fail--
		return errors.New("clickhouse unreachable")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.tokens[token] {
		return nil
	}
	f.tokens[token] = true
	for _, id := range ids(batch) {
		f.rows[id]++
		f.stored++
	}
	return nil
}

// TestCrashReplaysSameBatch: a crash after an insert committed and before
// the log recorded it makes the restarted log hand out the same records
// with the same token, which deduplication drops.
func TestCrashReplaysSameBatch(t *testing.T) {
	dir := t.TempDir()
	ch := newFakeClickHouse()
	ctx := context.Background()
	l := openLog(t, dir, testConfig(), 1000)
	var appended []uint64
	for i := range 6 {
		s := testBatch(i, 10)
		appended = append(appended, ids(s)...)
		if err := l.Append(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	b := next(t, l, 20)
	if err := ch.InsertSpans(ctx, b.Batch, b.Token); err != nil {
		t.Fatal(err)
	}
	l.crash() // before Commit

	l = openLog(t, dir, testConfig(), 1000)
	if l.PendingSpans() != 60 {
		t.Fatalf("pending after restart %d, want 60", l.PendingSpans())
	}
	// New spans after the restart come after the old ones.
	s := testBatch(100, 5)
	appended = append(appended, ids(s)...)
	if err := l.Append(ctx, s); err != nil {
		t.Fatal(err)
	}
	b2 := next(t, l, 1000) // a bigger batch size: the replayed batch keeps its bounds
	if b2.Token != b.Token || !reflect.DeepEqual(spansOf(b2.Batch), spansOf(b.Batch)) {
		t.Fatalf("replayed batch %v %q, want %v %q", ids(b2.Batch), b2.Token, ids(b.Batch), b.Token)
	}
	for {
		_ = ch.InsertSpans(ctx, b2.Batch, b2.Token)
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
		if l.PendingSpans() == 0 {
			break
		}
		b2 = next(t, l, 1000)
	}
	l.Close()
	if ch.stored != len(appended) {
		t.Fatalf("stored %d rows, appended %d", ch.stored, len(appended))
	}
	for _, id := range appended {
		if ch.rows[id] != 1 {
			t.Fatalf("span %d stored %d times", id, ch.rows[id])
		}
	}
	// A clean restart has nothing to replay.
	l = openLog(t, dir, testConfig(), 1000)
	defer l.Close()
	if l.PendingSpans() != 0 || l.replay != nil {
		t.Fatalf("pending %d after a clean close", l.PendingSpans())
	}
}

// TestReplaysFormatV1Log: a log left by a version that wrote formatV1
// records, with a batch in flight, is replayed after the upgrade: the batch
// in flight first, unchanged and with its token, then the other old
// records together with the new ones.
func TestReplaysFormatV1Log(t *testing.T) {
	dir := t.TempDir()
	old1, old2, old3 := testSpans(1, 10), testSpans(2, 5), testSpans(3, 7)
	seg := appendRecordV1(nil, old1)
	end1 := int64(len(seg))
	seg = appendRecordV1(seg, old2)
	seg = appendRecordV1(seg, old3)
	if err := os.WriteFile(filepath.Join(dir, segmentName(4)), seg, 0o640); err != nil {
		t.Fatal(err)
	}
	const id = "0123456789abcdef"
	inflightBatch := &inflight{Start: pos{4, 0}, End: pos{4, end1}, Token: fmt.Sprintf("wal-%s-4:0-4:%d", id, end1)}
	if err := writeCheckpoint(dir, checkpoint{Version: 1, ID: id, Stored: pos{4, 0}, Batch: inflightBatch}); err != nil {
		t.Fatal(err)
	}

	l := openLog(t, dir, testConfig(), 1000)
	defer l.Close()
	if n := l.PendingSpans(); n != 22 {
		t.Fatalf("pending %d after the upgrade, want 22", n)
	}
	ctx := context.Background()
	newer := testSpans(4, 3)
	if err := l.Append(ctx, batchOf(newer)); err != nil {
		t.Fatal(err)
	}
	b := next(t, l, 1000)
	if b.Token != inflightBatch.Token || !reflect.DeepEqual(spansOf(b.Batch), normalize(old1)) {
		t.Fatalf("replayed batch %v %q, want %v %q", ids(b.Batch), b.Token, ids(batchOf(old1)), inflightBatch.Token)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	b = next(t, l, 1000)
	want := slices.Concat(old2, old3, newer)
	if !reflect.DeepEqual(spansOf(b.Batch), normalize(want)) {
		t.Fatalf("old and new records: %v, want %v", ids(b.Batch), ids(batchOf(want)))
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := l.PendingSpans(); n != 0 {
		t.Fatalf("pending %d after storing everything", n)
	}
	if n := countFiles(t, dir); n != 1 {
		t.Errorf("%d segment files left, want the active one", n)
	}
}

func TestTornTailDiscarded(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig(), 1000)
	ctx := context.Background()
	_ = l.Append(ctx, testBatch(1, 10))
	_ = l.Append(ctx, testBatch(2, 10))
	seg := filepath.Join(dir, segmentName(l.segs[len(l.segs)-1].id))
	l.crash()
	// Half a record, as a crash in the middle of a write leaves it.
	rec := appendRecord(nil, testBatch(3, 10))
	f, _ := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.Write(rec[:len(rec)/2])
	_ = f.Close()

	l = openLog(t, dir, testConfig(), 1000)
	defer l.Close()
	if l.PendingSpans() != 20 {
		t.Fatalf("pending %d, want 20", l.PendingSpans())
	}
	b := next(t, l, 100)
	if b.Batch.Len() != 20 {
		t.Fatalf("got %d spans", b.Batch.Len())
	}
}

func TestDamagedSegmentSkipped(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	l := openLog(t, dir, cfg, 1000)
	ctx := context.Background()
	for i := range 400 { // ~3 segments
		if err := l.Append(ctx, testBatch(i, 50)); err != nil {
			t.Fatal(err)
		}
	}
	first := l.segs[0].id
	if len(l.segs) < 3 {
		t.Fatalf("only %d segments", len(l.segs))
	}
	_ = l.Close()
	// Flip a byte in the middle of the first segment.
	path := filepath.Join(dir, segmentName(first))
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	_ = os.WriteFile(path, b, 0o640)

	l = openLog(t, dir, cfg, 1000)
	defer l.Close()
	pending := l.PendingSpans()
	if pending >= 20000 || pending < 10000 {
		t.Fatalf("pending %d; want the spans of the undamaged records", pending)
	}
	got := 0
	for got < pending {
		got += next(t, l, 5000).Batch.Len()
		_ = l.Commit()
	}
	if got != pending {
		t.Fatalf("read %d spans, %d pending", got, pending)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig(), 10)
	defer l.Close()
	if _, err := Open(Options{Dir: dir, Config: testConfig()}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}

func TestStopAppendsDrains(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig(), 1000)
	defer l.Close()
	ctx := context.Background()
	_ = l.Append(ctx, testBatch(1, 3))
	l.StopAppends()
	if err := l.Append(ctx, testBatch(2, 3)); !errors.Is(err, storage.ErrStopped) {
		t.Fatalf("append after stop: %v", err)
	}
	b, err := l.Next(ctx, 100, time.Hour) // stopped: no waiting for the interval
	if err != nil || b.Batch.Len() != 3 {
		t.Fatalf("%d spans, %v", b.Batch.Len(), err)
	}
	_ = l.Commit()
	if _, err := l.Next(ctx, 100, time.Hour); !errors.Is(err, storage.ErrLogDrained) {
		t.Fatalf("got %v, want ErrLogDrained", err)
	}
}

// TestConcurrentAppendAndRead: many appenders and the reader at once, with
// segment rotation and a small memory bound; every span arrives once, and
// each appender's records in order.
func TestConcurrentAppendAndRead(t *testing.T) {
	for _, mode := range []string{SyncAlways, SyncBatch, SyncNone} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig()
			cfg.Sync = mode
			l := openLog(t, t.TempDir(), cfg, 300)
			defer l.Close()
			const writers, perWriter, size = 8, 60, 20
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter {
						if err := l.Append(context.Background(), testBatch(w*1000+i, size)); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			seen := map[uint64]bool{}
			last := map[int]int{}
			for len(seen) < writers*perWriter*size {
				b := next(t, l, 100+rand.IntN(200))
				for _, id := range ids(b.Batch) {
					if seen[id] {
						t.Fatalf("span %d twice", id)
					}
					seen[id] = true
					seq := int(id / 1_000_000)
					w, i := seq/1000, seq%1000
					if i < last[w] {
						t.Fatalf("writer %d: record %d after %d", w, i, last[w])
					}
					last[w] = i
				}
				if err := l.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			if l.PendingSpans() != 0 {
				t.Fatalf("pending %d", l.PendingSpans())
			}
			if segs := countFiles(t, l.dir); segs > 2 {
				t.Errorf("%d segments left after storing everything", segs)
			}
		})
	}
}

// TestWriterWithLog runs storage.Writer on the log: retries keep the token,
// a shutdown while ClickHouse is down leaves the spans in the log, and the
// next start stores them exactly once.
func TestWriterWithLog(t *testing.T) {
	dir := t.TempDir()
	ch := newFakeClickHouse()
	wcfg := storage.NewDefaultWriterConfig()
	wcfg.BatchSpans, wcfg.QueueSpans, wcfg.FlushInterval, wcfg.MaxRetryBackoff = 100, 1000, 10*time.Millisecond, 20*time.Millisecond
	ctx := context.Background()

	l := openLog(t, dir, testConfig(), wcfg.QueueSpans)
	w, err := storage.NewLogWriter(ch, l, wcfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Start(ctx)
	want := map[uint64]bool{}
	for i := range 20 {
		s := testBatch(i, 30)
		for _, id := range ids(s) {
			want[id] = true
		}
		if err := w.Enqueue(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return w.QueuedSpans() == 0 })

	ch.mu.Lock()
	ch.fail = 1 << 30 // ClickHouse goes away
	ch.mu.Unlock()
	for i := 20; i < 40; i++ {
		s := testBatch(i, 30)
		for _, id := range ids(s) {
			want[id] = true
		}
		if err := w.Enqueue(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	start := time.Now()
	if err := w.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	cancel()
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("shutdown with ClickHouse down took %v", el)
	}
	_ = l.Close()

	ch.mu.Lock()
	ch.fail = 2 // still flaky at restart
	ch.mu.Unlock()
	l = openLog(t, dir, testConfig(), wcfg.QueueSpans)
	if l.PendingSpans() != 600 {
		t.Fatalf("pending after restart: %d, want 600", l.PendingSpans())
	}
	w, _ = storage.NewLogWriter(ch, l, wcfg, nil, nil)
	_ = w.Start(ctx)
	waitFor(t, func() bool { return w.QueuedSpans() == 0 })
	_ = w.Shutdown(ctx)
	_ = l.Close()
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.stored != len(want) || len(ch.rows) != len(want) {
		t.Fatalf("stored %d rows (%d distinct), want %d", ch.stored, len(ch.rows), len(want))
	}
	for id := range want {
		if ch.rows[id] != 1 {
			t.Fatalf("span %d stored %d times", id, ch.rows[id])
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := NewDefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := NewDefaultConfig()
	c.Sync, c.SegmentBytes, c.MaxBytes = "sometimes", 10, 10
	err := c.Validate()
	for _, want := range []string{"wal.sync", "wal.segment_bytes", "wal.max_bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
