package wal

import (
	"errors"
	"fmt"
	"time"
)

// Sync policies: when an appended record is fsynced, and so when Append
// returns (the OTLP acknowledgement waits for it).
const (
	// SyncAlways fsyncs before every Append returns; concurrent appends
	// share one fsync (group commit).
	SyncAlways = "always"
	// SyncBatch fsyncs at most once per SyncInterval, covering every record
	// written since the last one; Append returns after the fsync that covers
	// its record. The default.
	SyncBatch = "batch"
	// SyncNone never waits for fsync: Append returns once the record is in
	// the operating system's page cache. A crash of tracehound loses nothing;
	// a crash of the machine may lose what was acknowledged in the last
	// seconds.
	SyncNone = "none"
)

// Config configures the write-ahead log. It is the "wal" section of the
// tracehound configuration file.
type Config struct {
	// Enabled puts the write-ahead log between the receivers and the
	// ClickHouse writer. Default true. With false, acknowledged spans wait
	// in memory only and a crash of tracehound loses them.
	Enabled bool `yaml:"enabled"`
	// Dir holds the segment files and the checkpoint. Default empty:
	// <data_dir>/wal. One tracehound at a time may use it (it is locked).
	Dir string `yaml:"dir"`
	// MaxBytes bounds the log on disk: segments holding spans not yet
	// stored in ClickHouse. When full, receivers refuse new spans with the
	// retryable overload error. Default 2 GiB (2147483648).
	MaxBytes int64 `yaml:"max_bytes"`
	// SegmentBytes is the size at which a new segment file is started;
	// space is reclaimed a whole segment at a time, once every span in it is
	// stored. Default 64 MiB (67108864).
	SegmentBytes int64 `yaml:"segment_bytes"`
	// Sync is when appended spans are fsynced: always, batch or none (see
	// docs/reliability.md). Default batch.
	Sync string `yaml:"sync"`
	// SyncInterval is the longest time between fsyncs with sync: batch, and
	// so the most an acknowledgement waits for its fsync. Default 20ms.
	SyncInterval time.Duration `yaml:"sync_interval"`
}

// NewDefaultConfig returns the defaults documented on Config.
func NewDefaultConfig() Config {
	return Config{
		Enabled:      true,
		MaxBytes:     2 << 30,
		SegmentBytes: 64 << 20,
		Sync:         SyncBatch,
		SyncInterval: 20 * time.Millisecond,
	}
}

// Validate reports every problem in c, each naming its yaml field.
func (c Config) Validate() error {
	var errs []error
	const minSegment, maxSegment = 1 << 20, 1 << 30
	if c.SegmentBytes < minSegment || c.SegmentBytes > maxSegment {
		errs = append(errs, fmt.Errorf("wal.segment_bytes is %d; it must be from %d (1 MiB) to %d (1 GiB)", c.SegmentBytes, minSegment, maxSegment))
	}
	if c.MaxBytes < 2*c.SegmentBytes {
		errs = append(errs, fmt.Errorf("wal.max_bytes (%d) must be at least twice wal.segment_bytes (%d)", c.MaxBytes, c.SegmentBytes))
	}
	switch c.Sync {
	case SyncAlways, SyncNone:
	case SyncBatch:
		if c.SyncInterval < time.Millisecond || c.SyncInterval > 10*time.Second {
			errs = append(errs, fmt.Errorf("wal.sync_interval is %s; it must be from 1ms to 10s", c.SyncInterval))
		}
	default:
		errs = append(errs, fmt.Errorf("wal.sync %q: must be always, batch or none", c.Sync))
	}
	return errors.Join(errs...)
}
