// Package redmetrics computes Prometheus RED metrics (rate, errors,
// duration) from the spans tracehound receives and the service-graph calls
// its analyzer derives, with the metric names of the OpenTelemetry
// Collector's spanmetrics and servicegraph connectors, so dashboards built
// for them (and Grafana's service graph) work against tracehound's /metrics:
//
//	traces_span_metrics_calls_total{service_name, span_name, span_kind, status_code, <dimensions>}
//	traces_span_metrics_duration_seconds_{bucket,sum,count}{…same labels}
//	traces_service_graph_request_total{client, server, connection_type}
//	traces_service_graph_request_failed_total{client, server, connection_type}
//	traces_service_graph_request_server_seconds_{bucket,sum,count}{client, server, connection_type}
//
// span_kind is SPAN_KIND_SERVER, SPAN_KIND_CLIENT, … and status_code
// STATUS_CODE_UNSET, STATUS_CODE_OK or STATUS_CODE_ERROR, as the connector
// writes them. Span metrics count every span accepted by the write queue
// (Sink); service-graph metrics count the calls the analyzer stores
// (ObserveCalls), so their values equal the counts of /api/v1/servicegraph
// over the same period. connection_type is "" between services, "database",
// "messaging_system" (producer → queue and queue → consumer) or
// "virtual_node" (an external peer); client and server are node names (a
// queue's or database's name, e.g. "kafka/orders"). The duration histogram
// of a call is the duration of the span it is counted from (the client span
// when there is one), the value behind the API's edge percentiles.
//
// Cardinality is bounded per group by Config.MaxSeries, with an overflow
// series. Counters are cumulative since the process started; with several
// tracehound instances, sum over instances.
package redmetrics

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/storage"
)

// Overflow is the label value of the overflow series.
const Overflow = "__overflow__"

// Metric group names (the group label of the self-metrics).
const (
	groupSpans = "span_metrics"
	groupGraph = "service_graph"
)

// Metrics holds the RED series. It is a prometheus.Collector; all methods
// are safe for concurrent use.
type Metrics struct {
	bounds    []float64
	dimKeys   []string
	maxSeries int

	spanMu    sync.RWMutex
	spans     map[spanKey]*series
	spanCount int // series created below the cap (overflow series excluded)

	edgeMu    sync.RWMutex
	edges     map[edgeKey]*series
	edgeCount int

	overflowSpans atomic.Uint64
	overflowCalls atomic.Uint64

	callsDesc, durationDesc         *prometheus.Desc
	graphTotalDesc, graphFailedDesc *prometheus.Desc
	graphSecondsDesc                *prometheus.Desc
	seriesDesc, overflowDesc        *prometheus.Desc
}

var _ prometheus.Collector = (*Metrics)(nil)

// spanKey identifies a span-metrics series. Lookups with it do not
// allocate.
type spanKey struct {
	service, name string
	kind          storage.SpanKind
	status        storage.StatusCode
	dims          [MaxDimensions]string
}

// edgeKey identifies a service-graph series.
type edgeKey struct {
	client, server, conn string
}

// series is one label combination: a duration histogram (whose count is the
// calls/requests counter) and, for the service graph, the failed count.
type series struct {
	labels   []string
	overflow bool
	buckets  []atomic.Uint64 // per bound, then +Inf; not cumulative
	sumBits  atomic.Uint64   // float64 sum of observed seconds
	failed   atomic.Uint64
}

func newSeries(labels []string, nBounds int, overflow bool) *series {
	return &series{labels: labels, overflow: overflow, buckets: make([]atomic.Uint64, nBounds+1)}
}

func (s *series) observe(bucket int, secs float64) {
	s.buckets[bucket].Add(1)
	for {
		old := s.sumBits.Load()
		if s.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+secs)) {
			return
		}
	}
}

// snapshot returns the count, sum and cumulative buckets. The count is the
// sum of the buckets, so the histogram is consistent under concurrent
// observations.
func (s *series) snapshot(bounds []float64) (uint64, float64, map[float64]uint64) {
	cum := make(map[float64]uint64, len(bounds))
	var n uint64
	for i, b := range bounds {
		n += s.buckets[i].Load()
		cum[b] = n
	}
	n += s.buckets[len(bounds)].Load()
	return n, math.Float64frombits(s.sumBits.Load()), cum
}

