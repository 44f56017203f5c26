// Command thsoak is tracehound's soak benchmark: it runs `tracehound serve`
// on an embedded ClickHouse with a memory bound and offers open-loop OTLP
// load in six equal phases — steady, steady while ClickHouse is frozen
// (SIGSTOP), recovery, two of far above capacity, steady — and reports memory
// over time, accepted versus refused requests, and end-to-end loss and
// duplicates (both must be zero). Refused requests are not resent: they
// are the client's to retry, and are not counted as acknowledged.
//
//	cd bench && go run ./cmd/thsoak --bin ../bin/tracehound [--duration 3m] [--out soak.json]
//
// It exits non-zero on any loss or duplicate, when the server's memory
// went over the bound, when a request got a non-retryable error, or when
// the server did not stop cleanly. See docs/benchmarks.md.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tracehound/tracehound/bench/internal/chq"
	"github.com/tracehound/tracehound/bench/internal/otlpgen"
	"github.com/tracehound/tracehound/bench/internal/procstat"
)

type options struct {
	bin      string
	duration time.Duration
	rate     float64 // steady offered spans/s
	overload float64 // factor of rate in the overload phases
	chPause  time.Duration
	memLimit int64
	walMax   int64
	conns    int
	inflight int
	sample   time.Duration
	settle   time.Duration
	out      string
	keep     bool
	seed     uint64
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "./bin/tracehound", "the tracehound binary")
	flag.DurationVar(&o.duration, "duration", 3*time.Minute, "load duration (six equal phases)")
	flag.Float64Var(&o.rate, "rate", 10000, "offered spans/s in the steady phases")
	flag.Float64Var(&o.overload, "overload", 6, "offered load in the overload phases, as a multiple of --rate")
	flag.DurationVar(&o.chPause, "ch-pause", 30*time.Second, "how long ClickHouse is frozen (SIGSTOP) at the start of phase 2 (0: not)")
	flag.Int64Var(&o.memLimit, "memory-limit", 512<<20, "otlp.memory_limit_bytes of the server")
	flag.Int64Var(&o.walMax, "wal-max-bytes", 512<<20, "wal.max_bytes of the server")
	flag.IntVar(&o.conns, "conns", 4, "OTLP/gRPC connections")
	flag.IntVar(&o.inflight, "inflight", 8, "requests in flight per connection, at most")
	flag.DurationVar(&o.sample, "sample", 5*time.Second, "memory sampling interval")
	flag.DurationVar(&o.settle, "settle-timeout", 3*time.Minute, "give up waiting for storage after this long without progress")
	flag.StringVar(&o.out, "out", "", "also write the JSON result here")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated data")
	flag.Parse()
	res, err := run(context.Background(), o, os.Stderr)
	if res != nil {
		fmt.Println(res.markdown())
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Println(string(b))
		if o.out != "" {
			if werr := os.WriteFile(o.out, append(b, '\n'), 0o644); werr != nil {
				err = errors.Join(err, werr)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "thsoak:", err)
		os.Exit(1)
	}
}

// phase is one part of the run.
type phase struct {
	Name    string  `json:"name"`
	Factor  float64 `json:"factor"` // of the steady rate
	PauseCH bool    `json:"pause_clickhouse"`
}

func phases() []phase {
	return []phase{
		{Name: "steady", Factor: 1},
		{Name: "clickhouse frozen", Factor: 1, PauseCH: true},
		{Name: "recovery", Factor: 1},
		{Name: "overload", Factor: -1},
		{Name: "overload", Factor: -1},
		{Name: "steady", Factor: 1},
	}
}

// Sample is one row of the memory-over-time table.
type Sample struct {
	T              float64 `json:"t_s"`
	Phase          string  `json:"phase"`
	OfferedPerS    float64 `json:"offered_spans_per_s"`
	AckedPerS      float64 `json:"acked_spans_per_s"`
	RefusedPerS    float64 `json:"refused_spans_per_s"`
	RSSMB          float64 `json:"collector_rss_mb"`
	CHRSSMB        float64 `json:"clickhouse_rss_mb"`
	WALMB          float64 `json:"wal_mb"`
	PendingSpans   float64 `json:"wal_pending_spans"`
	Pressure       float64 `json:"memory_pressure"`
	PeakRSSMBSoFar float64 `json:"collector_peak_rss_mb"`
}

