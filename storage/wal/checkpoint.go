package wal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	checkpointFile = "checkpoint"
	lockFile       = "LOCK"
	segmentSuffix  = ".wal"
)

// pos is a position in the log: a segment and a byte offset in it. A record
// is identified by the position of its header; positions only grow, and
// are never reused (a new segment is started at every Open).
type pos struct {
	Seg uint64 `json:"segment"`
	Off int64  `json:"offset"`
}

func (p pos) less(q pos) bool {
	return p.Seg < q.Seg || p.Seg == q.Seg && p.Off < q.Off
}

func (p pos) String() string { return fmt.Sprintf("%d:%d", p.Seg, p.Off) }

// inflight is the batch handed to the writer and not yet committed: its
// record range and the deduplication token it is inserted with.
type inflight struct {
	Start pos    `json:"start"`
	End   pos    `json:"end"`
	Token string `json:"token"`
	spans int
}

// checkpoint is the persisted state of the log besides the segments: its
// identity, how far its records are stored in ClickHouse, and the batch
// being inserted, so that a restart inserts exactly that batch again with
// the same token (and ClickHouse drops it if the first insert went through).
type checkpoint struct {
	Version int       `json:"version"`
	ID      string    `json:"wal_id"`
	Stored  pos       `json:"stored"`
	Batch   *inflight `json:"inflight,omitempty"`
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// readCheckpoint reads dir's checkpoint; a missing one is reported with
// fs.ErrNotExist.
func readCheckpoint(dir string) (checkpoint, error) {
	var cp checkpoint
	b, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if err != nil {
		return cp, err
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return cp, fmt.Errorf("decoding %s: %w", checkpointFile, err)
	}
	if cp.Version != 1 || cp.ID == "" {
		return cp, fmt.Errorf("%s: unknown version %d or empty id", checkpointFile, cp.Version)
	}
	return cp, nil
}

// writeCheckpoint replaces dir's checkpoint atomically and durably: a
// temporary file is written and fsynced, renamed over the old one, and the
// directory is fsynced.
func writeCheckpoint(dir string, cp checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, checkpointFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("writing WAL checkpoint: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, checkpointFile))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("writing WAL checkpoint: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func segmentName(id uint64) string {
	return fmt.Sprintf("%020d%s", id, segmentSuffix)
}

// listSegments returns the ids of dir's segment files in increasing order.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, segmentSuffix) || !e.Type().IsRegular() {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 10, 64)
		if err != nil {
			continue // not ours
		}
		ids = append(ids, id)
	}
	// ReadDir sorts by name, and the names are zero-padded ids.
	return ids, nil
}

// createSegment creates a new, empty segment file for appending and makes
// its directory entry durable.
func createSegment(dir string, id uint64) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, segmentName(id)), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("creating WAL segment: %w", err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("creating WAL segment: %w", err)
	}
	return f, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