// New validates cfg and returns the metrics, registered with reg (a nil reg
// registers nothing).
func New(cfg Config, reg prometheus.Registerer) (*Metrics, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redmetrics: invalid configuration: %w", err)
	}
	m := &Metrics{
		bounds:    append([]float64(nil), cfg.HistogramBuckets...),
		dimKeys:   append([]string(nil), cfg.Dimensions...),
		maxSeries: cfg.MaxSeries,
		spans:     map[spanKey]*series{},
		edges:     map[edgeKey]*series{},
	}
	spanLabels := []string{"service_name", "span_name", "span_kind", "status_code"}
	for _, d := range m.dimKeys {
		spanLabels = append(spanLabels, labelName(d))
	}
	edgeLabels := []string{"client", "server", "connection_type"}
	m.callsDesc = prometheus.NewDesc("traces_span_metrics_calls_total",
		"Spans received, by service, span name, kind and status (spanmetrics connector naming).", spanLabels, nil)
	m.durationDesc = prometheus.NewDesc("traces_span_metrics_duration_seconds",
		"Span durations in seconds, by service, span name, kind and status.", spanLabels, nil)
	m.graphTotalDesc = prometheus.NewDesc("traces_service_graph_request_total",
		"Service-graph calls from client to server (servicegraph connector naming), as counted by the analyzer.", edgeLabels, nil)
	m.graphFailedDesc = prometheus.NewDesc("traces_service_graph_request_failed_total",
		"Service-graph calls that failed (status error or error.type).", edgeLabels, nil)
	m.graphSecondsDesc = prometheus.NewDesc("traces_service_graph_request_server_seconds",
		"Service-graph call durations in seconds: the duration of the span the call is counted from (the client span when there is one).", edgeLabels, nil)
	m.seriesDesc = prometheus.NewDesc("tracehound_redmetrics_series",
		"RED series in memory, by group (span_metrics, service_graph), overflow series included.", []string{"group"}, nil)
	m.overflowDesc = prometheus.NewDesc("tracehound_redmetrics_overflow_total",
		"Observations recorded in an overflow series because the group had metrics.max_series series.", []string{"group"}, nil)
	if reg != nil {
		if err := reg.Register(m); err != nil {
			return nil, fmt.Errorf("redmetrics: register metrics: %w", err)
		}
	}
	return m, nil
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.callsDesc, m.durationDesc, m.graphTotalDesc, m.graphFailedDesc,
		m.graphSecondsDesc, m.seriesDesc, m.overflowDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Series without observations
// (created for spans the queue then refused) are left out.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.spanMu.RLock()
	spans := make([]*series, 0, len(m.spans))
	for _, s := range m.spans {
		spans = append(spans, s)
	}
	m.spanMu.RUnlock()
	m.edgeMu.RLock()
	edges := make([]*series, 0, len(m.edges))
	for _, s := range m.edges {
		edges = append(edges, s)
	}
	m.edgeMu.RUnlock()

	for _, s := range spans {
		n, sum, cum := s.snapshot(m.bounds)
		if n == 0 {
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.callsDesc, prometheus.CounterValue, float64(n), s.labels...)
		ch <- prometheus.MustNewConstHistogram(m.durationDesc, n, sum, cum, s.labels...)
	}
	for _, s := range edges {
		n, sum, cum := s.snapshot(m.bounds)
		if n == 0 {
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.graphTotalDesc, prometheus.CounterValue, float64(n), s.labels...)
		ch <- prometheus.MustNewConstMetric(m.graphFailedDesc, prometheus.CounterValue, float64(s.failed.Load()), s.labels...)
		ch <- prometheus.MustNewConstHistogram(m.graphSecondsDesc, n, sum, cum, s.labels...)
	}
	ch <- prometheus.MustNewConstMetric(m.seriesDesc, prometheus.GaugeValue, float64(len(spans)), groupSpans)
	ch <- prometheus.MustNewConstMetric(m.seriesDesc, prometheus.GaugeValue, float64(len(edges)), groupGraph)
	ch <- prometheus.MustNewConstMetric(m.overflowDesc, prometheus.CounterValue, float64(m.overflowSpans.Load()), groupSpans)
	ch <- prometheus.MustNewConstMetric(m.overflowDesc, prometheus.CounterValue, float64(m.overflowCalls.Load()), groupGraph)
}

