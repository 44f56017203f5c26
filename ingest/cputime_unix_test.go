//go:build unix

package ingest

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time used by the process so far (user and system, all
// threads: garbage collection included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPUPerSpan reports the process CPU time per span since start, a
// steadier measure than wall time on a busy machine.
func reportCPUPerSpan(b *testing.B, start time.Duration, spansPerOp int) {
	if used := cpuTime() - start; used > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N)/float64(spansPerOp), "cpu-ns/span")
	}
}
