// Package sut defines the systems under test of the benchmark: something
// that receives OTLP/gRPC and stores spans in ClickHouse. Tracehound runs
// `tracehound serve`; Collector is the peer, an OpenTelemetry Collector
// (otlp receiver → batch processor → contrib ClickHouse exporter) writing
// into the same embedded ClickHouse started alone with `tracehound
// clickhouse`.
package sut

import (
	"context"

	"github.com/tracehound/tracehound/bench/internal/chq"
)

// Roles of measured processes.
const (
	RoleCollector  = "collector"
	RoleClickHouse = "clickhouse"
)

// System is one system under test.
type System interface {
	// Name identifies the system in results ("tracehound").
	Name() string
	// Start starts it and returns once it accepts OTLP.
	Start(ctx context.Context) error
	// OTLPGRPCAddr is the host:port of its OTLP/gRPC receiver.
	OTLPGRPCAddr() string
	// Processes returns the processes to measure now, by role. A role's pid
	// may change (a supervisor restarting a child).
	Processes() map[string]int
	// Progress is what the system itself says about storing: spans stored so
	// far and spans accepted but not yet stored. ok is false when the
	// system has no such counters (the driver then counts rows).
	Progress(ctx context.Context) (stored, pending int64, ok bool, err error)
	// Store is where the spans end up.
	Store() Store
	// Stop stops the system gracefully and reports how it exited.
	Stop(ctx context.Context) StopResult
	// LogTail returns the end of the system's output, for failure reports.
	LogTail(n int) string
	// Version describes the system (binary version, ClickHouse version).
	Version(ctx context.Context) string
}

// Analyzer is implemented by a system that also analyses the stored traces
// and serves tracehound's HTTP API (/api/v1/…, /metrics): the query
// benchmark (thbench --queries) needs it.
type Analyzer interface {
	// APIURL is the base URL of the HTTP API, e.g. http://127.0.0.1:8080.
	APIURL() string
	// AnalysisProgress reads the analyzer's counters.
	AnalysisProgress(ctx context.Context) (AnalysisProgress, error)
}

// AnalysisProgress is what the analyzer's metrics say so far.
type AnalysisProgress struct {
	Spans               int64   // tracehound_analysis_spans_total
	Traces              int64   // tracehound_analysis_traces_total
	UnitsOK             int64   // tracehound_analysis_units_total{outcome="ok"}
	UnitsError          int64   // tracehound_analysis_units_total{outcome="error"}
	FindingObservations int64   // tracehound_analysis_finding_observations_total
	LagSeconds          float64 // tracehound_analysis_lag_seconds: age of the newest analysed window's end when its pass began
	UnitSeconds         float64 // tracehound_analysis_unit_duration_seconds_sum: time spent analysing units
}

// Store describes the spans table of a system.
type Store struct {
	CH *chq.Client
	// Database and Table name the spans table.
	Database, Table string
	// SpanKey is the expression that identifies a span (for duplicates).
	SpanKey string
	// OtherTables are further tables of the system in Database that grow
	// with the spans (reported separately, e.g. a trace-id lookup table).
	OtherTables []string
	// MayDuplicate is set when the system can store a span more than once
	// (an insert retried after a timeout although ClickHouse committed it):
	// its row count may reach the acknowledged count before every span is
	// stored, so the driver waits for distinct spans and a stable count.
	MayDuplicate bool
}

// FullName is database.table.
func (s Store) FullName() string { return s.Database + "." + s.Table }

// StopResult is how the system exited after the stop request.
type StopResult struct {
	ExitCode int     `json:"exit_code"` // -1 when killed or not exited
	Seconds  float64 `json:"seconds"`   // from the stop signal to exit
	Killed   bool    `json:"killed"`    // had to be killed after the timeout
	Error    string  `json:"error,omitempty"`
	// ClickHouse is how a separately started ClickHouse (the peer's
	// `tracehound clickhouse`) exited after the system itself; nil for a
	// system whose ClickHouse is its own child.
	ClickHouse *StopResult `json:"clickhouse,omitempty"`
}

// Clean reports whether the system (and its separate ClickHouse, if any)
// exited with status 0 on its own after the stop request.
func (r StopResult) Clean() bool {
	return r.ExitCode == 0 && !r.Killed && r.Error == "" && (r.ClickHouse == nil || r.ClickHouse.Clean())
}

var (
	_ System   = (*Tracehound)(nil)
	_ Analyzer = (*Tracehound)(nil)
	_ System   = (*Collector)(nil)
)