// bucket returns the histogram bucket of a duration in seconds.
func (m *Metrics) bucket(secs float64) int {
	return sort.SearchFloat64s(m.bounds, secs) // first bound ≥ secs; len = +Inf
}

// spanKind and statusCode are the connector's label values.
var (
	spanKindLabels   = [...]string{"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"}
	statusCodeLabels = [...]string{"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"}
)

func kindLabel(k storage.SpanKind) string {
	if k >= 0 && int(k) < len(spanKindLabels) {
		return spanKindLabels[k]
	}
	return spanKindLabels[0]
}

func statusLabel(s storage.StatusCode) string {
	if s >= 0 && int(s) < len(statusCodeLabels) {
		return statusCodeLabels[s]
	}
	return statusCodeLabels[0]
}

// key builds the series key of row i of b, whose scalar fields are row;
// it does not allocate (its strings are views into b).
func (m *Metrics) key(b *storage.SpanBatch, i int, row *storage.SpanRow) spanKey {
	k := spanKey{service: row.Service, name: row.Name, kind: row.Kind, status: row.StatusCode}
	for j, d := range m.dimKeys {
		k.dims[j] = dimValue(b, i, d)
	}
	return k
}

// dimValue looks a dimension up in the attributes of row i, then in its
// resource's; typed values are their JSON text. It is "" when absent.
func dimValue(b *storage.SpanBatch, i int, key string) string {
	for _, col := range [...]storage.AttrColumn{storage.Attributes, storage.TypedAttributes,
		storage.ResourceAttributes, storage.ResourceTypedAttributes} {
		if v, ok := b.Attribute(i, col, key); ok {
			return v
		}
	}
	return ""
}

// spanSeriesLocked returns the series of k, creating it (or using the
// overflow series when the group is full). m.spanMu must be held for
// writing.
func (m *Metrics) spanSeriesLocked(k spanKey) *series {
	if s, ok := m.spans[k]; ok {
		return s
	}
	overflow := m.spanCount >= m.maxSeries
	if overflow {
		k = spanKey{service: Overflow, name: Overflow, kind: k.kind, status: k.status}
		for i := range m.dimKeys {
			k.dims[i] = Overflow
		}
		if s, ok := m.spans[k]; ok {
			return s
		}
	} else {
		// Keys may point into large request buffers: keep copies.
		k.service, k.name = strings.Clone(k.service), strings.Clone(k.name)
		for i := range m.dimKeys {
			k.dims[i] = strings.Clone(k.dims[i])
		}
		m.spanCount++
	}
	labels := make([]string, 0, 4+len(m.dimKeys))
	labels = append(labels, k.service, k.name, kindLabel(k.kind), statusLabel(k.status))
	labels = append(labels, k.dims[:len(m.dimKeys)]...)
	s := newSeries(labels, len(m.bounds), overflow)
	m.spans[k] = s
	return s
}

// ObserveBatch records the spans of batch in the span metrics at once.
// Sink records only the spans the queue accepted.
func (m *Metrics) ObserveBatch(batch *storage.SpanBatch) {
	b := m.prepare(batch)
	b.commit(m)
	putBatch(b)
}

// pendingObs is one span's observation, resolved but not yet recorded.
type pendingObs struct {
	s      *series
	bucket int
	secs   float64
}

// batch holds the observations of one Enqueue call between prepare and
// commit; batches are pooled. (Not to be confused with the SpanBatch the
// observations are read from.)
type batch struct {
	obs     []pendingObs
	missing []int
}

var batchPool = sync.Pool{New: func() any { return new(batch) }}

// maxPooledBatch is the largest batch kept in the pool.
const maxPooledBatch = 1 << 16

