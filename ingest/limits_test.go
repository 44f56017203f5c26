package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tracehound/tracehound/internal/authn"
	"github.com/tracehound/tracehound/internal/memlimit"
	"github.com/tracehound/tracehound/internal/tlsutil/tlstest"
)

const goodToken = "test-token-0123456789"

func startWith(t *testing.T, cfg Config, sink Sink, opts ...Option) *Receiver {
	t.Helper()
	r, err := New(cfg, sink, prometheus.NewRegistry(), nil, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return r
}

func withMD(kv ...string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), kv...)
}

func exportCtx(ctx context.Context, c ptraceotlp.GRPCClient, td ptrace.Traces, opts ...grpc.CallOption) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := c.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td), opts...)
	return err
}

func TestAuthGRPC(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{}
	r := startWith(t, testConfig(), sink, WithTokens(authn.New([]string{goodToken})))
	c := grpcClient(t, r.GRPCAddr())
	for name, ctx := range map[string]context.Context{
		"no token":      context.Background(),
		"wrong token":   withMD("authorization", "Bearer wrong-token-0123456789"),
		"wrong scheme":  withMD("authorization", "Basic "+goodToken),
		"empty bearer":  withMD("authorization", "Bearer "),
		"token as user": withMD("x-api-key", "x"+goodToken),
	} {
		err := exportCtx(ctx, c, validTraces())
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: got %v, want UNAUTHENTICATED", name, err)
		}
	}
	if n := len(sink.take()); n != 0 {
		t.Fatalf("%d spans accepted without a valid token", n)
	}
	for _, ctx := range []context.Context{withMD("authorization", "Bearer "+goodToken), withMD("x-api-key", goodToken)} {
		if err := exportCtx(ctx, c, validTraces()); err != nil {
			t.Fatalf("valid token: %v", err)
		}
	}
	if n := len(sink.take()); n != 2 {
		t.Fatalf("%d spans accepted, want 2", n)
	}
}

func TestAuthHTTPAndZipkin(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{}
	r := startWith(t, testConfig(), sink, WithTokens(authn.New([]string{goodToken})))
	body := protoBody(t, validTraces())
	post := func(path, ct, auth string, body []byte) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, "http://"+r.HTTPAddr()+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, auth := range []string{"", "Bearer nope-nope-nope-nope", "bearer " + goodToken + "x"} {
		resp := post(tracesPath, contentTypeProto, auth, body)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("auth %q: %d %q", auth, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// Even a wrong path says 401 first.
	if resp := post("/elsewhere", contentTypeProto, "", body); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated request to another path: %d", resp.StatusCode)
	}
	if resp := post(tracesPath, contentTypeProto, "Bearer "+goodToken, body); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid token: %d", resp.StatusCode)
	}

	zipkin := httptestServer(t, r.ZipkinHandler())
	zbody := []byte(`[{"traceId":"5b8efff798038103d269b633813fc60c","id":"eee19b7ec3c1b174","name":"get","timestamp":1700000000000000,"duration":10,"localEndpoint":{"serviceName":"z"}}]`)
	for auth, want := range map[string]int{"": 401, "Bearer " + goodToken: 202} {
		req, _ := http.NewRequest(http.MethodPost, zipkin+"/api/v2/spans", bytes.NewReader(zbody))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("zipkin with %q: %d, want %d", auth, resp.StatusCode, want)
		}
	}
}

// httptestServer serves h on a loopback port until the test ends.
func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestRateLimiterBuckets(t *testing.T) {
	t.Parallel()
	l := newRateLimiter(RateLimitConfig{SpansPerSecond: 100, Burst: 200, MaxClients: 3})
	now := time.Unix(1000, 0)
	if ok, _ := l.take("a", 500, now); !ok { // a request larger than the burst is admitted once…
		t.Fatal("first request refused")
	}
	ok, wait := l.allow("a", now) // …and leaves the client in debt
	if ok || wait != 3*time.Second {
		t.Fatalf("in debt: ok %v wait %v, want refused for 3s", ok, wait)
	}
	if ok, _ := l.allow("a", now.Add(3*time.Second+10*time.Millisecond)); !ok {
		t.Fatal("refill did not happen")
	}
	// Other clients have their own bucket; at most 3 are kept.
	for _, k := range []string{"b", "c", "d", "e"} {
		if ok, _ := l.take(k, 10, now); !ok {
			t.Fatalf("client %s refused", k)
		}
	}
	if l.clients() != 3 || l.evicted.Load() != 2 {
		t.Fatalf("%d clients, %d evicted", l.clients(), l.evicted.Load())
	}
	// Sustained: over 10 simulated seconds a greedy client gets ~rate×10 + burst.
	l = newRateLimiter(RateLimitConfig{SpansPerSecond: 100, MaxClients: 10})
	got := 0
	for ms := 0; ms < 10_000; ms += 10 {
		if ok, _ := l.take("greedy", 50, now.Add(time.Duration(ms)*time.Millisecond)); ok {
			got += 50
		}
	}
	if got < 1000 || got > 1200 {
		t.Fatalf("greedy client got %d spans in 10 s at 100/s", got)
	}
	if newRateLimiter(RateLimitConfig{}) != nil {
		t.Fatal("rate limit on by default")
	}
}