// Result is the JSON output.
type Result struct {
	Duration        string           `json:"duration"`
	SteadyRate      float64          `json:"steady_spans_per_s"`
	OverloadRate    float64          `json:"overload_spans_per_s"`
	ClickHousePause string           `json:"clickhouse_pause"`
	MemoryLimitMB   float64          `json:"memory_limit_mb"`
	Samples         []Sample         `json:"samples"`
	OfferedSpans    int64            `json:"offered_spans"`
	NotSentSpans    int64            `json:"not_sent_spans"` // generator saturated
	AckedSpans      int64            `json:"acked_spans"`
	RefusedSpans    int64            `json:"refused_spans"`
	FailedSpans     int64            `json:"failed_spans"`
	RefusedByReason map[string]int64 `json:"refused_requests_by_outcome"`
	StoredRows      int64            `json:"stored_rows"`
	StoredDistinct  int64            `json:"stored_distinct_spans"`
	Lost            int64            `json:"lost"`
	Duplicates      int64            `json:"duplicates"`
	Extra           int64            `json:"extra_from_unknown_outcome"`
	PeakRSSMB       float64          `json:"collector_peak_rss_mb"`
	PeakCHRSSMB     float64          `json:"clickhouse_peak_rss_mb"`
	DrainSeconds    float64          `json:"drain_s"`
	StopSeconds     float64          `json:"stop_s"`
	CollectorCPU    float64          `json:"collector_cpu_s"`
	ClickHouseCPU   float64          `json:"clickhouse_cpu_s"`
	LoadGenCPU      float64          `json:"loadgen_cpu_s"`
	OtherCPU        float64          `json:"other_cpu_s"` // the rest of the machine: others' work
	ExitCode        int              `json:"exit_code"`
	NonRetryable    int64            `json:"non_retryable_errors"`
	LastError       string           `json:"last_error,omitempty"`
}

type counters struct {
	offered, notSent, acked, refused, failed, nonRetryable atomic.Int64
	lastErr                                                atomic.Value
}