func putBatch(b *batch) {
	if cap(b.obs) > maxPooledBatch {
		return
	}
	clear(b.obs)
	b.obs, b.missing = b.obs[:0], b.missing[:0]
	batchPool.Put(b)
}

// prepare resolves the series of every span of spans (one read lock for
// the batch; a write lock only when some series are new) without recording
// anything.
func (m *Metrics) prepare(spans *storage.SpanBatch) *batch {
	b := batchPool.Get().(*batch)
	n := spans.Len()
	m.spanMu.RLock()
	for i := range n {
		row := spans.Row(i)
		secs := float64(max(row.DurationNano, 0)) / 1e9
		s := m.spans[m.key(spans, i, &row)]
		if s == nil {
			b.missing = append(b.missing, i)
		}
		b.obs = append(b.obs, pendingObs{s: s, bucket: m.bucket(secs), secs: secs})
	}
	m.spanMu.RUnlock()
	if len(b.missing) > 0 {
		m.spanMu.Lock()
		for _, i := range b.missing {
			row := spans.Row(i)
			b.obs[i].s = m.spanSeriesLocked(m.key(spans, i, &row))
		}
		m.spanMu.Unlock()
	}
	return b
}

// commit records the batch's observations.
func (b *batch) commit(m *Metrics) {
	var overflowed uint64
	for i := range b.obs {
		o := &b.obs[i]
		o.s.observe(o.bucket, o.secs)
		if o.s.overflow {
			overflowed++
		}
	}
	if overflowed > 0 {
		m.overflowSpans.Add(overflowed)
	}
}

// connectionType is the servicegraph connector's connection_type of a call.
func connectionType(c *storage.EdgeCall) string {
	switch {
	case c.SourceKind == "database" || c.TargetKind == "database":
		return "database"
	case c.SourceKind == "messaging" || c.TargetKind == "messaging":
		return "messaging_system"
	case c.SourceKind == "external" || c.TargetKind == "external":
		return "virtual_node"
	}
	return ""
}

// ObserveCalls records service-graph calls; the analyzer calls it once per
// call it stores (after InsertEdgeCalls), so the counters match the
// edge_calls table.
func (m *Metrics) ObserveCalls(calls []storage.EdgeCall) {
	if len(calls) == 0 {
		return
	}
	var missing []int
	m.edgeMu.RLock()
	for i := range calls {
		c := &calls[i]
		if s := m.edges[edgeKey{c.Source, c.Target, connectionType(c)}]; s != nil {
			m.observeCall(s, c)
		} else {
			missing = append(missing, i)
		}
	}
	m.edgeMu.RUnlock()
	if len(missing) == 0 {
		return
	}
	m.edgeMu.Lock()
	ss := make([]*series, len(missing))
	for j, i := range missing {
		ss[j] = m.edgeSeriesLocked(&calls[i])
	}
	m.edgeMu.Unlock()
	for j, i := range missing {
		m.observeCall(ss[j], &calls[i])
	}
}

func (m *Metrics) observeCall(s *series, c *storage.EdgeCall) {
	secs := float64(max(c.DurationNs, 0)) / 1e9
	s.observe(m.bucket(secs), secs)
	if c.Error {
		s.failed.Add(1)
	}
	if s.overflow {
		m.overflowCalls.Add(1)
	}
}

// edgeSeriesLocked is spanSeriesLocked for the service graph.
func (m *Metrics) edgeSeriesLocked(c *storage.EdgeCall) *series {
	k := edgeKey{c.Source, c.Target, connectionType(c)}
	if s, ok := m.edges[k]; ok {
		return s
	}
	overflow := m.edgeCount >= m.maxSeries
	if overflow {
		k = edgeKey{Overflow, Overflow, ""}
		if s, ok := m.edges[k]; ok {
			return s
		}
	} else {
		k.client, k.server = strings.Clone(k.client), strings.Clone(k.server)
		m.edgeCount++
	}
	s := newSeries([]string{k.client, k.server, k.conn}, len(m.bounds), overflow)
	m.edges[k] = s
	return s
}
