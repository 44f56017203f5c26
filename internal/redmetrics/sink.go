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

// Enqueue implements ingest.Sink. The spans are read before they are handed
// to Next, which then owns them.
func (s *Sink) Enqueue(ctx context.Context, spans []storage.Span) error {
	if s.Metrics == nil || len(spans) == 0 {
		return s.Next.Enqueue(ctx, spans)
	}
	b := s.Metrics.prepare(spans)
	err := s.Next.Enqueue(ctx, spans)
	if err == nil {
		b.commit(s.Metrics)
	}
	putBatch(b)
	return err
}
