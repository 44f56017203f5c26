package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracehound/tracehound/internal/authn"
)

const (
	tracesPath       = "/v1/traces"
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"

	// HTTP server timeouts. ReadTimeout bounds how long a slow client can
	// hold one of the MaxConcurrentRequests slots while sending its body.
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = 60 * time.Second
	httpWriteTimeout      = 90 * time.Second
	httpIdleTimeout       = 120 * time.Second
	httpMaxHeaderBytes    = 64 << 10

	// maxPooledBuffer is the largest body buffer put back in the pool; larger
	// ones are left to the garbage collector.
	maxPooledBuffer = 4 << 20
)

func (r *Receiver) newHTTPServer() *http.Server {
	return &http.Server{
		Handler:           http.HandlerFunc(r.serveHTTP),
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(r.logger.Handler(), slog.LevelDebug),
	}
}

// serveHTTP handles OTLP/HTTP: POST /v1/traces with a protobuf or JSON
// ExportTraceServiceRequest, optionally gzip-compressed.
func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if r.tokens.Enabled() && !r.tokens.Check(authn.FromHeaders(req.Header.Get)) {
		// Before anything else: unauthenticated clients learn nothing.
		asJSON, _ := parseContentType(req.Header.Get("Content-Type"))
		_, e := r.admit(protoHTTP, req.Header.Get, req.RemoteAddr)
		r.httpError(w, req, asJSON, e)
		return
	}
	if req.URL.Path != tracesPath {
		r.httpError(w, req, true, newError(kindNotFound, reasonNotFound,
			"no OTLP endpoint at %s; send traces with POST %s", req.URL.Path, tracesPath))
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.httpError(w, req, true, newError(kindMethodNotAllowed, reasonMethodNotAllow,
			"method %s is not allowed on %s; use POST", req.Method, tracesPath))
		return
	}
	asJSON, e := parseContentType(req.Header.Get("Content-Type"))
	if e != nil {
		r.httpError(w, req, true, e)
		return
	}
	a, e := r.admit(protoHTTP, req.Header.Get, req.RemoteAddr)
	if e != nil {
		r.httpError(w, req, asJSON, e)
		return
	}
	req = req.WithContext(withAdmission(req.Context(), a))
	select {
	case r.httpSlots <- struct{}{}:
		defer func() { <-r.httpSlots }()
	default:
		r.httpError(w, req, asJSON, r.overloaded("OTLP/HTTP"))
		return
	}

	body, release, e := r.readBody(w, req)
	defer release()
	if e != nil {
		r.httpError(w, req, asJSON, e)
		return
	}

	var res ConvertResult
	if asJSON {
		// OTLP/JSON is parsed by pdata, then takes the protobuf path.
		exportReq := ptraceotlp.NewExportRequest()
		if err := exportReq.UnmarshalJSON(body); err != nil {
			r.httpError(w, req, asJSON, newError(kindBadInput, reasonMalformed, "malformed OTLP/JSON request body: %s", jsonErrorMessage(err)))
			return
		}
		pb, err := exportReq.MarshalProto()
		if err != nil {
			r.httpError(w, req, asJSON, newError(kindInternal, reasonInternal, "re-encoding the OTLP/JSON request as protobuf: %v", err))
			return
		}
		if res, err = Convert(pb, r.cfg); err != nil {
			r.httpError(w, req, asJSON, newError(kindBadInput, reasonMalformed, "malformed OTLP/JSON request body: %v", err))
			return
		}
	} else {
		var err error
		if res, err = Convert(body, r.cfg); err != nil {
			r.httpError(w, req, asJSON, newError(kindBadInput, reasonMalformed, "malformed OTLP/protobuf request body: %v", err))
			return
		}
	}

	resp, err := r.export(req.Context(), protoHTTP, &res)
	if err != nil {
		r.httpError(w, req, asJSON, classify(err))
		return
	}
	var out []byte
	if asJSON {
		if out, err = resp.marshalJSON(); err != nil { // the spans are queued; only the response is lost
			r.httpError(w, req, asJSON, newError(kindInternal, reasonInternal, "encoding the export response: %v", err))
			return
		}
	} else {
		out = resp.appendProto(nil)
	}
	r.metrics.requests.WithLabelValues(protoHTTP, resp.outcome()).Inc()
	writeHTTP(w, asJSON, http.StatusOK, out)
}

