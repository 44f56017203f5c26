package wal

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	appended         prometheus.Counter
	committed        prometheus.Counter
	refused          prometheus.Counter
	replayed         prometheus.Counter
	diskReads        prometheus.Counter
	fsyncs           prometheus.Counter
	fsyncSeconds     prometheus.Histogram
	corruptBytes     prometheus.Counter
	checkpointErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, l *Log) *metrics {
	const ns, sub = "tracehound", "wal"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	m := &metrics{
		appended:  counter("appended_spans_total", "Spans written to the write-ahead log."),
		committed: counter("stored_spans_total", "Spans of the write-ahead log stored in ClickHouse (committed)."),
		refused:   counter("refused_spans_total", "Spans refused because the write-ahead log was full (wal.max_bytes)."),
		replayed:  counter("replayed_spans_total", "Spans found in the write-ahead log at start-up, not yet stored."),
		diskReads: counter("disk_reads_total", "Records read back from disk because they were not kept in memory."),
		fsyncs:    counter("fsyncs_total", "fsync calls on segment files (each covers every record written before it)."),
		fsyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "fsync_duration_seconds", Help: "Duration of fsync calls on segment files.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		corruptBytes:     counter("corrupt_bytes_total", "Bytes of damaged records skipped (their spans cannot be stored)."),
		checkpointErrors: counter("checkpoint_errors_total", "Failed checkpoint writes (may cause duplicates after a crash, never losses)."),
	}
	if reg == nil {
		return m
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, f)
	}
	reg.MustRegister(m.appended, m.committed, m.refused, m.replayed, m.diskReads, m.fsyncs, m.fsyncSeconds,
		m.corruptBytes, m.checkpointErrors,
		gauge("bytes", "Size of the write-ahead log segments on disk.", func() float64 {
			b, _ := l.diskUsage()
			return float64(b)
		}),
		gauge("max_bytes", "Capacity of the write-ahead log (wal.max_bytes).", func() float64 { return float64(l.cfg.MaxBytes) }),
		gauge("segments", "Segment files of the write-ahead log.", func() float64 {
			_, n := l.diskUsage()
			return float64(n)
		}),
		gauge("pending_spans", "Spans in the write-ahead log not yet stored in ClickHouse.", func() float64 { return float64(l.PendingSpans()) }),
		gauge("memory_spans", "Spans of the write-ahead log kept decoded in memory (bounded by writer.queue_spans).",
			func() float64 { return float64(l.memoryUsage()) }),
	)
	return m
}
