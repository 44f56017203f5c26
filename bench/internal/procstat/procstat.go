// Package procstat reads CPU time, peak memory and children of processes
// from Linux /proc.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the times in /proc/<pid>/stat (USER_HZ, 100 on
// every Linux architecture that matters here).
const userHZ = 100

// CPU returns the user+system CPU time the process has used (all its
// threads, not its children).
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// Status returns a "kB" field of /proc/<pid>/status (VmHWM, VmRSS…) in
// bytes.
func Status(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		return v, nil
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// PeakRSS is VmHWM: the largest resident set the process has had.
func PeakRSS(pid int) (int64, error) { return Status(pid, "VmHWM") }

// Children lists the direct children of pid (from every thread's
// /proc/<pid>/task/<tid>/children), sorted.
func Children(pid int) ([]int, error) {
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		for _, s := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(s); err == nil {
				seen[c] = true
			}
		}
	}
	out := make([]int, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Ints(out)
	return out, nil
}

// Cmdline returns the arguments of pid.
func Cmdline(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil, nil
	}
	return strings.Split(string(b), "\x00"), nil
}

// SelfCPU is the CPU time (user+system) this process has used.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Tracker follows the CPU time of a role ("collector", "clickhouse") whose
// process may be replaced (a supervisor restarting it): it remembers the
// last reading of every pid it has seen.
type Tracker struct {
	last map[int]time.Duration
	peak map[int]int64
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{last: map[int]time.Duration{}, peak: map[int]int64{}}
}

// Sample reads pid's CPU time and peak RSS; it ignores a pid that has gone.
func (t *Tracker) Sample(pid int) {
	if pid <= 0 {
		return
	}
	if c, err := CPU(pid); err == nil {
		t.last[pid] = c
	}
	if p, err := PeakRSS(pid); err == nil {
		t.peak[pid] = p
	}
}

// CPU is the sum of the last readings of every pid seen.
func (t *Tracker) CPU() time.Duration {
	var s time.Duration
	for _, c := range t.last {
		s += c
	}
	return s
}

// PeakRSS is the largest VmHWM seen of any pid.
func (t *Tracker) PeakRSS() int64 {
	var m int64
	for _, p := range t.peak {
		m = max(m, p)
	}
	return m
}

// PIDs is the number of distinct processes seen (more than one means the
// role was restarted).
func (t *Tracker) PIDs() int { return len(t.last) }

// SystemBusy is the CPU time all CPUs of the machine have spent not idle
// (user, nice, system, irq, softirq, steal) since boot, from /proc/stat.
// Its growth minus that of the measured processes is the CPU used by
// everything else on the machine during a run: interference.
func SystemBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy uint64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += v
	}
	return time.Duration(busy) * time.Second / userHZ, nil
}

// LoadAvg1 is the one-minute load average.
func LoadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// RSS is the current resident set size (VmRSS) of pid in bytes, 0 if gone.
func RSS(pid int) int64 {
	v, _ := Status(pid, "VmRSS")
	return v
}
