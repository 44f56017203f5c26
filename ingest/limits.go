package ingest

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/internal/authn"
	"github.com/tracehound/tracehound/internal/memlimit"
)

// Option configures a Receiver beyond its Config.
type Option func(*Receiver)

// WithTokens requires every OTLP and Zipkin request to carry one of tokens
// ("Authorization: Bearer <token>" or "X-API-Key: <token>"); a nil or empty
// set requires none.
func WithTokens(tokens *authn.Tokens) Option {
	return func(r *Receiver) { r.tokens = tokens }
}

// WithMemoryLimiter makes the receivers refuse requests with the retryable
// overload error while l reports memory pressure.
func WithMemoryLimiter(l *memlimit.Limiter) Option {
	return func(r *Receiver) { r.memory = l }
}

// admission holds what is decided about a request before its body is read.
type admission struct {
	client string // rate-limit key: "token:<digest prefix>" or "ip:<address>"
}

type admissionKey struct{}

func withAdmission(ctx context.Context, a *admission) context.Context {
	return context.WithValue(ctx, admissionKey{}, a)
}

func admissionFrom(ctx context.Context) *admission {
	a, _ := ctx.Value(admissionKey{}).(*admission)
	return a
}

// admit runs the checks every request passes before its body is read:
// authentication, memory pressure and the client's rate limit. get returns
// a request header; remote is the peer address.
func (r *Receiver) admit(protocol string, get func(string) string, remote string) (*admission, *exportError) {
	a := &admission{}
	if r.tokens.Enabled() {
		tok := authn.FromHeaders(get)
		if !r.tokens.Check(tok) {
			r.metrics.authFailures.WithLabelValues(protocol).Inc()
			if tok == "" {
				return nil, newError(kindUnauthenticated, reasonUnauthenticated,
					"authentication required: send the header \"Authorization: Bearer <token>\" with a token from auth.otlp_tokens")
			}
			return nil, newError(kindUnauthenticated, reasonUnauthenticated, "invalid token")
		}
		sum := sha256.Sum256([]byte(tok))
		a.client = "token:" + hex.EncodeToString(sum[:6])
	} else {
		a.client = "ip:" + hostOf(remote)
	}
	if r.memory.Over() {
		return nil, newError(kindUnavailable, reasonMemoryLimit,
			"tracehound is near its memory limit (otlp.memory_limit_bytes %d); retry after %v", r.memory.Limit(), retryDelay)
	}
	if r.rate != nil {
		if ok, wait := r.rate.allow(a.client, time.Now()); !ok {
			return nil, r.rateLimited(wait)
		}
	}
	return a, nil
}

// takeRate charges n spans to the client of ctx; it refuses when the
// client's bucket is empty.
func (r *Receiver) takeRate(ctx context.Context, n int) *exportError {
	a := admissionFrom(ctx)
	if r.rate == nil || a == nil || n == 0 {
		return nil
	}
	if ok, wait := r.rate.take(a.client, n, time.Now()); !ok {
		return r.rateLimited(wait)
	}
	return nil
}

func (r *Receiver) rateLimited(wait time.Duration) *exportError {
	e := newError(kindRateLimited, reasonRateLimited,
		"rate limit of %g spans/s exceeded (otlp.rate_limit); retry after %v", r.cfg.RateLimit.SpansPerSecond, wait)
	e.retryAfter = wait
	return e
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// rateLimiter is a token bucket of spans per client. A request is admitted
// while the client's bucket holds tokens, and then charged its span count,
// which may leave the bucket in debt: the client is refused until the debt
// is refilled, so its long-run rate is the configured one whatever its
// request sizes. Buckets are kept for at most maxClients clients, least
// recently seen evicted first (an evicted bucket starts full again).
type rateLimiter struct {
	rate, burst float64
	maxClients  int

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     list.List                // front: most recent
	evicted atomic.Int64
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

func newRateLimiter(c RateLimitConfig) *rateLimiter {
	if c.SpansPerSecond <= 0 {
		return nil
	}
	burst := float64(c.Burst)
	if burst <= 0 {
		burst = c.SpansPerSecond
	}
	return &rateLimiter{rate: c.SpansPerSecond, burst: burst, maxClients: c.MaxClients, buckets: map[string]*list.Element{}}
}

// bucketLocked returns the client's bucket, refilled up to now.
func (l *rateLimiter) bucketLocked(key string, now time.Time) *bucket {
	if e, ok := l.buckets[key]; ok {
		l.lru.MoveToFront(e)
		b := e.Value.(*bucket)
		if el := now.Sub(b.last).Seconds(); el > 0 {
			b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
			b.last = now
		}
		return b
	}
	if l.lru.Len() >= l.maxClients {
		oldest := l.lru.Back()
		delete(l.buckets, oldest.Value.(*bucket).key)
		l.lru.Remove(oldest)
		l.evicted.Add(1)
	}
	b := &bucket{key: key, tokens: l.burst, last: now}
	l.buckets[key] = l.lru.PushFront(b)
	return b
}

// wait is how long until the bucket holds a token again.
func (l *rateLimiter) wait(b *bucket) time.Duration {
	d := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return max(time.Second, d.Round(time.Second))
}

// allow reports whether the client may send now, or how long it should
// wait.
func (l *rateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	if b.tokens > 0 {
		return true, 0
	}
	return false, l.wait(b)
}

// take charges n spans when the bucket holds tokens.
func (l *rateLimiter) take(key string, n int, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	if b.tokens <= 0 {
		return false, l.wait(b)
	}
	b.tokens -= float64(n)
	return true, 0
}

func (l *rateLimiter) clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// limitListener closes connections beyond max open ones at once, so that
// idle or slow clients cannot hold unbounded memory; a refused client sees
// its connection closed and retries.
type limitListener struct {
	net.Listener
	max     int64
	open    atomic.Int64
	refused func()
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			_ = c.Close()
			if l.refused != nil {
				l.refused()
			}
			continue
		}
		return &limitConn{Conn: c, l: l}, nil
	}
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

// zipkinGate runs the admission checks of the OTLP receivers
// (authentication, memory, rate limit) before the Zipkin handler, which is
// served on the API's listener.
func (r *Receiver) zipkinGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a, e := r.admit(protoZipkin, req.Header.Get, req.RemoteAddr)
		if e != nil {
			if e.retryable() {
				w.Header().Set("Retry-After", e.retryAfterHeader())
			}
			if e.kind == kindUnauthenticated {
				w.Header().Set("WWW-Authenticate", `Bearer realm="tracehound OTLP"`)
			}
			r.zipkinError(w, req, e)
			return
		}
		next.ServeHTTP(w, req.WithContext(withAdmission(req.Context(), a)))
	})
}
