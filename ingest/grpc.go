package ingest

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip decompressor
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
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
	opts = append(opts, grpc.ForceServerCodecV2(rawCodec{}))
	s := grpc.NewServer(opts...)
	s.RegisterService(&traceServiceDesc, &grpcTraceService{r: r})
	return s
}

// traceServiceDesc describes opentelemetry.proto.collector.trace.v1.TraceService
// with a handler that receives the request as protobuf bytes (rawMessage),
// for Convert to decode without an intermediate object model.
var traceServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
	HandlerType: (*rawTraceServer)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: exportHandler}},
	Streams:     []grpc.StreamDesc{},
	Metadata:    "opentelemetry/proto/collector/trace/v1/trace_service.proto",
}

// rawTraceServer is the TraceService with raw protobuf messages.
type rawTraceServer interface {
	// Export handles an ExportTraceServiceRequest (body, valid during the
	// call) and returns the encoded ExportTraceServiceResponse.
	Export(ctx context.Context, body []byte) (*rawMessage, error)
}

// exportHandler is the grpc.MethodHandler of TraceService/Export.
func exportHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) { //nolint:revive // gRPC's handler signature
	req := &rawMessage{}
	if err := dec(req); err != nil {
		return nil, err
	}
	defer req.free()
	if interceptor == nil {
		return srv.(rawTraceServer).Export(ctx, req.data)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/opentelemetry.proto.collector.trace.v1.TraceService/Export"}
	return interceptor(ctx, req, info, func(ctx context.Context, m any) (any, error) {
		return srv.(rawTraceServer).Export(ctx, m.(*rawMessage).data)
	})
}

// rawMessage is a protobuf message kept as its encoding: a received
// request holds a reference to grpc-go's buffer (released by free), a
// response its bytes.
type rawMessage struct {
	buf  mem.Buffer // nil for responses
	data []byte
}

// free releases a received message's buffer; data is invalid afterwards.
func (m *rawMessage) free() {
	if m.buf != nil {
		m.buf.Free()
		m.buf, m.data = nil, nil
	}
}

// rawCodec is the gRPC codec of the OTLP receiver: it hands over the
// received bytes of a *rawMessage without decoding them, and sends a
// *rawMessage's bytes as they are.
type rawCodec struct{}

var _ encoding.CodecV2 = rawCodec{}

// Marshal implements encoding.CodecV2.
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*rawMessage)
	if !ok {
		return nil, fmt.Errorf("ingest: cannot encode a %T as OTLP/gRPC", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(m.data)}, nil
}

// Unmarshal implements encoding.CodecV2. It keeps a reference to data
// (without copying it when it is one buffer) until the message is freed.
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("ingest: cannot decode OTLP/gRPC into a %T", v)
	}
	m.buf = data.MaterializeToBuffer(mem.DefaultBufferPool())
	m.data = m.buf.ReadOnlyData()
	return nil
}

// Name implements encoding.CodecV2: the codec serves the proto content
// subtype.
func (rawCodec) Name() string { return "proto" }

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
	r *Receiver
}

var _ rawTraceServer = (*grpcTraceService)(nil)

// Export handles one OTLP/gRPC export request.
func (g *grpcTraceService) Export(ctx context.Context, body []byte) (*rawMessage, error) {
	r := g.r
	info, _ := ctx.Value(rpcInfoKey{}).(*rpcInfo)
	if info == nil {
		info = &rpcInfo{} // not reached: the stats handler tags every RPC
	}
	refuse := func(e *exportError) (*rawMessage, error) {
		info.outcome = e.reason
		r.logger.Debug("OTLP request refused", "protocol", protoGRPC, "reason", e.reason, "error", e.msg)
		return nil, e
	}
	if info.wireBytes > r.cfg.MaxRequestBytes {
		n, _ := countSpans(body)
		r.metrics.received.WithLabelValues(protoGRPC).Add(float64(n))
		r.metrics.refused.WithLabelValues(protoGRPC, reasonTooLarge).Add(float64(n))
		return refuse(newError(kindTooLarge, reasonTooLarge, "request message is %d bytes, above the %d-byte limit ("+configPrefix+"max_request_bytes)",
			info.wireBytes, r.cfg.MaxRequestBytes))
	}
	if limit := r.decompressedLimit(info.wireBytes); info.rawBytes > limit {
		n, _ := countSpans(body)
		r.metrics.received.WithLabelValues(protoGRPC).Add(float64(n))
		r.metrics.refused.WithLabelValues(protoGRPC, reasonTooLarge).Add(float64(n))
		return refuse(newError(kindTooLarge, reasonTooLarge, "request message decompresses from %d to %d bytes, more than %d times (%s)",
			info.wireBytes, info.rawBytes, r.cfg.MaxDecompressionRatio, configPrefix+"max_decompression_ratio"))
	}
	res, err := Convert(body, r.cfg)
	if err != nil {
		return refuse(newError(kindBadInput, reasonMalformed, "malformed OTLP/protobuf request message: %v", err))
	}
	resp, err := r.export(ctx, protoGRPC, &res)
	if err != nil {
		return refuse(classify(err))
	}
	info.outcome = resp.outcome()
	return &rawMessage{data: resp.appendProto(nil)}, nil
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
	case codes.InvalidArgument, codes.Internal: // grpc-go answers Internal for messages it cannot read
		return reasonMalformed
	case codes.Canceled, codes.DeadlineExceeded:
		return reasonCanceled
	case codes.Unauthenticated:
		return reasonUnauthenticated
	default:
		return reasonInternal
	}
}
