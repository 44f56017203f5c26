package critpath

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// realisticTrace builds an n-span trace shaped like a microservice request:
// a server root whose spans fan out (1 to 8 children each) into internal
// work, client calls answered by server spans in other services (whose
// clocks are skewed by up to ±50 ms), and producer spans with consumers that
// run later. Children are laid out sequentially or in parallel inside their
// parent; a few overflow it. Span ids are random, as in real traces.
func realisticTrace(n int, seed uint64) []Span {
	rng := rand.New(rand.NewPCG(seed, 7))
	const nServices = 40
	services := make([]string, nServices)
	skew := make([]int64, nServices)
	for i := range services {
		services[i] = fmt.Sprintf("service-%02d", i)
		skew[i] = rng.Int64N(100*ms) - 50*ms
	}
	type meta struct {
		svc        int
		start, end int64 // true (unskewed) times
	}
	spans := make([]Span, 0, n)
	metas := make([]meta, 0, n)
	add := func(parent int, kind Kind, svc int, start, end int64) {
		var pid [8]byte
		if parent >= 0 {
			pid = spans[parent].ID
		}
		spans = append(spans, Span{
			ID: sid(rng.Uint64() | 1), ParentID: pid,
			Start: start + skew[svc], End: end + skew[svc],
			Kind: kind, Service: services[svc],
		})
		metas = append(metas, meta{svc, start, end})
	}
	base := int64(1_700_000_000) * 1_000_000_000
	add(-1, KindServer, 0, base, base+2_000*ms)
	for next := 0; len(spans) < n; next++ {
		p, pm := spans[next], metas[next]
		dur := pm.end - pm.start
		switch {
		case p.Kind == KindClient:
			// The callee's server span, slightly inside the call.
			svc := (pm.svc + 1 + rng.IntN(nServices-1)) % nServices
			lat := dur / 20
			add(next, KindServer, svc, pm.start+lat, pm.end-lat)
			continue
		case p.Kind == KindProducer:
			svc := rng.IntN(nServices)
			s := pm.end + rng.Int64N(500*ms)
			add(next, KindConsumer, svc, s, s+rng.Int64N(200*ms)+1)
			continue
		}
		fan := 1 + rng.IntN(8)
		parallel := rng.IntN(3) == 0
		slot := dur / int64(fan)
		for k := 0; k < fan && len(spans) < n; k++ {
			var s, e int64
			if parallel {
				s = pm.start + rng.Int64N(dur/10+1)
				e = s + rng.Int64N(pm.end-s+1)
			} else {
				s = pm.start + int64(k)*slot + rng.Int64N(slot/10+1)
				e = s + slot*8/10
			}
			if rng.IntN(50) == 0 {
				e += slot // overflows its parent now and then
			}
			var kind Kind
			switch x := rng.IntN(10); {
			case x < 5:
				kind = KindInternal
			case x < 9:
				kind = KindClient
			default:
				kind = KindProducer
			}
			add(next, kind, pm.svc, s, e)
		}
	}
	return spans
}

func BenchmarkAnalyze50k(b *testing.B) {
	spans := realisticTrace(50_000, 1)
	b.ReportAllocs()
	for b.Loop() {
		res := Analyze(spans)
		if len(res) != len(spans) || !res[0].OnCriticalPath {
			b.Fatal("unexpected result")
		}
	}
}