func TestRateLimitResponses(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.RateLimit = RateLimitConfig{SpansPerSecond: 1, Burst: 1, MaxClients: 10}
	r := startWith(t, cfg, &fakeSink{})
	c := grpcClient(t, r.GRPCAddr())
	td := validTraces()
	addSpan(td, nil)
	addSpan(td, nil) // 3 spans: admitted, leaves a debt of 2
	if err := exportCtx(context.Background(), c, td); err != nil {
		t.Fatal(err)
	}
	err := exportCtx(context.Background(), c, validTraces())
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "otlp.rate_limit") {
		t.Fatalf("got %v, want RESOURCE_EXHAUSTED naming otlp.rate_limit", err)
	}
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay < 2*time.Second || delay > 4*time.Second {
		t.Fatalf("RetryInfo delay %v, want ~3s (the debt at 1 span/s)", delay)
	}
	res, err := postTraces(r.HTTPAddr(), contentTypeProto, "", protoBody(t, validTraces()))
	if err != nil {
		t.Fatal(err)
	}
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
		t.Fatalf("HTTP: %d Retry-After %q", res.status, res.header.Get("Retry-After"))
	}
}

func TestMemoryLimitRefuses(t *testing.T) {
	t.Parallel()
	sink := &fakeSink{}
	r := startWith(t, testConfig(), sink, WithMemoryLimiter(memlimit.NewStatic(1<<30, true, true)))
	err := exportCtx(context.Background(), grpcClient(t, r.GRPCAddr()), validTraces())
	assertRetryable(t, err, "tracehound is near its memory limit (otlp.memory_limit_bytes 1073741824); retry after 1s")
	res, err := postTraces(r.HTTPAddr(), contentTypeJSON, "", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") != "1" {
		t.Fatalf("HTTP: %d Retry-After %q", res.status, res.header.Get("Retry-After"))
	}
	if len(sink.take()) != 0 {
		t.Fatal("spans accepted over the memory limit")
	}
}

func TestDecompressionRatio(t *testing.T) {
	t.Parallel()
	r := startWith(t, testConfig(), &fakeSink{})
	td := validTraces()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("blob", strings.Repeat("a", 4<<20))
	body := protoBody(t, td)
	res, err := postTraces(r.HTTPAddr(), contentTypeProto, "gzip", gzipBytes(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if msg := decodeStatus(t, res).GetMessage(); res.status != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "otlp.max_decompression_ratio") {
		t.Fatalf("HTTP: %d %q", res.status, msg)
	}
	// Within the ratio: fine.
	res, err = postTraces(r.HTTPAddr(), contentTypeProto, "gzip", gzipBytes(t, protoBody(t, validTraces())))
	if err != nil || res.status != http.StatusOK {
		t.Fatalf("small gzip body: %v %v", res, err)
	}
	err = exportCtx(context.Background(), grpcClient(t, r.GRPCAddr()), td, grpc.UseCompressor(gzip.Name))
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "otlp.max_decompression_ratio") {
		t.Fatalf("gRPC: %v", err)
	}
}

func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MaxConnections = 2
	reg := prometheus.NewRegistry()
	r, err := New(cfg, &fakeSink{}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Shutdown(context.Background()) }()
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", r.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	c, err := net.Dial("tcp", r.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("third connection: read %v, want EOF (closed)", err)
	}
	// Closing one makes room again.
	conns[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := postTraces(r.HTTPAddr(), contentTypeProto, "", protoBody(t, validTraces()))
		if err == nil && res.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a connection closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := counterValue(t, reg, "tracehound_ingest_connections_refused_total", map[string]string{"protocol": "http"}); v < 1 {
		t.Fatalf("connections_refused_total %v", v)
	}
}

func TestTLSAndMTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "ingest CA")
	other := tlstest.NewCA(t, "other CA")
	srv := ca.Server(t, dir, "server")
	client := ca.Client(t, dir, "client", "exporter")
	stranger := other.Client(t, dir, "stranger", "exporter")
	cfg := testConfig()
	cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.TLS.ClientCAFile = srv.CertFile, srv.KeyFile, ca.WriteCert(t, dir, "ca")
	sink := &fakeSink{}
	r := startWith(t, cfg, sink)
	if !r.TLS() {
		t.Fatal("TLS() false")
	}

	grpcWith := func(certs ...tls.Certificate) error {
		creds := credentials.NewTLS(&tls.Config{RootCAs: ca.Pool(), Certificates: certs, ServerName: "localhost"})
		conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(creds))
		if err != nil {
			return err
		}
		defer conn.Close()
		return exportCtx(context.Background(), ptraceotlp.NewGRPCClient(conn), validTraces())
	}
	if err := grpcWith(client.TLS); err != nil {
		t.Fatalf("gRPC mTLS with a valid client certificate: %v", err)
	}
	if err := grpcWith(); status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC without a client certificate: %v, want UNAVAILABLE (handshake refused)", err)
	}
	if err := grpcWith(stranger.TLS); err == nil {
		t.Error("gRPC with a certificate of another CA accepted")
	}
	// Plain text to a TLS port fails.
	if err := exportCtx(context.Background(), grpcClient(t, r.GRPCAddr()), validTraces()); err == nil {
		t.Error("plain-text gRPC accepted")
	}

	httpWith := func(certs ...tls.Certificate) (int, error) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), Certificates: certs}}}
		req, _ := http.NewRequest(http.MethodPost, "https://"+r.HTTPAddr()+tracesPath, bytes.NewReader(protoBody(t, validTraces())))
		req.Header.Set("Content-Type", contentTypeProto)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := httpWith(client.TLS); err != nil || code != http.StatusOK {
		t.Fatalf("HTTPS mTLS: %d %v", code, err)
	}
	if _, err := httpWith(); err == nil {
		t.Error("HTTPS without a client certificate accepted")
	}
	if n := len(sink.take()); n != 2 {
		t.Fatalf("%d spans stored, want 2", n)
	}
}
