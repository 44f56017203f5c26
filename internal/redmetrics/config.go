package redmetrics

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// configPrefix names the configuration section in error messages.
const configPrefix = "metrics."

// MaxDimensions is the largest number of extra dimensions.
const MaxDimensions = 8

// Config configures the RED metrics. It is the "metrics" section of the
// tracehound configuration file. Start from NewDefaultConfig and call
// Validate before use (New does).
type Config struct {
	// MaxSeries caps the number of label combinations of each metric group:
	// span metrics (per service, span name, kind, status and dimensions) and
	// service-graph metrics (per client, server and connection type).
	// Observations of a new combination beyond the cap go to an overflow
	// series labelled "__overflow__" (for span metrics: service_name and
	// span_name "__overflow__", kind and status kept; for the service graph:
	// client and server "__overflow__") and are counted in
	// tracehound_redmetrics_overflow_total. Series are never forgotten
	// while the process runs. Default 10000.
	MaxSeries int `yaml:"max_series"`

	// Dimensions are extra span-metric labels: span attribute keys (looked
	// up in the span's attributes, then its resource attributes; "" when
	// absent), e.g. "http.request.method". The label name is the key with
	// every character other than letters, digits and '_' replaced by '_'.
	// At most 8. Default none.
	Dimensions []string `yaml:"dimensions"`

	// HistogramBuckets are the upper bounds, in seconds and increasing, of
	// the duration histograms (+Inf is implicit). Default the spanmetrics
	// connector's: 2ms, 4ms, 6ms, 8ms, 10ms, 50ms, 100ms, 200ms, 400ms,
	// 800ms, 1s, 1.4s, 2s, 5s, 10s, 15s.
	HistogramBuckets []float64 `yaml:"histogram_buckets"`
}

// NewDefaultConfig returns the defaults documented on Config.
func NewDefaultConfig() Config {
	return Config{
		MaxSeries:        10000,
		Dimensions:       []string{},
		HistogramBuckets: []float64{0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15},
	}
}

// reservedLabels are the span-metric labels a dimension must not shadow.
var reservedLabels = map[string]bool{"service_name": true, "span_name": true, "span_kind": true, "status_code": true, "le": true}

var labelRE = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// labelName is the Prometheus label name of a dimension key.
func labelName(key string) string {
	n := labelRE.ReplaceAllString(key, "_")
	if n != "" && n[0] >= '0' && n[0] <= '9' {
		n = "_" + n
	}
	return n
}

// Validate reports every problem in c, each naming its yaml field.
func (c Config) Validate() error {
	var errs []error
	if c.MaxSeries < 1 || c.MaxSeries > 1_000_000 {
		errs = append(errs, fmt.Errorf(configPrefix+"max_series is %d; it must be from 1 to 1000000", c.MaxSeries))
	}
	if len(c.Dimensions) > MaxDimensions {
		errs = append(errs, fmt.Errorf(configPrefix+"dimensions has %d keys; at most %d are allowed (each multiplies the series)", len(c.Dimensions), MaxDimensions))
	}
	seen := map[string]string{}
	for _, d := range c.Dimensions {
		name := labelName(d)
		switch {
		case strings.TrimSpace(d) == "":
			errs = append(errs, errors.New(configPrefix+"dimensions contains an empty key"))
		case reservedLabels[name] || strings.HasPrefix(name, "__"):
			errs = append(errs, fmt.Errorf(configPrefix+"dimensions: %q would be the label %q, which is reserved", d, name))
		case seen[name] != "":
			errs = append(errs, fmt.Errorf(configPrefix+"dimensions: %q and %q both become the label %q", seen[name], d, name))
		default:
			seen[name] = d
		}
	}
	if len(c.HistogramBuckets) == 0 {
		errs = append(errs, errors.New(configPrefix+"histogram_buckets is empty; give at least one upper bound in seconds"))
	}
	for i, b := range c.HistogramBuckets {
		switch {
		case math.IsNaN(b) || math.IsInf(b, 0) || b <= 0:
			errs = append(errs, fmt.Errorf(configPrefix+"histogram_buckets[%d] is %v; bounds must be positive finite seconds", i, b))
		case i > 0 && b <= c.HistogramBuckets[i-1]:
			errs = append(errs, fmt.Errorf(configPrefix+"histogram_buckets[%d] (%v) is not above the previous bound (%v); bounds must increase", i, b, c.HistogramBuckets[i-1]))
		}
	}
	return errors.Join(errs...)
}