// jsonErrorMessage shortens the JSON decoder's error ("…, error found in #10
// byte of ...|ctx|..., bigger context ...|ctx|...", where 10 is an offset in
// ctx) to "… near "ctx"", and explains id length errors.
func jsonErrorMessage(err error) string {
	msg := err.Error()
	const found, of, end = ", error found in #", " byte of ...|", "|..."
	if i := strings.Index(msg, found); i >= 0 {
		head, rest := msg[:i], msg[i+len(found):]
		if j := strings.Index(rest, of); j > 0 {
			near := rest[j+len(of):]
			if k := strings.Index(near, end); k >= 0 {
				near = near[:k]
			}
			msg = head + " near " + strconv.Quote(near)
		}
	}
	msg = strings.ReplaceAll(msg, "found \x00", "found end of input")
	if strings.Contains(msg, "ID.UnmarshalJSONIter: length mismatch") {
		msg += " (trace ids must be 32 hex characters, span ids 16)"
	}
	return msg
}

// parseContentType accepts the OTLP/HTTP content types, with parameters
// such as charset. It reports whether the body is JSON.
func parseContentType(v string) (asJSON bool, e *exportError) {
	if v == "" {
		return false, newError(kindUnsupportedMediaType, reasonUnsupported,
			"missing Content-Type; send %s or %s", contentTypeProto, contentTypeJSON)
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return false, newError(kindUnsupportedMediaType, reasonUnsupported,
			"unreadable Content-Type %q (%v); send %s or %s", v, err, contentTypeProto, contentTypeJSON)
	}
	switch mt {
	case contentTypeProto:
		return false, nil
	case contentTypeJSON:
		return true, nil
	default:
		return false, newError(kindUnsupportedMediaType, reasonUnsupported,
			"unsupported Content-Type %q; send %s or %s", mt, contentTypeProto, contentTypeJSON)
	}
}

