package ingest

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip decompressor
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// grpcMaxConnectionIdle closes connections without RPCs for this long, so
// that abandoned ones do not count against MaxConnections forever; clients
// reconnect transparently.
const grpcMaxConnectionIdle = 5 * time.Minute

// grpcRequestTimeout bounds an RPC from admission to response, like the
// HTTP server's read and write timeouts.
const grpcRequestTimeout = 90 * time.Second

// newGRPCServer builds the OTLP/gRPC server: the TraceService, TLS, gzip,
// the decompressed size limit, admission control (a tap handle, so refused
// requests are not even read: authentication, memory, rate and concurrency
// limits) and a stats handler that measures requests on the wire and counts
// their outcomes.
func (r *Receiver) newGRPCServer() *grpc.Server {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(r.cfg.MaxDecompressedBytes)),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: grpcMaxConnectionIdle}),
		grpc.InTapHandle(r.grpcTap),
		grpc.StatsHandler(&grpcStats{m: r.metrics}),
	}
	if r.tlsConfig != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(r.tlsConfig)))
	}
	s := grpc.NewServer(opts...)
	ptraceotlp.RegisterGRPCServer(s, &grpcTraceService{r: r})
	return s
}

// grpcTap admits a new RPC when its token is valid, memory and its
// client's rate limit allow it, and fewer than MaxConcurrentRequests are in
// flight; otherwise it refuses it with UNAUTHENTICATED or a retryable error
// before the request message is read. The concurrency slot is released when
// the RPC's context ends, which grpc-go guarantees for every admitted
// stream.
func (r *Receiver) grpcTap(ctx context.Context, info *tap.Info) (context.Context, error) {
	remote := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		remote = p.Addr.String()
	}
	a, e := r.admit(protoGRPC, func(k string) string { return firstMD(info.Header, k) }, remote)
	if e == nil {
		select {
		case r.grpcSlots <- struct{}{}:
			// A client that never finishes sending its request would hold
			// the slot for ever: the RPC ends after grpcRequestTimeout.
			ctx, cancel := context.WithTimeout(ctx, grpcRequestTimeout)
			context.AfterFunc(ctx, func() { <-r.grpcSlots; cancel() })
			return withAdmission(ctx, a), nil
		default:
			e = r.overloaded("OTLP/gRPC")
		}
	}
	r.metrics.requests.WithLabelValues(protoGRPC, e.reason).Inc()
	r.logger.Debug("OTLP request refused", "protocol", protoGRPC, "reason", e.reason, "remote", remote)
	return ctx, e
}

// firstMD returns the first value of a metadata key (keys are lower case).
func firstMD(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// overloaded is the error for requests over MaxConcurrentRequests.
func (r *Receiver) overloaded(protocol string) *exportError {
	return newError(kindUnavailable, reasonOverloaded,
		"too many concurrent %s requests (limit %d, "+configPrefix+"max_concurrent_requests); retry after %v",
		protocol, r.cfg.MaxConcurrentRequests, retryDelay)
}

// grpcTraceService implements opentelemetry.proto.collector.trace.v1.TraceService.
type grpcTraceService struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export handles one OTLP/gRPC export request.
func (g *grpcTraceService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r := g.r
	info, _ := ctx.Value(rpcInfoKey{}).(*rpcInfo)
	if info == nil {
		info = &rpcInfo{} // not reached: the stats handler tags every RPC
	}
	td := req.Traces()
	if info.wireBytes > r.cfg.MaxRequestBytes {
		n := td.SpanCount()
		r.metrics.received.WithLabelValues(protoGRPC).Add(float64(n))
		r.metrics.refused.WithLabelValues(protoGRPC, reasonTooLarge).Add(float64(n))
		e := newError(kindTooLarge, reasonTooLarge, "request message is %d bytes, above the %d-byte limit ("+configPrefix+"max_request_bytes)",
			info.wireBytes, r.cfg.MaxRequestBytes)
		info.outcome = e.reason
		r.logger.Debug("OTLP request refused", "protocol", protoGRPC, "reason", e.reason, "error", e.msg)
		return ptraceotlp.ExportResponse{}, e
	}
	if limit := r.decompressedLimit(info.wireBytes); info.rawBytes > limit {
		n := td.SpanCount()
		r.metrics.received.WithLabelValues(protoGRPC).Add(float64(n))
		r.metrics.refused.WithLabelValues(protoGRPC, reasonTooLarge).Add(float64(n))
		e := newError(kindTooLarge, reasonTooLarge, "request message decompresses from %d to %d bytes, more than %d times (%s)",
			info.wireBytes, info.rawBytes, r.cfg.MaxDecompressionRatio, configPrefix+"max_decompression_ratio")
		info.outcome = e.reason
		return ptraceotlp.ExportResponse{}, e
	}
	resp, err := r.export(ctx, protoGRPC, td)
	if err != nil {
		e := classify(err)
		info.outcome = e.reason
		r.logger.Debug("OTLP request refused", "protocol", protoGRPC, "reason", e.reason, "error", e.msg)
		return resp, e
	}
	info.outcome = outcome(resp)
	return resp, nil
}

// rpcInfoKey is the context key of an RPC's *rpcInfo.
type rpcInfoKey struct{}

// rpcInfo carries per-RPC facts between the stats handler and Export. Both
// run on the RPC's goroutine.
type rpcInfo struct {
	wireBytes int64  // size of the request message as sent (compressed)
	rawBytes  int64  // size of the request message decompressed
	outcome   string // set by Export; "" when the RPC failed before it
}

// grpcStats is a stats.Handler measuring request sizes and counting request
// outcomes, including the RPCs grpc-go refuses before Export (too large,
// undecodable).
type grpcStats struct {
	m *metrics
}

var _ stats.Handler = (*grpcStats)(nil)

func (h *grpcStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, rpcInfoKey{}, &rpcInfo{})
}

func (h *grpcStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	info, _ := ctx.Value(rpcInfoKey{}).(*rpcInfo)
	if info == nil {
		return
	}
	switch s := s.(type) {
	case *stats.InPayload:
		info.wireBytes = int64(s.CompressedLength)
		info.rawBytes = int64(s.Length)
		h.m.requestBytes.WithLabelValues(protoGRPC).Observe(float64(s.CompressedLength))
	case *stats.End:
		outcome := info.outcome
		if outcome == "" {
			outcome = grpcFailureReason(s.Error)
		}
		h.m.requests.WithLabelValues(protoGRPC, outcome).Inc()
	}
}

func (h *grpcStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (h *grpcStats) HandleConn(context.Context, stats.ConnStats) {}

// grpcFailureReason classifies an RPC that failed before reaching Export.
func grpcFailureReason(err error) string {
	switch status.Code(err) {
	case codes.OK:
		return "success"
	case codes.ResourceExhausted:
		return reasonTooLarge
	case codes.InvalidArgument, codes.Internal: // grpc-go answers Internal for undecodable messages
		return reasonMalformed
	case codes.Canceled, codes.DeadlineExceeded:
		return reasonCanceled
	case codes.Unauthenticated:
		return reasonUnauthenticated
	default:
		return reasonInternal
	}
}
