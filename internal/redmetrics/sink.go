package redmetrics

import (
	"context"

	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/storage"
)

// Sink observes the spans handed to the write queue, then forwards them to
// Next. Spans are counted only when Next accepts them, so a refused batch
// that the client retries is not counted twice. Resolving the series of a
// batch takes one read lock and allocates nothing for existing series; new
// series are created under a write lock.
//
// A nil Metrics forwards without observing. Sink is safe for concurrent use
// when Next is.
type Sink struct {
	Next    ingest.Sink
	Metrics *Metrics
}

var _ ingest.Sink = (*Sink)(nil)

// Enqueue implements ingest.Sink. The batch is read before it is handed to
// Next, which then owns it.
func (s *Sink) Enqueue(ctx context.Context, batch *storage.SpanBatch) error {
	if s.Metrics == nil || batch.Len() == 0 {
		return s.Next.Enqueue(ctx, batch)
	}
	b := s.Metrics.prepare(batch)
	err := s.Next.Enqueue(ctx, batch)
	if err == nil {
		b.commit(s.Metrics)
	}
	putBatch(b)
	return err
}
