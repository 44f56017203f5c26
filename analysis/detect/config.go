package detect

import (
	"errors"
	"fmt"
	"time"
)

// configPrefix names the configuration section of Config in error messages,
// so that each message names the exact setting to change.
const configPrefix = "detection."

// Config holds every detection threshold. It is the "detection" section of
// the tracehound configuration file. Start from NewDefaultConfig, overlay the
// file, and call Validate before passing it to Detect.
type Config struct {
	// Bottleneck configures the critical-path bottleneck detector.
	Bottleneck BottleneckConfig `yaml:"bottleneck"`
	// Chatty configures the N+1 / call-storm detector.
	Chatty ChattyConfig `yaml:"chatty"`
	// Payload configures the oversized-payload detector.
	Payload PayloadConfig `yaml:"payload"`
	// Regression configures the latency-regression detector.
	Regression RegressionConfig `yaml:"regression"`
}

// RegressionConfig configures the p95 regression detector (see the package
// documentation, "Latency regression").
type RegressionConfig struct {
	// Enabled turns the detector on. Default true.
	Enabled bool `yaml:"enabled"`
	// Recent is the window whose p95 is compared with the baseline. Default
	// 5m: long enough for a stable p95 at modest traffic, short enough to
	// report a regression within minutes.
	Recent time.Duration `yaml:"recent"`
	// Baseline is the window just before Recent that defines normal. Default
	// 1h.
	Baseline time.Duration `yaml:"baseline"`
	// MinRecentSamples and MinBaselineSamples are the requests needed in each
	// window; below them a p95 is noise. Defaults 20 and 100: a baseline
	// exists only once an operation has some history.
	MinRecentSamples   int `yaml:"min_recent_samples"`
	MinBaselineSamples int `yaml:"min_baseline_samples"`
	// Factor is how many times the baseline p95 the recent p95 must reach.
	// Default 1.5.
	Factor float64 `yaml:"factor"`
	// MinIncrease is the smallest absolute p95 increase worth a finding.
	// Default 50ms: a 4 ms operation becoming 8 ms is not a bottleneck.
	MinIncrease time.Duration `yaml:"min_increase"`
}

// BottleneckConfig configures the bottleneck detector (see the package
// documentation, "Bottleneck").
type BottleneckConfig struct {
	// Enabled turns the detector on. Default true.
	Enabled bool `yaml:"enabled"`
	// MinTraceDuration is the shortest entry-span duration that can make a
	// trace slow. Default 100ms: below it nothing is worth a finding, and
	// ordinary operations of a few tens of milliseconds are never flagged.
	MinTraceDuration time.Duration `yaml:"min_trace_duration"`
	// SlowQuantile is the quantile of the batch's durations of an entry
	// operation that a trace must reach to be slow. Default 0.75 (p75): the
	// slowest quarter of requests is where latency work pays off.
	SlowQuantile float64 `yaml:"slow_quantile"`
	// MinTracesForQuantile is how many traces of an entry operation the batch
	// must hold before SlowQuantile is applied; with fewer, every trace of at
	// least MinTraceDuration is slow. Default 4: a quantile of fewer samples
	// says nothing.
	MinTracesForQuantile int `yaml:"min_traces_for_quantile"`
	// MinShare is the smallest share of the entry span's duration that a
	// group's exclusive critical-path time must reach. Default 0.40: the
	// group is then the largest single contributor by a wide margin, and
	// fixing it alone shortens the request substantially.
	MinShare float64 `yaml:"min_share"`
	// MinSelfTime is the smallest exclusive critical-path time of the group
	// in one trace. Default 100ms: shorter times are rarely worth a finding
	// even when they dominate a short request.
	MinSelfTime time.Duration `yaml:"min_self_time"`
	// MinOccurrences is how many slow traces of the batch must show the same
	// (entry, group) bottleneck. Default 1: the analyzer runs every few
	// seconds on small batches, so one clear occurrence is reported (with
	// Occurrences telling how common it is).
	MinOccurrences int `yaml:"min_occurrences"`
}

// ChattyConfig configures the chatty-call detector (see the package
// documentation, "Chatty").
type ChattyConfig struct {
	// Enabled turns the detector on. Default true.
	Enabled bool `yaml:"enabled"`
	// MinCalls is the smallest number of calls one caller span must make to
	// the same callee operation within a trace. Default 5: two or three
	// repeated calls are common and harmless; five is where batching starts
	// to pay off (the threshold Sentry's N+1 detectors use as well).
	MinCalls int `yaml:"min_calls"`
	// MaxOverlap is the largest fraction of the calls' summed duration that
	// may overlap for them to still count as sequential (N+1); above it they
	// are a parallel call storm. Default 0.10, which tolerates clock jitter
	// and calls issued back to back.
	MaxOverlap float64 `yaml:"max_overlap"`
	// MinTotalDuration is the smallest summed duration of the repeated calls
	// in a trace. Default 0 (no minimum): repetition is wasteful even when
	// each call is fast; severity stays low for cheap repetitions. Set it
	// (for example to 50ms) to ignore them altogether.
	MinTotalDuration time.Duration `yaml:"min_total_duration"`
}

