package redmetrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"

	"github.com/tracehound/tracehound/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestDefaultConfigValid(t *testing.T) {
	t.Parallel()
	if err := NewDefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	f := func(name string, edit func(*Config), want ...string) {
		t.Helper()
		c := NewDefaultConfig()
		edit(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", name, err, w)
			}
		}
	}
	f("zero series", func(c *Config) { c.MaxSeries = 0 }, "metrics.max_series")
	f("too many dims", func(c *Config) { c.Dimensions = strings.Split("a b c d e f g h i", " ") }, "metrics.dimensions", "at most 8")
	f("reserved dim", func(c *Config) { c.Dimensions = []string{"service.name"} }, `"service_name"`, "reserved")
	f("colliding dims", func(c *Config) { c.Dimensions = []string{"http.method", "http_method"} }, "both become")
	f("empty dim", func(c *Config) { c.Dimensions = []string{" "} }, "empty key")
	f("no buckets", func(c *Config) { c.HistogramBuckets = nil }, "metrics.histogram_buckets")
	f("unsorted buckets", func(c *Config) { c.HistogramBuckets = []float64{0.1, 0.1} }, "histogram_buckets[1]", "increase")
	f("negative bucket", func(c *Config) { c.HistogramBuckets = []float64{-1} }, "histogram_buckets[0]")
	f("NaN bucket", func(c *Config) { c.HistogramBuckets = []float64{math.NaN()} }, "histogram_buckets[0]")
	f("all at once", func(c *Config) { c.MaxSeries = -1; c.HistogramBuckets = nil }, "max_series", "histogram_buckets")
}