func run(ctx context.Context, o options, logw io.Writer) (*Result, error) {
	logf := func(format string, a ...any) { fmt.Fprintf(logw, format+"\n", a...) }
	tpls, err := otlpgen.Build(otlpgen.Options{Templates: 16, Seed: o.seed})
	if err != nil {
		return nil, err
	}
	spansPerReq := tpls[0].Spans()

	tmp, err := os.MkdirTemp("", "thsoak-")
	if err != nil {
		return nil, err
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	} else {
		logf("keeping %s", tmp)
	}
	srv, err := startServer(o, tmp, logf)
	if err != nil {
		return nil, err
	}
	defer srv.kill()
	ch := chq.New(fmt.Sprintf("http://127.0.0.1:%d/", srv.chHTTP))

	res := &Result{Duration: o.duration.String(), SteadyRate: o.rate, OverloadRate: o.rate * o.overload,
		ClickHousePause: o.chPause.String(), MemoryLimitMB: float64(o.memLimit) / (1 << 20), RefusedByReason: map[string]int64{}}
	var c counters
	var reasonsMu sync.Mutex
	refusal := func(reason string) {
		reasonsMu.Lock()
		res.RefusedByReason[reason]++
		reasonsMu.Unlock()
	}

	// Workers send whatever the dispatcher hands them.
	tickets := make(chan uint64, o.conns*o.inflight)
	var workers sync.WaitGroup
	for range o.conns {
		conn, err := grpc.NewClient("passthrough:///"+srv.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		for range o.inflight {
			r := otlpgen.NewRenderer(o.seed)
			workers.Go(func() {
				for seq := range tickets {
					tpl := tpls[int(seq)%len(tpls)]
					payload := r.Render(tpl, seq, time.Now())
					actx, cancel := context.WithTimeout(ctx, 30*time.Second)
					var resp []byte
					err := conn.Invoke(actx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
						rawMessage(payload), &resp, grpc.ForceCodec(rawCodec{}))
					cancel()
					n := int64(tpl.Spans())
					switch reason, retryable := classify(err); {
					case err == nil:
						rej := int64(0)
						if len(resp) > 0 {
							pr := ptraceotlp.NewExportResponse()
							if pr.UnmarshalProto(resp) == nil {
								rej = pr.PartialSuccess().RejectedSpans()
							}
						}
						c.acked.Add(n - rej)
						c.failed.Add(rej)
					case retryable:
						c.refused.Add(n)
						refusal(reason)
					default:
						c.failed.Add(n)
						c.lastErr.Store(err.Error())
						if reason != "unknown" {
							c.nonRetryable.Add(1)
						}
					}
				}
			})
		}
	}

	// Memory and progress sampling.
	var (
		samples  []Sample
		sampleMu sync.Mutex
		peak     int64
		peakCH   int64
	)
	ps := phases()
	slot := o.duration / time.Duration(len(ps))
	start := time.Now()
	cpu0, _ := procstat.CPU(srv.pid())
	chCPU0, _ := procstat.CPU(srv.chPID)
	self0 := procstat.SelfCPU()
	busy0, _ := procstat.SystemBusy()
	stopSampling := make(chan struct{})
	samplingDone := make(chan struct{})
	go func() {
		defer close(samplingDone)
		t := time.NewTicker(o.sample)
		defer t.Stop()
		var last struct{ offered, acked, refused int64 }
		lastT := time.Now()
		fine := time.NewTicker(200 * time.Millisecond) // peak RSS at a finer grain
		defer fine.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-fine.C:
				peak = max(peak, procstat.RSS(srv.pid()))
				peakCH = max(peakCH, procstat.RSS(srv.chPID))
				continue
			case <-t.C:
			}
			now := time.Now()
			dt := now.Sub(lastT).Seconds()
			lastT = now
			off, ack, ref := c.offered.Load(), c.acked.Load(), c.refused.Load()
			m := srv.metrics()
			rss := procstat.RSS(srv.pid())
			peak = max(peak, rss)
			mid := now.Sub(start) - time.Duration(dt/2*float64(time.Second)) // the phase of most of the interval
			s := Sample{
				T: now.Sub(start).Seconds(), Phase: ps[max(0, min(int(mid/slot), len(ps)-1))].Name,
				OfferedPerS: float64(off-last.offered) / dt, AckedPerS: float64(ack-last.acked) / dt, RefusedPerS: float64(ref-last.refused) / dt,
				RSSMB: mb(rss), CHRSSMB: mb(procstat.RSS(srv.chPID)), WALMB: m["tracehound_wal_bytes"] / (1 << 20),
				PendingSpans: m["tracehound_wal_pending_spans"], Pressure: m["tracehound_memory_pressure"], PeakRSSMBSoFar: mb(peak),
			}
			last.offered, last.acked, last.refused = off, ack, ref
			sampleMu.Lock()
			samples = append(samples, s)
			sampleMu.Unlock()
			logf("%6.0fs %-18s offered %7.0f/s acked %7.0f/s refused %7.0f/s  rss %5.0f MB (peak %5.0f)  ch %5.0f MB  wal %6.1f MB  pending %8.0f  pressure %.0f",
				s.T, s.Phase, s.OfferedPerS, s.AckedPerS, s.RefusedPerS, s.RSSMB, s.PeakRSSMBSoFar, s.CHRSSMB, s.WALMB, s.PendingSpans, s.Pressure)
		}
	}()

	// Open-loop dispatcher: tickets at the phase's rate; when every worker
	// is busy the request is not sent (counted as not sent).
	var seq uint64
	var paused bool
	tick := time.NewTicker(5 * time.Millisecond)
	due, lastTick := 0.0, time.Now()
	for el := time.Since(start); el < o.duration; el = time.Since(start) {
		<-tick.C
		i := min(int(el/slot), len(ps)-1)
		p := ps[i]
		if p.PauseCH && o.chPause > 0 && !paused && el-time.Duration(i)*slot < o.chPause {
			_ = syscall.Kill(srv.chPID, syscall.SIGSTOP)
			paused = true
			logf("ClickHouse frozen (SIGSTOP) for %v", o.chPause)
			go func() {
				time.Sleep(o.chPause)
				_ = syscall.Kill(srv.chPID, syscall.SIGCONT)
				logf("ClickHouse resumed (SIGCONT)")
			}()
		}
		factor := p.Factor
		if factor < 0 {
			factor = o.overload
		}
		now := time.Now()
		due += o.rate * factor / float64(spansPerReq) * now.Sub(lastTick).Seconds()
		lastTick = now
		for ; due >= 1; due-- {
			c.offered.Add(int64(spansPerReq))
			select {
			case tickets <- seq:
				seq++
			default:
				c.notSent.Add(int64(spansPerReq))
			}
		}
	}
	tick.Stop()
	close(tickets)
	workers.Wait()
	_ = syscall.Kill(srv.chPID, syscall.SIGCONT)

	// Drain: wait for everything acknowledged to be stored.
	drainStart := time.Now()
	acked := c.acked.Load()
	var rows, distinct int64
	lastProgress, lastDistinct := time.Now(), int64(-1)
	for {
		v, err := ch.Ints(ctx, "SELECT count(), uniqExact(trace_id, span_id) FROM tracehound.spans")
		if err == nil {
			rows, distinct = v[0], v[1]
			if distinct >= acked {
				// Let a possible straggler duplicate land before the final count.
				time.Sleep(2 * time.Second)
				if v, err := ch.Ints(ctx, "SELECT count(), uniqExact(trace_id, span_id) FROM tracehound.spans"); err == nil {
					rows, distinct = v[0], v[1]
				}
				break
			}
			if distinct != lastDistinct {
				lastDistinct, lastProgress = distinct, time.Now()
			}
		}
		if time.Since(lastProgress) > o.settle {
			logf("no storage progress for %v; giving up at %d of %d spans", o.settle, distinct, acked)
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	res.DrainSeconds = time.Since(drainStart).Seconds()
	close(stopSampling)
	<-samplingDone
	cpu1, _ := procstat.CPU(srv.pid())
	chCPU1, _ := procstat.CPU(srv.chPID)
	busy1, _ := procstat.SystemBusy()
	res.CollectorCPU, res.ClickHouseCPU = (cpu1 - cpu0).Seconds(), (chCPU1 - chCPU0).Seconds()
	res.LoadGenCPU = (procstat.SelfCPU() - self0).Seconds()
	res.OtherCPU = max(0, (busy1-busy0).Seconds()-res.CollectorCPU-res.ClickHouseCPU-res.LoadGenCPU)

	stopStart := time.Now()
	res.ExitCode = srv.stop()
	res.StopSeconds = time.Since(stopStart).Seconds()

	res.Samples = samples
	res.OfferedSpans, res.NotSentSpans = c.offered.Load(), c.notSent.Load()
	res.AckedSpans, res.RefusedSpans, res.FailedSpans = acked, c.refused.Load(), c.failed.Load()
	res.NonRetryable = c.nonRetryable.Load()
	if e, ok := c.lastErr.Load().(string); ok {
		res.LastError = e
	}
	res.StoredRows, res.StoredDistinct = rows, distinct
	res.Lost = max(0, acked-distinct)
	res.Extra = max(0, distinct-acked)
	res.Duplicates = rows - distinct
	res.PeakRSSMB, res.PeakCHRSSMB = mb(peak), mb(peakCH)

	var errs []error
	if res.Lost > 0 || res.Duplicates > 0 {
		errs = append(errs, fmt.Errorf("%d acknowledged spans lost, %d duplicates", res.Lost, res.Duplicates))
	}
	if peak > o.memLimit {
		errs = append(errs, fmt.Errorf("collector peak RSS %.0f MB above the %.0f MB bound", mb(peak), mb(o.memLimit)))
	}
	if res.NonRetryable > 0 {
		errs = append(errs, fmt.Errorf("%d non-retryable errors (last: %s)", res.NonRetryable, res.LastError))
	}
	if res.ExitCode != 0 {
		errs = append(errs, fmt.Errorf("server exited with %d after SIGTERM", res.ExitCode))
	}
	return res, errors.Join(errs...)
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// classify tells a retryable refusal (with RetryInfo, by code) from other
// failures; "unknown" is a transport failure (outcome unknown).
func classify(err error) (reason string, retryable bool) {
	if err == nil {
		return "", false
	}
	st, ok := status.FromError(err)
	if !ok {
		return "unknown", false
	}
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			msg := st.Message()
			switch {
			case strings.Contains(msg, "memory limit"):
				return st.Code().String() + " (memory limit)", true
			case strings.Contains(msg, "write-ahead log is full"):
				return st.Code().String() + " (WAL full)", true
			case strings.Contains(msg, "concurrent"):
				return st.Code().String() + " (concurrency limit)", true
			case strings.Contains(msg, "rate limit"):
				return st.Code().String() + " (rate limit)", true
			}
			return st.Code().String(), true
		}
	}
	switch st.Code().String() {
	case "DeadlineExceeded", "Unavailable", "Canceled":
		return "unknown", false
	}
	return st.Code().String(), false
}