// PayloadConfig configures the oversized-payload detector (see the package
// documentation, "Oversized payload").
type PayloadConfig struct {
	// Enabled turns the detector on. Default true.
	Enabled bool `yaml:"enabled"`
	// AbsoluteBytes flags an edge whose median size in one direction is at
	// least this large. Default 1 MiB (1048576): request and response bodies
	// of service-to-service calls are typically kilobytes; a megabyte per
	// call costs noticeable serialisation time and bandwidth.
	AbsoluteBytes int64 `yaml:"absolute_bytes"`
	// MinSamples is how many sized calls of an edge and direction the batch
	// must hold for the absolute rule. Default 1: one 50 MB response is
	// already worth knowing about.
	MinSamples int `yaml:"min_samples"`
	// OutlierFactor flags an edge whose p95 size is at least this many times
	// its median (and at least OutlierMinBytes). Default 10: an order of
	// magnitude above the edge's own norm.
	OutlierFactor float64 `yaml:"outlier_factor"`
	// OutlierMinBytes is the smallest p95 size the outlier rule flags.
	// Default 512 KiB (524288), so that 2 KB calls with 30 KB outliers are
	// not reported.
	OutlierMinBytes int64 `yaml:"outlier_min_bytes"`
	// OutlierMinSamples is how many sized calls of an edge and direction the
	// batch must hold for the outlier rule. Default 20: a p95 of fewer
	// samples is just the maximum.
	OutlierMinSamples int `yaml:"outlier_min_samples"`
}

// NewDefaultConfig returns the documented defaults.
func NewDefaultConfig() Config {
	return Config{
		Bottleneck: BottleneckConfig{
			Enabled:              true,
			MinTraceDuration:     100 * time.Millisecond,
			SlowQuantile:         0.75,
			MinTracesForQuantile: 4,
			MinShare:             0.40,
			MinSelfTime:          100 * time.Millisecond,
			MinOccurrences:       1,
		},
		Chatty: ChattyConfig{
			Enabled:    true,
			MinCalls:   5,
			MaxOverlap: 0.10,
		},
		Payload: PayloadConfig{
			Enabled:           true,
			AbsoluteBytes:     1 << 20,
			MinSamples:        1,
			OutlierFactor:     10,
			OutlierMinBytes:   512 << 10,
			OutlierMinSamples: 20,
		},
		Regression: RegressionConfig{
			Enabled:            true,
			Recent:             5 * time.Minute,
			Baseline:           time.Hour,
			MinRecentSamples:   20,
			MinBaselineSamples: 100,
			Factor:             1.5,
			MinIncrease:        50 * time.Millisecond,
		},
	}
}

// Validate reports every invalid setting at once; each message names the
// setting's YAML path, such as "detection.chatty.min_calls must be ≥ 2".
func (c Config) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf(configPrefix+path+" "+format, args...))
	}
	b := c.Bottleneck
	if b.MinTraceDuration < 0 {
		add("bottleneck.min_trace_duration", "must be ≥ 0 (is %s)", b.MinTraceDuration)
	}
	if !(b.SlowQuantile >= 0 && b.SlowQuantile <= 1) {
		add("bottleneck.slow_quantile", "must be between 0 and 1 (is %g)", b.SlowQuantile)
	}
	if b.MinTracesForQuantile < 1 {
		add("bottleneck.min_traces_for_quantile", "must be ≥ 1 (is %d)", b.MinTracesForQuantile)
	}
	if !(b.MinShare > 0 && b.MinShare <= 1) {
		add("bottleneck.min_share", "must be > 0 and ≤ 1 (is %g)", b.MinShare)
	}
	if b.MinSelfTime < 0 {
		add("bottleneck.min_self_time", "must be ≥ 0 (is %s)", b.MinSelfTime)
	}
	if b.MinOccurrences < 1 {
		add("bottleneck.min_occurrences", "must be ≥ 1 (is %d)", b.MinOccurrences)
	}

	ch := c.Chatty
	if ch.MinCalls < 2 {
		add("chatty.min_calls", "must be ≥ 2 (is %d)", ch.MinCalls)
	}
	if !(ch.MaxOverlap >= 0 && ch.MaxOverlap < 1) {
		add("chatty.max_overlap", "must be ≥ 0 and < 1 (is %g)", ch.MaxOverlap)
	}
	if ch.MinTotalDuration < 0 {
		add("chatty.min_total_duration", "must be ≥ 0 (is %s)", ch.MinTotalDuration)
	}

	p := c.Payload
	if p.AbsoluteBytes < 1 {
		add("payload.absolute_bytes", "must be ≥ 1 (is %d)", p.AbsoluteBytes)
	}
	if p.MinSamples < 1 {
		add("payload.min_samples", "must be ≥ 1 (is %d)", p.MinSamples)
	}
	if !(p.OutlierFactor > 1) {
		add("payload.outlier_factor", "must be > 1 (is %g)", p.OutlierFactor)
	}
	if p.OutlierMinBytes < 1 {
		add("payload.outlier_min_bytes", "must be ≥ 1 (is %d)", p.OutlierMinBytes)
	}
	if p.OutlierMinSamples < 2 {
		add("payload.outlier_min_samples", "must be ≥ 2 (is %d)", p.OutlierMinSamples)
	}
	r := c.Regression
	if r.Recent < time.Minute || r.Recent%time.Minute != 0 {
		add("regression.recent", "must be a whole number of minutes ≥ 1m (is %s)", r.Recent)
	}
	if r.Baseline < r.Recent || r.Baseline%time.Minute != 0 {
		add("regression.baseline", "must be whole minutes and ≥ regression.recent (is %s)", r.Baseline)
	}
	if r.MinRecentSamples < 1 {
		add("regression.min_recent_samples", "must be ≥ 1 (is %d)", r.MinRecentSamples)
	}
	if r.MinBaselineSamples < 1 {
		add("regression.min_baseline_samples", "must be ≥ 1 (is %d)", r.MinBaselineSamples)
	}
	if !(r.Factor > 1) {
		add("regression.factor", "must be > 1 (is %g)", r.Factor)
	}
	if r.MinIncrease < 0 {
		add("regression.min_increase", "must be ≥ 0 (is %s)", r.MinIncrease)
	}
	return errors.Join(errs...)
}
