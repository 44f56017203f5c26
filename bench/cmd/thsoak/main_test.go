package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestClassify(t *testing.T) {
	withRetry := func(c codes.Code, msg string) error {
		st, _ := status.New(c, msg).WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)})
		return st.Err()
	}
	for _, tc := range []struct {
		err       error
		reason    string
		retryable bool
	}{
		{withRetry(codes.Unavailable, "tracehound is near its memory limit"), "Unavailable (memory limit)", true},
		{withRetry(codes.Unavailable, "spans not accepted: write queue is full: the write-ahead log is full"), "Unavailable (WAL full)", true},
		{withRetry(codes.ResourceExhausted, "rate limit of 5 spans/s exceeded"), "ResourceExhausted (rate limit)", true},
		{status.Error(codes.Unavailable, "connection refused"), "unknown", false},
		{status.Error(codes.InvalidArgument, "bad"), "InvalidArgument", false},
		{errors.New("plain"), "unknown", false},
	} {
		reason, retryable := classify(tc.err)
		if reason != tc.reason || retryable != tc.retryable {
			t.Errorf("%v: %q %v, want %q %v", tc.err, reason, retryable, tc.reason, tc.retryable)
		}
	}
}

// TestSoakSmoke runs a short soak against the real binary (TRACEHOUND_BIN,
// as `make bench-smoke` sets it): every phase, a ClickHouse pause, zero loss.
func TestSoakSmoke(t *testing.T) {
	bin := os.Getenv("TRACEHOUND_BIN")
	if bin == "" {
		t.Skip("TRACEHOUND_BIN not set (make bench-smoke sets it)")
	}
	o := options{bin: bin, duration: 18 * time.Second, rate: 4000, overload: 5, chPause: 3 * time.Second,
		memLimit: 512 << 20, walMax: 256 << 20, conns: 2, inflight: 4, sample: 2 * time.Second,
		settle: time.Minute, seed: 3}
	res, err := run(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.AckedSpans == 0 || res.Lost != 0 || res.Duplicates != 0 || res.StoredDistinct != res.AckedSpans || len(res.Samples) < 5 {
		t.Fatalf("acked %d stored %d lost %d dup %d samples %d", res.AckedSpans, res.StoredDistinct, res.Lost, res.Duplicates, len(res.Samples))
	}
	if md := res.markdown(); !strings.Contains(md, "clickhouse frozen") || !strings.Contains(md, "| lost |") {
		t.Errorf("markdown:\n%s", md)
	}
}
