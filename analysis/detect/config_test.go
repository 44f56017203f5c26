package detect

import (
	"strings"
	"testing"
	"time"
)

func TestNewDefaultConfigIsValid(t *testing.T) {
	t.Parallel()
	if err := NewDefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"min_calls too small", func(c *Config) { c.Chatty.MinCalls = 1 }, "detection.chatty.min_calls must be ≥ 2"},
		{"max_overlap out of range", func(c *Config) { c.Chatty.MaxOverlap = 1 }, "detection.chatty.max_overlap"},
		{"negative min_total_duration", func(c *Config) { c.Chatty.MinTotalDuration = -time.Millisecond }, "detection.chatty.min_total_duration"},
		{"min_share zero", func(c *Config) { c.Bottleneck.MinShare = 0 }, "detection.bottleneck.min_share"},
		{"min_share above one", func(c *Config) { c.Bottleneck.MinShare = 1.5 }, "detection.bottleneck.min_share"},
		{"slow_quantile", func(c *Config) { c.Bottleneck.SlowQuantile = 2 }, "detection.bottleneck.slow_quantile"},
		{"min_traces_for_quantile", func(c *Config) { c.Bottleneck.MinTracesForQuantile = 0 }, "detection.bottleneck.min_traces_for_quantile"},
		{"negative min_trace_duration", func(c *Config) { c.Bottleneck.MinTraceDuration = -1 }, "detection.bottleneck.min_trace_duration"},
		{"negative min_self_time", func(c *Config) { c.Bottleneck.MinSelfTime = -1 }, "detection.bottleneck.min_self_time"},
		{"min_occurrences", func(c *Config) { c.Bottleneck.MinOccurrences = 0 }, "detection.bottleneck.min_occurrences"},
		{"absolute_bytes", func(c *Config) { c.Payload.AbsoluteBytes = 0 }, "detection.payload.absolute_bytes"},
		{"min_samples", func(c *Config) { c.Payload.MinSamples = 0 }, "detection.payload.min_samples"},
		{"outlier_factor", func(c *Config) { c.Payload.OutlierFactor = 1 }, "detection.payload.outlier_factor"},
		{"outlier_min_bytes", func(c *Config) { c.Payload.OutlierMinBytes = 0 }, "detection.payload.outlier_min_bytes"},
		{"outlier_min_samples", func(c *Config) { c.Payload.OutlierMinSamples = 1 }, "detection.payload.outlier_min_samples"},
		{"disabled detectors are still validated", func(c *Config) { c.Chatty.Enabled = false; c.Chatty.MinCalls = 0 }, "detection.chatty.min_calls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := NewDefaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	t.Parallel()
	var c Config
	err := c.Validate()
	if err == nil {
		t.Fatal("zero config accepted")
	}
	if n := strings.Count(err.Error(), "detection."); n < 8 {
		t.Errorf("want every problem reported, got %d:\n%v", n, err)
	}
}