// markdown renders the result as the section of docs/benchmarks.md.
func (r *Result) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| t (s) | phase | offered spans/s | acked spans/s | refused spans/s | collector RSS MB | ClickHouse RSS MB | WAL MB | WAL pending spans | memory pressure |\n")
	fmt.Fprintf(&b, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "| %.0f | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f | %.0f |\n",
			s.T, s.Phase, s.OfferedPerS, s.AckedPerS, s.RefusedPerS, s.RSSMB, s.CHRSSMB, s.WALMB, s.PendingSpans, s.Pressure)
	}
	fmt.Fprintf(&b, "\n| offered spans | not sent (generator busy) | acknowledged | refused (retryable) | failed | stored rows | stored distinct | lost | duplicates | collector peak RSS MB (bound) | ClickHouse peak RSS MB | drain s | stop s |\n")
	fmt.Fprintf(&b, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d | %d | %d | %d | %.0f (%.0f) | %.0f | %.1f | %.1f |\n",
		r.OfferedSpans, r.NotSentSpans, r.AckedSpans, r.RefusedSpans, r.FailedSpans, r.StoredRows, r.StoredDistinct,
		r.Lost, r.Duplicates, r.PeakRSSMB, r.MemoryLimitMB, r.PeakCHRSSMB, r.DrainSeconds, r.StopSeconds)
	fmt.Fprintf(&b, "\nRefused requests by outcome: %v. CPU seconds: collector %.0f, ClickHouse %.0f, load generator %.0f, other processes %.0f.\n",
		r.RefusedByReason, r.CollectorCPU, r.ClickHouseCPU, r.LoadGenCPU, r.OtherCPU)
	return b.String()
}

