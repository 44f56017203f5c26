// Package otlpgen pre-builds realistic OTLP trace export requests and turns
// them into fresh requests cheaply.
//
// A Template is a marshalled ExportTraceServiceRequest plus the byte offsets
// of everything that must differ between sends: trace and span ids (also in
// parent ids and links), timestamps and the random parts of string values
// (request ids, user ids, ids inside URLs and keys…). Render copies the bytes
// and overwrites those fields in place, so every send carries new ids, times
// and values while the load generator spends almost no CPU: no pdata
// objects, no protobuf encoding.
package otlpgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Options configures Build.
type Options struct {
	// Templates is the number of distinct template requests. Default 64.
	Templates int
	// TracesPerRequest is the number of traces in a request; every trace has
	// SpansPerTrace (10) spans. Default 50 (500 spans per request).
	TracesPerRequest int
	// Seed makes the templates and the rendered values reproducible.
	Seed uint64
}

// SpansPerTrace is the number of spans in every generated trace.
const SpansPerTrace = 10

// Template is one pre-built request.
type Template struct {
	bytes  []byte
	spans  int
	traces int

	ids       []idPatch
	times     []timePatch
	texts     []textPatch
	traceBase []uint64 // earliest timestamp of each trace
	traceLen  []uint64 // latest timestamp minus traceBase
}

type idPatch struct {
	off  int
	wide bool // 16-byte trace id, else 8-byte span id
	a, b uint64
}

type timePatch struct {
	off   int
	trace int
}

type textPatch struct {
	off  int // absolute offset of the region
	n    int
	hex  bool
	seed uint64 // hash of the region's template content
}

// Spans is the number of spans in a rendered request.
func (t *Template) Spans() int { return t.spans }

// Size is the size of a rendered request in bytes.
func (t *Template) Size() int { return len(t.bytes) }

// Traces returns the template's request as pdata (for tests and debugging).
func (t *Template) Traces() (ptrace.Traces, error) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(t.bytes); err != nil {
		return ptrace.Traces{}, err
	}
	return req.Traces(), nil
}

// Build lays out opt.Templates requests of realistic traces and prepares
// them for rendering.
func Build(opt Options) ([]*Template, error) {
	if opt.Templates <= 0 {
		opt.Templates = 64
	}
	if opt.TracesPerRequest <= 0 {
		opt.TracesPerRequest = 50
	}
	r := &rng{s: opt.Seed ^ 0x7468626e6368} // "thbnch"
	services := newServices(r)
	out := make([]*Template, 0, opt.Templates)
	for n := range opt.Templates {
		g := &gen{r: r, services: services, varying: map[string][]region{}}
		traces := make([]*trace, 0, opt.TracesPerRequest)
		for range opt.TracesPerRequest {
			var t *trace
			switch x := r.intn(100); {
			case x < 50:
				t = g.productTrace()
			case x < 80:
				t = g.cartTrace()
			default:
				t = g.checkoutTrace()
			}
			if len(t.spans) != SpansPerTrace {
				return nil, fmt.Errorf("otlpgen: a trace has %d spans, want %d", len(t.spans), SpansPerTrace)
			}
			traces = append(traces, t)
		}
		td := g.assemble(traces, n)
		tpl, err := prepare(td, g.varying)
		if err != nil {
			return nil, fmt.Errorf("otlpgen: template %d: %w", n, err)
		}
		out = append(out, tpl)
	}
	return out, nil
}

// baseTime is the fixed start of every template trace; Render shifts times
// to the present.
var baseTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// assemble turns traces into one request: one ResourceSpans per service (a
// collector's batch groups spans by resource), one ScopeSpans per
// instrumentation library, spans in trace order. Instances of a service
// alternate between requests.
func (g *gen) assemble(traces []*trace, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	for si, name := range serviceNames {
		svc := g.services[name]
		inst := svc.instances[(n+si)%len(svc.instances)]
		var rs ptrace.ResourceSpans
		scopes := map[category]ptrace.ScopeSpans{}
		for ti, t := range traces {
			tBase := baseTime + int64(ti)*int64(time.Millisecond)
			for _, s := range t.spans {
				if s.svc != svc {
					continue
				}
				if _, ok := scopes[s.cat]; !ok && len(scopes) == 0 {
					rs = td.ResourceSpans().AppendEmpty()
					ra := rs.Resource().Attributes()
					ra.PutStr("service.name", svc.name)
					ra.PutStr("service.version", svc.version)
					ra.PutStr("service.instance.id", inst.id)
					ra.PutStr("deployment.environment.name", "production")
					ra.PutStr("host.name", inst.host)
					ra.PutStr("k8s.pod.name", inst.pod)
					ra.PutStr("k8s.namespace.name", "shop")
					ra.PutStr("telemetry.sdk.language", svc.lang.name)
					ra.PutInt("process.pid", inst.pid)
					rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.37.0")
				}
				ss, ok := scopes[s.cat]
				if !ok {
					ss = rs.ScopeSpans().AppendEmpty()
					sc := svc.lang.scopes[s.cat]
					ss.Scope().SetName(sc.name)
					ss.Scope().SetVersion(sc.version)
					scopes[s.cat] = ss
				}
				g.emit(ss.Spans().AppendEmpty(), t, s, tBase)
			}
		}
	}
	return td
}

