package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tracehound/tracehound/storage"
)

// retryDelay is the delay the receivers ask clients to wait before retrying
// a request refused because tracehound is overloaded or stopping.
const retryDelay = time.Second

// errKind is the small error taxonomy of the receivers. Each kind maps to one
// gRPC code and one HTTP status (see grpcCode and httpStatus).
type errKind uint8

const (
	// kindInternal: a bug or an unexpected sink error. Not retryable.
	kindInternal errKind = iota
	// kindBadInput: the request cannot be decoded. Not retryable.
	kindBadInput
	// kindTooLarge: the request is over a size limit. Not retryable.
	kindTooLarge
	// kindUnsupportedMediaType: HTTP content type or encoding we cannot read.
	kindUnsupportedMediaType
	// kindUnavailable: overloaded, queue full or shutting down. Retryable
	// after retryDelay.
	kindUnavailable
	// kindNotFound: HTTP path other than /v1/traces.
	kindNotFound
	// kindMethodNotAllowed: HTTP method other than POST.
	kindMethodNotAllowed
	// kindUnauthenticated: authentication is on and the request carries no
	// valid token. Not retryable.
	kindUnauthenticated
	// kindRateLimited: the client is over its rate limit. Retryable after
	// the error's retryAfter.
	kindRateLimited
)

// Reasons: values of the reason label of spans_refused_total and of the
// outcome label of requests_total.
const (
	reasonInvalid        = "invalid"
	reasonMalformed      = "malformed"
	reasonTooLarge       = "too_large"
	reasonUnsupported    = "unsupported_media_type"
	reasonOverloaded     = "overloaded"
	reasonQueueFull      = "queue_full"
	reasonStopped        = "stopped"
	reasonCanceled       = "canceled"
	reasonInternal       = "internal"
	reasonNotFound       = "not_found"
	reasonMethodNotAllow = "method_not_allowed"
	// Reasons of admission control (docs/reliability.md, docs/security.md).
	reasonUnauthenticated = "unauthenticated"
	reasonRateLimited     = "rate_limited"
	reasonMemoryLimit     = "memory_limit"
	reasonWALFailed       = "wal_failed"
)

// exportError is an error classified once for both protocols.
type exportError struct {
	kind       errKind
	reason     string // metric label
	msg        string
	retryAfter time.Duration // for retryable kinds; retryDelay when zero
}

// retryable reports whether the client should send the request again
// later (and gets a RetryInfo / Retry-After).
func (e *exportError) retryable() bool {
	return e.kind == kindUnavailable || e.kind == kindRateLimited
}

// delay is the retry delay announced to the client.
func (e *exportError) delay() time.Duration {
	if e.retryAfter > 0 {
		return e.retryAfter
	}
	return retryDelay
}

func (e *exportError) Error() string { return e.msg }

// GRPCStatus lets grpc-go turn the error into its status.
func (e *exportError) GRPCStatus() *status.Status {
	return status.FromProto(e.statusProto())
}

func newError(kind errKind, reason, format string, args ...any) *exportError {
	return &exportError{kind: kind, reason: reason, msg: fmt.Sprintf(format, args...)}
}

// classify turns any error met while exporting into an exportError.
func classify(err error) *exportError {
	var ee *exportError
	switch {
	case errors.As(err, &ee):
		return ee
	case errors.Is(err, storage.ErrQueueFull):
		return newError(kindUnavailable, reasonQueueFull,
			"spans not accepted: %v (tracehound is overloaded); retry after %v", err, retryDelay)
	case errors.Is(err, storage.ErrLogFailed):
		return newError(kindUnavailable, reasonWALFailed,
			"spans not accepted: %v; retry after %v or send to another instance", err, retryDelay)
	case errors.Is(err, storage.ErrStopped):
		return newError(kindUnavailable, reasonStopped,
			"spans not accepted: %v (tracehound is shutting down); retry after %v or send to another instance", err, retryDelay)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return newError(kindUnavailable, reasonCanceled,
			"spans not accepted: the request ended before they were queued (%v); retry", err)
	default:
		return newError(kindInternal, reasonInternal, "internal error while storing spans: %v", err)
	}
}

// grpcCode is the gRPC status code of a kind.
func (k errKind) grpcCode() codes.Code {
	switch k {
	case kindBadInput:
		return codes.InvalidArgument
	case kindTooLarge:
		return codes.ResourceExhausted // what grpc-go itself answers for messages over the limit
	case kindUnsupportedMediaType:
		return codes.InvalidArgument
	case kindUnavailable:
		return codes.Unavailable // retryable per the OTLP spec
	case kindNotFound:
		return codes.NotFound
	case kindMethodNotAllowed:
		return codes.Unimplemented
	case kindUnauthenticated:
		return codes.Unauthenticated
	case kindRateLimited:
		return codes.ResourceExhausted // retryable per the OTLP spec when RetryInfo is present
	default:
		return codes.Internal
	}
}

// httpStatus is the HTTP status of a kind. Per the OTLP spec, 503 (with
// Retry-After) is retryable; 400, 413, 415 and 500 are not.
func (k errKind) httpStatus() int {
	switch k {
	case kindBadInput:
		return http.StatusBadRequest
	case kindTooLarge:
		return http.StatusRequestEntityTooLarge
	case kindUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case kindUnavailable:
		return http.StatusServiceUnavailable
	case kindNotFound:
		return http.StatusNotFound
	case kindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case kindUnauthenticated:
		return http.StatusUnauthorized
	case kindRateLimited:
		return http.StatusTooManyRequests // retryable per the OTLP spec
	default:
		return http.StatusInternalServerError
	}
}

// retryInfo is the google.rpc.RetryInfo detail sent with retryable errors;
// the OpenTelemetry SDKs honour its delay.
var retryInfo = newRetryInfo(retryDelay)

func newRetryInfo(d time.Duration) *anypb.Any {
	a, err := anypb.New(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	if err != nil {
		panic(err) // cannot happen: a well-formed message
	}
	return a
}

// statusProto is the google.rpc.Status sent for e: in the gRPC trailer, or
// as the OTLP/HTTP error body.
func (e *exportError) statusProto() *spb.Status {
	st := &spb.Status{Code: int32(e.kind.grpcCode()), Message: e.msg}
	if e.retryable() {
		if d := e.delay(); d == retryDelay {
			st.Details = []*anypb.Any{retryInfo}
		} else {
			st.Details = []*anypb.Any{newRetryInfo(d)}
		}
	}
	return st
}

// retryAfterHeader is the Retry-After value (whole seconds, at least 1).
func (e *exportError) retryAfterHeader() string {
	return strconv.Itoa(max(1, int((e.delay()+time.Second-1)/time.Second)))
}

// httpBody encodes e's google.rpc.Status for an OTLP/HTTP response, as
// protobuf or JSON.
func (e *exportError) httpBody(asJSON bool) []byte {
	st := e.statusProto()
	var (
		b   []byte
		err error
	)
	if asJSON {
		b, err = protojson.Marshal(st)
	} else {
		b, err = proto.Marshal(st)
	}
	if err != nil { // cannot happen for a Status
		return nil
	}
	return b
}