// rawCodec passes pre-encoded requests through.
type rawCodec struct{}

type rawMessage []byte

func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.(rawMessage); ok {
		return b, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*p = append((*p)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// server is the tracehound under test.
type server struct {
	cmd      *exec.Cmd
	exited   chan struct{}
	out      *lockedBuffer
	grpcAddr string
	apiAddr  string
	chPID    int
	chHTTP   int
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func startServer(o options, dir string, logf func(string, ...any)) (*server, error) {
	cfg := filepath.Join(dir, "soak.yaml")
	yaml := fmt.Sprintf("otlp:\n  memory_limit_bytes: %d\nwal:\n  max_bytes: %d\n  segment_bytes: %d\n", o.memLimit, o.walMax, min(o.walMax/8, 64<<20))
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	s := &server{out: &lockedBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(o.bin, "serve", "--data-dir", filepath.Join(dir, "data"), "--otlp-grpc-addr", "127.0.0.1:0",
		"--otlp-http-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--config", cfg)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.bin, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("tracehound exited during start-up:\n%s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("tracehound not ready after 2 minutes:\n%s", s.out.String())
		}
		out := s.out.String()
		if strings.Contains(out, "Press Ctrl-C to stop") {
			s.grpcAddr = field(out, "OTLP gRPC:")
			s.apiAddr = strings.TrimSuffix(strings.TrimPrefix(field(out, "UI and API:"), "http://"), "/")
			if resp, err := http.Get("http://" + s.apiAddr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	kids, _ := procstat.Children(s.pid())
	for _, k := range kids {
		args, err := procstat.Cmdline(k)
		if err != nil || len(args) < 2 || args[1] != "clickhouse-embedded" {
			continue
		}
		for i, a := range args {
			if a == "--http-port" && i+1 < len(args) {
				s.chPID = k
				s.chHTTP, _ = strconv.Atoi(args[i+1])
			}
		}
	}
	if s.chPID == 0 {
		s.kill()
		return nil, errors.New("embedded ClickHouse child not found")
	}
	logf("tracehound pid %d (OTLP gRPC %s, API %s), ClickHouse pid %d; memory bound %d MiB, WAL %d MiB",
		s.pid(), s.grpcAddr, s.apiAddr, s.chPID, o.memLimit>>20, o.walMax>>20)
	return s, nil
}

func field(out, label string) string {
	i := strings.Index(out, label)
	if i < 0 {
		return ""
	}
	f := strings.Fields(out[i+len(label):])
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// metrics scrapes the server's gauges (sums over label sets).
func (s *server) metrics() map[string]float64 {
	out := map[string]float64{}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + s.apiAddr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
			if j := strings.LastIndexByte(line, ' '); j >= 0 {
				rest = line[j+1:]
			}
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
			out[name] += v
		}
	}
	return out
}

// stop sends SIGTERM and returns the exit code (-1 after a 60 s timeout).
func (s *server) stop() int {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(60 * time.Second):
		s.kill()
		return -1
	}
}

func (s *server) kill() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
