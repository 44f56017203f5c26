package alerting

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
)

// Labels identify an alert; annotations describe it.
type Labels map[string]string

func (ls Labels) sortedNames() []string {
	names := make([]string, 0, len(ls))
	for n := range ls {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Fingerprint is the FNV-1a 64-bit hash of the sorted label names and
// values, as hex: the same value Alertmanager computes for the label set.
func (ls Labels) Fingerprint() string {
	h := fnv.New64a()
	sep := []byte{0xff}
	for _, n := range ls.sortedNames() {
		h.Write([]byte(n))
		h.Write(sep)
		h.Write([]byte(ls[n]))
		h.Write(sep)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// String renders {a="1", b="2"} in name order.
func (ls Labels) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range ls.sortedNames() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(ls[n]))
	}
	b.WriteByte('}')
	return b.String()
}

// groupLabels returns the labels an alert is grouped by: those named in
// groupBy ("..." means all).
func groupLabels(ls Labels, groupBy []string) Labels {
	out := Labels{}
	for _, g := range groupBy {
		if g == "..." {
			for k, v := range ls {
				out[k] = v
			}
			return out
		}
		if v, ok := ls[g]; ok {
			out[g] = v
		}
	}
	return out
}

// groupKey is Alertmanager's group key shape for the root route:
// {}:{alertname="x", service="y"}.
func groupKey(gl Labels) string { return "{}:" + gl.String() }

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// common returns the entries every map in ms shares with the same value.
func common(ms []map[string]string) map[string]string {
	out := map[string]string{}
	if len(ms) == 0 {
		return out
	}
	for k, v := range ms[0] {
		same := true
		for _, m := range ms[1:] {
			if w, ok := m[k]; !ok || w != v {
				same = false
				break
			}
		}
		if same {
			out[k] = v
		}
	}
	return out
}
