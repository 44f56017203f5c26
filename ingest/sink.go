package ingest

import (
	"context"

	"github.com/tracehound/tracehound/storage"
)

// Sink receives validated spans from the receivers.
//
// Enqueue takes ownership of batch: the caller must not touch it after the
// call, whatever it returns. It must not block for long: when the sink
// cannot take the spans now it returns an error that wraps
// storage.ErrQueueFull (the receiver answers with a retryable OTLP
// error) or storage.ErrStopped (the server is shutting down, also
// retryable). A nil error means the spans are accepted and will be stored.
// Implementations are safe for concurrent use.
type Sink interface {
	Enqueue(ctx context.Context, batch *storage.SpanBatch) error
}
