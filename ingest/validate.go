package ingest

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// truncationMarker ends a string attribute value cut at
	// Config.MaxAttributeValueBytes.
	truncationMarker = "…[truncated]"
	// tooDeepMarker replaces array/map values nested deeper than
	// maxValueDepth.
	tooDeepMarker = "…[too deep]"
	// maxValueDepth is how many levels of arrays and maps an attribute value
	// keeps; values below that level are replaced by tooDeepMarker.
	maxValueDepth = 16
	// maxMessages is how many rejection/warning messages a ConvertResult
	// keeps; the others are only counted.
	maxMessages = 10
	// maxSummaryMessages is how many messages the OTLP partial success
	// error_message quotes.
	maxSummaryMessages = 5
)

// validateSpan applies the rejection rules to one span. It returns "" for a
// valid span, else the reason it was rejected.
func validateSpan(s *spanFields) string {
	tid, sid := s.traceID, s.spanID
	if tid == [16]byte{} {
		return "span " + hex.EncodeToString(sid[:]) + ": trace_id is missing or all zeros (it must be 16 bytes, not all zero)"
	}
	if sid == [8]byte{} {
		return "span in trace " + hex.EncodeToString(tid[:]) + ": span_id is missing or all zeros (it must be 8 bytes, not all zero)"
	}
	start, end := s.start, s.end
	if start == 0 {
		return "span " + hex.EncodeToString(sid[:]) + ": start time is missing (start_time_unix_nano is 0)"
	}
	if end < start {
		return "span " + hex.EncodeToString(sid[:]) + ": end time before start time"
	}
	if end > math.MaxInt64 {
		return "span " + hex.EncodeToString(sid[:]) + ": end time " + strconv.FormatUint(end, 10) + " ns is after the year 2262 (it does not fit a signed 64-bit nanosecond timestamp)"
	}
	return ""
}

// clampInt64 converts an unsigned nanosecond timestamp, saturating at the
// int64 maximum.
func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// addSat adds a count to a uint32 counter, saturating at its maximum.
func addSat(a uint32, b int) uint32 {
	if b <= 0 {
		return a
	}
	if uint64(a)+uint64(b) > math.MaxUint32 {
		return math.MaxUint32
	}
	return a + uint32(b)
}

// clean returns s with invalid UTF-8 replaced by U+FFFD. When it had to
// replace something it records field (and key, when not empty) as the first
// bad field of the current span, resource or scope, for the warning message.
func (c *converter) clean(s, field, key string) string {
	if utf8.ValidString(s) {
		return s
	}
	if c.badField == "" {
		if key != "" {
			c.badField = field + " " + strconv.Quote(key)
		} else {
			c.badField = field
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// value cleans a string attribute value and truncates it to the configured
// length.
func (c *converter) value(s, key string) string {
	return truncate(c.clean(s, "value of attribute", key), c.maxValueBytes)
}

// truncate cuts a valid UTF-8 string longer than max bytes at a rune boundary
// and appends truncationMarker, the result being at most max bytes long.
// max <= 0 disables truncation.
func truncate(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := max - len(truncationMarker)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncationMarker
}

// report records a rejection or warning message. msg is only called while
// the result has room for more messages, so that bulk-invalid requests do not
// pay for formatting.
func (c *converter) report(msg func() string) {
	if len(c.res.Messages) < maxMessages {
		c.res.Messages = append(c.res.Messages, msg())
		return
	}
	c.res.MessagesOmitted++
}

// reportBadUTF8 turns a recorded bad field into a warning for what (e.g.
// "span 0102…") and resets it.
func (c *converter) reportBadUTF8(what func() string) {
	if c.badField == "" {
		return
	}
	field := c.badField
	c.badField = ""
	c.res.Warnings++
	c.report(func() string {
		return what() + ": invalid UTF-8 in " + field + " replaced with U+FFFD"
	})
}

// Summary returns the text for the OTLP partial success error_message: the
// first few messages joined with "; ", and how many more there were. It is
// "" when there are no messages.
func (r *ConvertResult) Summary() string {
	if len(r.Messages) == 0 {
		return ""
	}
	n := min(len(r.Messages), maxSummaryMessages)
	more := len(r.Messages) - n + r.MessagesOmitted
	var b strings.Builder
	if r.Rejected > 0 {
		b.WriteString(strconv.Itoa(r.Rejected))
		b.WriteString(" of ")
		b.WriteString(strconv.Itoa(r.Received))
		b.WriteString(" spans rejected: ")
	}
	for i, m := range r.Messages[:n] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m)
	}
	if more > 0 {
		b.WriteString("; and ")
		b.WriteString(strconv.Itoa(more))
		b.WriteString(" more")
	}
	return b.String()
}
