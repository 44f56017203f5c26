package web

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// paramError is a bad query or path parameter; it maps to HTTP 400.
type paramError struct {
	param string
	msg   string
}

func (e *paramError) Error() string { return fmt.Sprintf("invalid parameter %q: %s", e.param, e.msg) }

// parseTime accepts RFC 3339 or Unix milliseconds.
func parseTime(param, v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, &paramError{param, "want RFC 3339 (2006-01-02T15:04:05Z) or Unix milliseconds"}
	}
	return t, nil
}

// parseWindow reads from/to, defaulting to the hour before now.
func parseWindow(from, to string, now time.Time) (time.Time, time.Time, error) {
	end := now
	if to != "" {
		t, err := parseTime("to", to)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		end = t
	}
	start := end.Add(-time.Hour)
	if from != "" {
		t, err := parseTime("from", from)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		start = t
	}
	if start.After(end) {
		return time.Time{}, time.Time{}, &paramError{"from", "must not be after to"}
	}
	return start, end, nil
}

// parseIntParam parses an optional integer in [lo, hi].
func parseIntParam(param, v string, def, lo, hi int64) (int64, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, &paramError{param, fmt.Sprintf("want an integer from %d to %d", lo, hi)}
	}
	return n, nil
}

// parseTraceID accepts 32 hex characters (any case), not all zero.
func parseTraceID(v string) ([16]byte, error) {
	var id [16]byte
	if len(v) != 32 {
		return id, &paramError{"trace_id", "want 32 hex characters"}
	}
	if _, err := hex.Decode(id[:], []byte(strings.ToLower(v))); err != nil {
		return id, &paramError{"trace_id", "want 32 hex characters"}
	}
	if id == ([16]byte{}) {
		return id, &paramError{"trace_id", "must not be all zero"}
	}
	return id, nil
}
