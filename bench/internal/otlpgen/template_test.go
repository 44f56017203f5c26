package otlpgen

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func decode(t *testing.T, b []byte) ptrace.Traces {
	t.Helper()
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		t.Fatalf("rendered request does not decode: %v", err)
	}
	return req.Traces()
}

type spanInfo struct {
	trace  pcommon.TraceID
	id     pcommon.SpanID
	parent pcommon.SpanID
	start  time.Time
	end    time.Time
	svc    string
	attrs  map[string]any
	links  []ptrace.SpanLink
}

func spansOf(td ptrace.Traces) []spanInfo {
	var out []spanInfo
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				s := ss.Spans().At(k)
				var links []ptrace.SpanLink
				for l := 0; l < s.Links().Len(); l++ {
					links = append(links, s.Links().At(l))
				}
				out = append(out, spanInfo{trace: s.TraceID(), id: s.SpanID(), parent: s.ParentSpanID(),
					start: s.StartTimestamp().AsTime(), end: s.EndTimestamp().AsTime(), svc: svc.Str(),
					attrs: s.Attributes().AsRaw(), links: links})
			}
		}
	}
	return out
}

func TestTemplateShape(t *testing.T) {
	tpls, err := Build(Options{Templates: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tpl := range tpls {
		if tpl.Spans() != 500 {
			t.Fatalf("template has %d spans, want 500", tpl.Spans())
		}
		td, err := tpl.Traces()
		if err != nil {
			t.Fatal(err)
		}
		if n := td.ResourceSpans().Len(); n != 8 {
			t.Errorf("%d resources, want 8 services", n)
		}
		attrs, n := 0, 0
		kinds := map[string]bool{}
		for _, s := range spansOf(td) {
			attrs += len(s.attrs)
			n++
			for k := range s.attrs {
				switch {
				case strings.HasPrefix(k, "db."):
					kinds["db"] = true
				case strings.HasPrefix(k, "http."):
					kinds["http"] = true
				case strings.HasPrefix(k, "messaging."):
					kinds["messaging"] = true
				}
			}
		}
		if avg := float64(attrs) / float64(n); avg < 12 || avg > 19 {
			t.Errorf("%.1f attributes per span on average, want about 15", avg)
		}
		if len(kinds) != 3 {
			t.Errorf("span kinds %v, want db, http and messaging", kinds)
		}
		ra := td.ResourceSpans().At(0).Resource().Attributes().Len()
		if ra < 7 || ra > 10 {
			t.Errorf("%d resource attributes, want about 8", ra)
		}
	}
}

func TestRenderFreshIDsTimesAndValues(t *testing.T) {
	tpls, err := Build(Options{Templates: 2, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRenderer(42)
	now := time.Now()
	seen := map[[24]byte]bool{}
	reqIDs := map[string]bool{}
	for seq := range uint64(6) {
		tpl := tpls[seq%2]
		spans := spansOf(decode(t, r.Render(tpl, seq, now)))
		if len(spans) != 500 {
			t.Fatalf("%d spans", len(spans))
		}
		ids := map[pcommon.SpanID]pcommon.TraceID{}
		traces := map[pcommon.TraceID]int{}
		for _, s := range spans {
			var k [24]byte
			copy(k[:], s.trace[:])
			copy(k[16:], s.id[:])
			if seen[k] {
				t.Fatalf("send %d: span id repeated", seq)
			}
			seen[k] = true
			ids[s.id] = s.trace
			traces[s.trace]++
			if d := now.Sub(s.end); d < -10*time.Second || d > 20*time.Second {
				t.Errorf("span ends %v before now", d)
			}
			if s.end.Before(s.start) {
				t.Errorf("span ends before it starts")
			}
			if id, ok := s.attrs["app.request.id"].(string); ok {
				reqIDs[id] = true
			}
		}
		if len(traces) != 50 {
			t.Errorf("%d traces, want 50", len(traces))
		}
		for tr, n := range traces {
			if n != SpansPerTrace {
				t.Errorf("trace %s has %d spans", tr, n)
			}
		}
		for _, s := range spans {
			if !s.parent.IsEmpty() {
				if tr, ok := ids[s.parent]; !ok || tr != s.trace {
					t.Fatalf("parent of a span not found in its trace")
				}
			}
			for _, l := range s.links {
				if tr, ok := ids[l.SpanID()]; !ok || tr != l.TraceID() {
					t.Fatalf("link does not point to a span of the request")
				}
			}
		}
	}
	if len(reqIDs) != 6*50 {
		t.Errorf("%d distinct request ids over 300 traces", len(reqIDs))
	}
}

// TestRenderKeepsRelatedValuesTogether: an id that appears in several
// values of a trace (a product id in the client URL and the server path)
// is replaced the same way in all of them.
func TestRenderKeepsRelatedValuesTogether(t *testing.T) {
	tpls, err := Build(Options{Templates: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	spans := spansOf(decode(t, NewRenderer(1).Render(tpls[0], 99, time.Now())))
	paths := map[pcommon.TraceID]string{}
	for _, s := range spans {
		if p, ok := s.attrs["url.path"].(string); ok && strings.HasPrefix(p, "/products/") {
			paths[s.trace] = strings.TrimPrefix(p, "/products/")
		}
	}
	if len(paths) == 0 {
		t.Fatal("no product page traces")
	}
	for _, s := range spans {
		if u, ok := s.attrs["url.full"].(string); ok && strings.Contains(u, "/api/products/") {
			if want := paths[s.trace]; !strings.HasSuffix(u, "/"+want) {
				t.Errorf("client URL %s does not carry the product id %s of its trace", u, want)
			}
		}
	}
}

func BenchmarkRender(b *testing.B) {
	tpls, err := Build(Options{Templates: 8, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	r := NewRenderer(1)
	now := time.Now()
	b.SetBytes(int64(tpls[0].Size()))
	for i := 0; b.Loop(); i++ {
		r.Render(tpls[i%8], uint64(i), now)
	}
}