func (g *gen) emit(ps ptrace.Span, t *trace, s *span, base int64) {
	ps.SetTraceID(pcommon.TraceID(t.id))
	ps.SetSpanID(pcommon.SpanID(s.id))
	if s.parent >= 0 {
		ps.SetParentSpanID(pcommon.SpanID(t.spans[s.parent].id))
	}
	ps.SetName(s.name)
	ps.SetKind(s.kind)
	ps.SetFlags(1) // sampled
	ps.SetStartTimestamp(pcommon.Timestamp(base + s.start))
	ps.SetEndTimestamp(pcommon.Timestamp(base + s.end))
	g.putAttrs(ps.Attributes(), t, s.attrs)
	if s.status != ptrace.StatusCodeUnset {
		ps.Status().SetCode(s.status)
		ps.Status().SetMessage(s.statusMsg)
	}
	for _, e := range s.events {
		pe := ps.Events().AppendEmpty()
		pe.SetName(e.name)
		pe.SetTimestamp(pcommon.Timestamp(base + e.at))
		g.putAttrs(pe.Attributes(), t, e.attrs)
	}
	if s.link >= 0 {
		pl := ps.Links().AppendEmpty()
		pl.SetTraceID(pcommon.TraceID(t.id))
		pl.SetSpanID(pcommon.SpanID(t.spans[s.link].id))
		pl.SetFlags(1)
		pl.Attributes().PutStr("messaging.operation.type", "send")
	}
}

func (g *gen) putAttrs(m pcommon.Map, t *trace, attrs []attr) {
	m.EnsureCapacity(len(attrs))
	for _, a := range attrs {
		switch {
		case a.isInt:
			m.PutInt(a.key, a.num)
		case a.isB:
			m.PutBool(a.key, a.flag)
		case a.isDbl:
			m.PutDouble(a.key, a.dbl)
		default:
			g.register(t, a.str)
			m.PutStr(a.key, a.str)
		}
	}
}

// prepare marshals td and finds the offsets to patch.
func prepare(td ptrace.Traces, varying map[string][]region) (*Template, error) {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return nil, err
	}
	t := &Template{bytes: b}
	w := &walker{t: t, varying: varying, traceIdx: map[[2]uint64]int{}}
	if err := w.request(b); err != nil {
		return nil, err
	}
	t.traces = len(w.traceIdx)
	if t.spans != td.SpanCount() {
		return nil, fmt.Errorf("found %d spans, marshalled %d", t.spans, td.SpanCount())
	}
	for i := range t.traceBase {
		t.traceLen[i] -= t.traceBase[i]
	}
	if len(t.ids) == 0 || len(t.times) == 0 {
		return nil, errors.New("no ids or timestamps found")
	}
	return t, nil
}

// Renderer renders templates into a reusable buffer. One per goroutine.
type Renderer struct {
	seed   uint64
	buf    []byte
	starts []uint64
	scales []uint64
}

// NewRenderer returns a renderer; seed separates runs (use a different seed
// per run so ids never repeat across runs on the same database).
func NewRenderer(seed uint64) *Renderer { return &Renderer{seed: seed} }

// Render returns the bytes of a fresh request from t for send number seq
// (unique per send in a run): new trace and span ids derived from seq,
// varying text re-randomised, and times shifted so that each trace ended
// within the second before now, its duration scaled by 0.75–1.25. The
// result is valid until the next Render.
func (r *Renderer) Render(t *Template, seq uint64, now time.Time) []byte {
	r.buf = append(r.buf[:0], t.bytes...)
	b := r.buf
	key := splitmix64(r.seed ^ splitmix64(seq+1))
	for _, p := range t.ids {
		if p.wide {
			h1 := splitmix64(key ^ p.a ^ (p.b<<17 | p.b>>47))
			h2 := splitmix64(h1 ^ p.b)
			binary.LittleEndian.PutUint64(b[p.off:], h1)
			binary.LittleEndian.PutUint64(b[p.off+8:], h2)
		} else {
			h := splitmix64(key ^ p.a)
			if h == 0 {
				h = 1
			}
			binary.LittleEndian.PutUint64(b[p.off:], h)
		}
	}
	nowNs := uint64(now.UnixNano())
	r.starts = r.starts[:0]
	r.scales = r.scales[:0]
	for i := range t.traces {
		h := splitmix64(key ^ uint64(i+1)*0x9e3779b97f4a7c15)
		scale := 768 + h%513 // ×1024: 0.75–1.25
		jitter := (h >> 12) % uint64(time.Second)
		r.scales = append(r.scales, scale)
		r.starts = append(r.starts, nowNs-t.traceLen[i]*scale/1024-jitter)
	}
	for _, p := range t.times {
		old := binary.LittleEndian.Uint64(b[p.off:])
		d := old - t.traceBase[p.trace]
		binary.LittleEndian.PutUint64(b[p.off:], r.starts[p.trace]+d*r.scales[p.trace]/1024)
	}
	for _, p := range t.texts {
		v := splitmix64(key ^ p.seed)
		for i := 0; i < p.n; i++ {
			if i%12 == 11 {
				v = splitmix64(v)
			}
			if p.hex {
				b[p.off+i] = hexDigits[v&15]
				v >>= 4
			} else {
				b[p.off+i] = byte('0' + v%10)
				v /= 10
			}
		}
	}
	return b
}