func TestConfigYAMLStrict(t *testing.T) {
	t.Parallel()
	src := "max_series: 50\ndimensions: [http.request.method, deployment.environment]\nhistogram_buckets: [0.01, 0.1, 1]\n"
	c := NewDefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.MaxSeries != 50 || len(c.Dimensions) != 2 || len(c.HistogramBuckets) != 3 {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	dec = yaml.NewDecoder(strings.NewReader("max_serie: 1\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Fatal("unknown key accepted")
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	c := NewDefaultConfig()
	c.MaxSeries = 0
	if _, err := New(c, nil); err == nil || !strings.Contains(err.Error(), "max_series") {
		t.Fatalf("New: %v", err)
	}
}

// batchOf returns spans as a SpanBatch.
func batchOf(spans ...storage.Span) *storage.SpanBatch {
	b := storage.NewSpanBatch(len(spans))
	for i := range spans {
		b.AppendSpan(&spans[i])
	}
	return b
}

// span returns a span of service svc named name.
func span(svc, name string, kind storage.SpanKind, status storage.StatusCode, durMs float64) storage.Span {
	return storage.Span{Service: svc, Name: name, Kind: kind, StatusCode: status, DurationNano: int64(durMs * 1e6)}
}

// gather returns the samples of reg as "name{labels} value" lines, sorted;
// histograms as _count, _sum and their non-zero-width cumulative buckets.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := labelString(m.GetLabel())
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[mf.GetName()+labels] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[mf.GetName()+labels] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				out[mf.GetName()+"_count"+labels] = float64(h.GetSampleCount())
				out[mf.GetName()+"_sum"+labels] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					out[fmt.Sprintf("%s_bucket%s le=%g", mf.GetName(), labels, b.GetUpperBound())] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}

func labelString(lps []*dto.LabelPair) string {
	parts := make([]string, 0, len(lps))
	for _, lp := range lps {
		parts = append(parts, lp.GetName()+"="+fmt.Sprintf("%q", lp.GetValue()))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

func newMetrics(t *testing.T, edit func(*Config)) (*Metrics, *prometheus.Registry) {
	t.Helper()
	c := NewDefaultConfig()
	if edit != nil {
		edit(&c)
	}
	reg := prometheus.NewRegistry()
	m, err := New(c, reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestSpanMetrics(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, func(c *Config) {
		c.Dimensions = []string{"http.request.method", "deployment.environment", "http.response.status_code"}
		c.HistogramBuckets = []float64{0.01, 0.1, 1}
	})
	a := span("checkout", "GET /cart", storage.SpanKindServer, storage.StatusUnset, 5)
	a.Attributes = map[string]string{"http.request.method": "GET"}
	a.TypedAttributes = map[string]string{"http.response.status_code": "200"}
	a.ResourceAttributes = map[string]string{"deployment.environment": "prod", "http.request.method": "resource loses"}
	b := a
	b.DurationNano = 50e6
	c := span("checkout", "GET /cart", storage.SpanKindServer, storage.StatusError, 2000)
	d := span("db", "SELECT", storage.SpanKindClient, storage.StatusOK, 0.5)
	m.ObserveBatch(batchOf(a, b, c, d))

	got := gather(t, reg)
	okLabels := `{deployment_environment="prod",http_request_method="GET",http_response_status_code="200",service_name="checkout",span_kind="SPAN_KIND_SERVER",span_name="GET /cart",status_code="STATUS_CODE_UNSET"}`
	errLabels := `{deployment_environment="",http_request_method="",http_response_status_code="",service_name="checkout",span_kind="SPAN_KIND_SERVER",span_name="GET /cart",status_code="STATUS_CODE_ERROR"}`
	dbLabels := `{deployment_environment="",http_request_method="",http_response_status_code="",service_name="db",span_kind="SPAN_KIND_CLIENT",span_name="SELECT",status_code="STATUS_CODE_OK"}`
	want := map[string]float64{
		"traces_span_metrics_calls_total" + okLabels:                          2,
		"traces_span_metrics_duration_seconds_count" + okLabels:               2,
		"traces_span_metrics_duration_seconds_sum" + okLabels:                 0.055,
		"traces_span_metrics_duration_seconds_bucket" + okLabels + " le=0.01": 1,
		"traces_span_metrics_duration_seconds_bucket" + okLabels + " le=0.1":  2,
		"traces_span_metrics_duration_seconds_bucket" + okLabels + " le=1":    2,
		"traces_span_metrics_calls_total" + errLabels:                         1,
		"traces_span_metrics_duration_seconds_bucket" + errLabels + " le=1":   0,
		"traces_span_metrics_duration_seconds_sum" + errLabels:                2,
		"traces_span_metrics_calls_total" + dbLabels:                          1,
		"traces_span_metrics_duration_seconds_bucket" + dbLabels + " le=0.01": 1,
		`tracehound_redmetrics_series{group="span_metrics"}`:                  3,
		`tracehound_redmetrics_overflow_total{group="span_metrics"}`:          0,
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
			continue
		}
		if math.Abs(g-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	if t.Failed() {
		t.Logf("gathered:\n%s", dump(got))
	}
}

func dump(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %v\n", k, m[k])
	}
	return b.String()
}

func TestSpanMetricsOverflow(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, func(c *Config) { c.MaxSeries = 3; c.Dimensions = []string{"user.id"} })
	var spans []storage.Span
	for i := range 10 {
		sp := span("svc", fmt.Sprintf("GET /users/%d", i), storage.SpanKindServer, storage.StatusCode(i%2*2), 1)
		sp.Attributes = map[string]string{"user.id": fmt.Sprint(i)}
		spans = append(spans, sp)
	}
	m.ObserveBatch(batchOf(spans...))
	m.ObserveBatch(batchOf(spans[:1]...)) // an existing series still counts normally
	got := gather(t, reg)
	if n := got[`tracehound_redmetrics_series{group="span_metrics"}`]; n != 5 { // 3 + overflow for unset and error
		t.Errorf("series = %v, want 5 (3 + 2 overflow)\n%s", n, dump(got))
	}
	if n := got[`tracehound_redmetrics_overflow_total{group="span_metrics"}`]; n != 7 {
		t.Errorf("overflow_total = %v, want 7", n)
	}
	ov := `{service_name="__overflow__",span_kind="SPAN_KIND_SERVER",span_name="__overflow__",status_code="STATUS_CODE_ERROR",user_id="__overflow__"}`
	if n := got["traces_span_metrics_calls_total"+ov]; n != 4 { // i = 3, 5, 7, 9
		t.Errorf("overflow error series = %v, want 4\n%s", n, dump(got))
	}
	first := `{service_name="svc",span_kind="SPAN_KIND_SERVER",span_name="GET /users/0",status_code="STATUS_CODE_UNSET",user_id="0"}`
	if n := got["traces_span_metrics_calls_total"+first]; n != 2 {
		t.Errorf("first series = %v, want 2", n)
	}
	total := 0.0
	for k, v := range got {
		if strings.HasPrefix(k, "traces_span_metrics_calls_total{") {
			total += v
		}
	}
	if total != 11 {
		t.Errorf("sum of calls = %v, want 11 (nothing lost to the cap)", total)
	}
}

type fakeNext struct {
	mu  sync.Mutex
	err error
	n   int
}

func (f *fakeNext) Enqueue(_ context.Context, batch *storage.SpanBatch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.n += batch.Len()
	return nil
}

func TestSinkCountsOnlyAcceptedSpans(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, nil)
	next := &fakeNext{err: fmt.Errorf("queue: %w", storage.ErrQueueFull)}
	s := &Sink{Next: next, Metrics: m}
	spans := batchOf(span("a", "op", storage.SpanKindServer, storage.StatusUnset, 1))
	if err := s.Enqueue(context.Background(), spans); !errors.Is(err, storage.ErrQueueFull) {
		t.Fatalf("Enqueue error = %v, want the queue's", err)
	}
	got := gather(t, reg)
	for k := range got {
		if strings.HasPrefix(k, "traces_span_metrics_calls_total") {
			t.Fatalf("refused span counted: %s", k)
		}
	}
	next.err = nil
	if err := s.Enqueue(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	got = gather(t, reg)
	if n := got[`traces_span_metrics_calls_total{service_name="a",span_kind="SPAN_KIND_SERVER",span_name="op",status_code="STATUS_CODE_UNSET"}`]; n != 1 || next.n != 1 {
		t.Fatalf("after acceptance: calls %v, forwarded %d\n%s", n, next.n, dump(got))
	}
	nilMetrics := &Sink{Next: next}
	if err := nilMetrics.Enqueue(context.Background(), spans); err != nil || next.n != 2 {
		t.Fatalf("nil Metrics: %v, forwarded %d", err, next.n)
	}
}

func TestSinkNoAllocationsForExistingSeries(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	m, _ := newMetrics(t, func(c *Config) { c.Dimensions = []string{"http.request.method"} })
	s := &Sink{Next: &fakeNext{}, Metrics: m}
	spans := make([]storage.Span, 100)
	for i := range spans {
		spans[i] = span(fmt.Sprint("svc", i%5), fmt.Sprint("op", i%7), storage.SpanKindServer, storage.StatusOK, float64(i))
		spans[i].Attributes = map[string]string{"http.request.method": "GET"}
	}
	batch := batchOf(spans...)
	ctx := context.Background()
	_ = s.Enqueue(ctx, batch) // create the series, warm the pool
	if a := testing.AllocsPerRun(100, func() { _ = s.Enqueue(ctx, batch) }); a > 0 {
		t.Fatalf("%v allocations per Enqueue of 100 spans of existing series; want 0", a)
	}
}

func TestServiceGraphMetrics(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, func(c *Config) { c.HistogramBuckets = []float64{0.1, 1} })
	call := func(src, srcKind, dst, dstKind string, ms int64, failed bool) storage.EdgeCall {
		return storage.EdgeCall{Source: src, SourceKind: srcKind, Target: dst, TargetKind: dstKind, DurationNs: ms * 1e6, Error: failed}
	}
	m.ObserveCalls([]storage.EdgeCall{
		call("frontend", "service", "checkout", "service", 150, false),
		call("frontend", "service", "checkout", "service", 50, true),
		call("checkout", "service", "postgresql/shop", "database", 10, false),
		call("checkout", "service", "kafka/orders", "messaging", 2, false),
		call("kafka/orders", "messaging", "notifier", "service", 20, false),
		call("frontend", "service", "api.stripe.com", "external", 30, false),
	})
	m.ObserveCalls([]storage.EdgeCall{call("frontend", "service", "checkout", "service", 2000, false)})
	m.ObserveCalls(nil)
	got := gather(t, reg)
	fc := `{client="frontend",connection_type="",server="checkout"}`
	want := map[string]float64{
		"traces_service_graph_request_total" + fc:                                                                        3,
		"traces_service_graph_request_failed_total" + fc:                                                                 1,
		"traces_service_graph_request_server_seconds_count" + fc:                                                         3,
		"traces_service_graph_request_server_seconds_sum" + fc:                                                           2.2,
		"traces_service_graph_request_server_seconds_bucket" + fc + " le=0.1":                                            1,
		"traces_service_graph_request_server_seconds_bucket" + fc + " le=1":                                              2,
		`traces_service_graph_request_total{client="checkout",connection_type="database",server="postgresql/shop"}`:      1,
		`traces_service_graph_request_total{client="checkout",connection_type="messaging_system",server="kafka/orders"}`: 1,
		`traces_service_graph_request_total{client="kafka/orders",connection_type="messaging_system",server="notifier"}`: 1,
		`traces_service_graph_request_total{client="frontend",connection_type="virtual_node",server="api.stripe.com"}`:   1,
		`tracehound_redmetrics_series{group="service_graph"}`:                                                            5,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || math.Abs(g-v) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if t.Failed() {
		t.Logf("gathered:\n%s", dump(got))
	}
}

func TestServiceGraphOverflow(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, func(c *Config) { c.MaxSeries = 2 })
	var calls []storage.EdgeCall
	for i := range 5 {
		calls = append(calls, storage.EdgeCall{Source: "a", SourceKind: "service", Target: fmt.Sprint("b", i), TargetKind: "service", Error: i == 4})
	}
	m.ObserveCalls(calls)
	got := gather(t, reg)
	ov := `{client="__overflow__",connection_type="",server="__overflow__"}`
	if got["traces_service_graph_request_total"+ov] != 3 || got["traces_service_graph_request_failed_total"+ov] != 1 ||
		got[`tracehound_redmetrics_overflow_total{group="service_graph"}`] != 3 || got[`tracehound_redmetrics_series{group="service_graph"}`] != 3 {
		t.Fatalf("overflow:\n%s", dump(got))
	}
}

func TestConcurrentObservations(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, func(c *Config) { c.MaxSeries = 20 })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				m.ObserveBatch(batchOf(span(fmt.Sprint("s", (g+i)%30), "op", storage.SpanKindServer, storage.StatusUnset, 1)))
				m.ObserveCalls([]storage.EdgeCall{{Source: "a", Target: fmt.Sprint("b", i%30), DurationNs: 1e6}})
			}
		})
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				_, _ = reg.Gather()
			}
		}
	}()
	wg.Wait()
	close(done)
	got := gather(t, reg)
	var spans, calls float64
	for k, v := range got {
		if strings.HasPrefix(k, "traces_span_metrics_calls_total{") {
			spans += v
		}
		if strings.HasPrefix(k, "traces_service_graph_request_total{") {
			calls += v
		}
	}
	if spans != 1600 || calls != 1600 {
		t.Fatalf("spans %v calls %v, want 1600 each", spans, calls)
	}
	if n := got[`tracehound_redmetrics_series{group="span_metrics"}`]; n > 21 {
		t.Fatalf("span series %v above the cap + overflow", n)
	}
}