// readBody reads the request body, enforcing MaxRequestBytes on the wire and
// MaxDecompressedBytes after gzip. The returned body is valid until release
// is called; release must always be called.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) (body []byte, release func(), e *exportError) {
	noop := func() {}
	limit := r.cfg.MaxRequestBytes
	if req.ContentLength > limit {
		// Trip a MaxBytesReader so that net/http treats the request as too
		// large: it then half-closes the connection and waits before
		// hanging up, which lets a client still sending its body read the
		// 413 (golang.org/issue/3595), even when it asked for Connection: close.
		_, _ = http.MaxBytesReader(w, req.Body, 0).Read(make([]byte, 1))
		return nil, noop, newError(kindTooLarge, reasonTooLarge,
			"request body is %d bytes, above the %d-byte limit ("+configPrefix+"max_request_bytes)", req.ContentLength, limit)
	}
	var gz bool
	switch enc := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		gz = true
	default:
		return nil, noop, newError(kindUnsupportedMediaType, reasonUnsupported,
			"unsupported Content-Encoding %q; send gzip or uncompressed bodies", enc)
	}

	raw := getBuffer()
	if req.ContentLength > 0 {
		raw.Grow(int(req.ContentLength))
	}
	n, err := raw.ReadFrom(http.MaxBytesReader(w, req.Body, limit))
	if err != nil {
		putBuffer(raw)
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, noop, newError(kindTooLarge, reasonTooLarge,
				"request body exceeds the %d-byte limit ("+configPrefix+"max_request_bytes)", limit)
		}
		return nil, noop, newError(kindBadInput, reasonMalformed, "reading the request body failed after %d bytes: %v", n, err)
	}
	r.metrics.requestBytes.WithLabelValues(protoHTTP).Observe(float64(n))
	if !gz {
		return raw.Bytes(), func() { putBuffer(raw) }, nil
	}

	defer putBuffer(raw)
	zr, err := getGzipReader(bytes.NewReader(raw.Bytes()))
	if err != nil {
		return nil, noop, newError(kindBadInput, reasonMalformed, "invalid gzip request body: %v", err)
	}
	defer putGzipReader(zr)
	maxOut := r.decompressedLimit(n)
	out := getBuffer()
	m, err := out.ReadFrom(io.LimitReader(zr, maxOut+1))
	switch {
	case err != nil:
		putBuffer(out)
		return nil, noop, newError(kindBadInput, reasonMalformed, "invalid gzip request body: %v", err)
	case m > maxOut && maxOut == r.cfg.MaxDecompressedBytes:
		putBuffer(out)
		return nil, noop, newError(kindTooLarge, reasonTooLarge,
			"decompressed body exceeds the %d-byte limit ("+configPrefix+"max_decompressed_bytes)", maxOut)
	case m > maxOut:
		putBuffer(out)
		return nil, noop, newError(kindTooLarge, reasonTooLarge,
			"body of %d bytes decompresses to more than %d times its size ("+configPrefix+"max_decompression_ratio)", n, r.cfg.MaxDecompressionRatio)
	}
	return out.Bytes(), func() { putBuffer(out) }, nil
}

// decompressionSlack is how large any body may decompress to, whatever
// its ratio: small bodies cannot hurt.
const decompressionSlack = 1 << 20

// decompressedLimit is the largest decompressed size allowed for a body of
// wire bytes: MaxDecompressionRatio times it (at least 1 MiB), within
// MaxDecompressedBytes.
func (r *Receiver) decompressedLimit(wire int64) int64 {
	lim := max(wire*int64(r.cfg.MaxDecompressionRatio), decompressionSlack)
	return min(lim, r.cfg.MaxDecompressedBytes)
}

// httpError answers with e's status and a google.rpc.Status body, as the
// OTLP/HTTP spec asks, and counts the request.
func (r *Receiver) httpError(w http.ResponseWriter, req *http.Request, asJSON bool, e *exportError) {
	if e.retryable() {
		w.Header().Set("Retry-After", e.retryAfterHeader())
	}
	if e.kind == kindUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tracehound OTLP"`)
	}
	r.metrics.requests.WithLabelValues(protoHTTP, e.reason).Inc()
	r.logger.Debug("OTLP request refused", "protocol", protoHTTP, "reason", e.reason,
		"status", e.kind.httpStatus(), "remote", req.RemoteAddr, "error", e.msg)
	writeHTTP(w, asJSON, e.kind.httpStatus(), e.httpBody(asJSON))
}

func writeHTTP(w http.ResponseWriter, asJSON bool, code int, body []byte) {
	if asJSON {
		w.Header().Set("Content-Type", contentTypeJSON)
	} else {
		w.Header().Set("Content-Type", contentTypeProto)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

var (
	bufferPool     sync.Pool // *bytes.Buffer
	gzipReaderPool sync.Pool // *gzip.Reader
)

func getBuffer() *bytes.Buffer {
	if b, ok := bufferPool.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return // let the GC take outliers
	}
	b.Reset()
	bufferPool.Put(b)
}

func getGzipReader(src io.Reader) (*gzip.Reader, error) {
	if zr, ok := gzipReaderPool.Get().(*gzip.Reader); ok {
		if err := zr.Reset(src); err != nil {
			gzipReaderPool.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(src)
}

func putGzipReader(zr *gzip.Reader) {
	gzipReaderPool.Put(zr)
}
